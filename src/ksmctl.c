/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ksmctl: the stock start/stop, and the one command an operator types to
 * see and steer KSM. Reads come from the daemon over D-Bus when it runs,
 * else from sysfs; control goes through the daemon so that its access
 * rules apply in one place. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "config.h"
#include "coordination.h"
#include "guest.h"
#include "ksm_status.h"
#include "ksm_sysfs.h"
#include "meminfo.h"
#include "policy.h"
#include "util.h"
#include "vm_match.h"
#include "vm_tracker.h"

#ifndef KSMTUNED_VERSION
#define KSMTUNED_VERSION "0.0.0"
#endif

/* Exit statuses; documented in ksmctl(8). 1 is what stock ksmctl returned
 * for a usage error or a failed write. */
enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,
        EXIT_ERROR = 2,         /* the daemon refused the request (bad value, held, ...) */
        EXIT_NO_DAEMON = 3,     /* the verb needs ksmtuned and it is not running */
        EXIT_NO_KSM = 4,        /* no /sys/kernel/mm/ksm */
        EXIT_ACCESS_DENIED = 5, /* not root and not in the ksmtuned group */
};

struct options {
        bool json;
        bool no_daemon;
        bool vms;
        const char *sysfs_dir;
        const char *proc_dir;
        const char *what;
        const char *why;
        const char *who;
        unsigned watch_sec;
        bool watch;
};

static void usage(FILE *f, const char *prog)
{
        fprintf(f,
                "Usage: %s {start|stop}\n"
                "       %s [OPTION]... {status|vms|stats|metrics|retune|set|inhibit} [ARG]...\n"
                "\n"
                "Stock verbs (ksm.service):\n"
                "  start                 write KSM_MAX_KERNEL_PAGES (where the kernel has\n"
                "                        max_kernel_pages) and run=1\n"
                "  stop                  write run=0\n"
                "Reading (from ksmtuned over D-Bus, else from sysfs):\n"
                "  status [--vms]        what KSM does: MB shared, saved memory, effort, VMs\n"
                "  vms                   one line per VM process, sorted by savings\n"
                "  stats [--watch[=SEC]] status, refreshed every SEC seconds (default 2)\n"
                "  metrics               Prometheus text format (node_exporter textfile)\n"
                "Control (through ksmtuned; root or the ksmtuned group):\n"
                "  retune                adjust now\n"
                "  set KEY=VALUE...      change tunables at run time (e.g. npages-max=2000)\n"
                "  inhibit --what=merge|retune --why=TEXT -- COMMAND...\n"
                "                        hold KSM while COMMAND runs (e.g. a migration)\n"
                "\n"
                "Options:\n"
                "      --json            machine-readable output for reading verbs\n"
                "      --no-daemon       read sysfs directly, do not ask ksmtuned\n"
                "      --sysfs-dir DIR   KSM sysfs directory (default /sys/kernel/mm/ksm)\n"
                "      --proc-dir DIR    where meminfo is read (default /proc)\n"
                "      --version, -h, --help\n"
                "Exit status: 0 ok, 1 usage error or failed write, 2 request refused,\n"
                "3 ksmtuned not running, 4 KSM not available, 5 permission denied.\n",
                prog, prog);
}

/* ---- daemon access -------------------------------------------------------- */

static int exit_for_bus_error(const sd_bus_error *e, int r)
{
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED) || r == -EACCES || r == -EPERM)
                return EXIT_ACCESS_DENIED;
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
            sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                return EXIT_NO_DAEMON;
        return EXIT_ERROR;
}

static int report_bus_error(const char *what, const sd_bus_error *e, int r)
{
        int code = exit_for_bus_error(e, r);

        if (code == EXIT_NO_DAEMON)
                fprintf(stderr, "ksmctl: ksmtuned is not running (no %s on the system bus)\n",
                        BUS_NAME);
        else if (code == EXIT_ACCESS_DENIED)
                fprintf(stderr, "ksmctl: %s: permission denied (root or the ksmtuned group)\n",
                        what);
        else
                fprintf(stderr, "ksmctl: %s: %s\n", what,
                        e && e->message ? e->message : strerror(-r));
        return code;
}

/* Connects and checks that the daemon owns its name: 0, or an exit code.
 * Quiet for reading verbs, which fall back to sysfs and say so there. */
