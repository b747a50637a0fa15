/* SPDX-License-Identifier: MIT */
/*
 * loader.h - loading one plugin: dlopen, ABI check, init, and the reverse.
 *
 * Follows Redis's module loader: dlopen(RTLD_NOW | RTLD_LOCAL), look up the
 * one exported symbol, refuse a binary-incompatible plugin before running
 * any of its code, then call its init with the host API table.  On any
 * failure the message names the config file, line, plugin and reason.
 *
 * The file is never mapped as it is: it is copied into a sealed memfd, and
 * the copy is loaded only when the file did not change while it was read
 * and the copy is a complete shared object for this host (elfcheck.h), so
 * a plugin caught half-written is refused instead of mapped (SIGBUS).
 * One thread at a time loads plugins: the main thread at startup and for
 * -t, the reload thread (reloader.h) for a reload.  fini runs on the main
 * thread when a generation ends, and on the reload thread when a reload
 * fails after some plugins' init succeeded.
 */
#ifndef HOST_LOADER_H
#define HOST_LOADER_H

#include <pthread.h>
#include <stddef.h>

#include "rpchost/plugin.h"

struct limit_cap;
struct plugin_conf;
struct registry;

struct plugin {
    char *name;            /* instance name (config section) */
    const char *stat_name; /* the same, interned (activity.h) */
    const struct plugin_conf *conf;
    void *handle;       /* dlopen handle, NULL when not loaded */
    int fd;             /* the sealed in-memory copy it was loaded from */
    char loaded_as[32]; /* "/proc/self/fd/N" */
    const rpchost_plugin_def *def;
    void *state;          /* set by init, passed to handlers/fini */
    struct registry *reg; /* where init registers methods */
    int in_init;          /* register_method allowed */
    /* Per key of its section (conf->kv): read by init through the config
     * getters (api.c), for the warning about keys init never read. */
    unsigned char *kv_read;
    int initialised; /* init succeeded: fini is due */
    int reg_failed;  /* a register_method() call failed */
    int serial;      /* set_serial(): methods share serial_cap */
    /* add_hooks() (hooks.h): NULL when not registered. */
    int (*on_call)(rpchost_call *call, const cJSON *params, void *state);
    void (*on_done)(rpchost_call *call, int code, uint64_t duration_us,
                    void *state);
    const char *hook_stat;        /* "hook", interned, for activity records */
    struct limit_cap *serial_cap; /* concurrency 1 (admit.c) */
    size_t nmethods;
    char error[512];      /* the plugin's set_error() text */
    char host_error[512]; /* what the host found wrong during init */
};

/* The plugin behind the opaque handle plugins get (rpchost_plugin * in
 * plugin.h is a struct plugin *), and back: the only casts between them. */
static inline struct plugin *
plugin_of(rpchost_plugin *h)
{
    return (struct plugin *)(void *)h;
}

static inline rpchost_plugin *
plugin_handle(struct plugin *p)
{
    return (rpchost_plugin *)(void *)p;
}

/* Load and initialise `p` from `pc`, registering into `reg`.  On failure
 * returns -1, writes "FILE:LINE: [name] path = PATH: reason" to err, and
 * leaves nothing loaded (init failing means init cleaned up after itself).
 * `api` is the table init gets (api.h's; a test may hand it another).
 * Logs one warning when the file (once opened, whether it then loads or
 * not) is writable by group or others, or its folder by others without the
 * sticky bit. */
int plugin_load(struct plugin *p, const char *cfg_file,
                const struct plugin_conf *pc, struct registry *reg,
                const rpchost_api *api, char *err, size_t errlen);

/* Run fini (if init had succeeded) and dlclose.  Idempotent. */
void plugin_unload(struct plugin *p);

/* Any thread: the config section of the plugin whose init is running
 * now, into buf (len bytes; "" when none). */
void plugin_initialising(char *buf, size_t len);

#endif
