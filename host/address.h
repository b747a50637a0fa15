/* SPDX-License-Identifier: MIT */
/*
 * address.h - one `listen` address (pure): `HOST:PORT`, `[IPv6]:PORT` or
 * `unix:/path/to.sock`, parsed, compared and written back as text.
 */
#ifndef HOST_ADDRESS_H
#define HOST_ADDRESS_H

#include <stddef.h>

/* The most `listen` entries a config may have. */
#define ADDRESS_MAX 16

struct address {
    char *host; /* TCP: "127.0.0.1", "::1", a name; NULL for a unix socket */
    int port;   /* TCP: 0..65535 (0: any free port) */
    char *path; /* unix: the socket file's path; NULL for TCP */
};

/* Parse `value` into *a (zeroed first).  A relative unix path is taken
 * from `dir` (NULL: as it is).  -1 with err[0..errlen) on a bad value. */
int address_parse(struct address *a, const char *value, const char *dir,
                  char *err, size_t errlen);

/* A copy of src into *dst; -1 on ENOMEM (dst then empty). */
int address_copy(struct address *dst, const struct address *src);

void address_free(struct address *a);

/* Whether the two name the same place. */
int address_equal(const struct address *a, const struct address *b);

/* "127.0.0.1:5000", "[::1]:5000", "unix:/run/rpc.sock" into out. */
void address_text(const struct address *a, char *out, size_t len);

/* Whether only this machine reaches it: a unix socket, or a loopback host
 * ("127.x.x.x", "::1", "localhost"). */
int address_is_local(const struct address *a);

/* Whether `host` is a loopback address or "localhost". */
int address_host_is_loopback(const char *host);

#endif