static int connect_daemon_quiet(sd_bus **ret, bool quiet)
{
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                if (!quiet)
                        fprintf(stderr, "ksmctl: ksmtuned is not running (no system bus: %s)\n",
                                strerror(-r));
                return EXIT_NO_DAEMON;
        }
        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                               "org.freedesktop.DBus", "NameHasOwner", NULL, NULL, "s", BUS_NAME);
        if (r >= 0) {
                sd_bus_message *reply = NULL;
                int has = 0;
                r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner", NULL, &reply, "s",
                                       BUS_NAME);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "b", &has);
                sd_bus_message_unref(reply);
                if (r >= 0 && !has)
                        r = -ENOENT;
        }
        if (r < 0) {
                sd_bus_flush_close_unref(bus);
                if (!quiet)
                        fprintf(stderr,
                                "ksmctl: ksmtuned is not running (no %s on the system bus)\n",
                                BUS_NAME);
                return EXIT_NO_DAEMON;
        }
        *ret = bus;
        return 0;
}

static int connect_daemon(sd_bus **ret)
{
        return connect_daemon_quiet(ret, false);
}

static void copy_str(char *dst, size_t size, const char *src)
{
        snprintf(dst, size, "%s", src ? src : "");
}

/* Fills *s from Properties.GetAll on the Manager: one round trip. */
static int status_from_daemon(sd_bus *bus, struct ksm_status *s, bool *has_ksm_stat)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int64_t tun_min = 0, tun_max = 0, coef = 0, thres_const = 0;
        int r;

        memset(s, 0, sizeof(*s));
        s->from_daemon = true;
        *has_ksm_stat = false;
        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                               &e, &reply, "s", BUS_MANAGER_IF);
        if (r < 0) {
                r = report_bus_error("reading the daemon's state", &e, r);
                sd_bus_error_free(&e);
                return r;
        }
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *k, *contents, *str;
                uint64_t t = 0;
                uint32_t u = 0;
                int64_t x = 0;
                double d = 0;
                char type;

                if ((r = sd_bus_message_read(reply, "s", &k)) < 0 ||
                    (r = sd_bus_message_peek_type(reply, &type, &contents)) < 0 ||
                    (r = sd_bus_message_enter_container(reply, 'v', contents)) < 0)
                        break;
                if (strcmp(contents, "t") == 0)
                        r = sd_bus_message_read(reply, "t", &t);
                else if (strcmp(contents, "u") == 0)
                        r = sd_bus_message_read(reply, "u", &u);
                else if (strcmp(contents, "x") == 0)
                        r = sd_bus_message_read(reply, "x", &x);
                else if (strcmp(contents, "d") == 0)
                        r = sd_bus_message_read(reply, "d", &d);
                else if (strcmp(contents, "s") == 0) {
                        r = sd_bus_message_read(reply, "s", &str);
                        if (r >= 0) {
                                if (strcmp(k, "Version") == 0)
                                        copy_str(s->version, sizeof(s->version), str);
                                else if (strcmp(k, "Mode") == 0)
                                        copy_str(s->mode, sizeof(s->mode), str);
                                else if (strcmp(k, "State") == 0)
                                        copy_str(s->state, sizeof(s->state), str);
                                else if (strcmp(k, "Pressure") == 0)
                                        copy_str(s->pressure, sizeof(s->pressure), str);
                                else if (strcmp(k, "Inhibited") == 0)
                                        copy_str(s->inhibited, sizeof(s->inhibited), str);
                        }
                } else if (strcmp(k, "KernelFeatures") == 0) {
                        r = sd_bus_message_enter_container(reply, 'a', "s");
                        while (r >= 0 && (r = sd_bus_message_read(reply, "s", &str)) > 0)
                                if (strcmp(str, "ksm_stat") == 0)
                                        *has_ksm_stat = true;
                                else if (strcmp(str, "general_profit") == 0)
                                        s->counters.has_general_profit = true;
                                else if (strcmp(str, "ksm_zero_pages") == 0)
                                        s->counters.has_zero_pages = true;
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                } else if (strcmp(k, "Tunables") == 0) {
                        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
                        while (r >= 0 &&
                               (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                                const char *tk;
                                int64_t tv = 0;
                                r = sd_bus_message_read(reply, "s", &tk);
                                if (r >= 0)
                                        r = sd_bus_message_read(reply, "v", "x", &tv);
                                if (r >= 0 && strcmp(tk, "npages-min") == 0)
                                        tun_min = tv;
                                else if (r >= 0 && strcmp(tk, "npages-max") == 0)
                                        tun_max = tv;
                                else if (r >= 0 && strcmp(tk, "thres-coef") == 0)
                                        coef = tv;
                                else if (r >= 0 && strcmp(tk, "thres-const-kib") == 0)
                                        thres_const = tv;
                                if (r >= 0)
                                        r = sd_bus_message_exit_container(reply);
                        }
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                } else
                        r = sd_bus_message_skip(reply, contents);
                if (r < 0)
                        break;

#define T(name, field) else if (strcmp(k, name) == 0) s->field = t
#define U(name, field) else if (strcmp(k, name) == 0) s->field = u
                if (0) {
                }
                U("Run", counters.run);
                U("PagesToScan", counters.pages_to_scan);
                U("SleepMillisecs", counters.sleep_millisecs);
                T("PagesShared", counters.pages_shared);
                T("PagesSharing", counters.pages_sharing);
                T("PagesUnshared", counters.pages_unshared);
                T("PagesVolatile", counters.pages_volatile);
                T("FullScans", counters.full_scans);
                T("ZeroPages", counters.zero_pages);
                T("PageSize", page_size);
                T("MemTotal", mem_total_bytes);
                T("MemAvailable", mem_available_bytes);
                T("Free", free_bytes);
                T("Committed", committed_bytes);
                else if (strcmp(k, "GeneralProfit") == 0) s->counters.general_profit = x;
                else if (strcmp(k, "KsmdCpuPercent") == 0) s->ksmd_cpu_percent = d;
#undef T
#undef U
                if ((r = sd_bus_message_exit_container(reply)) < 0 ||
                    (r = sd_bus_message_exit_container(reply)) < 0)
                        break;
        }
        sd_bus_message_unref(reply);
        if (r < 0) {
                fprintf(stderr, "ksmctl: unexpected reply from ksmtuned: %s\n", strerror(-r));
                return EXIT_ERROR;
        }
        s->has_ksmd_cpu = true;
        s->has_committed = true;
        s->npages_min = tun_min;
        s->npages_max = tun_max;
        s->thres_coef = coef;
        s->has_threshold = true;
        {
                struct legacy_params p = {.thres_coef = coef, .thres_const_kib = thres_const};
                s->threshold_bytes =
                        (uint64_t)legacy_thres_kib(&p, (int64_t)(s->mem_total_bytes / 1024)) * 1024;
        }
        {
                struct coord_settings cs = {.npages_min = tun_min, .npages_max = tun_max};
                s->has_effort = true;
                s->effort =
                        coord_effort(&cs, s->counters.run == 1, (int64_t)s->counters.pages_to_scan);
        }
        return 0;
}

