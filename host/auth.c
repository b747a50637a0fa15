/* SPDX-License-Identifier: MIT */
/*
 * auth.c - see auth.h.  Hashing, HMAC, random numbers, base64 and the
 * constant-time compare are OpenSSL's, reached through crypto.h, which loads
 * libcrypto when the first credentials file is loaded.
 */
#include "auth.h"
#include "crypto.h"
#include "iniread.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define SALT_HEX 32
#define HMAC_LEN CRYPTO_SHA256_LEN

struct secret {
    char salt[SALT_HEX + 1];
    unsigned char hmac[HMAC_LEN];
    int set;
};

struct cred {
    struct auth_user user;
    unsigned char name_mac[HMAC_LEN]; /* HMAC(name_key, user.name) */
    struct secret basic;
    struct secret token;
    int line;
    int methods_set;
};

/* A Basic check looks the user up by comparing the HMAC of the name it
 * was given with every credential's (fixed-length digests, constant-time
 * compares), then checks the password against the user found or, when
 * there is none, against `dummy`: one HMAC of the name and one of the
 * password in every case, so the time taken does not tell whether the
 * user exists.  Both keys are random, made at load. */
struct auth {
    struct cred *creds;
    size_t n;
    unsigned char name_key[HMAC_LEN];
    struct secret dummy; /* matches no password (random) */
};

struct load_state {
    struct auth *a;
    struct iniread rd; /* the line inih is at, and the first error */
};

/* n bytes as 2n lower-case hex digits and a NUL into out. */
static void
to_hex(const unsigned char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* "SALT$HMAC" into s; -1 if malformed. */
static int
parse_secret(const char *v, struct secret *s)
{
    const char *dollar = strchr(v, '$');

    if (dollar == NULL || dollar - v != SALT_HEX ||
        strlen(dollar + 1) != 2 * HMAC_LEN)
        return -1;
    for (int i = 0; i < SALT_HEX; i++)
        if (util_hexval((unsigned char)v[i]) < 0)
            return -1;
    memcpy(s->salt, v, SALT_HEX);
    s->salt[SALT_HEX] = '\0';
    for (int i = 0; i < HMAC_LEN; i++) {
        int hi = util_hexval((unsigned char)dollar[1 + 2 * i]);
        int lo = util_hexval((unsigned char)dollar[2 + 2 * i]);
        if (hi < 0 || lo < 0)
            return -1;
        s->hmac[i] = (unsigned char)(hi * 16 + lo);
    }
    s->set = 1;
    return 0;
}

/* Split "a, b,c" into a NULL-terminated list; "*" gives NULL (all). */
static int
parse_methods(const char *v, char ***out)
{
    char **list = NULL;
    size_t n = 0, len;
    const char *item, *p = v;

    if (strcmp(v, "*") == 0) {
        *out = NULL;
        return 0;
    }
    while ((item = util_list_next(&p, &len)) != NULL) {
        char **nl = realloc(list, (n + 2) * sizeof(*nl));

        if (nl == NULL)
            goto fail;
        list = nl;
        list[n] = strndup(item, len);
        if (list[n] == NULL)
            goto fail;
        list[++n] = NULL;
    }
    if (n == 0) {
        /* An empty list: no method at all. */
        list = calloc(1, sizeof(*list));
        if (list == NULL)
            return -1;
    }
    *out = list;
    return 0;
fail:
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
    return -1;
}

static void
free_methods(char **m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; m[i] != NULL; i++)
        free(m[i]);
    free(m);
}

static struct cred *
find_or_add(struct load_state *st, const char *section)
{
    struct auth *a = st->a;
    struct cred *nc;

    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->creds[i].user.name, section) == 0)
            return &a->creds[i];
    nc = realloc(a->creds, (a->n + 1) * sizeof(*nc));
    if (nc == NULL)
        return NULL;
    a->creds = nc;
    nc = &a->creds[a->n];
    memset(nc, 0, sizeof(*nc));
    nc->user.name = strdup(section);
    nc->line = st->rd.line;
    if (nc->user.name == NULL)
        return NULL;
    a->n++;
    return nc;
}

static int
on_key(void *user, const char *section, const char *name, const char *value)
{
    struct load_state *st = user;
    struct cred *c;

    if (st->rd.err[0] != '\0')
        return 1;
    if (section[0] == '\0')
        return iniread_fail(&st->rd, "key '%s' before any [user] section",
                            name);
    if (strchr(section, ':') != NULL)
        return iniread_fail(
            &st->rd, "user [%s]: a user name cannot contain ':'", section);
    c = find_or_add(st, section);
    if (c == NULL)
        return iniread_fail(&st->rd, "%s", "out of memory");
    if (strcmp(name, "rpcauth") == 0 || strcmp(name, "token") == 0) {
        struct secret *s = name[0] == 'r' ? &c->basic : &c->token;
        if (s->set)
            return iniread_fail(&st->rd, "key '%s' set twice", name);
        if (parse_secret(value, s) != 0)
            return iniread_fail(
                &st->rd,
                "%s: expected SALT$HMAC (32 + 64 hex digits; make "
                "one with rpchost --rpcauth USER)",
                name);
        return 1;
    }
    if (strcmp(name, "methods") == 0) {
        if (c->methods_set)
            return iniread_fail(&st->rd, "key '%s' set twice", name);
        c->methods_set = 1;
        if (parse_methods(value, &c->user.methods) != 0)
            return iniread_fail(&st->rd, "%s", "out of memory");
        return 1;
    }
    return iniread_fail(&st->rd, "unknown key '%s' (rpcauth, token, methods)",
                        name);
}

