/* SPDX-License-Identifier: MIT */
/*
 * main.c - the command line: read the config, build the first generation,
 * then either report it (-t), signal the running server with it (-s), or
 * serve it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "auth.h"
#include "config.h"
#include "control.h"
#include "evfmt.h"
#include "evmove.h"
#include "evread.h"
#include "evscan.h"
#include "evmem.h"
#include "fatal.h"
#include "generation.h"
#include "log.h"
#include "notify.h"
#include "pidfile.h"
#include "registry.h"
#include "reload.h"
#include "server.h"
#include "shared.h"
#include "supervisor.h"
#include "upgrade.h"
#include "version.h"

#define DEFAULT_CONFIG RPCHOST_DEFAULT_CONFIG /* version.h, from CMake */

static void
usage(FILE *out)
{
    fprintf(
        out,
        "usage: rpchost [options]\n"
        "\n"
        "Serve JSON-RPC 2.0 over HTTP from the plugins named in a config "
        "file.\n"
        "\n"
        "  -c, --config FILE     config file (default " DEFAULT_CONFIG ")\n"
        "  -l, --listen ADDR:PORT  listen here (or unix:PATH) instead of every "
        "[server] listen\n"
        "  -j, --threads N       event loops instead of [server] threads "
        "(0 = CPUs)\n"
        "  -t, --test-config     load config and plugins, report, exit "
        "0/1\n"
        "  -q, --quiet           with -t or -s: print nothing but errors\n"
        "  -s, --signal NAME     signal the server running on this config "
        "(found\n"
        "                        through its pidfile): reload (SIGHUP, "
        "only if the\n"
        "                        config passes -t's check), stop "
        "(SIGTERM), reopen\n"
        "                        (SIGUSR1), upgrade (SIGUSR2, checked "
        "like reload)\n"
        "  -v, --verbose         log more (debug)\n"
        "  -h, --help            this text\n"
        "      --version         print the version\n"
        "      --rpcauth USER [PASSWORD]\n"
        "                        print an auth_file section for HTTP Basic\n"
        "      --token NAME [TOKEN]\n"
        "                        print an auth_file section for a Bearer "
        "token\n"
        "                        (without a secret, a random one is printed to "
        "stderr)\n"
        "\n"
        "Signals: SIGTERM/SIGINT stop gracefully; SIGQUIT stops as SIGTERM, "
        "giving idle\n"
        "keep-alive connections shutdown_timeout for one more request; "
        "SIGHUP reloads the\n"
        "config and plugins; SIGUSR1 reopens the log files; SIGUSR2 "
        "upgrades (re-executes\n"
        "the binary on disk in place, with the listening sockets).\n");
}

/* Append text to buf (len bytes, off used), cutting it when full. */
static void
append(char *buf, size_t len, size_t *off, const char *text)
{
    int n = snprintf(buf + *off, len - *off, "%s", text);

    if (n > 0)
        *off += (size_t)n < len - *off ? (size_t)n : len - *off - 1;
}

/* What plugin p of g provides, into buf (len bytes; cut when full): its
 * methods ("a, b"), then its call hooks ("a, b; hooks: on_call, on_done");
 * a plugin with hooks alone is "(hooks only: on_done)", one with neither
 * "(no methods)".  Returns buf. */
static const char *
plugin_provides(const struct generation *g, const struct plugin *p, char *buf,
                size_t len)
{
    size_t off = 0, nmethods = 0;
    int hooked = p->on_call != NULL || p->on_done != NULL;

    buf[0] = '\0';
    for (size_t j = 0; j < registry_count(g->reg); j++) {
        const struct method *m = registry_at(g->reg, j);
        if (m->plugin != p)
            continue;
        if (nmethods++ > 0)
            append(buf, len, &off, ", ");
        append(buf, len, &off, m->name);
    }
    if (!hooked) {
        if (nmethods == 0)
            append(buf, len, &off, "(no methods)");
        return buf;
    }
    append(buf, len, &off, nmethods == 0 ? "(hooks only: " : "; hooks: ");
    if (p->on_call != NULL)
        append(buf, len, &off, "on_call");
    if (p->on_done != NULL)
        append(buf, len, &off, p->on_call != NULL ? ", on_done" : "on_done");
    if (nmethods == 0)
        append(buf, len, &off, ")");
    return buf;
}