/* VM objects from GetManagedObjects. */
static int vms_from_daemon(sd_bus *bus, bool has_ksm_stat, struct vm_entry **ret, size_t *ret_n)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        struct vm_entry *v = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", &e, &reply, NULL);
        if (r < 0) {
                r = report_bus_error("listing VMs", &e, r);
                sd_bus_error_free(&e);
                return r;
        }
        r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                const char *path;
                r = sd_bus_message_read(reply, "o", &path);
                if (r >= 0)
                        r = sd_bus_message_enter_container(reply, 'a', "{sa{sv}}");
                while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sa{sv}")) > 0) {
                        const char *iface;
                        struct vm_entry *grown, *g = NULL;

                        r = sd_bus_message_read(reply, "s", &iface);
                        if (r < 0)
                                break;
                        if (strcmp(iface, BUS_GUEST_IF) != 0) {
                                r = sd_bus_message_skip(reply, "a{sv}");
                                if (r >= 0)
                                        r = sd_bus_message_exit_container(reply);
                                continue;
                        }
                        grown = realloc(v, (n + 1) * sizeof(*v));
                        if (!grown) {
                                r = -ENOMEM;
                                break;
                        }
                        v = grown;
                        g = &v[n++];
                        memset(g, 0, sizeof(*g));
                        g->has_ksm_stat = has_ksm_stat;
                        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
                        while (r >= 0 &&
                               (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                                const char *k, *contents, *str;
                                char type;
                                uint64_t t = 0;
                                uint32_t u = 0;
                                int64_t x = 0;

                                if ((r = sd_bus_message_read(reply, "s", &k)) < 0 ||
                                    (r = sd_bus_message_peek_type(reply, &type, &contents)) < 0 ||
                                    (r = sd_bus_message_enter_container(reply, 'v', contents)) < 0)
                                        break;
                                if (strcmp(contents, "s") == 0) {
                                        r = sd_bus_message_read(reply, "s", &str);
                                        if (r >= 0 && strcmp(k, "Id") == 0)
                                                copy_str(g->id, sizeof(g->id), str);
                                        else if (r >= 0 && strcmp(k, "Name") == 0)
                                                copy_str(g->name, sizeof(g->name), str);
                                } else if (strcmp(contents, "u") == 0) {
                                        r = sd_bus_message_read(reply, "u", &u);
                                        if (r >= 0 && strcmp(k, "Pid") == 0)
                                                g->pid = (pid_t)u;
                                } else if (strcmp(contents, "t") == 0) {
                                        r = sd_bus_message_read(reply, "t", &t);
                                        if (strcmp(k, "RssBytes") == 0)
                                                g->rss_bytes = t;
                                        else if (strcmp(k, "MergingPages") == 0)
                                                g->merging_pages = t;
                                        else if (strcmp(k, "ZeroPages") == 0)
                                                g->zero_pages = t;
                                } else if (strcmp(contents, "x") == 0) {
                                        r = sd_bus_message_read(reply, "x", &x);
                                        if (strcmp(k, "ProfitBytes") == 0)
                                                g->profit_bytes = x;
                                } else
                                        r = sd_bus_message_skip(reply, contents);
                                if (r >= 0)
                                        r = sd_bus_message_exit_container(reply);
                                if (r >= 0)
                                        r = sd_bus_message_exit_container(reply);
                        }
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        sd_bus_message_unref(reply);
        if (r < 0) {
                free(v);
                fprintf(stderr, "ksmctl: unexpected reply from ksmtuned: %s\n", strerror(-r));
                return EXIT_ERROR;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---- without the daemon ------------------------------------------------- */

static int open_sysfs(const struct options *o, struct ksm_sysfs *k)
{
        int r = ksm_sysfs_open(o->sysfs_dir, k);

        if (r < 0) {
                fprintf(stderr, "ksmctl: KSM is not available: %s: %s\n", o->sysfs_dir,
                        strerror(-r));
                return EXIT_NO_KSM;
        }
        return 0;
}

/* Counters from sysfs, memory from meminfo, VMs and committed memory from a
 * /proc scan with the daemon's own configuration (defaults if unreadable). */
static int status_local(const struct options *o, struct ksm_status *s, struct vm_entry **ret_vms,
                        size_t *ret_n)
{
        struct ksm_config c;
        struct config_error err;
        struct ksm_sysfs k;
        struct meminfo mi;
        struct vm_match match;
        struct vm_tracker *t = NULL;
        struct vm_sample vs = {0};
        struct vm_entry *v = NULL;
        size_t n = 0;
        int r;

        memset(s, 0, sizeof(*s));
        r = open_sysfs(o, &k);
        if (r)
                return r;
        r = ksm_sysfs_read_counters(&k, &s->counters);
        ksm_sysfs_close(&k);
        if (r < 0) {
                fprintf(stderr, "ksmctl: failed to read %s: %s\n", o->sysfs_dir, strerror(-r));
                return EXIT_FAILED;
        }
        s->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
        r = meminfo_read(o->proc_dir, &mi);
        if (r < 0) {
                fprintf(stderr, "ksmctl: failed to read %s/meminfo: %s\n", o->proc_dir,
                        strerror(-r));
                return EXIT_FAILED;
        }
        s->mem_total_bytes = mi.mem_total_kib * 1024;
        s->mem_available_bytes = mi.mem_available_kib * 1024;
        s->free_bytes = meminfo_legacy_free_kib(&mi) * 1024;

        if (config_load(CONFIG_DEFAULT_LEGACY_PATH, CONFIG_DEFAULT_SETTINGS_PATH, &c, &err, NULL,
                        NULL) < 0 &&
            config_init_defaults(&c) < 0)
                return EXIT_FAILED;
        {
                struct legacy_params p = {.thres_coef = c.thres_coef,
                                          .thres_const_kib = c.thres_const_kib};
                s->threshold_bytes =
                        (uint64_t)legacy_thres_kib(&p, (int64_t)mi.mem_total_kib) * 1024;
                s->has_threshold = true;
                s->thres_coef = c.thres_coef;
                s->npages_min = c.npages_min;
                s->npages_max = c.npages_max;
        }
        if (vm_match_compile(&match, &c.vm_comm_patterns, &c.vm_cmdline_patterns) >= 0) {
                if (vm_tracker_new(&match, c.metric, VM_TRACKING_SCAN, 1, &t) >= 0 &&
                    vm_tracker_sample(t, 1, &vs) >= 0) {
                        const pid_t *pids;
                        size_t np;

                        s->has_committed = true;
                        s->committed_bytes = vs.committed_kib * 1024;
                        s->vms = (uint32_t)vs.n_vms;
                        pids = vm_tracker_pids(t, &np);
                        v = calloc(np ? np : 1, sizeof(*v));
                        for (size_t i = 0; v && i < np; i++) {
                                struct guest_identity gi;
                                struct ksm_stat st;

                                if (guest_identity_read("/proc", pids[i], &gi) < 0)
                                        continue;
                                v[n].pid = pids[i];
                                copy_str(v[n].id, sizeof(v[n].id), gi.id);
                                copy_str(v[n].name, sizeof(v[n].name), gi.name);
                                v[n].rss_bytes = guest_rss_bytes("/proc", pids[i]);
                                if (ksm_stat_read("/proc", pids[i], &st) >= 0) {
                                        v[n].has_ksm_stat = true;
                                        v[n].merging_pages = st.merging_pages;
                                        v[n].zero_pages = st.zero_pages;
                                        v[n].profit_bytes = st.profit_bytes;
                                }
                                n++;
                        }
                }
                vm_tracker_free(t);
                vm_match_free(&match);
        }
        config_free(&c);
        if (ret_vms) {
                *ret_vms = v;
                *ret_n = n;
        } else
                free(v);
        return 0;
}

/* ---- gathering, either way ----------------------------------------------- */

static int gather(const struct options *o, struct ksm_status *s, struct vm_entry **vms, size_t *n)
{
        sd_bus *bus = NULL;
        bool has_ksm_stat;
        int r;

        *vms = NULL;
        *n = 0;
        if (!o->no_daemon && connect_daemon_quiet(&bus, true) == 0) {
                r = status_from_daemon(bus, s, &has_ksm_stat);
                if (r == 0)
                        r = vms_from_daemon(bus, has_ksm_stat, vms, n);
                sd_bus_flush_close_unref(bus);
                if (r == 0) {
                        s->vms = (uint32_t)*n;
                        return 0;
                }
                /* The daemon answered badly (said on stderr): fall back rather
                 * than show nothing, and say why in the output too. */
                r = status_local(o, s, vms, n);
                s->daemon_failed = true;
                return r;
        }
        return status_local(o, s, vms, n);
}

enum report_kind {
        REPORT_STATUS,
        REPORT_VMS,
        REPORT_METRICS,
};

/* The reading verbs: gather once, print in the asked-for form. */
static int report(const struct options *o, enum report_kind kind)
{
        struct ksm_status s;
        struct vm_entry *vms;
        size_t n;
        int r;

        r = gather(o, &s, &vms, &n);
        if (r)
                return r;
        vm_entries_sort(vms, n);
        switch (kind) {
        case REPORT_METRICS: ksm_status_print_prometheus(&s, vms, n, stdout); break;
        case REPORT_VMS:
                if (o->json)
                        vm_entries_print_json(vms, n, s.page_size, stdout);
                else
                        vm_entries_print_human(vms, n, s.page_size, stdout);
                break;
        case REPORT_STATUS:
                if (o->json && o->vms) {
                        /* One object: the status and the VMs side by side. */
                        fputs("{\"status\":", stdout);
                        ksm_status_print_json(&s, stdout);
                        fputs(",\"vms\":", stdout);
                        vm_entries_print_json(vms, n, s.page_size, stdout);
                        fputs("}\n", stdout);
                } else if (o->json)
                        ksm_status_print_json(&s, stdout);
                else {
                        ksm_status_print_human(&s, stdout);
                        if (o->vms) {
                                fputc('\n', stdout);
                                vm_entries_print_human(vms, n, s.page_size, stdout);
                        }
                }
                break;
        }
        free(vms);
        return EXIT_OK;
}

static volatile sig_atomic_t stop_watching;

static void on_sigint(int sig)
{
        (void)sig;
        stop_watching = 1;
}

static int verb_stats(const struct options *o)
{
        bool tty = isatty(STDOUT_FILENO);
        struct sigaction sa = {.sa_handler = on_sigint};

        if (!o->watch)
                return report(o, REPORT_STATUS);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        while (!stop_watching) {
                struct ksm_status s;
                struct vm_entry *vms;
                size_t n;
                int r = gather(o, &s, &vms, &n);

                if (r)
                        return r;
                if (o->json)
                        ksm_status_print_json(&s, stdout); /* one object per line */
                else {
                        if (tty)
                                fputs("\033[H\033[2J", stdout); /* refresh in place */
                        ksm_status_print_human(&s, stdout);
                        if (!tty)
                                fputc('\n', stdout);
                }
                fflush(stdout);
                free(vms);
                for (unsigned i = 0; i < o->watch_sec * 10 && !stop_watching; i++)
                        usleep(100000);
        }
        return EXIT_OK;
}

/* ---- stock verbs ------------------------------------------------------------ */

static int verb_start_stop(const struct options *o, bool start)
{
        struct ksm_sysfs k;
        int r;

        r = open_sysfs(o, &k);
        if (r)
                return r;
        /* Only kernels of 2.6.32's time had max_kernel_pages; the stock
         * ksmctl wrote it where present and ignored the result. */
        if (start && ksm_sysfs_has(&k, KSM_MAX_KERNEL_PAGES)) {
                const char *env = getenv("KSM_MAX_KERNEL_PAGES");
                unsigned long long pages = (unsigned long long)sysconf(_SC_PHYS_PAGES) / 2;
                if (env && *env) {
                        char *end;
                        long long v;
                        errno = 0;
                        v = strtoll(env, &end, 0);
                        if (errno == 0 && *end == '\0' && v >= 0)
                                pages = (unsigned long long)v;
                }
                (void)ksm_sysfs_write_u64(&k, KSM_MAX_KERNEL_PAGES, pages);
        }
        r = ksm_sysfs_write_u64(&k, KSM_RUN, start ? 1 : 0);
        ksm_sysfs_close(&k);
        if (r < 0) {
                fprintf(stderr, "ksmctl: failed to write %s/run: %s\n", o->sysfs_dir, strerror(-r));
                return r == -EACCES || r == -EPERM ? EXIT_ACCESS_DENIED : EXIT_FAILED;
        }
        return EXIT_OK;
}

/* ---- control verbs ---------------------------------------------------------- */

static int call_simple(const char *member, const char *what)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus *bus = NULL;
        int r = connect_daemon(&bus);

        if (r)
                return r;
        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_MANAGER_IF, member, &e, NULL, NULL);
        if (r < 0)
                r = report_bus_error(what, &e, r);
        else
                r = EXIT_OK;
        sd_bus_error_free(&e);
        sd_bus_flush_close_unref(bus);
        return r;
}

