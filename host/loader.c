/*
 * loader.c - see loader.h.
 */
#define _GNU_SOURCE
#include "loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "log.h"

/* A sealed in-memory copy of the file at `path`; its fd, or -1. */
static int
private_copy(const char *path, const char *name)
{
    char buf[65536], mname[80];
    int in, out, saved;
    ssize_t n;

    in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    snprintf(mname, sizeof(mname), "rpchost-%s", name);
    out = memfd_create(mname, MFD_CLOEXEC);
    if (out < 0)
        goto fail;
    for (;;) {
        n = read(in, buf, sizeof(buf));
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            goto fail;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                goto fail;
            }
            off += w;
        }
    }
    close(in);
    return out;
fail:
    saved = errno;
    close(in);
    if (out >= 0)
        close(out);
    errno = saved;
    return -1;
}

int
plugin_load(struct plugin *p, const char *cfg_file,
            const struct plugin_conf *pc, struct registry *reg, char *err,
            size_t errlen)
{
    const rpchost_plugin_def *def;
    struct stat st;
    const char *e;
    int rc;

    memset(p, 0, sizeof(*p));
    p->fd = -1;
    p->name = pc->name;
    p->conf = pc;
    p->reg = reg;

#define FAIL(...)                                                              \
    do {                                                                       \
        int n_ = snprintf(err, errlen, "%s:%d: [%s] path = %s: ", cfg_file,    \
                          pc->line, pc->name, pc->path);                       \
        if (n_ >= 0 && (size_t)n_ < errlen)                                    \
            snprintf(err + n_, errlen - (size_t)n_, __VA_ARGS__);              \
        goto fail;                                                             \
    } while (0)

    if (stat(pc->path, &st) != 0)
        FAIL("cannot open plugin: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        FAIL("not a regular file");
    /* dlopen() of a path that is still open returns the object already
     * loaded, so a rebuilt .so at the same path would never run after a
     * reload.  Load each generation's plugin from a private copy. */
    p->fd = private_copy(pc->path, pc->name);
    if (p->fd < 0)
        FAIL("cannot copy plugin: %s", strerror(errno));
    snprintf(p->loaded_as, sizeof(p->loaded_as), "/proc/self/fd/%d", p->fd);
    dlerror();
    p->handle = dlopen(p->loaded_as, RTLD_NOW | RTLD_LOCAL);
    if (p->handle == NULL) {
        e = dlerror();
        FAIL("dlopen failed: %s", e ? e : "unknown error");
    }
    dlerror();
    def = dlsym(p->handle, RPCHOST_PLUGIN_SYMBOL);
    if (def == NULL)
        FAIL("no '%s' symbol: not an rpchost plugin (define one with "
             "RPCHOST_PLUGIN_DEFINE)",
             RPCHOST_PLUGIN_SYMBOL);
    if (def->abi_version > RPCHOST_ABI_VERSION)
        FAIL("plugin built for ABI %u but this rpchost provides ABI %u; "
             "upgrade rpchost or rebuild the plugin against this SDK",
             (unsigned)def->abi_version, (unsigned)RPCHOST_ABI_VERSION);
    if (def->abi_version < 1 || def->size < sizeof(rpchost_plugin_def))
        FAIL("malformed plugin table (ABI %u, size %u)",
             (unsigned)def->abi_version, (unsigned)def->size);
    if (def->init == NULL)
        FAIL("plugin table has no init function");
    p->def = def;
    p->in_init = 1;
    rc = def->init((rpchost_plugin *)p, host_api(), &p->state);
    p->in_init = 0;
    if (rc != RPCHOST_OK && p->host_error[0] != '\0' && p->error[0] != '\0')
        FAIL("init failed: %s (plugin says: %s; %s)", p->host_error, p->error,
             host_strerror(rc));
    if (rc != RPCHOST_OK && p->host_error[0] != '\0')
        FAIL("init failed: %s", p->host_error);
    if (rc != RPCHOST_OK)
        FAIL("init failed: %s (%s)", p->error[0] ? p->error : "no reason given",
             host_strerror(rc));
    if (p->reg_failed) {
        /* init ignored a refused registration: refuse the plugin anyway,
         * so a half-registered plugin never serves. */
        p->initialised = 1;
        plugin_unload(p);
        FAIL("%s", p->host_error);
    }
    p->initialised = 1;
    return 0;
#undef FAIL
fail:
    p->in_init = 0;
    p->initialised = 0; /* init failed: it cleaned up, no fini */
    plugin_unload(p);
    return -1;
}

void
plugin_unload(struct plugin *p)
{
    if (p->initialised && p->def->fini != NULL)
        p->def->fini(p->state);
    p->initialised = 0;
    if (p->serial) {
        pthread_mutex_destroy(&p->serial_lock);
        p->serial = 0;
    }
    if (p->handle != NULL)
        dlclose(p->handle);
    p->handle = NULL;
    p->def = NULL;
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
}
