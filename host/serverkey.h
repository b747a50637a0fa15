/* SPDX-License-Identifier: MIT */
/*
 * serverkey.h - the keys of the [server] section: which exist, and how
 * each value is checked and stored into struct config.  The table of keys
 * (name, kind, range) is serverkey.c's server_keys[]; README's [server]
 * table and rpchost.ini(5) document each (test_manpages checks).
 */
#ifndef HOST_SERVERKEY_H
#define HOST_SERVERKEY_H

#include <stddef.h>

#include "config.h"
#include "iniread.h"

/* More than the keys there are: the size of a map of those already set. */
#define SERVERKEY_MAX 64

/* Set [server] key `name` to `value` in c.  `seen` (SERVERKEY_MAX bytes,
 * zeroed for a file) marks the keys set already: any but `listen` twice
 * is an error.  *listen_given tells that a `listen` key replaced the
 * default address.  1, or 0 with the error (naming the key) in rd, for
 * inih. */
int serverkey_set(struct config *c, struct iniread *rd, char *seen,
                  int *listen_given, const char *name, const char *value);

/* Add a listen address (`listen` key or -l): the first one replaces the
 * default unless *replaced is set already.  0, or -1 with why in errbuf. */
int serverkey_listen(struct config *c, const char *value, int *replaced,
                     char *errbuf, size_t errlen);

#endif
