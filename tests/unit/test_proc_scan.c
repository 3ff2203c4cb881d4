/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The direct /proc reader used for exec rechecks must say exactly what
 * libproc2 says, for every process on this host; where it cannot be sure it
 * must decline (-EAGAIN) rather than differ. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc_scan.h"

struct identity_copy {
        int calls;
        char comm[64];
        char cmdline[8192];
        bool has_cmdline;
};

static void copy_identity(void *userdata, const struct proc_identity *p)
{
        struct identity_copy *c = userdata;

        c->calls++;
        snprintf(c->comm, sizeof(c->comm), "%s", p->comm ? p->comm : "");
        c->has_cmdline = p->cmdline != NULL;
        snprintf(c->cmdline, sizeof(c->cmdline), "%s", p->cmdline ? p->cmdline : "");
}

struct pid_list {
        pid_t pids[65536];
        size_t n;
};

static void collect_pid(void *userdata, const struct proc_identity *p)
{
        struct pid_list *l = userdata;

        if (l->n < sizeof(l->pids) / sizeof(l->pids[0]))
                l->pids[l->n++] = p->pid;
}

static void test_direct_agrees_with_libproc2(void **state)
{
        static struct pid_list all;
        struct proc_scan *s;
        size_t compared = 0, declined = 0;

        (void)state;
        assert_int_equal(proc_scan_new(METRIC_RSS, true, &s), 0);
        all.n = 0;
        assert_int_equal(proc_scan_all(s, collect_pid, &all), 0);
        assert_true(all.n > 10);

        for (size_t i = 0; i < all.n; i++) {
                struct identity_copy direct = {0}, lib = {0};
                int rd = proc_scan_one_direct(s, all.pids[i], copy_identity, &direct);
                int rl = proc_scan_one(s, all.pids[i], copy_identity, &lib);

                if (rd == -EAGAIN) {
                        declined++;
                        continue;
                }
                if (rd == -ESRCH || rl == -ESRCH)
                        continue; /* exited in between */
                assert_int_equal(rd, 0);
                assert_int_equal(rl, 0);
                assert_string_equal(direct.comm, lib.comm);
                assert_true(direct.has_cmdline);
                assert_string_equal(direct.cmdline, lib.cmdline);
                compared++;
        }
        /* Kernel threads (empty cmdline) are declined; user processes are not. */
        assert_true(compared > 0);
        assert_true(declined > 0);
        proc_scan_free(s);
}

static void test_identify_gone_process(void **state)
{
        struct identity_copy c = {0};
        struct proc_scan *s;

        (void)state;
        assert_int_equal(proc_scan_new(METRIC_RSS, true, &s), 0);
        /* PIDs above pid_max never exist. */
        assert_int_equal(proc_scan_identify(s, 0x7ffffff0, copy_identity, &c), -ESRCH);
        assert_int_equal(c.calls, 0);
        proc_scan_free(s);
}

static void test_identify_self(void **state)
{
        struct identity_copy c = {0};
        struct proc_scan *s;

        (void)state;
        assert_int_equal(proc_scan_new(METRIC_RSS, false, &s), 0);
        assert_int_equal(proc_scan_identify(s, getpid(), copy_identity, &c), 0);
        assert_int_equal(c.calls, 1);
        assert_string_equal(c.comm, "test_proc_scan");
        assert_false(c.has_cmdline); /* not asked for */
        proc_scan_free(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_direct_agrees_with_libproc2),
                cmocka_unit_test(test_identify_gone_process),
                cmocka_unit_test(test_identify_self),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
