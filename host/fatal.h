/* SPDX-License-Identifier: MIT */
/*
 * fatal.h - a last word when plugin code (or the host) faults: the
 * process is dying of SIGSEGV, SIGBUS, SIGILL, SIGFPE or SIGABRT, and
 * before it does, one log line says the signal and what every event loop
 * was running (activity.h): method, plugin section, generation, for how
 * long.  Then the signal's default action runs as before (a core dump
 * where enabled; the exit status still says the signal), so a supervisor
 * or systemd sees the same death.
 *
 * The handler is async-signal-safe: it formats into a stack buffer, reads
 * the loops' records and writes with write(2) to fd 2 (the error log, a
 * log_file included: log.c keeps it there).  It runs on an alternate
 * stack, so a stack overflow is reported too.  Not installed in
 * AddressSanitizer builds, whose own report says more.
 */
#ifndef HOST_FATAL_H
#define HOST_FATAL_H

/* Main thread, before any loop starts: install the handlers, and an
 * alternate stack for the main thread.  -1 when that fails (logged; the
 * server runs on without the report). */
int fatal_install(void);

/* A loop's thread, first thing: the fault signals unblocked for it (loop
 * threads start with all signals blocked, and a fault while its signal is
 * blocked kills without the handler), its alternate stack, and its index
 * for the report ("in loop N").  Other threads report as "another
 * thread" (when their fault signals are not blocked). */
void fatal_thread_start(int loop);

/* fatal_thread_start()'s `loop` for the reload thread (reloader.h), which
 * runs plugins' init: reported as "in the reload thread". */
#define FATAL_RELOAD_THREAD (-2)

/* The same thread, last thing: give the alternate stack back. */
void fatal_thread_end(void);

#endif