/* Stock names map onto the tunables, so "set KSM_NPAGES_MAX=2000" works. */
static const char *tunable_name(const char *key)
{
        const struct config_key_info *info = config_key_by_legacy_name(key);
        const char *name = info ? bus_tunable_name(info->key) : NULL;

        return name ? name : key;
}

static int verb_set(int argc, char **argv)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL;
        sd_bus *bus = NULL;
        int r;

        if (argc < 1) {
                fprintf(stderr, "ksmctl: set: expected KEY=VALUE arguments\n");
                return EXIT_FAILED;
        }
        for (int i = 0; i < argc; i++) {
                char *eq = strchr(argv[i], '=');
                int64_t v;
                if (!eq || eq == argv[i] || parse_int64_decimal(eq + 1, &v) < 0) {
                        fprintf(stderr, "ksmctl: set: '%s' is not KEY=INTEGER\n", argv[i]);
                        return EXIT_FAILED;
                }
        }
        r = connect_daemon(&bus);
        if (r)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, BUS_PATH, BUS_MANAGER_IF,
                                           "SetTunables");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (int i = 0; r >= 0 && i < argc; i++) {
                char key[128];
                char *eq = strchr(argv[i], '=');
                int64_t v = 0;
                snprintf(key, sizeof(key), "%.*s", (int)(eq - argv[i]), argv[i]);
                (void)parse_int64_decimal(eq + 1, &v);
                r = sd_bus_message_append(m, "{sv}", tunable_name(key), "x", v);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, &e, NULL);
        r = r < 0 ? report_bus_error("set", &e, r) : EXIT_OK;
        sd_bus_error_free(&e);
        sd_bus_message_unref(m);
        sd_bus_flush_close_unref(bus);
        return r;
}

