/* spawn_procs: put N idle processes on the host, for benchmarks.
 *
 * usage: spawn_procs N READY_FILE
 *
 * Forks N children that do nothing but wait in pause(). Each child asks the
 * kernel to SIGKILL it when this parent dies (PR_SET_PDEATHSIG), so nothing
 * is left behind even if the parent is killed. Once all children exist,
 * "PID\n" of the parent is written to READY_FILE (atomically, via rename).
 * On SIGTERM or SIGINT the parent kills and reaps its children and exits 0.
 *
 * Build it static (cc -O2 -static) to keep the children cheap: a forked
 * static binary shares all its text and owns only a few dirty pages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what)
{
        fprintf(stderr, "spawn_procs: %s: %s\n", what, strerror(errno));
        exit(1);
}

int main(int argc, char **argv)
{
        sigset_t stop;
        pid_t parent = getpid(), *kids;
        char *end, tmp[4096];
        long n;
        int sig;
        FILE *f;

        if (argc != 3) {
                fprintf(stderr, "usage: spawn_procs N READY_FILE\n");
                return 2;
        }
        n = strtol(argv[1], &end, 10);
        if (*end != '\0' || n < 0 || n > 1000000) {
                fprintf(stderr, "spawn_procs: bad N '%s'\n", argv[1]);
                return 2;
        }
        kids = calloc((size_t)n + 1, sizeof(*kids));
        if (!kids)
                die("calloc");

        sigemptyset(&stop);
        sigaddset(&stop, SIGTERM);
        sigaddset(&stop, SIGINT);
        sigprocmask(SIG_BLOCK, &stop, NULL);

        for (long i = 0; i < n; i++) {
                pid_t pid = fork();
                if (pid < 0) {
                        int e = errno;
                        for (long j = 0; j < i; j++)
                                kill(kids[j], SIGKILL);
                        errno = e;
                        die("fork");
                }
                if (pid == 0) {
                        sigset_t none;
                        prctl(PR_SET_PDEATHSIG, SIGKILL);
                        if (getppid() != parent) /* parent already gone */
                                _exit(0);
                        signal(SIGTERM, SIG_DFL);
                        signal(SIGINT, SIG_DFL);
                        sigemptyset(&none);
                        sigprocmask(SIG_SETMASK, &none, NULL);
                        for (;;)
                                pause();
                }
                kids[i] = pid;
        }

        if (snprintf(tmp, sizeof(tmp), "%s.tmp", argv[2]) >= (int)sizeof(tmp))
                die("READY_FILE too long");
        f = fopen(tmp, "w");
        if (!f || fprintf(f, "%d\n", (int)parent) < 0 || fclose(f) != 0 ||
            rename(tmp, argv[2]) != 0)
                die(argv[2]);

        sigwait(&stop, &sig);
        for (long i = 0; i < n; i++)
                kill(kids[i], SIGKILL);
        while (wait(NULL) > 0 || errno == EINTR)
                ;
        return 0;
}
