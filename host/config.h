/* SPDX-License-Identifier: MIT */
/*
 * config.h - reading conf/rpc.ini (INI via libinih).
 *
 * The [server] section holds the host's settings; every other section is a
 * plugin instance whose name is the section name, whose `path` names its
 * shared object (relative paths resolve against the config file's folder)
 * and whose other keys belong to the plugin.  Any error gives one message
 * "FILE:LINE: ..." naming the key; nothing is half-applied.
 */
#ifndef HOST_CONFIG_H
#define HOST_CONFIG_H

#include <stddef.h>
#include <sys/types.h>

#include "address.h"
#include <stdint.h>

struct config_kv {
    char *key;
    char *value;
    int line;
};

struct plugin_conf {
    char *name;           /* section name */
    char *path;           /* resolved path of the .so; NULL until given */
    int line;             /* line of its `path` key (else of its first key) */
    int section_line;     /* line of its `[name]` header */
    char *file;           /* the file holding the section (an include's) */
    struct config_kv *kv; /* plugin-specific keys (not "path") */
    size_t nkv;
};

struct config {
    char *file; /* the config file as given */
    char *text; /* what was parsed (NUL-terminated): a supervisor restarts
                   a crashed worker from the last text that loaded */
    size_t text_len;
    char *dir;                           /* its folder, for relative paths */
    struct address listens[ADDRESS_MAX]; /* `listen`, in order */
    int nlistens;
    int listen_mode;    /* a unix socket's permissions */
    char *listen_group; /* and group (NULL: the process's) */
    char *endpoint;     /* URL path accepting POST, starts with '/' */
    int threads;        /* event loops; 0 in the file means "CPU count" */
    int log_level;      /* enum log_level */
    int log_format;     /* enum log_format (log.h) */
    size_t max_body_size;
    size_t max_header_size;
    size_t max_chunk_overhead; /* a chunked body's framing (framing.h) */
    size_t max_response_size;
    int max_batch;
    int max_depth;
    int timeout_ms;          /* idle/read/write timeout of a connection */
    int header_timeout_ms;   /* a request's headers arrive within this */
    int request_timeout_ms;  /* a whole request arrives within this */
    int response_timeout_ms; /* a client takes a whole answer within this */
    int backlog;             /* listen(2) backlog */
    int shutdown_timeout_ms; /* how long SIGTERM waits for in-flight work */
    int call_timeout_ms;     /* deadline of a deferred call */
    int max_call_depth;      /* calls between plugins nest this deep */
    int stall_timeout_ms;    /* a loop kept this long is reported stalled */
    int stall_restart_ms;    /* and its worker replaced after this; 0 never */
    char *pidfile;           /* NULL: none */
    char *auth_file;         /* credentials; NULL: no authentication */
    char *cors_origins;      /* "a, b" or "*"; NULL: no CORS */
    char *allowed_hosts;     /* "a, b" or "*"; NULL: loopback names when
                                listening on loopback, else any */
    char *health_path;       /* GET: 200 / 503 draining; NULL: off */
    char *metrics_path;      /* GET: Prometheus text; NULL: off */
    char *access_log;        /* NULL: none */
    char *log_file;          /* NULL: stderr */
    int notification_status; /* HTTP status of an answer with no body
                                (notifications only): 204 or 200 */
    int max_connections;     /* per process; 0: unlimited */
    /* Admission limits (admit.h); 0 / NULL: off. */
    double rate_per_peer;       /* calls per second per client address */
    int rate_per_peer_burst;    /* 0: one second's worth */
    double rate_per_credential; /* calls per second per credential */
    int rate_per_credential_burst;
    int rate_keys;               /* keys each rate tracks */
    char *method_concurrency;    /* "name:N, ..." (checked against the
                                    methods when the generation is built) */
    int method_concurrency_line; /* its line, for that check's message */
    int concurrency_queue;       /* calls waiting for a capped method */
    char *trusted_proxies;       /* addresses / CIDR; NULL: none */
    struct plugin_conf *plugins;
    size_t nplugins;
};

