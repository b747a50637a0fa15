/* SPDX-License-Identifier: MIT */
/*
 * control.h - `rpchost -s NAME`: signal the server running on a config,
 * found through the config's pidfile, the way `nginx -s` does.
 *
 *   reload  SIGHUP   (after the config passed -t's check; main.c)
 *   stop    SIGTERM
 *   reopen  SIGUSR1
 *   upgrade SIGUSR2  (after the config passed -t's check; main.c)
 *
 * The pid is signalled only when its process is an rpchost: a pidfile left
 * behind by a server that died without removing it may name a pid that
 * the system has since given to another program.  Main thread, before any
 * other thread; messages go to the log (stderr).
 */
#ifndef HOST_CONTROL_H
#define HOST_CONTROL_H

/* The signal `-s name` sends, or 0 when `name` is none of the above. */
int control_signal(const char *name);

/* Whether `name`'s signal makes the server read its config (reload,
 * upgrade): such a config is checked before the signal is sent. */
int control_checks_config(const char *name);

/* Read the pid in `pidfile` (named by `config`, the file that set it),
 * check that it is a running rpchost, and send it `name`'s signal.  0, or
 * -1 with one line logged saying why nothing was sent.  `quiet`: no line
 * on stdout after a success. */
int control_send(const char *pidfile, const char *config, const char *name,
                 int quiet);

#endif
