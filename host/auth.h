/* SPDX-License-Identifier: MIT */
/*
 * auth.h - optional client authentication: HTTP Basic and Bearer tokens,
 * checked against salted hashes (bitcoind's rpcauth is the model), with an
 * optional per-credential method allow-list.
 *
 * The credentials file (its own file, never the main config; keep it mode
 * 0600) is INI: one section per user:
 *
 *   [alice]
 *   rpcauth = SALT$HMAC  ; Basic alice:PASSWORD, HMAC-SHA256(SALT, PASSWORD)
 *   token   = SALT$HMAC  ; Bearer TOKEN, HMAC-SHA256(SALT, TOKEN)
 *   methods = ping, add  ; optional allow-list ("*" or absent: all methods)
 *
 * SALT is 32 hex digits, HMAC 64.  Secrets are never stored, logged or
 * echoed; comparisons are constant-time (OpenSSL's CRYPTO_memcmp, loaded
 * with libcrypto by the first auth_load(): see crypto.h), and a check
 * does the same work whether the user name or token exists or not.
 * `rpchost --rpcauth USER` / `--token USER` print such lines.
 */
#ifndef HOST_AUTH_H
#define HOST_AUTH_H

#include <stddef.h>

struct auth;

struct auth_user {
    char *name;
    char **methods; /* NULL: every method; else NULL-terminated list */
};

/* Load `file`.  NULL with "FILE:LINE: ..." in err on failure.  Logs a
 * warning (one line: the file and its mode) when group or others may read
 * or change it.  One thread at a time: the main thread at startup, the
 * reload thread on SIGHUP. */
struct auth *auth_load(const char *file, char *err, size_t errlen);
void auth_free(struct auth *a);
size_t auth_count(const struct auth *a);

/* The user an Authorization header value authenticates, or NULL (no
 * header, unknown scheme, bad credentials).  Any thread. */
const struct auth_user *auth_check(const struct auth *a, const char *header);

/* Whether `user` (NULL: no auth) may call `method`. */
int auth_allows(const struct auth_user *user, const char *method);

/* Print a credentials section for `user` to stdout (the secret, given or
 * made up, to stderr).  kind: "rpcauth" or "token".  0 or -1. */
int auth_make_credential(const char *kind, const char *user,
                         const char *secret);

#endif
