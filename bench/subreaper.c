/* subreaper: run a command as a child subreaper and report the resource
 * usage of every process it reaps.
 *
 * usage: subreaper REPORT_FILE COMMAND [ARG...]
 *
 * Marks itself PR_SET_CHILD_SUBREAPER, then runs COMMAND. Any descendant
 * orphaned later (a daemon that forks and lets its parent exit) is
 * re-parented to this process. For each process it reaps it appends
 *
 *   pid=P status=S maxrss_kb=M utime_us=U stime_us=T
 *
 * to REPORT_FILE, where the figures come from wait4(): the process itself
 * plus all descendants it (and they, recursively) waited for. In particular
 * maxrss_kb is the largest peak RSS (VmHWM) of any single process in that
 * waited-for subtree. It exits 0 when it has no children left.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        struct rusage ru;
        FILE *report;
        pid_t pid;
        int status;

        if (argc < 3) {
                fprintf(stderr, "usage: subreaper REPORT_FILE COMMAND [ARG...]\n");
                return 2;
        }
        report = fopen(argv[1], "a");
        if (!report) {
                fprintf(stderr, "subreaper: %s: %s\n", argv[1], strerror(errno));
                return 1;
        }
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
                fprintf(stderr, "subreaper: PR_SET_CHILD_SUBREAPER: %s\n", strerror(errno));
                return 1;
        }
        pid = fork();
        if (pid < 0) {
                fprintf(stderr, "subreaper: fork: %s\n", strerror(errno));
                return 1;
        }
        if (pid == 0) {
                fclose(report);
                execvp(argv[2], argv + 2);
                fprintf(stderr, "subreaper: %s: %s\n", argv[2], strerror(errno));
                _exit(127);
        }
        for (;;) {
                pid = wait4(-1, &status, 0, &ru);
                if (pid < 0) {
                        if (errno == EINTR)
                                continue;
                        break; /* ECHILD: nobody left */
                }
                fprintf(report, "pid=%d status=%d maxrss_kb=%ld utime_us=%lld stime_us=%lld\n",
                        (int)pid, status, ru.ru_maxrss,
                        (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
                        (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec);
                fflush(report);
        }
        return 0;
}
