/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <syslog.h>

/* Where log lines go. The sink is process-wide by nature (one stderr, one
 * syslog connection), so this module keeps its small configuration itself;
 * only main and the manager change it. */
enum log_target {
        LOG_TARGET_CONSOLE, /* plain lines on stderr */
        LOG_TARGET_JOURNAL, /* stderr with sd-daemon "<N>" priority prefixes */
        LOG_TARGET_SYSLOG,  /* forked daemon with stderr not connected to the journal */
};

/* Picks JOURNAL when stderr is the journal stream systemd gave us, else CONSOLE. */
void log_setup(void);
void log_set_target(enum log_target target);
enum log_target log_get_target(void);
void log_set_debug(bool enabled);
bool log_get_debug(void);
/* Debug lines are also appended to this file (NULL or "" disables). An
 * unwritable file is reported once and otherwise ignored. */
void log_set_logfile(const char *path);

void log_full(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...)   log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)    log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...)  log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...)   log_full(LOG_ERR, __VA_ARGS__)