static volatile pid_t inhibit_child;

static void forward_signal(int sig)
{
        if (inhibit_child > 0)
                kill(inhibit_child, sig);
}

static int verb_inhibit(const struct options *o, int argc, char **argv)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        sd_bus *bus = NULL;
        int fd = -1, status, r;
        pid_t child;

        if (!o->what || !o->why || argc < 1) {
                fprintf(stderr, "ksmctl: inhibit: usage: ksmctl inhibit --what=merge|retune "
                                "--why=TEXT -- COMMAND...\n");
                return EXIT_FAILED;
        }
        r = connect_daemon(&bus);
        if (r)
                return r;
        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_MANAGER_IF, "Inhibit", &e, &reply,
                               "sss", o->what, o->who ? o->who : "ksmctl", o->why);
        if (r >= 0)
                r = sd_bus_message_read(reply, "h", &fd);
        if (r >= 0)
                fd = fcntl(fd, F_DUPFD_CLOEXEC, 3); /* ours now; the child must not keep it */
        sd_bus_message_unref(reply);
        if (r < 0 || fd < 0) {
                r = report_bus_error("inhibit", &e, r < 0 ? r : -errno);
                sd_bus_error_free(&e);
                sd_bus_flush_close_unref(bus);
                /* Without the hold the command must not run: it relies on it. */
                return r;
        }
        sd_bus_flush_close_unref(bus);

        child = fork();
        if (child < 0) {
                fprintf(stderr, "ksmctl: inhibit: fork: %s\n", strerror(errno));
                close(fd);
                return EXIT_FAILED;
        }
        if (child == 0) {
                execvp(argv[0], argv);
                fprintf(stderr, "ksmctl: inhibit: %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        /* Signals meant for ksmctl go to the command: the hold must last as
         * long as the command does, however it is asked to stop. */
        inhibit_child = child;
        {
                struct sigaction sa = {.sa_handler = forward_signal};
                sigaction(SIGINT, &sa, NULL);
                sigaction(SIGTERM, &sa, NULL);
                sigaction(SIGHUP, &sa, NULL);
        }
        while (waitpid(child, &status, 0) < 0 && errno == EINTR)
                ;
        close(fd); /* releases the hold */
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

enum {
        OPT_JSON = 256,
        OPT_NO_DAEMON,
        OPT_SYSFS,
        OPT_PROC,
        OPT_VERSION,
        OPT_WHAT,
        OPT_WHY,
        OPT_WHO,
        OPT_WATCH,
        OPT_VMS,
};

static const struct option longopts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"no-daemon", no_argument, NULL, OPT_NO_DAEMON},
        {"sysfs-dir", required_argument, NULL, OPT_SYSFS},
        {"proc-dir", required_argument, NULL, OPT_PROC},
        {"what", required_argument, NULL, OPT_WHAT},
        {"why", required_argument, NULL, OPT_WHY},
        {"who", required_argument, NULL, OPT_WHO},
        {"watch", optional_argument, NULL, OPT_WATCH},
        {"vms", no_argument, NULL, OPT_VMS},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, 'h'},
        {},
};

