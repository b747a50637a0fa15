/* SPDX-License-Identifier: MIT */
/*
 * crypto.c - see crypto.h.  The prototypes come from OpenSSL's own headers,
 * so each resolved pointer has the exact type of the function it names.
 */
#include "crypto.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/opensslv.h>
#include <openssl/rand.h>

/* The soname of the libcrypto the host was compiled against (OpenSSL 3
 * keeps one soname per major version).  -DRPCHOST_LIBCRYPTO=... overrides
 * it. */
#define CRYPTO_STR_(x) #x
#define CRYPTO_STR(x) CRYPTO_STR_(x)
#ifndef RPCHOST_LIBCRYPTO
#if defined(OPENSSL_VERSION_MAJOR) && OPENSSL_VERSION_MAJOR >= 3
#define RPCHOST_LIBCRYPTO "libcrypto.so." CRYPTO_STR(OPENSSL_VERSION_MAJOR)
#else
#define RPCHOST_LIBCRYPTO "libcrypto.so.1.1"
#endif
#endif

static struct {
    __typeof__(&HMAC) hmac;
    __typeof__(&EVP_sha256) sha256;
    __typeof__(&CRYPTO_memcmp) memcmp;
    __typeof__(&OPENSSL_cleanse) cleanse;
    __typeof__(&EVP_DecodeBlock) decode;
    __typeof__(&EVP_EncodeBlock) encode;
    __typeof__(&RAND_bytes) rand;
} fn;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_rc = -1;
static char load_err[256];

/* dlsym() `name` into *slot, a function pointer's storage.  ISO C has no
 * conversion from void * to a function pointer; POSIX requires the write
 * through a void ** to work (the idiom its dlsym() rationale gives).  0, or
 * -1 with the reason in load_err. */
static int
resolve(void *h, const char *name, void **slot)
{
    void *sym = dlsym(h, name);

    if (sym == NULL) {
        snprintf(load_err, sizeof(load_err), "%s: no symbol %s",
                 RPCHOST_LIBCRYPTO, name);
        return -1;
    }
    *slot = sym;
    return 0;
}

static void
load(void)
{
    void *h = dlopen(RPCHOST_LIBCRYPTO, RTLD_NOW | RTLD_LOCAL);

    if (h == NULL) {
        const char *e = dlerror();
        snprintf(load_err, sizeof(load_err), "cannot load %s: %s",
                 RPCHOST_LIBCRYPTO, e ? e : "unknown error");
        return;
    }
    if (resolve(h, "HMAC", (void **)&fn.hmac) != 0 ||
        resolve(h, "EVP_sha256", (void **)&fn.sha256) != 0 ||
        resolve(h, "CRYPTO_memcmp", (void **)&fn.memcmp) != 0 ||
        resolve(h, "OPENSSL_cleanse", (void **)&fn.cleanse) != 0 ||
        resolve(h, "EVP_DecodeBlock", (void **)&fn.decode) != 0 ||
        resolve(h, "EVP_EncodeBlock", (void **)&fn.encode) != 0 ||
        resolve(h, "RAND_bytes", (void **)&fn.rand) != 0)
        return;  /* h stays loaded: harmless, and load runs once */
    load_rc = 0; /* h stays loaded for the life of the process */
}

int
crypto_load(char *err, size_t errlen)
{
    pthread_once(&load_once, load);
    if (load_rc != 0 && err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", load_err);
    return load_rc;
}

int
crypto_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len,
                   unsigned char out[CRYPTO_SHA256_LEN])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;

    if (fn.hmac(fn.sha256(), key, (int)keylen, msg, len, mac, &maclen) ==
            NULL ||
        maclen != CRYPTO_SHA256_LEN)
        return -1;
    for (unsigned i = 0; i < CRYPTO_SHA256_LEN; i++)
        out[i] = mac[i];
    fn.cleanse(mac, sizeof(mac));
    return 0;
}

int
crypto_equal(const void *a, const void *b, size_t n)
{
    return fn.memcmp(a, b, n) == 0;
}

void
crypto_cleanse(void *p, size_t n)
{
    if (fn.cleanse != NULL && load_rc == 0)
        fn.cleanse(p, n);
}

int
crypto_b64_decode(unsigned char *out, const char *in, int inlen)
{
    return fn.decode(out, (const unsigned char *)in, inlen);
}

int
crypto_b64_encode(char *out, const unsigned char *in, int inlen)
{
    return fn.encode((unsigned char *)out, in, inlen);
}

int
crypto_random(void *buf, int n)
{
    return fn.rand(buf, n) == 1 ? 0 : -1;
}
