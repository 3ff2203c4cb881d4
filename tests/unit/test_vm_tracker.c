/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The incremental tracker against a full scan, with real processes that
 * rename themselves, exec, fork and exit. Needs root (the process-event
 * connector requires CAP_NET_ADMIN); skips otherwise. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "proc_events.h"
#include "util.h"
#include "vm_match.h"
#include "vm_tracker.h"

#define VM_MIB 8

static struct vm_match match;

/* ---- the stand-in processes ---------------------------------------- */

static int ready_fd = -1;

static void say_ready(void)
{
        pid_t me = getpid();
        (void)!write(ready_fd, &me, sizeof(me));
}

static void on_rename(int sig)
{
        (void)sig;
        prctl(PR_SET_NAME, "renamed", 0, 0, 0);
        say_ready();
}

static void on_fork(int sig)
{
        (void)sig;
        /* A VM process forking (qemu does for helpers): the child inherits
         * comm and cmdline, so it counts as a VM process too, as with pgrep. */
        if (fork() == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
                say_ready();
                for (;;)
                        pause();
        }
        say_ready();
}

static void touch_memory(void)
{
        char *p = mmap(NULL, VM_MIB << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                       0);
        if (p != MAP_FAILED)
                memset(p, 0x5a, VM_MIB << 20);
}

static void stand_in_main(const char *comm)
{
        struct sigaction sa = {0};

        /* Never outlive the test, even when an assertion ends it early. */
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

        sa.sa_handler = on_rename;
        sigaction(SIGUSR1, &sa, NULL);
        sa.sa_handler = on_fork;
        sigaction(SIGUSR2, &sa, NULL);
        if (comm)
                prctl(PR_SET_NAME, comm, 0, 0, 0);
        touch_memory();
        say_ready();
        for (;;)
                pause();
}

static int ready_pipe[2];

static pid_t wait_ready(void)
{
        pid_t pid = 0;
        ssize_t n;

        do
                n = read(ready_pipe[0], &pid, sizeof(pid));
        while (n < 0 && errno == EINTR);
        assert_int_equal(n, sizeof(pid));
        return pid;
}

/* A child that renames itself to comm (or keeps ours when NULL). */
static pid_t spawn_named(const char *comm)
{
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                ready_fd = ready_pipe[1];
                stand_in_main(comm);
                _exit(0);
        }
        wait_ready();
        return pid;
}

/* A child that execs this binary as "ktvm-system-x86_64 -enable-kvm": a
 * command-line match found through the exec event. */
static pid_t spawn_exec_vm(void)
{
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                char fd_arg[16];
                snprintf(fd_arg, sizeof(fd_arg), "%d", ready_pipe[1]);
                /* keep the pipe open across exec */
                fcntl(ready_pipe[1], F_SETFD, 0);
                execl("/proc/self/exe", "ktvm-system-x86_64", "-enable-kvm", fd_arg, (char *)NULL);
                _exit(127);
        }
        wait_ready();
        return pid;
}

/* ---- the comparison ------------------------------------------------- */

struct pair {
        struct vm_tracker *events;
        struct vm_tracker *scan;
        uint64_t clock;
};

static void assert_same_as_full_scan(struct pair *p, size_t expect_vms)
{
        struct vm_sample a, b;
        const pid_t *pa, *pb;
        size_t na, nb;

        /* Drive the clock by hand so the periodic rescan never hides a bug. */
        p->clock += 1000;
        assert_int_equal(vm_tracker_sample(p->events, p->clock, &a), 0);
        assert_int_equal(vm_tracker_sample(p->scan, p->clock, &b), 0);
        pa = vm_tracker_pids(p->events, &na);
        pb = vm_tracker_pids(p->scan, &nb);
        assert_int_equal(na, nb);
        for (size_t i = 0; i < na; i++)
                assert_int_equal(pa[i], pb[i]);
        assert_int_equal(a.n_vms, expect_vms);
        assert_int_equal(b.n_vms, expect_vms);
        /* RSS of paused processes is stable between the two reads. */
        assert_int_equal(a.committed_kib, b.committed_kib);
        if (expect_vms)
                assert_true(a.committed_kib >= expect_vms * VM_MIB * 1024);
}

