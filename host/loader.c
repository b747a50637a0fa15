/* SPDX-License-Identifier: MIT */
/*
 * loader.c - see loader.h.
 */
#define _GNU_SOURCE
#include "loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rcode.h"
#include "config.h"
#include "elfcheck.h"
#include "log.h"
#include "stats.h"

/* Format "FILE:LINE: [name] path = PATH: " and the reason into err. */
__attribute__((format(printf, 5, 6))) static void
load_error(char *err, size_t errlen, const char *cfg_file,
           const struct plugin_conf *pc, const char *fmt, ...)
{
    va_list ap;
    int n;

    n = snprintf(err, errlen,
                 "%s:%d: [%s] path = %s: ", pc->file ? pc->file : cfg_file,
                 pc->line, pc->name, pc->path);
    if (n < 0 || (size_t)n >= errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

/* "cannot open plugin: <errno's text>" into why[whylen]; returns -1. */
static int
cannot_open(char *why, size_t whylen)
{
    snprintf(why, whylen, "cannot open plugin: %s", strerror(errno));
    return -1;
}

/* Open the plugin file at `path` for reading and fstat it into *st: the fd
 * (the caller closes it), or -1 with the reason in why[whylen] (missing,
 * unreadable, not a regular file).  A path that is not a regular file is
 * never opened (opening a device can do something of its own); O_NONBLOCK
 * keeps a FIFO put there in between from blocking the main thread. */
static int
open_plugin(const char *path, struct stat *st, char *why, size_t whylen)
{
    int fd, saved;

    if (stat(path, st) != 0)
        return cannot_open(why, whylen);
    if (S_ISREG(st->st_mode)) {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
            return cannot_open(why, whylen);
        if (fstat(fd, st) != 0) {
            saved = errno;
            close(fd);
            errno = saved;
            return cannot_open(why, whylen);
        }
        if (S_ISREG(st->st_mode)) /* still, as opened */
            return fd;
        close(fd);
    }
    snprintf(why, whylen, "not a regular file");
    return -1;
}

/* Warn (one line) when others than its owner may change the code rpchost
 * will run: the file writable by group or others, or its folder writable
 * by others without the sticky bit (anyone may then put another file in
 * its place).  `st` is the open file's fstat. */
static void
warn_writable(const struct plugin_conf *pc, const struct stat *st)
{
    const char *slash = strrchr(pc->path, '/');
    char dir[PATH_MAX], file_part[64] = "", dir_part[PATH_MAX + 64] = "";
    mode_t fm = st->st_mode, dm;
    struct stat dst;

    if (fm & (S_IWGRP | S_IWOTH))
        snprintf(file_part, sizeof(file_part), "writable by %s (mode %04o)",
                 (fm & S_IWGRP) && (fm & S_IWOTH) ? "group and others"
                 : (fm & S_IWGRP)                 ? "group"
                                                  : "others",
                 (unsigned)(fm & 07777));
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else
        snprintf(dir, sizeof(dir), "%.*s",
                 slash == pc->path ? 1 : (int)(slash - pc->path), pc->path);
    if (stat(dir, &dst) == 0) {
        dm = dst.st_mode;
        if ((dm & S_IWOTH) && !(dm & S_ISVTX))
            snprintf(dir_part, sizeof(dir_part),
                     "its folder %s is writable by others (mode %04o, no "
                     "sticky bit)",
                     dir, (unsigned)(dm & 07777));
    }
    if (file_part[0] != '\0' || dir_part[0] != '\0')
        log_warn("plugin [%s] %s: %s%s%s; anyone who can write it can run "
                 "code in rpchost",
                 pc->name, pc->path, file_part,
                 file_part[0] && dir_part[0] ? ", " : "", dir_part);
}

/* Copy everything `in` has left into `out`: the bytes copied, or -1 with
 * errno. */
static off_t
copy_all(int in, int out)
{
    char buf[65536];
    off_t total = 0;
    ssize_t n;

    for (;;) {
        n = read(in, buf, sizeof(buf));
        if (n == 0)
            return total;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return -1;
            }
            off += w;
        }
        total += n;
    }
}

