/* SPDX-License-Identifier: MIT */
/*
 * fuzz_config.c - fuzzes the config reader: each input is written to a
 * temporary file which config_load() (host/config.h) reads.  A config that
 * loads must be complete and consistent; one that fails must say
 * "FILE:LINE: message".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"
#include "log.h"

static char path[64];
static int fd = -1;

static void
remove_file(void)
{
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    fd = -1;
}

static void
init_once(void)
{
    const char *tmp = getenv("TMPDIR");

    if (fd >= 0)
        return;
    log_set_level(LEVEL_ERROR);
    if (tmp == NULL || tmp[0] == '\0' ||
        (size_t)snprintf(path, sizeof(path), "%s/rpchost-fuzz-config-XXXXXX",
                         tmp) >= sizeof(path))
        snprintf(path, sizeof(path), "/tmp/rpchost-fuzz-config-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0) {
        perror("fuzz_config: temporary file");
        exit(2);
    }
    atexit(remove_file);
}

static void
check_config(const struct config *c)
{
    FUZZ_CHECK(c->file != NULL && c->dir != NULL);
    FUZZ_CHECK(c->nlistens >= 1 && c->nlistens <= ADDRESS_MAX);
    for (int i = 0; i < c->nlistens; i++) {
        const struct address *a = &c->listens[i];
        FUZZ_CHECK((a->host != NULL) != (a->path != NULL));
        FUZZ_CHECK(a->port >= 0 && a->port <= 65535);
    }
    FUZZ_CHECK(c->endpoint != NULL && c->endpoint[0] == '/');
    FUZZ_CHECK(c->threads >= 0 && c->threads <= CONFIG_MAX_THREADS);
    FUZZ_CHECK(c->max_batch > 0 && c->max_depth > 0);
    FUZZ_CHECK(c->nplugins == 0 || c->plugins != NULL);
    for (size_t i = 0; i < c->nplugins; i++) {
        const struct plugin_conf *p = &c->plugins[i];

        FUZZ_CHECK(p->name != NULL && p->path != NULL);
        FUZZ_CHECK(strlen(p->name) <= CONFIG_MAX_SECTION);
        FUZZ_CHECK(p->nkv == 0 || p->kv != NULL);
        for (size_t k = 0; k < p->nkv; k++) {
            FUZZ_CHECK(p->kv[k].key != NULL && p->kv[k].value != NULL);
            FUZZ_CHECK(plugin_conf_get(p, p->kv[k].key) != NULL);
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config *c = NULL;
    char err[512];
    size_t off = 0;

    init_once();
    if (ftruncate(fd, 0) != 0)
        abort();
    while (off < size) {
        ssize_t n = pwrite(fd, data + off, size - off, (off_t)off);
        if (n <= 0)
            abort();
        off += (size_t)n;
    }
    err[0] = '\0';
    if (config_load(path, &c, err, sizeof(err)) == 0) {
        FUZZ_CHECK(c != NULL);
        check_config(c);
        config_free(c);
    } else {
        FUZZ_CHECK(c == NULL);
        /* "FILE:LINE: message" */
        FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0);
        FUZZ_CHECK(err[strlen(path)] == ':');
    }
    return 0;
}