static void reap(pid_t pid)
{
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

static void test_events_track_like_a_full_scan(void **state)
{
        struct vm_tracker_stats stats;
        struct pair p = {0};
        pid_t a, b, c, other;

        (void)state;
        assert_int_equal(
                vm_tracker_new(&match, METRIC_RSS, VM_TRACKING_AUTO, 3600ULL * 1000000, &p.events),
                0);
        assert_int_equal(vm_tracker_events_error(p.events), 0);
        assert_int_equal(vm_tracker_new(&match, METRIC_RSS, VM_TRACKING_SCAN, 1, &p.scan), 0);
        assert_same_as_full_scan(&p, 0);

        a = spawn_named("ktvm-kvm"); /* comm event */
        assert_same_as_full_scan(&p, 1);

        other = spawn_named("not-a-vm");
        assert_same_as_full_scan(&p, 1);

        b = spawn_exec_vm(); /* exec event, matched by command line */
        assert_same_as_full_scan(&p, 2);

        kill(a, SIGUSR2); /* a forks: the child inherits comm */
        wait_ready();
        wait_ready();
        assert_same_as_full_scan(&p, 3);

        kill(a, SIGUSR1); /* a renames itself away from qemu-kvm */
        wait_ready();
        assert_same_as_full_scan(&p, 2);

        c = spawn_named("ktvm:guest1"); /* like libvirt's process=qemu:NAME */
        assert_same_as_full_scan(&p, 3);

        reap(b); /* exit event */
        assert_same_as_full_scan(&p, 2);
        reap(c);
        assert_same_as_full_scan(&p, 1);

        /* The forked grandchild is a's child; killing a's process group is
         * not possible here, so find it through the tracker and reap it. */
        {
                size_t n;
                const pid_t *pids = vm_tracker_pids(p.events, &n);
                assert_int_equal(n, 1);
                kill(pids[0], SIGKILL);
        }
        reap(a);
        reap(other);
        /* The grandchild was re-parented; wait until it is gone from /proc. */
        for (int i = 0; i < 200; i++) {
                struct vm_sample s;
                p.clock += 1000;
                assert_int_equal(vm_tracker_sample(p.scan, p.clock, &s), 0);
                if (s.n_vms == 0)
                        break;
                usleep(10000);
        }
        assert_same_as_full_scan(&p, 0);

        vm_tracker_get_stats(p.events, &stats);
        /* One scan at start, none after: every change came from events. */
        assert_int_equal(stats.full_scans, 1);
        assert_true(stats.events > 0);
        vm_tracker_free(p.events);
        vm_tracker_free(p.scan);
}

static void test_vanished_process_is_skipped(void **state)
{
        struct vm_tracker *t;
        struct vm_sample s;
        pid_t a;

        (void)state;
        assert_int_equal(vm_tracker_new(&match, METRIC_RSS, VM_TRACKING_SCAN, 1, &t), 0);
        a = spawn_named("ktvm-kvm");
        assert_int_equal(vm_tracker_sample(t, 1000, &s), 0);
        assert_int_equal(s.n_vms, 1);
        reap(a);
        assert_int_equal(vm_tracker_sample(t, 2000, &s), 0);
        assert_int_equal(s.n_vms, 0);
        assert_int_equal(s.committed_kib, 0);
        vm_tracker_free(t);
}

int main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_events_track_like_a_full_scan),
                cmocka_unit_test(test_vanished_process_is_skipped),
        };
        /* Rules of the built-in kinds (comm regex, command-line regex) but
         * with names no real or test VM uses, so that VM-like processes
         * elsewhere on the host never change the counts. */
        static const char *const comm_rules[] = {"^ktvm(-kvm|:.{1,11})$"};
        static const char *const cmdline_rules[] = {"^ktvm-system.*-enable-kvm"};
        struct ksm_config c;
        int fd, r;

        if (argc == 3 && strcmp(argv[1], "-enable-kvm") == 0) {
                ready_fd = atoi(argv[2]);
                stand_in_main(NULL);
        }

        if (geteuid() != 0) {
                printf("SKIP: the process-event connector needs root\n");
                return 77;
        }
        fd = proc_events_open();
        if (fd < 0) {
                printf("SKIP: process events unavailable: %s\n", strerror(-fd));
                return 77;
        }
        proc_events_close(fd);

        if (config_init_defaults(&c) < 0 ||
            config_set_patterns(&c, CONFIG_VM_MATCH_COMM, comm_rules, 1,
                                (struct config_origin){ORIGIN_DEFAULT, 0}, NULL, 0) < 0 ||
            config_set_patterns(&c, CONFIG_VM_MATCH_CMDLINE, cmdline_rules, 1,
                                (struct config_origin){ORIGIN_DEFAULT, 0}, NULL, 0) < 0)
                return 1;
        r = vm_match_compile(&match, &c.vm_comm_patterns, &c.vm_cmdline_patterns);
        config_free(&c);
        if (r < 0)
                return 1;
        if (pipe(ready_pipe) < 0)
                return 1;
        r = cmocka_run_group_tests(tests, NULL, NULL);
        vm_match_free(&match);
        return r;
}