/* Warn (one line, naming the file and its mode) when group or others may
 * read or change the credentials file: the salted HMACs in it can be
 * attacked offline, and whoever can write it can add a credential.  The
 * mode is read from the open file, so it is the file being loaded. */
static void
warn_if_exposed(const char *file, FILE *fp)
{
    struct stat st;

    if (fstat(fileno(fp), &st) != 0 || (st.st_mode & 077) == 0)
        return;
    log_warn("auth_file %s: mode %04o lets group or others %s it; keep it "
             "0600 (chmod 600)",
             file, (unsigned)(st.st_mode & 07777),
             (st.st_mode & 022) ? "read or change" : "read");
}

/* The HMAC of user name `name` (len bytes) under a's name key. */
static int
name_digest(const struct auth *a, const char *name, size_t len,
            unsigned char out[HMAC_LEN])
{
    return crypto_hmac_sha256(a->name_key, sizeof(a->name_key), name, len, out);
}

/* The random keys of the constant-time lookup (see struct auth), and each
 * user name's digest.  0, or -1. */
static int
make_lookup_keys(struct auth *a)
{
    unsigned char salt[SALT_HEX / 2];

    if (crypto_random(a->name_key, sizeof(a->name_key)) != 0 ||
        crypto_random(salt, sizeof(salt)) != 0 ||
        crypto_random(a->dummy.hmac, sizeof(a->dummy.hmac)) != 0)
        return -1;
    to_hex(salt, sizeof(salt), a->dummy.salt);
    a->dummy.set = 1;
    for (size_t i = 0; i < a->n; i++) {
        const char *name = a->creds[i].user.name;
        if (name_digest(a, name, strlen(name), a->creds[i].name_mac) != 0)
            return -1;
    }
    return 0;
}

struct auth *
auth_load(const char *file, char *err, size_t errlen)
{
    struct load_state st;
    char why[256];
    FILE *fp;
    int rc;

    if (crypto_load(why, sizeof(why)) != 0) {
        snprintf(err, errlen, "%s: authentication needs OpenSSL: %s", file,
                 why);
        return NULL;
    }
    memset(&st, 0, sizeof(st));
    st.a = calloc(1, sizeof(*st.a));
    if (st.a == NULL) {
        snprintf(err, errlen, "%s: out of memory", file);
        return NULL;
    }
    fp = fopen(file, "r");
    if (fp == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", file, strerror(errno));
        auth_free(st.a);
        return NULL;
    }
    warn_if_exposed(file, fp);
    iniread_init(&st.rd, fp, NULL, NULL);
    rc = iniread_parse(&st.rd, on_key, &st);
    rc = iniread_result(&st.rd, rc, file, "syntax error", err, errlen);
    fclose(fp);
    if (rc != 0) {
        auth_free(st.a);
        return NULL;
    }
    for (size_t i = 0; i < st.a->n; i++) {
        if (!st.a->creds[i].basic.set && !st.a->creds[i].token.set) {
            snprintf(err, errlen, "%s:%d: [%s] has neither rpcauth nor token",
                     file, st.a->creds[i].line, st.a->creds[i].user.name);
            auth_free(st.a);
            return NULL;
        }
    }
    if (st.a->n == 0) {
        snprintf(err, errlen, "%s: no credentials", file);
        auth_free(st.a);
        return NULL;
    }
    if (make_lookup_keys(st.a) != 0) {
        snprintf(err, errlen, "%s: no random numbers for the lookup keys",
                 file);
        auth_free(st.a);
        return NULL;
    }
    return st.a;
}

void
auth_free(struct auth *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n; i++) {
        free(a->creds[i].user.name);
        free_methods(a->creds[i].user.methods);
    }
    crypto_cleanse(a->creds, a->n * sizeof(*a->creds));
    free(a->creds);
    crypto_cleanse(a, sizeof(*a));
    free(a);
}

size_t
auth_count(const struct auth *a)
{
    return a ? a->n : 0;
}

/* Whether `secret` (len bytes) matches s, in constant time. */
static int
secret_ok(const struct secret *s, const char *secret, size_t len)
{
    unsigned char mac[HMAC_LEN];

    if (!s->set)
        return 0;
    if (crypto_hmac_sha256(s->salt, SALT_HEX, secret, len, mac) != 0)
        return 0;
    return crypto_equal(mac, s->hmac, HMAC_LEN);
}

