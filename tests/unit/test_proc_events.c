/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The process-event connector with real processes: what reaches us, and
 * that the socket filter keeps thread churn out. Needs root; skips
 * otherwise. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc_events.h"

#define THREADS 64

struct seen {
        pid_t child;
        int forks, execs, comms, exits;
        int foreign_thread_events;
};

static void on_event(void *userdata, const struct process_event *ev)
{
        struct seen *s = userdata;

        if (ev->pid != ev->tgid && ev->tgid == s->child)
                s->foreign_thread_events++;
        if (ev->tgid != s->child)
                return;
        switch (ev->kind) {
        case PROC_EVENT_KIND_FORK: s->forks++; break;
        case PROC_EVENT_KIND_EXEC: s->execs++; break;
        case PROC_EVENT_KIND_COMM: s->comms++; break;
        case PROC_EVENT_KIND_EXIT: s->exits++; break;
        }
}

static void *idle_thread(void *arg)
{
        (void)arg;
        prctl(PR_SET_NAME, "thread-name", 0, 0, 0); /* a thread rename: filtered */
        return NULL;
}

static void drain_until_quiet(int fd, struct seen *s)
{
        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll(&p, 1, 200) <= 0)
                        return;
                assert_int_equal(proc_events_drain(fd, on_event, s), 0);
        }
}

static void test_threads_are_filtered(void **state)
{
        struct seen s = {0};
        int fd = proc_events_open();
        pid_t pid;

        (void)state;
        assert_true(fd >= 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                pthread_t t[THREADS];
                prctl(PR_SET_NAME, "pe-test", 0, 0, 0);
                for (int i = 0; i < THREADS; i++)
                        pthread_create(&t[i], NULL, idle_thread, NULL);
                for (int i = 0; i < THREADS; i++)
                        pthread_join(t[i], NULL);
                execl("/bin/true", "true", (char *)NULL);
                _exit(127);
        }
        s.child = pid;
        waitpid(pid, NULL, 0);
        drain_until_quiet(fd, &s);
        proc_events_close(fd);

        assert_int_equal(s.forks, 1); /* the process itself, none of its threads */
        assert_int_equal(s.comms, 1); /* the leader's rename only */
        assert_int_equal(s.execs, 1);
        assert_int_equal(s.exits, 1);
        assert_int_equal(s.foreign_thread_events, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_threads_are_filtered),
        };
        int fd;

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
        return cmocka_run_group_tests(tests, NULL, NULL);
}