/* Defaults, also documented in README.md. */
#define CONFIG_DEFAULT_LISTEN "127.0.0.1:5000"
#define CONFIG_DEFAULT_MAX_BODY (1024 * 1024)
#define CONFIG_DEFAULT_MAX_HEADER 8192
#define CONFIG_DEFAULT_MAX_CHUNK_OVERHEAD 16384 /* Go's net/http's */
#define CONFIG_DEFAULT_MAX_RESPONSE (16 * 1024 * 1024)
#define CONFIG_DEFAULT_MAX_BATCH 1000
#define CONFIG_DEFAULT_MAX_DEPTH 64
#define CONFIG_DEFAULT_TIMEOUT_MS 30000
#define CONFIG_DEFAULT_HEADER_TIMEOUT_MS 10000
#define CONFIG_DEFAULT_REQUEST_TIMEOUT_MS 30000
#define CONFIG_DEFAULT_RESPONSE_TIMEOUT_MS 60000
#define CONFIG_DEFAULT_BACKLOG 1024
#define CONFIG_DEFAULT_SHUTDOWN_MS 10000
#define CONFIG_DEFAULT_CALL_TIMEOUT_MS 10000
#define CONFIG_DEFAULT_MAX_CALL_DEPTH 8
#define CONFIG_DEFAULT_STALL_TIMEOUT_MS 5000  /* why 5 s: README, Health */
#define CONFIG_DEFAULT_STALL_RESTART_MS 30000 /* README, Supervisor */
#define CONFIG_DEFAULT_LISTEN_MODE 0660       /* owner and group: README */
#define CONFIG_DEFAULT_MAX_CONNECTIONS 10000
#define CONFIG_DEFAULT_RATE_KEYS 65536
#define CONFIG_DEFAULT_CONCURRENCY_QUEUE 64
#define CONFIG_DEFAULT_NOTIFICATION_STATUS 204
#define CONFIG_MAX_THREADS 256
#define CONFIG_MAX_SECTION 49         /* libinih keeps 49 characters */
#define CONFIG_MAX_TEXT (1024 * 1024) /* a config file's largest size */
#define CONFIG_MAX_INCLUDE_DEPTH 8    /* files including files */
#define CONFIG_MAX_INCLUDED 64        /* files included in all */
#define CONFIG_MAX_PATTERNS 16        /* include keys in one file */

/* Fill `c` with defaults (no plugins). */
void config_defaults(struct config *c);

/* Read FILE into a new config.  On error returns -1, *out is NULL and
 * errbuf holds "FILE:LINE: message".  The caller frees with config_free. */
int config_load(const char *file, struct config **out, char *errbuf,
                size_t errlen);

/* The same from `text` (len bytes) as if read from FILE (which names it
 * in messages and whose folder relative paths start from).
 *
 * `include = PATTERN` keys before the first section (README, "include")
 * name more files, parsed after the file that names them.  The config's
 * `text` keeps them all: the file's text, then, when it has an include,
 * a NUL byte and each included file as "PATH\0TEXT\0".  A text holding
 * a NUL is such a saved config: its includes are taken from it, never
 * read from disk, so a worker restarted from the last text that loaded
 * runs that config exactly. */
int config_parse(const char *file, const char *text, size_t len,
                 struct config **out, char *errbuf, size_t errlen);

/* Apply the command line's -l and -j (either may be NULL) and resolve
 * threads = 0 to the CPU count.  -1 + errbuf on a bad value. */
int config_apply_overrides(struct config *c, const char *listen,
                           const char *threads, char *errbuf, size_t errlen);

/* Whether `origin` is in cors_origins (or it is "*"). */
int config_origin_allowed(const struct config *c, const char *origin);

/* The id of group `name` (a name, or a number that is a group's) into
 * *gid (may be NULL).  -1 when the system has no such group. */
int config_group_id(const char *name, gid_t *gid);

/* Whether every listen address is reachable from this machine only (a
 * unix socket, a loopback host): then `allowed_hosts` defaults to the
 * loopback names. */
int config_local_only(const struct config *c);

/* Whether the two have the same listen addresses, in the same order. */
int config_same_listens(const struct config *a, const struct config *b);

/* dst's listen addresses become copies of src's; -1 on ENOMEM (dst's
 * kept). */
int config_copy_listens(struct config *dst, const struct config *src);

/* `value` (a path from c's file) resolved against that file's folder,
 * malloc()ed; NULL when out of memory. */
char *config_path(const struct config *c, const char *value);

/* The value of a plugin key, or NULL. */
const char *plugin_conf_get(const struct plugin_conf *p, const char *key);

void config_free(struct config *c);

#endif
