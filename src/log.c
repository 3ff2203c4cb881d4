/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct {
        enum log_target target;
        bool debug;
        char logfile[4096];
        bool logfile_warned;
} log_state;

void log_setup(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        log_state.target = LOG_TARGET_CONSOLE;
        /* Prefixes only make sense when journald reads our stderr; on a
         * terminal they would be noise. */
        if (e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
            (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino)
                log_state.target = LOG_TARGET_JOURNAL;
}

void log_set_target(enum log_target target)
{
        if (target == LOG_TARGET_SYSLOG && log_state.target != LOG_TARGET_SYSLOG)
                openlog("ksmtuned", LOG_PID | LOG_NDELAY, LOG_DAEMON);
        log_state.target = target;
}

enum log_target log_get_target(void)
{
        return log_state.target;
}

void log_set_debug(bool enabled)
{
        log_state.debug = enabled;
}

bool log_get_debug(void)
{
        return log_state.debug;
}

void log_set_logfile(const char *path)
{
        const char *p = path ? path : "";

        if (strcmp(p, log_state.logfile) != 0)
                log_state.logfile_warned = false;
        snprintf(log_state.logfile, sizeof(log_state.logfile), "%s", p);
}

static void logfile_append(const char *msg)
{
        char stamp[64], line[2048];
        struct tm tm;
        time_t t = time(NULL);
        int fd, n, saved_errno;

        if (!localtime_r(&t, &tm) || strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(stamp, sizeof(stamp), "%lld", (long long)t);
        n = snprintf(line, sizeof(line), "%s: %s\n", stamp, msg);
        if (n < 0)
                return;
        if ((size_t)n >= sizeof(line))
                n = (int)sizeof(line) - 1;

        /* Opened per line, as the stock script did, so logrotate needs no
         * signal: the next line lands in the new file. */
        fd = open(log_state.logfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
        if (fd >= 0) {
                ssize_t w = write(fd, line, (size_t)n);
                saved_errno = errno;
                close(fd);
                if (w == n)
                        return;
                if (w >= 0)
                        saved_errno = EIO;
        } else
                saved_errno = errno;

        if (!log_state.logfile_warned) {
                log_state.logfile_warned = true;
                log_warning("Failed to append to LOGFILE %s, debug lines go to the log only: %s",
                            log_state.logfile, strerror(saved_errno));
        }
}

void log_full(int priority, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;
        int saved_errno = errno;

        if (priority == LOG_DEBUG && !log_state.debug)
                return;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);

        switch (log_state.target) {
        case LOG_TARGET_JOURNAL: fprintf(stderr, "<%d>%s\n", priority, msg); break;
        case LOG_TARGET_SYSLOG: syslog(priority, "%s", msg); break;
        case LOG_TARGET_CONSOLE:
        default: fprintf(stderr, "%s\n", msg); break;
        }

        if (priority == LOG_DEBUG && log_state.logfile[0])
                logfile_append(msg);

        errno = saved_errno;
}
