/* SPDX-License-Identifier: MIT */
/*
 * pidfile.h - the file that names the process signals go to (the
 * supervisor's pid: `kill -HUP "$(cat FILE)"`).
 */
#ifndef HOST_PIDFILE_H
#define HOST_PIDFILE_H

/* Write this process's pid to `path` atomically (PATH.PID.tmp, then
 * renamed: a reader never sees it half-written).  0, or -1 logged. */
int pidfile_write(const char *path);

/* For -t: whether `path`'s folder takes the files pidfile_write makes.
 * 0, or -1 logged (naming `config`, the file that set it). */
int pidfile_check(const char *path, const char *config);

/* Read the pid `path` holds (one decimal number > 1, a newline allowed
 * after it) into *pid.  0, or -1 logged (a missing file: the server is not
 * running, or another pidfile is set). */
int pidfile_read(const char *path, long *pid);

#endif
