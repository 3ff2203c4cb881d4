/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "config.h"
#include "daemonize.h"
#include "log.h"
#include "manager.h"

#ifndef KSMTUNED_VERSION
#define KSMTUNED_VERSION "0.0.0"
#endif

#define EXIT_USAGE 2

struct options {
        bool foreground;
        bool once;
        bool dry_run;
        bool print_config;
        bool debug;
        const char *config_path;
        const char *settings_path;
        const char *sysfs_dir;
        const char *proc_dir;
};

enum {
        OPT_SETTINGS = 256,
        OPT_ONCE,
        OPT_DRY_RUN,
        OPT_PRINT_CONFIG,
        OPT_SYSFS_DIR,
        OPT_PROC_DIR,
        OPT_VERSION,
};

static void print_help(FILE *f)
{
        fprintf(f,
                "Usage: ksmtuned [OPTION]...\n"
                "Tune Kernel Samepage Merging (KSM) for the memory committed to virtual machines.\n"
                "A drop-in for the stock ksmtuned script: same configuration file, same "
                "decisions.\n"
                "\n"
                "  -f, --foreground       stay in the foreground (for systemd Type=notify)\n"
                "  -c, --config FILE      legacy configuration file (default %s)\n"
                "      --settings FILE    extended settings file (default %s)\n"
                "      --once             sample and adjust once now, print the decision, exit\n"
                "      --dry-run          decide and log, but write nothing to KSM\n"
                "      --print-config     print the effective settings and where each came "
                "from\n"
                "      --sysfs-dir DIR    KSM sysfs directory (default /sys/kernel/mm/ksm)\n"
                "      --proc-dir DIR     where meminfo is read (default /proc); processes are\n"
                "                         always read from the real /proc\n"
                "  -d, --debug            log every decision (as DEBUG=1)\n"
                "      --version          print the version and exit\n"
                "  -h, --help             print this help and exit\n"
                "\n"
                "Signals: SIGUSR1 adjusts now (systemctl reload), SIGHUP re-reads the "
                "configuration,\n"
                "SIGTERM and SIGINT exit and leave KSM as it is.\n"
                "Exit status: 0 success, 1 failure (configuration, KSM unavailable, PID file),\n"
                "2 bad command-line arguments.\n",
                CONFIG_DEFAULT_LEGACY_PATH, CONFIG_DEFAULT_SETTINGS_PATH);
}

