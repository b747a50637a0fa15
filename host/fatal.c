/* SPDX-License-Identifier: MIT */
/*
 * fatal.c - see fatal.h.
 */
#define _GNU_SOURCE
#include "fatal.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "activity.h"
#include "log.h"
#include "stats.h"
#include "util.h"

#if defined(__SANITIZE_ADDRESS__)
#define FATAL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FATAL_ASAN 1
#endif
#endif

#ifdef FATAL_ASAN

int
fatal_install(void)
{
    return 0;
}

void
fatal_thread_start(int loop)
{
    (void)loop;
}

void
fatal_thread_end(void)
{
}

#else

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

static _Thread_local int this_loop = -1;
static _Thread_local void *alt_stack;
static atomic_int reported; /* one report, from the first thread to fault */

/* A line being built in a fixed buffer; what does not fit is cut. */
struct line {
    char text[1536];
    size_t len;
};

static void
put(struct line *l, const char *s)
{
    while (*s != '\0' && l->len < sizeof(l->text) - 1)
        l->text[l->len++] = *s++;
}

static void
put_num(struct line *l, unsigned long long v)
{
    char digits[24];
    size_t n = 0;

    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0 && l->len < sizeof(l->text) - 1)
        l->text[l->len++] = digits[--n];
}

/* Seconds with three decimals, from microseconds. */
static void
put_secs(struct line *l, unsigned long long us)
{
    unsigned long long ms = us / 1000;

    put_num(l, ms / 1000);
    put(l, ".");
    put(l, ms % 1000 < 100 ? (ms % 1000 < 10 ? "00" : "0") : "");
    put_num(l, ms % 1000);
    put(l, " s");
}

static const char *
signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV";
    case SIGBUS:
        return "SIGBUS";
    case SIGILL:
        return "SIGILL";
    case SIGFPE:
        return "SIGFPE";
    case SIGABRT:
        return "SIGABRT";
    }
    return "?";
}

/* What loop i runs, from its record. */
static void
put_activity(struct line *l, size_t i, unsigned long long now_us)
{
    struct stats *s = stats_loop(i);
    const char *method, *plugin;
    unsigned long long since;

    put(l, "loop ");
    put_num(l, i);
    put(l, ": ");
    method = s != NULL
                 ? atomic_load_explicit(&s->now.method, memory_order_acquire)
                 : NULL;
    if (method == NULL) {
        put(l, "not in plugin code");
        return;
    }
    plugin = atomic_load_explicit(&s->now.plugin, memory_order_relaxed);
    since = atomic_load_explicit(&s->now.since_us, memory_order_relaxed);
    put(l, "method ");
    put(l, method);
    put(l, " (plugin [");
    put(l, plugin != NULL ? plugin : "?");
    put(l, "], generation ");
    put_num(l, atomic_load_explicit(&s->now.generation, memory_order_relaxed));
    put(l, ") for ");
    put_secs(l, now_us > since ? now_us - since : 0);
}

static void
on_fatal(int sig)
{
    struct line l = {.len = 0};
    char out[LOGLINE_MAX];
    struct timespec ts;
    size_t len;
    unsigned long long now_us;
    size_t n = stats_loop_count();
    int expected = 0;

    if (atomic_compare_exchange_strong(&reported, &expected, 1)) {
        now_us = util_mono_us(); /* clock_gettime: async-signal-safe */
        put(&l, "killed by signal ");
        put_num(&l, (unsigned long long)sig);
        put(&l, " (");
        put(&l, signal_name(sig));
        put(&l, ") in ");
        if (this_loop >= 0) {
            put(&l, "loop ");
            put_num(&l, (unsigned long long)this_loop);
        } else if (this_loop == FATAL_RELOAD_THREAD) {
            put(&l, "the reload thread (a plugin's init)");
        } else {
            put(&l, "another thread");
        }
        for (size_t i = 0; i < n; i++) {
            put(&l, "; ");
            put_activity(&l, i, now_us);
        }
        l.text[l.len] = '\0';
        /* "FATAL text", "<2>text" or a JSON object, as the log's lines. */
        clock_gettime(CLOCK_REALTIME, &ts);
        len = logline_msg(out, log_get_format(), log_to_journal(), &ts,
                          LOGLINE_FATAL, NULL, l.text);
        for (size_t off = 0; off < len;) {
            ssize_t w = write(STDERR_FILENO, out + off, len - off);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
    }
    /* SA_RESETHAND restored the default action; SA_NODEFER lets it act
     * now: the process ends of this signal, as it would have. */
    raise(sig);
}

/* An alternate stack for this thread (a stack overflow is reported). */
static int
stack_on(void)
{
    stack_t ss;
    size_t size = 64 * 1024;

    alt_stack = malloc(size);
    if (alt_stack == NULL)
        return -1;
    ss.ss_sp = alt_stack;
    ss.ss_size = size;
    ss.ss_flags = 0;
    if (sigaltstack(&ss, NULL) != 0) {
        free(alt_stack);
        alt_stack = NULL;
        return -1;
    }
    return 0;
}

int
fatal_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_fatal;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (stack_on() != 0)
        log_warn("fatal-signal report: no alternate stack for the main "
                 "thread");
    for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]);
         i++) {
        if (sigaction(fatal_signals[i], &sa, NULL) != 0) {
            log_warn("fatal-signal report: cannot handle signal %d",
                     fatal_signals[i]);
            return -1;
        }
    }
    return 0;
}

void
fatal_thread_start(int loop)
{
    sigset_t set;

    /* Loop threads start with every signal blocked (the main thread
     * handles them), and a fault the thread causes while its signal is
     * blocked kills the process without running the handler. */
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]);
         i++)
        sigaddset(&set, fatal_signals[i]);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    if (stack_on() != 0)
        log_warn("thread %d: no alternate signal stack", loop);
    this_loop = loop;
}

void
fatal_thread_end(void)
{
    stack_t ss;

    if (alt_stack == NULL)
        return;
    memset(&ss, 0, sizeof(ss));
    ss.ss_flags = SS_DISABLE;
    if (sigaltstack(&ss, NULL) == 0)
        free(alt_stack);
    alt_stack = NULL;
}

#endif /* FATAL_ASAN */