static const struct auth_user *
check_basic(const struct auth *a, const char *b64)
{
    unsigned char dec[512], mac[HMAC_LEN];
    size_t inlen = strlen(b64), found = a->n;
    const struct auth_user *who = NULL;
    const struct secret *s = &a->dummy;
    char *colon;
    int n;

    while (inlen > 0 && (b64[inlen - 1] == ' ' || b64[inlen - 1] == '\t'))
        inlen--;
    if (inlen == 0 || inlen % 4 != 0 || inlen / 4 * 3 >= sizeof(dec))
        return NULL;
    n = crypto_b64_decode(dec, b64, (int)inlen);
    if (n < 0)
        return NULL;
    /* The decoder counts padding as data. */
    if (b64[inlen - 1] == '=')
        n--;
    if (b64[inlen - 2] == '=')
        n--;
    dec[n] = '\0';
    if (memchr(dec, '\0', (size_t)n) != NULL)
        goto out;
    colon = strchr((char *)dec, ':');
    if (colon == NULL)
        goto out;
    /* The same work whether the user exists or not (see struct auth):
     * every name compared, then one password check. */
    if (name_digest(a, (char *)dec, (size_t)(colon - (char *)dec), mac) != 0)
        goto out;
    for (size_t i = 0; i < a->n; i++) {
        size_t hit = (size_t)crypto_equal(mac, a->creds[i].name_mac, HMAC_LEN);
        found = (found & ~(0 - hit)) | (i & (0 - hit)); /* no branch */
    }
    if (found < a->n && a->creds[found].basic.set)
        s = &a->creds[found].basic;
    if (secret_ok(s, colon + 1,
                  (size_t)n - (size_t)(colon + 1 - (char *)dec)) &&
        s != &a->dummy)
        who = &a->creds[found].user;
out:
    crypto_cleanse(dec, sizeof(dec));
    crypto_cleanse(mac, sizeof(mac));
    return who;
}

static const struct auth_user *
check_bearer(const struct auth *a, const char *token)
{
    size_t len = strcspn(token, " \t");
    const struct auth_user *who = NULL;

    /* One token, then only white space (as a Basic credential with
     * anything after it fails to decode). */
    if (len == 0 || token[len + strspn(token + len, " \t")] != '\0')
        return NULL;
    /* Try every token credential, so the time taken does not depend on
     * which one (if any) matches. */
    for (size_t i = 0; i < a->n; i++)
        if (secret_ok(&a->creds[i].token, token, len) && who == NULL)
            who = &a->creds[i].user;
    return who;
}

const struct auth_user *
auth_check(const struct auth *a, const char *header)
{
    if (a == NULL || header == NULL)
        return NULL;
    header += strspn(header, " \t");
    if (strncasecmp(header, "Basic ", 6) == 0)
        return check_basic(a, header + 6 + strspn(header + 6, " \t"));
    if (strncasecmp(header, "Bearer ", 7) == 0)
        return check_bearer(a, header + 7 + strspn(header + 7, " \t"));
    return NULL;
}

int
auth_allows(const struct auth_user *user, const char *method)
{
    if (user == NULL || user->methods == NULL)
        return 1;
    for (size_t i = 0; user->methods[i] != NULL; i++)
        if (strcmp(user->methods[i], method) == 0)
            return 1;
    return 0;
}

int
auth_make_credential(const char *kind, const char *user, const char *secret)
{
    unsigned char salt[SALT_HEX / 2], rnd[24], mac[HMAC_LEN];
    char salt_hex[SALT_HEX + 1], mac_hex[2 * HMAC_LEN + 1], made[64];
    char err[256];

    if (user[0] == '\0' || strpbrk(user, ":[]\n") != NULL) {
        fprintf(stderr, "rpchost: bad user name '%s'\n", user);
        return -1;
    }
    if (crypto_load(err, sizeof(err)) != 0) {
        fprintf(stderr, "rpchost: %s\n", err);
        return -1;
    }
    if (crypto_random(salt, sizeof(salt)) != 0) {
        fprintf(stderr, "rpchost: no random numbers\n");
        return -1;
    }
    to_hex(salt, sizeof(salt), salt_hex);
    if (secret == NULL) {
        if (crypto_random(rnd, sizeof(rnd)) != 0) {
            fprintf(stderr, "rpchost: no random numbers\n");
            return -1;
        }
        crypto_b64_encode(made, rnd, sizeof(rnd));
        for (char *p = made; *p; p++) /* URL- and header-safe */
            if (*p == '+')
                *p = '-';
            else if (*p == '/')
                *p = '_';
        secret = made;
    }
    if (crypto_hmac_sha256(salt_hex, SALT_HEX, secret, strlen(secret), mac) !=
        0)
        return -1;
    to_hex(mac, HMAC_LEN, mac_hex);
    printf("[%s]\n%s = %s$%s\n", user, kind, salt_hex, mac_hex);
    if (secret == made)
        fprintf(stderr, "%s for %s: %s\n",
                strcmp(kind, "token") == 0 ? "token" : "password", user, made);
    crypto_cleanse(made, sizeof(made));
    crypto_cleanse(rnd, sizeof(rnd));
    return 0;
}