static int parse_argv(int argc, char **argv, struct options *o)
{
        static const struct option longopts[] = {
                {"foreground", no_argument, NULL, 'f'},
                {"config", required_argument, NULL, 'c'},
                {"settings", required_argument, NULL, OPT_SETTINGS},
                {"once", no_argument, NULL, OPT_ONCE},
                {"dry-run", no_argument, NULL, OPT_DRY_RUN},
                {"print-config", no_argument, NULL, OPT_PRINT_CONFIG},
                {"sysfs-dir", required_argument, NULL, OPT_SYSFS_DIR},
                {"proc-dir", required_argument, NULL, OPT_PROC_DIR},
                {"debug", no_argument, NULL, 'd'},
                {"version", no_argument, NULL, OPT_VERSION},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        int c;

        *o = (struct options){
                .config_path = CONFIG_DEFAULT_LEGACY_PATH,
                .settings_path = CONFIG_DEFAULT_SETTINGS_PATH,
                .sysfs_dir = "/sys/kernel/mm/ksm",
                .proc_dir = "/proc",
        };
        opterr = 0; /* we print one line of our own */
        while ((c = getopt_long(argc, argv, ":fc:dh", longopts, NULL)) >= 0) {
                switch (c) {
                case 'f': o->foreground = true; break;
                case 'c': o->config_path = optarg; break;
                case OPT_SETTINGS: o->settings_path = optarg; break;
                case OPT_ONCE: o->once = true; break;
                case OPT_DRY_RUN: o->dry_run = true; break;
                case OPT_PRINT_CONFIG: o->print_config = true; break;
                case OPT_SYSFS_DIR: o->sysfs_dir = optarg; break;
                case OPT_PROC_DIR: o->proc_dir = optarg; break;
                case 'd': o->debug = true; break;
                case OPT_VERSION: printf("ksmtuned %s\n", KSMTUNED_VERSION); exit(EXIT_SUCCESS);
                case 'h': print_help(stdout); exit(EXIT_SUCCESS);
                case ':':
                        fprintf(stderr, "ksmtuned: option '%s' needs an argument (see --help)\n",
                                argv[optind - 1]);
                        return -EINVAL;
                default:
                        if (optopt)
                                fprintf(stderr, "ksmtuned: unknown option '-%c' (see --help)\n",
                                        optopt);
                        else
                                fprintf(stderr, "ksmtuned: unknown option '%s' (see --help)\n",
                                        argv[optind - 1]);
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "ksmtuned: unexpected argument '%s' (see --help)\n", argv[optind]);
                return -EINVAL;
        }
        if (o->config_path[0] == '\0' || o->settings_path[0] == '\0' || o->sysfs_dir[0] == '\0' ||
            o->proc_dir[0] == '\0') {
                fprintf(stderr, "ksmtuned: empty path argument (see --help)\n");
                return -EINVAL;
        }
        return 0;
}

/* Runs before main and before most of the process is set up: the sooner a
 * SIGUSR1 (retune) or SIGHUP is blocked, the shorter the window in which it
 * would still kill us. Blocked signals wait for the event loop's handlers. */
__attribute__((constructor)) static void block_signals_early(void)
{
        sigset_t ss;

        sigemptyset(&ss);
        sigaddset(&ss, SIGUSR1);
        sigaddset(&ss, SIGHUP);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        (void)sigprocmask(SIG_BLOCK, &ss, NULL);
}

static void warn_config(void *userdata, const char *file, unsigned line, const char *msg)
{
        (void)userdata;
        log_warning("%s:%u: %s", file, line, msg);
}

static void print_once_report(const struct manager *m, int r)
{
        const struct cycle_report *rep = &m->last;
        const struct policy_decision *d = &rep->decision;

        if (!rep->valid) {
                printf("no decision: sampling failed: %s\n", strerror(-r));
                return;
        }
        printf("total %lld kB, free %lld kB (MemFree + Buffers + Cached), committed %lld kB in "
               "%zu VMs\n",
               (long long)rep->sample.mem_total_kib, (long long)d->free_kib,
               (long long)rep->sample.committed_kib, rep->n_vms);
        printf("threshold %lld kB, sleep %lld ms\n", (long long)d->thres_kib,
               (long long)d->sleep_ms);
        if (d->action == POLICY_STOP)
                printf("decision: stop KSM: committed + threshold (%lld kB) < total and free > "
                       "threshold\nwrite: run=0\n",
                       (long long)d->committed_plus_thres_kib);
        else
                printf("decision: run KSM, %s: committed + threshold (%lld kB) >= total or free "
                       "<= threshold\nwrite: pages_to_scan=%lld%s sleep_millisecs=%lld run=1\n",
                       d->boost ? "boost (free < threshold)" : "decay (free >= threshold)",
                       (long long)d->committed_plus_thres_kib, (long long)d->pages_to_scan,
                       rep->advisor_owns_pages_to_scan ? " (owned by the KSM advisor, skipped)"
                                                       : "",
                       (long long)d->sleep_ms);
        if (m->opts.dry_run)
                printf("dry run: nothing was written\n");
        else if (rep->write_error < 0)
                printf("writing failed: %s\n", strerror(-rep->write_error));
}

int main(int argc, char **argv)
{
        struct manager_options mopts;
        struct manager *m = NULL;
        struct config_error err;
        struct ksm_config config;
        struct options o;
        char *pidfile = NULL;
        int r, ready_fd = -1;

        log_setup();
        if (parse_argv(argc, argv, &o) < 0)
                return EXIT_USAGE;
        log_set_debug(o.debug);

        r = config_load(o.config_path, o.settings_path, &config, &err, warn_config, NULL);
        if (r < 0) {
                log_error("Failed to load configuration: %s", err.text);
                return EXIT_FAILURE;
        }
        if (o.debug) {
                config.debug = true;
                config.origin[CONFIG_DEBUG] = (struct config_origin){ORIGIN_COMMAND_LINE, 0};
        }
        if (o.print_config) {
                config_print(&config, stdout);
                config_free(&config);
                return EXIT_SUCCESS;
        }

        if (!o.foreground && !o.once) {
                /* Checked before forking so that the error reaches the caller. */
                if (access(o.sysfs_dir, F_OK) < 0) {
                        log_error("KSM is not available: %s: %s", o.sysfs_dir, strerror(errno));
                        config_free(&config);
                        return EXIT_FAILURE;
                }
                /* Remembered as started: a reload may change PIDFILE, but the
                 * file to remove at exit is the one written now. */
                pidfile = strdup(config.pidfile);
                if (!pidfile) {
                        log_error("Out of memory");
                        config_free(&config);
                        return EXIT_FAILURE;
                }
                (void)daemonize_begin(pidfile, &ready_fd);
        }

        mopts = (struct manager_options){
                .legacy_path = o.config_path,
                .settings_path = o.settings_path,
                .sysfs_dir = o.sysfs_dir,
                .proc_dir = o.proc_dir,
                .dry_run = o.dry_run,
                .force_debug = o.debug,
        };
        r = manager_new(&mopts, &config, &m);
        if (r < 0) {
                config_free(&config);
                free(pidfile);
                return EXIT_FAILURE;
        }

        if (o.once) {
                r = manager_adjust(m);
                print_once_report(m, r);
                manager_free(m);
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }

        r = manager_start(m);
        if (r < 0) {
                log_error("Failed to start the event loop: %s", strerror(-r));
                manager_free(m);
                free(pidfile);
                return EXIT_FAILURE;
        }
        log_info("ksmtuned %s running: policy %s, adjusting every %lld s%s", KSMTUNED_VERSION,
                 config_policy_name(m->config.policy), (long long)m->config.monitor_interval_sec,
                 o.dry_run ? ", dry run" : "");
        daemonize_ready(ready_fd);

        r = manager_run(m);
        if (pidfile)
                daemonize_remove_pidfile(pidfile);
        free(pidfile);
        manager_free(m);
        if (r < 0) {
                log_error("Event loop failed: %s", strerror(-r));
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
