/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* The ksmd kernel thread, found once, and its CPU time: what KSM costs. */

/* Scans <proc_dir> for the kthread named ksmd (parent kthreadd, pid 2). */
int ksmd_find(const char *proc_dir, pid_t *ret);
/* On-CPU nanoseconds from /proc/<pid>/schedstat. */
int ksmd_cpu_ns(const char *proc_dir, pid_t pid, uint64_t *ret);
