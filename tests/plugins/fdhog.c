/* SPDX-License-Identifier: MIT */
/*
 * fdhog.so - test fixture: uses up the process's file descriptors, so the
 * tests can show what the server does when accept() fails with EMFILE.
 *   hog()      open /dev/null until the descriptor limit; the count
 *   release()  close them again; the count closed
 * Serial: one call at a time touches the list.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <rpchost/plugin.h>

static const rpchost_api *api;
static int *fds;
static size_t nfds, capfds;

static int
hog(rpchost_call *c, const cJSON *params, void *state)
{
    size_t before = nfds;

    (void)params;
    (void)state;
    for (;;) {
        int fd;

        if (nfds == capfds) {
            size_t cap = capfds ? capfds * 2 : 256;
            int *n = realloc(fds, cap * sizeof(*n));
            if (n == NULL)
                break;
            fds = n;
            capfds = cap;
        }
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            break;
        fds[nfds++] = fd;
    }
    return api->result(c, cJSON_CreateNumber((double)(nfds - before)));
}

static int
release(rpchost_call *c, const cJSON *params, void *state)
{
    size_t n = nfds;

    (void)params;
    (void)state;
    while (nfds > 0)
        close(fds[--nfds]);
    return api->result(c, cJSON_CreateNumber((double)n));
}

static void
fdhog_fini(void *state)
{
    (void)state;
    while (nfds > 0)
        close(fds[--nfds]);
    free(fds);
    fds = NULL;
    capfds = 0;
}

static int
fdhog_init(rpchost_plugin *p, const rpchost_api *a, void **state)
{
    rpchost_method m = {0};
    int rc;

    (void)state;
    api = a;
    m.flags = RPCHOST_METHOD_SERIAL;
    m.name = "hog";
    m.handler = hog;
    rc = api->register_method(p, &m);
    if (rc == RPCHOST_OK) {
        m.name = "release";
        m.handler = release;
        rc = api->register_method(p, &m);
    }
    return rc;
}

RPCHOST_PLUGIN_DEFINE("fdhog", "1.0.0", fdhog_init, fdhog_fini);
