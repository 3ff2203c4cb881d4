/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <regex.h>
#include <stdbool.h>

#include "config.h"

/* Decides whether a process is a VM whose memory counts as committed. A
 * process matches when any comm regex matches its 15-character comm, or any
 * command-line regex matches its arguments joined by spaces (as pgrep -f). */
struct vm_match {
        size_t n_comm, n_cmdline;
        regex_t comm[CONFIG_MAX_PATTERNS];
        regex_t cmdline[CONFIG_MAX_PATTERNS];
};

int vm_match_compile(struct vm_match *m, const struct pattern_list *comm,
                     const struct pattern_list *cmdline);
void vm_match_free(struct vm_match *m);
bool vm_match_needs_cmdline(const struct vm_match *m);
/* cmdline may be NULL when it was not read (no cmdline rules). */
bool vm_match_process(const struct vm_match *m, const char *comm, const char *cmdline);