static void
report(const struct generation *g)
{
    const struct config *c = g->cfg;

    printf("config %s: ok\n", c->file);
    for (int i = 0; i < c->nlistens; i++) {
        char addr[256];

        address_text(&c->listens[i], addr, sizeof(addr));
        printf("listen %s\n", addr);
    }
    printf("endpoint %s threads %d\n", c->endpoint, c->threads);
    printf("limits max_body_size %zu max_header_size %zu "
           "max_chunk_overhead %zu max_batch %d "
           "max_depth %d timeout %.3gs header_timeout %.3gs request_timeout "
           "%.3gs response_timeout %.3gs shutdown_timeout %.3gs "
           "max_connections %d backlog %d\n",
           c->max_body_size, c->max_header_size, c->max_chunk_overhead,
           c->max_batch, c->max_depth, c->timeout_ms / 1000.0,
           c->header_timeout_ms / 1000.0, c->request_timeout_ms / 1000.0,
           c->response_timeout_ms / 1000.0, c->shutdown_timeout_ms / 1000.0,
           c->max_connections, c->backlog);
    printf("allowed_hosts %s\n",
           c->allowed_hosts ? c->allowed_hosts
           : config_local_only(c)
               ? "(loopback names: localhost, 127.x.x.x, [::1])"
               : "(any)");
    for (size_t i = 0; i < g->nloaded; i++) {
        const struct plugin *p = &g->plugins[i];
        char what[1024];

        printf("plugin [%s] %s (%s %s, ABI %u): %s\n", p->name,
               c->plugins[i].path, p->def->name ? p->def->name : "?",
               p->def->version ? p->def->version : "?",
               (unsigned)p->def->abi_version,
               plugin_provides(g, p, what, sizeof(what)));
    }
    printf("%zu plugin(s), %zu method(s)\n", g->nloaded,
           registry_count(g->reg));
}

static void
log_loaded(const struct generation *g)
{
    for (size_t i = 0; i < g->nloaded; i++) {
        char what[1024];

        log_info("plugin [%s] loaded from %s: %s", g->plugins[i].name,
                 g->cfg->plugins[i].path,
                 plugin_provides(g, &g->plugins[i], what, sizeof(what)));
    }
}

/* What the worker process runs (supervisor.h): load the plugins, serve. */
static struct reload_opts ropts;

static int
serve(struct config *cfg, const struct worker_ends *ends)
{
    struct generation *g;
    char err[1024];
    int rc;

    server_hold_signals(); /* first: the supervisor forked it blocked */
    log_set_format(cfg->log_format); /* a restart's config may be newer */
    shared_use_arena(ends->shared);  /* names the supervisor can read */
    /* Before plugin code runs: a fault in it is reported (fatal.h). */
    fatal_install();
    g = generation_build(cfg, 1, err, sizeof(err));
    if (g == NULL) {
        log_error("%s", err);
        return 1;
    }
    if (ends->restarts == 0)
        log_info("rpchost %s starting (pid %ld, worker %ld, plugin ABI %d)",
                 RPCHOST_VERSION, (long)getppid(), (long)getpid(),
                 RPCHOST_ABI_VERSION);
    log_loaded(g);
    log_debug("evhttp's header lines and lookups: %s",
              evfmt_bound() ? "host/evfmt.c's (interposed)"
                            : "libevent's own (not interposed)");
    log_debug("evhttp's version scan: %s",
              evscan_bound() ? "host/evscan.c's (interposed)"
                             : "the C library's (not interposed)");
    log_debug("the connections' reads: %s",
              evread_bound() ? "host/evread.c's (interposed)"
                             : "libevent's own (not interposed)");
    if (evmove_bound() < 0) {
        log_error("evbuffer_remove_buffer: this executable's is bound, but "
                  "libevent's own was not found (dlsym RTLD_NEXT)");
        return 1;
    }
    log_debug("evhttp's moves of a body's bytes: %s",
              evmove_bound() ? "host/evmove.c's (interposed)"
                             : "libevent's own (not interposed)");
    rc = server_run(g, &ropts, ends);
    notify_close();
    evmem_drain_thread(); /* what the main thread still caches */
    return rc;
}

