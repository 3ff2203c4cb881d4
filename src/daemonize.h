/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <sys/types.h>

/* Classic double-process start-up that Type=forking units and init scripts
 * expect, done so that nobody is told "started" before the daemon runs:
 *
 *   parent: opens PIDFILE (an unusable one fails here, exit 1), forks, waits
 *           for the child to report readiness, writes the child's PID, exits 0;
 *   child:  detaches (setsid, stdio to /dev/null), sets up, reports ready.
 *
 * daemonize_begin() returns in the child only (0), with *ret_ready_fd to hand
 * to daemonize_ready(). In the parent it never returns: it exits. */
int daemonize_begin(const char *pidfile, int *ret_ready_fd);
void daemonize_ready(int ready_fd);
/* Removes the PID file if it still names this process. */
void daemonize_remove_pidfile(const char *pidfile);
