/*
 * discover.h - the OpenRPC 1.2 document that `rpc.discover` answers with,
 * built once per generation from its registry (pure; no libevent).
 */
#ifndef HOST_DISCOVER_H
#define HOST_DISCOVER_H

#include <stddef.h>

struct registry;

/* The document as compact JSON text (malloc()ed, *len bytes), or NULL on
 * ENOMEM. */
char *discover_build(const struct registry *r, const char *version,
                     size_t *len);

#endif