/* The binary's path, for SIGUSR2's re-execution of the file on disk. */
static const char *
own_path(char *buf, size_t len, const char *argv0)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    static const char deleted[] = " (deleted)";

    if (n <= 0)
        return argv0;
    buf[n] = '\0';
    if ((size_t)n > sizeof(deleted) - 1 &&
        strcmp(buf + n - (sizeof(deleted) - 1), deleted) == 0)
        buf[n - (sizeof(deleted) - 1)] = '\0';
    return buf;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, 'j'},
        {"test-config", no_argument, NULL, 't'},
        {"quiet", no_argument, NULL, 'q'},
        {"signal", required_argument, NULL, 's'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"rpcauth", required_argument, NULL, 'A'},
        {"token", required_argument, NULL, 'T'},
        {NULL, 0, NULL, 0},
    };
    const char *file = DEFAULT_CONFIG, *listen = NULL, *threads = NULL;
    const char *action = NULL; /* -s NAME */
    int test = 0, verbose = 0, quiet = 0, opt, rc;
    struct config *cfg;
    struct config *c;
    struct generation *g;
    char err[1024], exe[4096];
    int bad_option;

    evmem_install(); /* before anything of libevent's allocates */
    log_detect_journal();
    while ((opt = getopt_long(argc, argv, "c:l:j:tqs:vh", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            file = optarg;
            break;
        case 'l':
            listen = optarg;
            break;
        case 'j':
            threads = optarg;
            break;
        case 't':
            test = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        case 's':
            action = optarg;
            break;
        case 'v':
            verbose++;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'A':
        case 'T':
            /* Print a credentials section; an optional secret follows. */
            return auth_make_credential(
                       opt == 'A' ? "rpcauth" : "token", optarg,
                       optind < argc ? argv[optind] : NULL) == 0
                       ? 0
                       : 1;
        case 'V':
            printf("rpchost %s (plugin ABI %d, libevent %s, cJSON %s)\n",
                   RPCHOST_VERSION, RPCHOST_ABI_VERSION, event_get_version(),
                   cJSON_Version());
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rpchost: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (action != NULL && control_signal(action) == 0) {
        fprintf(stderr,
                "rpchost: -s %s: not one of reload, stop, reopen, upgrade\n",
                action);
        return 2;
    }
    if (action != NULL && test) {
        fprintf(stderr, "rpchost: -s and -t do not go together (-s reload "
                        "runs -t's check itself)\n");
        return 2;
    }
    if (quiet && !test && action == NULL) {
        fprintf(stderr, "rpchost: -q goes with -t or -s\n");
        return 2;
    }
    /* Before plugins load: they must not inherit NOTIFY_SOCKET. */
    notify_init();
    ropts.config_file = file;
    ropts.listen = listen;
    ropts.threads = threads;
    ropts.verbose = verbose;
    cfg = reload_config(&ropts, NULL, 0, err, sizeof(err), &bad_option);
    if (cfg == NULL && bad_option) {
        /* A bad -l or -j value: the command line's fault (exit 2). */
        log_error("%s", err);
        return 2;
    }
    if (cfg == NULL) {
        log_error("%s", err);
        /* A binary re-executed by SIGUSR2 serves on what served. */
        c = test || action != NULL ? NULL : upgrade_config(file);
        if (c == NULL)
            return 1;
        cfg =
            reload_config(&ropts, c->text, c->text_len, err, sizeof(err), NULL);
        config_free(c);
        if (cfg == NULL) {
            log_error("%s", err);
            return 1;
        }
    }
    /* -s: the check's own info lines (a generation built and finalised)
     * would only hide what matters. */
    log_set_level(quiet            ? LEVEL_ERROR
                  : verbose        ? LEVEL_DEBUG
                  : action != NULL ? LEVEL_WARN
                                   : cfg->log_level);
    log_set_format(cfg->log_format);
    if (action != NULL && !control_checks_config(action)) {
        /* stop, reopen: the config names the pidfile; nothing to build. */
        rc = control_send(cfg->pidfile, cfg->file, action, quiet) == 0 ? 0 : 1;
        config_free(cfg);
        return rc;
    }
    if (!test && action == NULL) {
        /* The server's log is log_file from its first line on; only what
         * came before (the config's own errors) went to stderr. */
        if (cfg->log_file != NULL && log_open_file(cfg->log_file) != 0)
            log_error("log_file %s: %s; logging to stderr", cfg->log_file,
                      strerror(errno));
        rc = supervisor_run(cfg, &ropts, own_path(exe, sizeof(exe), argv[0]),
                            argv, serve);
        notify_close();
        return rc;
    }
    /* -t: the same build as a worker's, reported instead of served; -s
     * reload and upgrade: the same build, then the signal if it passed. */
    if (action != NULL && cfg->pidfile == NULL) {
        rc = control_send(NULL, cfg->file, action, quiet) == 0 ? 0 : 1;
        config_free(cfg);
        return rc;
    }
    fatal_install();
    g = generation_build(cfg, 1, err, sizeof(err));
    if (g == NULL) {
        log_error("%s", err);
        if (action != NULL)
            log_error("-s %s: the config failed the check; nothing "
                      "signalled",
                      action);
        return 1;
    }
    if (action != NULL) {
        rc = control_send(g->cfg->pidfile, g->cfg->file, action, quiet) == 0
                 ? 0
                 : 1;
        generation_unref(g);
        return rc;
    }
    rc = g->cfg->pidfile != NULL &&
         pidfile_check(g->cfg->pidfile, g->cfg->file) != 0;
    if (g->cfg->log_file != NULL &&
        log_check_file(g->cfg->file, "log_file", g->cfg->log_file) != 0)
        rc = 1;
    if (g->cfg->access_log != NULL &&
        log_check_file(g->cfg->file, "access_log", g->cfg->access_log) != 0)
        rc = 1;
    if (rc == 0 && !quiet)
        report(g);
    /* The report is the last word: not "generation 1 finalised" (-v
     * still shows it and what the plugins' finalisers say). */
    if (!verbose)
        log_set_level(LEVEL_WARN);
    generation_unref(g);
    return rc;
}
