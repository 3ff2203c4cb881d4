/* SPDX-License-Identifier: GPL-2.0-or-later */
/* inhibit_hold: takes org.ksmtuned1 Inhibit() holds over one connection and
 * keeps every returned fd open, for tests (busctl and gdbus close the fd as
 * they exit, which ends the hold at once).
 *
 * Usage: inhibit_hold WHAT WHO WHY COUNT SECONDS
 *
 * Calls Inhibit(WHAT, WHO, WHY) COUNT times (WHO or WHY "@NNN" means a string
 * of NNN 'x'), then prints
 *   held N
 *   errors N [FIRST_ERROR_NAME: message]
 *   ready
 * and keeps the holds for SECONDS (or until killed), then exits 0. Exit 1 when
 * no call succeeded, 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

static char *expand(const char *arg)
{
        char *s;
        long n;

        if (arg[0] != '@')
                return strdup(arg);
        n = strtol(arg + 1, NULL, 10);
        if (n < 0 || n > 64 * 1024 * 1024)
                return NULL;
        s = malloc((size_t)n + 1);
        if (s == NULL)
                return NULL;
        memset(s, 'x', (size_t)n);
        s[n] = '\0';
        return s;
}

int main(int argc, char **argv)
{
        sd_bus *bus = NULL;
        struct rlimit rl;
        char *who, *why, first_error[512] = "";
        long count, seconds, held = 0, errors = 0;
        int r;

        if (argc != 6) {
                fprintf(stderr, "usage: inhibit_hold WHAT WHO WHY COUNT SECONDS\n");
                return 2;
        }
        who = expand(argv[2]);
        why = expand(argv[3]);
        count = strtol(argv[4], NULL, 10);
        seconds = strtol(argv[5], NULL, 10);
        if (who == NULL || why == NULL || count < 1 || seconds < 0) {
                fprintf(stderr, "inhibit_hold: bad arguments\n");
                return 2;
        }
        /* Room for every fd we may be given. */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
                rl.rlim_cur = rl.rlim_max;
                setrlimit(RLIMIT_NOFILE, &rl);
        }

        setvbuf(stdout, NULL, _IOLBF, 0);
        r = sd_bus_open_system(&bus);
        if (r < 0) {
                printf("error: connect: %s\n", strerror(-r));
                return 1;
        }
        for (long i = 0; i < count; i++) {
                sd_bus_error error = SD_BUS_ERROR_NULL;
                sd_bus_message *reply = NULL;
                int fd;

                r = sd_bus_call_method(bus, "org.ksmtuned1", "/org/ksmtuned1",
                                       "org.ksmtuned1.Manager", "Inhibit", &error, &reply, "sss",
                                       argv[1], who, why);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "h", &fd);
                if (r >= 0) { /* the reply owns its fd: keep a copy open */
                        fd = dup(fd);
                        r = fd < 0 ? -errno : 0;
                }
                if (r >= 0) {
                        held++;
                } else {
                        if (errors++ == 0)
                                snprintf(first_error, sizeof(first_error), " %s: %s",
                                         error.name ? error.name : "errno",
                                         error.message ? error.message : strerror(-r));
                        if (r == -ECONNRESET || r == -ENOTCONN)
                                break;
                }
                sd_bus_error_free(&error);
                sd_bus_message_unref(reply);
        }
        printf("held %ld\nerrors %ld%s\nready\n", held, errors, first_error);
        /* Stay on the bus (and keep the fds) for the requested time. */
        if (seconds > 0)
                sleep((unsigned)seconds);
        sd_bus_flush_close_unref(bus);
        free(who);
        free(why);
        return held > 0 ? 0 : 1;
}