/* Returns -1 to go on, else the exit status. */
static int apply_option(int c, const char *arg, const char *text, struct options *o)
{
        uint64_t v = 2;

        switch (c) {
        case OPT_JSON: o->json = true; return -1;
        case OPT_NO_DAEMON: o->no_daemon = true; return -1;
        case OPT_SYSFS: o->sysfs_dir = arg; return -1;
        case OPT_PROC: o->proc_dir = arg; return -1;
        case OPT_WHAT: o->what = arg; return -1;
        case OPT_WHY: o->why = arg; return -1;
        case OPT_WHO: o->who = arg; return -1;
        case OPT_VMS: o->vms = true; return -1;
        case OPT_WATCH:
                o->watch = true;
                if (arg && (parse_uint64_decimal(arg, &v) < 0 || v < 1 || v > 86400)) {
                        fprintf(stderr,
                                "ksmctl: --watch: '%s' is not a number of seconds (1..86400)\n",
                                arg);
                        return EXIT_FAILED;
                }
                o->watch_sec = (unsigned)v;
                return -1;
        case OPT_VERSION: printf("ksmctl (ksmtuned) %s\n", KSMTUNED_VERSION); return EXIT_OK;
        case 'h': usage(stdout, "ksmctl"); return EXIT_OK;
        case ':': fprintf(stderr, "ksmctl: option '%s' needs a value\n", text); return EXIT_FAILED;
        default:
                fprintf(stderr, "ksmctl: unknown option '%s'\n", text);
                usage(stderr, "ksmctl");
                return EXIT_FAILED;
        }
}

