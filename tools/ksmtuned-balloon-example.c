/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ksmtuned-balloon-example: how a memory-balloon daemon talks to ksmtuned.
 *
 * A balloon daemon takes memory back from guests by inflating their balloons.
 * KSM frees host memory too, more slowly and without bothering the guests, so
 * the daemon should ask KSM first. This example goes through the protocol of
 * org.ksmtuned1 step by step, and only pretends to inflate or to migrate:
 *
 *   1. GetAll on org.ksmtuned1.Manager, and subscribe to PropertiesChanged and
 *      BalloonAdvised (subscribe first, so that no change falls in between).
 *   2. --need BYTES: Assess(BYTES) says whether KSM will free that much soon
 *      enough ("wait", with an ETA), whether ballooning is needed ("balloon"),
 *      or whether nothing needs doing ("none").
 *   3. Before inflating a balloon: NotifyBalloon(guest, target, actual, 0), so
 *      that ksmtuned re-measures and retunes right away.
 *   4. --migrate: Inhibit("merge") for the length of a migration. ksmtuned
 *      stops merging (run=0) while the returned fd stays open; closing it, or
 *      dying, ends the hold.
 *   5. --watch SECONDS: print the signals as they arrive; a BalloonAdvised is
 *      ksmtuned saying that KSM alone will not keep up.
 *
 * Every line printed starts with a word and a colon so tests can grep it.
 * Exit status: 0 success, 1 a D-Bus error (its name and message are
 * printed), 2 bad usage.
 *
 * Build: cc -std=gnu11 ksmtuned-balloon-example.c $(pkg-config --cflags --libs libsystemd)
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#define SERVICE "org.ksmtuned1"
#define OBJECT  "/org/ksmtuned1"
#define MANAGER "org.ksmtuned1.Manager"

#define USEC_PER_SEC UINT64_C(1000000)

static const char *prog = "ksmtuned-balloon-example";

struct options {
        uint64_t need_bytes; /* 0: do not ask */
        uint64_t max_wait_usec;
        bool has_max_wait;
        const char *guest;
        uint64_t guest_memory_bytes;
        bool migrate;
        uint64_t migrate_seconds;
        uint64_t watch_seconds;
};

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */

static uint64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

/* Prints a failed call the way tests expect and returns exit status 1. */
static int bus_failed(const char *what, const sd_bus_error *error, int r)
{
        if (error != NULL && sd_bus_error_is_set(error))
                printf("error: %s: %s: %s\n", what, error->name,
                       error->message ? error->message : "");
        else
                printf("error: %s: %s\n", what, strerror(-r));
        return 1;
}

static void usage(FILE *f)
{
        fprintf(f,
                "usage: %s [--need BYTES [--max-wait SECONDS]] [--guest ID [--guest-memory "
                "BYTES]]\n"
                "       %*s [--migrate [--migrate-seconds N]] [--watch SECONDS]\n"
                "BYTES may end in K, M, G or T (powers of 1024).\n",
                prog, (int)strlen(prog), "");
}

/* "123", "64K", "2G": bytes. False on anything else. */
static bool parse_bytes(const char *s, uint64_t *ret)
{
        unsigned long long v;
        unsigned shift = 0;
        char *end;

        if (s[0] < '0' || s[0] > '9')
                return false;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || end == s)
                return false;
        switch (*end) {
        case 'K':
        case 'k':
                shift = 10;
                end++;
                break;
        case 'M':
        case 'm':
                shift = 20;
                end++;
                break;
        case 'G':
        case 'g':
                shift = 30;
                end++;
                break;
        case 'T':
        case 't':
                shift = 40;
                end++;
                break;
        default: break;
        }
        if (*end != '\0' || (shift > 0 && v > (UINT64_MAX >> shift)))
                return false;
        *ret = (uint64_t)v << shift;
        return true;
}

static bool parse_seconds(const char *s, uint64_t *ret)
{
        unsigned long long v;
        char *end;

        if (s[0] < '0' || s[0] > '9')
                return false;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0' || v > UINT64_MAX / USEC_PER_SEC)
                return false;
        *ret = v;
        return true;
}

/* Prints one variant's value (the message is positioned on the variant):
 * basic types, "as" and a{sv}, which is all ksmtuned uses; anything else
 * prints as its signature in parentheses. */
