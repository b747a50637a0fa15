/* SPDX-License-Identifier: MIT */
/*
 * crypto.h - the few OpenSSL (libcrypto) functions authentication needs,
 * loaded the first time they are needed.
 *
 * rpchost needs libcrypto only when a config sets auth_file, and for
 * `rpchost --rpcauth/--token`.  Linked in, libcrypto would be mapped and
 * relocated in every process: about 1.4 MiB of an idle rpchost's 4 MiB
 * resident set, 400 KiB of it private.  So crypto_load() dlopen()s it (the
 * soname the host was built against) on first use; it is never unloaded.
 *
 * Threads: crypto_load() from any thread (it runs once); the other
 * functions from any thread, and only after crypto_load() returned 0.
 */
#ifndef HOST_CRYPTO_H
#define HOST_CRYPTO_H

#include <stddef.h>

#define CRYPTO_SHA256_LEN 32

/* Load libcrypto and resolve the functions below.  0, or -1 with the
 * reason (dlerror()'s text) in err. */
int crypto_load(char *err, size_t errlen);

/* HMAC-SHA256 of msg under key into out.  0, or -1. */
int crypto_hmac_sha256(const void *key, size_t keylen, const void *msg,
                       size_t len, unsigned char out[CRYPTO_SHA256_LEN]);

/* 1 if the n bytes at a and b are equal, else 0; in time that depends on
 * n only (CRYPTO_memcmp). */
int crypto_equal(const void *a, const void *b, size_t n);

/* Overwrite n bytes at p with zeros in a way the compiler keeps
 * (OPENSSL_cleanse).  Does nothing before crypto_load() succeeded. */
void crypto_cleanse(void *p, size_t n);

/* Base64 (EVP_DecodeBlock/EVP_EncodeBlock): bytes written, -1 on bad input.
 * decode counts '=' padding as data; encode NUL-terminates. */
int crypto_b64_decode(unsigned char *out, const char *in, int inlen);
int crypto_b64_encode(char *out, const unsigned char *in, int inlen);

/* n bytes from the CSPRNG (RAND_bytes).  0, or -1. */
int crypto_random(void *buf, int n);

#endif