/* Options may stand before or after the verb; "--" ends them (inhibit). */
static int parse_options(int argc, char **argv, struct options *o, const char **ret_verb)
{
        const char *verb = NULL;
        int i, r;

        for (i = 1; i < argc; i++) {
                /* One option per call, with the next word for "--opt VALUE". */
                char *sub[4] = {argv[0], argv[i], i + 1 < argc ? argv[i + 1] : NULL, NULL};
                int c;

                if (strcmp(argv[i], "--") == 0) {
                        i++;
                        break;
                }
                if (argv[i][0] != '-') {
                        if (verb)
                                break; /* the verb's own arguments start here */
                        verb = argv[i];
                        continue;
                }
                optind = 1;
                opterr = 0;
                c = getopt_long(sub[2] ? 3 : 2, sub, "+:h", longopts, NULL);
                r = apply_option(c, optarg, argv[i], o);
                if (r >= 0)
                        return r;
                if (optind == 3)
                        i++; /* the value was the next word */
        }
        if (!verb) {
                usage(stderr, "ksmctl");
                return EXIT_FAILED;
        }
        *ret_verb = verb;
        optind = i;
        return -1;
}

static int run_verb(const struct options *op, const char *verb, int argc, char **argv);

int main(int argc, char **argv)
{
        struct options o = {.sysfs_dir = "/sys/kernel/mm/ksm", .proc_dir = "/proc", .watch_sec = 2};
        const char *verb = NULL;
        int r;

        r = parse_options(argc, argv, &o, &verb);
        if (r >= 0)
                return r;
        r = run_verb(&o, verb, argc, argv);
        /* "ksmctl metrics > f.tmp && mv f.tmp f" must not install a
         * truncated file: a failed write of the output is a failure. */
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "ksmctl: failed to write the output: %s\n", strerror(errno));
                return EXIT_FAILED;
        }
        return r;
}

static int run_verb(const struct options *op, const char *verb, int argc, char **argv)
{
        struct options o = *op;

        if (strcmp(verb, "start") == 0 || strcmp(verb, "stop") == 0)
                return verb_start_stop(&o, strcmp(verb, "start") == 0);
        if (strcmp(verb, "status") == 0)
                return report(&o, REPORT_STATUS);
        if (strcmp(verb, "vms") == 0)
                return report(&o, REPORT_VMS);
        if (strcmp(verb, "stats") == 0)
                return verb_stats(&o);
        if (strcmp(verb, "metrics") == 0)
                return report(&o, REPORT_METRICS);
        if (strcmp(verb, "retune") == 0)
                return call_simple("Retune", "retune");
        if (strcmp(verb, "set") == 0)
                return verb_set(argc - optind, argv + optind);
        if (strcmp(verb, "inhibit") == 0)
                return verb_inhibit(&o, argc - optind, argv + optind);

        /* As the stock ksmctl: usage on stderr, exit 1. */
        usage(stderr, "ksmctl");
        return EXIT_FAILED;
}