static int print_variant(sd_bus_message *m)
{
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, contents);
        if (r < 0)
                return r;

        if (contents[0] == SD_BUS_TYPE_ARRAY && strcmp(contents, "a{sv}") == 0) {
                const char *key;
                bool first = true;

                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
                if (r < 0)
                        return r;
                printf("{");
                while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
                        r = sd_bus_message_read(m, "s", &key);
                        if (r < 0)
                                return r;
                        printf("%s%s=", first ? "" : ",", key);
                        first = false;
                        r = print_variant(m);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                }
                if (r < 0)
                        return r;
                printf("}");
                r = sd_bus_message_exit_container(m);
        } else if (contents[0] == SD_BUS_TYPE_ARRAY && strcmp(contents, "as") == 0) {
                char **strv = NULL;

                r = sd_bus_message_read_strv(m, &strv);
                if (r < 0)
                        return r;
                for (size_t i = 0; strv != NULL && strv[i] != NULL; i++) {
                        printf("%s%s", i > 0 ? "," : "", strv[i]);
                        free(strv[i]);
                }
                free(strv);
        } else if (contents[1] != '\0' || strchr("ybnqiuxtdsog", contents[0]) == NULL) {
                /* A type this example does not print: show its signature. */
                printf("(%s)", contents);
                r = sd_bus_message_skip(m, contents);
        } else {
                union {
                        uint8_t y;
                        int b;
                        int16_t n;
                        uint16_t q;
                        int32_t i;
                        uint32_t u;
                        int64_t x;
                        uint64_t t;
                        double d;
                        const char *s;
                } v;

                r = sd_bus_message_read_basic(m, contents[0], &v);
                if (r < 0)
                        return r;
                switch (contents[0]) {
                case 'y': printf("%u", v.y); break;
                case 'b': printf("%s", v.b ? "true" : "false"); break;
                case 'n': printf("%d", v.n); break;
                case 'q': printf("%u", v.q); break;
                case 'i': printf("%" PRIi32, v.i); break;
                case 'u': printf("%" PRIu32, v.u); break;
                case 'x': printf("%" PRIi64, v.x); break;
                case 't': printf("%" PRIu64, v.t); break;
                case 'd': printf("%g", v.d); break;
                case 's':
                case 'o':
                case 'g': printf("%s", v.s); break;
                default: printf("?"); break;
                }
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* Prints "PREFIX Key=value Key=value ..." for an a{sv} at the read position. */
static int print_dict_line(sd_bus_message *m, const char *prefix)
{
        const char *key;
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;
        printf("%s", prefix);
        while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                printf(" %s=", key);
                r = print_variant(m);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        printf("\n");
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* ------------------------------------------------------------------------ */
/* Signals                                                                  */

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        const char *interface;
        int r;

        (void)userdata;
        (void)error;
        r = sd_bus_message_read(m, "s", &interface);
        if (r < 0 || strcmp(interface, MANAGER) != 0)
                return 0;
        r = print_dict_line(m, "signal: PropertiesChanged");
        if (r < 0)
                fprintf(stderr, "%s: bad PropertiesChanged: %s\n", prog, strerror(-r));
        return 0;
}

static int on_balloon_advised(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        uint64_t deficit, since;
        uint32_t level;
        int r;

        (void)userdata;
        (void)error;
        r = sd_bus_message_read(m, "tut", &deficit, &level, &since);
        if (r < 0) {
                fprintf(stderr, "%s: bad BalloonAdvised: %s\n", prog, strerror(-r));
                return 0;
        }
        printf("signal: BalloonAdvised deficit=%" PRIu64 " level=%" PRIu32 " since-usec=%" PRIu64
               "\n",
               deficit, level, since);
        /* A real daemon would now inflate the guests whose memory KSM merges
         * least (level 2: memory is critical, do it now). */
        printf("action: would inflate balloons by %" PRIu64 " bytes (level %" PRIu32 ")\n", deficit,
               level);
        return 0;
}

/* Handles bus traffic (our signal callbacks run from here) until the
 * monotonic clock reaches deadline. */
static int process_until(sd_bus *bus, uint64_t deadline)
{
        for (;;) {
                uint64_t now;
                int r;

                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                now = now_usec();
                if (now >= deadline)
                        return 0;
                r = sd_bus_wait(bus, deadline - now);
                if (r < 0 && r != -EINTR)
                        return r;
        }
}

/* ------------------------------------------------------------------------ */
/* The protocol                                                             */

static int show_manager(sd_bus *bus)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *key;
        int r;

        r = sd_bus_call_method(bus, SERVICE, OBJECT, "org.freedesktop.DBus.Properties", "GetAll",
                               &error, &reply, "s", MANAGER);
        if (r < 0) {
                r = bus_failed("GetAll", &error, r);
                sd_bus_error_free(&error);
                return r;
        }
        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "{sv}");
        while (r >= 0 &&
               (r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        break;
                printf("property: %s=", key);
                r = print_variant(reply);
                printf("\n");
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        sd_bus_message_unref(reply);
        if (r < 0) {
                printf("error: GetAll: cannot parse the reply: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}

struct advice {
        const char *recommend; /* points into the reply message */
        uint64_t eta_usec, saved_bytes, saved_bytes_rate, deficit_bytes;
        uint32_t effort;
        const char *state;
};

/* Reads the a{sv} Assess answers into *a; unknown keys are skipped, so that
 * a newer ksmtuned can add some. */
static int read_advice(sd_bus_message *reply, struct advice *a)
{
        const char *key;
        int r;

        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        return r;
                if (strcmp(key, "recommend") == 0)
                        r = sd_bus_message_read(reply, "v", "s", &a->recommend);
                else if (strcmp(key, "state") == 0)
                        r = sd_bus_message_read(reply, "v", "s", &a->state);
                else if (strcmp(key, "eta-usec") == 0)
                        r = sd_bus_message_read(reply, "v", "t", &a->eta_usec);
                else if (strcmp(key, "saved-bytes") == 0)
                        r = sd_bus_message_read(reply, "v", "t", &a->saved_bytes);
                else if (strcmp(key, "saved-bytes-rate") == 0)
                        r = sd_bus_message_read(reply, "v", "t", &a->saved_bytes_rate);
                else if (strcmp(key, "deficit-bytes") == 0)
                        r = sd_bus_message_read(reply, "v", "t", &a->deficit_bytes);
                else if (strcmp(key, "effort") == 0)
                        r = sd_bus_message_read(reply, "v", "u", &a->effort);
                else
                        r = sd_bus_message_skip(reply, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

/* NotifyBalloon uses QEMU's balloon terms: target is the guest memory size
 * we are about to ask for, actual the size the guest has now. */
static int notify_balloon(sd_bus *bus, const struct options *o, uint64_t inflate_bytes)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        uint64_t actual = o->guest_memory_bytes;
        uint64_t target = inflate_bytes < actual ? actual - inflate_bytes : 0;
        int r;

        r = sd_bus_call_method(bus, SERVICE, OBJECT, MANAGER, "NotifyBalloon", &error, NULL, "sttu",
                               o->guest, target, actual, (uint32_t)0);
        if (r < 0) {
                r = bus_failed("NotifyBalloon", &error, r);
                sd_bus_error_free(&error);
                return r;
        }
        printf("notify: guest=%s target=%" PRIu64 " actual=%" PRIu64 "\n", o->guest, target,
               actual);
        return 0;
}

static int assess(sd_bus *bus, const struct options *o)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *call = NULL, *reply = NULL;
        struct advice a = {.recommend = "", .state = "", .eta_usec = UINT64_MAX};
        int r;

        r = sd_bus_message_new_method_call(bus, &call, SERVICE, OBJECT, MANAGER, "Assess");
        if (r >= 0)
                r = sd_bus_message_append(call, "t", o->need_bytes);
        if (r >= 0 && o->has_max_wait)
                r = sd_bus_message_append(call, "a{sv}", 1, "max-wait-usec", "t", o->max_wait_usec);
        else if (r >= 0)
                r = sd_bus_message_append(call, "a{sv}", 0);
        if (r < 0) {
                sd_bus_message_unref(call);
                return bus_failed("Assess", NULL, r);
        }
        r = sd_bus_call(bus, call, 0, &error, &reply);
        sd_bus_message_unref(call);
        if (r < 0) {
                r = bus_failed("Assess", &error, r);
                sd_bus_error_free(&error);
                return r;
        }
        r = read_advice(reply, &a);
        if (r < 0) {
                sd_bus_message_unref(reply);
                printf("error: Assess: cannot parse the reply: %s\n", strerror(-r));
                return 1;
        }

        printf("advice: recommend=%s eta-usec=%" PRIu64 " saved-bytes=%" PRIu64
               " saved-bytes-rate=%" PRIu64 " state=%s effort=%" PRIu32 " deficit-bytes=%" PRIu64
               "\n",
               a.recommend, a.eta_usec, a.saved_bytes, a.saved_bytes_rate, a.state, a.effort,
               a.deficit_bytes);

        r = 0;
        if (strcmp(a.recommend, "wait") == 0) {
                if (a.eta_usec == UINT64_MAX)
                        printf("action: would wait for KSM (no ETA known)\n");
                else
                        printf("action: would wait %" PRIu64 " s for KSM\n",
                               (a.eta_usec + USEC_PER_SEC - 1) / USEC_PER_SEC);
        } else if (strcmp(a.recommend, "balloon") == 0) {
                /* Inflate by what is still missing, at least what we need. */
                uint64_t inflate =
                        a.deficit_bytes > o->need_bytes ? a.deficit_bytes : o->need_bytes;

                if (o->guest != NULL)
                        r = notify_balloon(bus, o, inflate);
                if (r == 0)
                        printf("action: would inflate balloons by %" PRIu64 " bytes\n", inflate);
        } else {
                printf("action: nothing to do for %" PRIu64 " bytes\n", o->need_bytes);
        }
        sd_bus_message_unref(reply);
        return r;
}

static int migrate(sd_bus *bus, const struct options *o)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        char why[256];
        int fd, r;

        snprintf(why, sizeof(why), "migration of %s", o->guest ? o->guest : "a guest");
        r = sd_bus_call_method(bus, SERVICE, OBJECT, MANAGER, "Inhibit", &error, &reply, "sss",
                               "merge", "balloon-example", why);
        if (r < 0) {
                r = bus_failed("Inhibit", &error, r);
                sd_bus_error_free(&error);
                return r;
        }
        /* The fd belongs to the reply: keep our own copy for the hold. */
        r = sd_bus_message_read(reply, "h", &fd);
        if (r >= 0)
                fd = dup(fd);
        sd_bus_message_unref(reply);
        if (r < 0 || fd < 0) {
                printf("error: Inhibit: no file descriptor in the reply\n");
                return 1;
        }
        printf("inhibit: holding merge (%s) for %" PRIu64 " s\n", why, o->migrate_seconds);

        /* The pretend migration. Keep serving the bus meanwhile, so that signals
         * are printed as they come. */
        r = process_until(bus, now_usec() + o->migrate_seconds * USEC_PER_SEC);
        close(fd);
        printf("inhibit: released\n");
        if (r < 0)
                return bus_failed("waiting for the bus", NULL, r);
        return 0;
}

static int subscribe(sd_bus *bus)
{
        int r;

        /* NULL slots: the matches live as long as the connection. */
        r = sd_bus_match_signal(bus, NULL, SERVICE, OBJECT, "org.freedesktop.DBus.Properties",
                                "PropertiesChanged", on_properties_changed, NULL);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, SERVICE, OBJECT, MANAGER, "BalloonAdvised",
                                        on_balloon_advised, NULL);
        if (r < 0)
                return bus_failed("AddMatch", NULL, r);
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {
                {"need", required_argument, NULL, 'n'},
                {"max-wait", required_argument, NULL, 'W'},
                {"guest", required_argument, NULL, 'g'},
                {"guest-memory", required_argument, NULL, 'M'},
                {"migrate", no_argument, NULL, 'm'},
                {"migrate-seconds", required_argument, NULL, 's'},
                {"watch", required_argument, NULL, 'w'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        struct options o = {.migrate_seconds = 10, .guest_memory_bytes = UINT64_C(1) << 30};
        sd_bus *bus = NULL;
        uint64_t secs;
        int c, idx, r;

        /* Tests read our output through a pipe or file: one line at a time. */
        setvbuf(stdout, NULL, _IOLBF, 0);

        while ((c = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
                bool ok = true;

                switch (c) {
                case 'n': ok = parse_bytes(optarg, &o.need_bytes) && o.need_bytes > 0; break;
                case 'W':
                        ok = parse_seconds(optarg, &secs);
                        o.max_wait_usec = secs * USEC_PER_SEC;
                        o.has_max_wait = true;
                        break;
                case 'g':
                        o.guest = optarg;
                        ok = optarg[0] != '\0';
                        break;
                case 'M': ok = parse_bytes(optarg, &o.guest_memory_bytes); break;
                case 'm': o.migrate = true; break;
                case 's': ok = parse_seconds(optarg, &o.migrate_seconds); break;
                case 'w': ok = parse_seconds(optarg, &o.watch_seconds); break;
                case 'h': usage(stdout); return 0;
                default: usage(stderr); return 2;
                }
                if (!ok) {
                        fprintf(stderr, "%s: bad value for --%s: '%s'\n", prog, longopts[idx].name,
                                optarg);
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
                usage(stderr);
                return 2;
        }

        /* The system bus; DBUS_SYSTEM_BUS_ADDRESS points elsewhere if set. */
        r = sd_bus_open_system(&bus);
        if (r < 0) {
                printf("error: cannot connect to the system bus: %s\n", strerror(-r));
                return 1;
        }

        r = subscribe(bus);
        if (r == 0)
                r = show_manager(bus);
        if (r == 0 && o.need_bytes > 0)
                r = assess(bus, &o);
        if (r == 0 && o.migrate)
                r = migrate(bus, &o);
        if (r == 0 && o.watch_seconds > 0) {
                printf("watch: %" PRIu64 " s\n", o.watch_seconds);
                r = process_until(bus, now_usec() + o.watch_seconds * USEC_PER_SEC);
                if (r < 0)
                        r = bus_failed("waiting for the bus", NULL, r);
        }

        sd_bus_flush_close_unref(bus);
        return r == 0 ? 0 : 1;
}