/* Whether two fstat()s of a file show the same file, unchanged. */
static int
unchanged(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
           a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Map the sealed copy `fd` of `size` bytes read-only and check that it is
 * a complete shared object for this host (elfcheck.h).  0, or -1 with the
 * reason in why[whylen]. */
static int
check_copy(int fd, size_t size, char *why, size_t whylen)
{
    void *img = NULL;
    int rc;

    if (size > 0) {
        img = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (img == MAP_FAILED) {
            snprintf(why, whylen, "cannot map the copy: %s", strerror(errno));
            return -1;
        }
    }
    rc = elfcheck_image(img, size, why, whylen);
    if (img != NULL)
        munmap(img, size);
    return rc;
}

/* A private, sealed in-memory copy of the plugin file open as `in` (whose
 * fstat before reading is `st`), checked before anything maps it: the file
 * unchanged while it was read (same file, size, mtime and ctime before and
 * after, every byte of that size copied), and the copy a complete shared
 * object for this host.  Sealed against writing, shrinking and growing, the
 * copy dlopen maps cannot change under it.  Its fd (the caller closes it),
 * or -1 with the reason in why[whylen].  `in` stays the caller's. */
static int
private_copy(int in, const struct stat *st, const char *name, char *why,
             size_t whylen)
{
    char mname[80];
    struct stat after;
    off_t n;
    int out;

    snprintf(mname, sizeof(mname), "rpchost-%s", name);
    out = memfd_create(mname, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (out < 0) {
        snprintf(why, whylen, "cannot copy plugin: %s", strerror(errno));
        return -1;
    }
    n = copy_all(in, out);
    if (n < 0 || fstat(in, &after) != 0) {
        snprintf(why, whylen, "cannot copy plugin: %s", strerror(errno));
        goto fail;
    }
    if (!unchanged(st, &after) || n != st->st_size) {
        snprintf(why, whylen,
                 "the file changed while it was read (%jd bytes, %jd read, "
                 "%jd after; still being written?): replace a plugin by "
                 "renaming a complete file into place",
                 (intmax_t)st->st_size, (intmax_t)n, (intmax_t)after.st_size);
        goto fail;
    }
    if (fcntl(out, F_ADD_SEALS,
              F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
        snprintf(why, whylen, "cannot seal the copy: %s", strerror(errno));
        goto fail;
    }
    if (check_copy(out, (size_t)n, why, whylen) != 0)
        goto fail;
    return out;
fail:
    close(out);
    return -1;
}

/* The section of the plugin whose init runs now (one build at a time),
 * for plugin_initialising(); copied, so that a reader never touches a
 * config the build may free. */
static pthread_mutex_t initialising_lock = PTHREAD_MUTEX_INITIALIZER;
static char initialising[64];

static void
set_initialising(const char *name)
{
    pthread_mutex_lock(&initialising_lock);
    snprintf(initialising, sizeof(initialising), "%s", name ? name : "");
    pthread_mutex_unlock(&initialising_lock);
}

void
plugin_initialising(char *buf, size_t len)
{
    pthread_mutex_lock(&initialising_lock);
    snprintf(buf, len, "%s", initialising);
    pthread_mutex_unlock(&initialising_lock);
}

/* Keys of the plugin's section its init never read: most likely a
 * misspelt one, which would otherwise be ignored without a word. */
static void
warn_unread(struct plugin *p, const char *cfg_file,
            const struct plugin_conf *pc)
{
    for (size_t i = 0; p->kv_read != NULL && i < pc->nkv; i++)
        if (!p->kv_read[i])
            log_warn("%s:%d: [%s] %s: the plugin's init never read this "
                     "key (misspelt?); it has no effect",
                     pc->file ? pc->file : cfg_file, pc->kv[i].line, p->name,
                     pc->kv[i].key);
    free(p->kv_read);
    p->kv_read = NULL;
}

int
plugin_load(struct plugin *p, const char *cfg_file,
            const struct plugin_conf *pc, struct registry *reg,
            const rpchost_api *api, char *err, size_t errlen)
{
    const rpchost_plugin_def *def;
    struct stat st;
    char why[512];
    const char *e;
    int rc, in;

    memset(p, 0, sizeof(*p));
    p->fd = -1;
    p->name = pc->name;
    p->stat_name = stats_intern(pc->name);
    p->conf = pc;
    p->reg = reg;

    in = open_plugin(pc->path, &st, why, sizeof(why));
    if (in < 0) {
        load_error(err, errlen, cfg_file, pc, "%s", why);
        goto fail;
    }
    warn_writable(pc, &st);
    /* dlopen() of a path that is still open returns the object already
     * loaded, so a rebuilt .so at the same path would never run after a
     * reload.  Load each generation's plugin from a private copy, checked
     * first: dlopen maps a truncated file without complaint, and the first
     * touch of what is missing is SIGBUS. */
    p->fd = private_copy(in, &st, pc->name, why, sizeof(why));
    close(in);
    if (p->fd < 0) {
        load_error(err, errlen, cfg_file, pc, "%s", why);
        goto fail;
    }
    snprintf(p->loaded_as, sizeof(p->loaded_as), "/proc/self/fd/%d", p->fd);
    dlerror();
    p->handle = dlopen(p->loaded_as, RTLD_NOW | RTLD_LOCAL);
    if (p->handle == NULL) {
        e = dlerror();
        load_error(err, errlen, cfg_file, pc, "dlopen failed: %s",
                   e ? e : "unknown error");
        goto fail;
    }
    dlerror();
    def = dlsym(p->handle, RPCHOST_PLUGIN_SYMBOL);
    if (def == NULL) {
        load_error(err, errlen, cfg_file, pc,
                   "no '%s' symbol: not an rpchost plugin (define one with "
                   "RPCHOST_PLUGIN_DEFINE)",
                   RPCHOST_PLUGIN_SYMBOL);
        goto fail;
    }
    if (def->abi_version > RPCHOST_ABI_VERSION) {
        load_error(err, errlen, cfg_file, pc,
                   "plugin built for ABI %u but this rpchost provides ABI "
                   "%u; upgrade rpchost or rebuild the plugin against this "
                   "SDK",
                   (unsigned)def->abi_version, (unsigned)RPCHOST_ABI_VERSION);
        goto fail;
    }
    if (def->abi_version < 1 || def->size < sizeof(rpchost_plugin_def)) {
        load_error(err, errlen, cfg_file, pc,
                   "malformed plugin table (ABI %u, size %u)",
                   (unsigned)def->abi_version, (unsigned)def->size);
        goto fail;
    }
    if (def->init == NULL) {
        load_error(err, errlen, cfg_file, pc,
                   "plugin table has no init function");
        goto fail;
    }
    p->def = def;
    free(p->kv_read);
    p->kv_read = pc->nkv > 0 ? calloc(pc->nkv, 1) : NULL;
    p->in_init = 1;
    set_initialising(p->name);
    rc = def->init(plugin_handle(p), api, &p->state);
    set_initialising(NULL);
    p->in_init = 0;
    if (rc != RPCHOST_OK) {
        if (p->host_error[0] != '\0' && p->error[0] != '\0')
            load_error(err, errlen, cfg_file, pc,
                       "init failed: %s (plugin says: %s; %s)", p->host_error,
                       p->error, rcode_text(rc));
        else if (p->host_error[0] != '\0')
            load_error(err, errlen, cfg_file, pc, "init failed: %s",
                       p->host_error);
        else
            load_error(err, errlen, cfg_file, pc, "init failed: %s (%s)",
                       p->error[0] ? p->error : "no reason given",
                       rcode_text(rc));
        goto fail;
    }
    if (p->reg_failed) {
        /* init ignored a refused registration: refuse the plugin anyway,
         * so a half-registered plugin never serves. */
        p->initialised = 1;
        plugin_unload(p);
        load_error(err, errlen, cfg_file, pc, "%s", p->host_error);
        goto fail;
    }
    warn_unread(p, cfg_file, pc);
    p->initialised = 1;
    return 0;
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
    p->serial = 0;
    if (p->handle != NULL)
        dlclose(p->handle);
    p->handle = NULL;
    p->def = NULL;
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    free(p->kv_read);
    p->kv_read = NULL;
}
