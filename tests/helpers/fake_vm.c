/* fake_vm: a stand-in for a QEMU process, for tests.
 *
 * It understands just enough of a qemu command line to look like a VM to a
 * process scanner: "-m SIZE" sets how much guest memory to allocate (MiB, or
 * with an M or G suffix), "-name NAME" is accepted and ignored, and every
 * other argument (-enable-kvm, -accel kvm, -machine accel=kvm, ...) is
 * ignored so tests can build whatever argv the matching rule under test wants.
 *
 * The process name that scanners see comes from how it is executed: tests
 * exec it through symlinks called qemu-system-x86_64, qemu-kvm or kvm (that
 * sets comm) with "exec -a NAME" (that sets argv[0] in /proc/PID/cmdline).
 *
 * Environment:
 *   FAKE_VM_MERGEABLE=1  madvise(MADV_MERGEABLE) the guest memory block
 *   FAKE_VM_COMM=NAME    set comm with prctl(PR_SET_NAME)
 *   FAKE_VM_READY=FILE   once the memory is touched, write "PID\n" to FILE
 *
 * It then waits for SIGTERM or SIGINT and exits 0. Exit status 2 means a
 * usage error, 1 a runtime failure.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "qemu_size.h"

static const char *prog = "fake_vm";

static void usage(const char *why)
{
        fprintf(stderr, "%s: %s\n", prog, why);
        fprintf(stderr, "usage: %s -m SIZE[M|G] [-name NAME] [ignored qemu options...]\n", prog);
        exit(2);
}

/* Publishes our pid atomically: readers polling FILE never see half a line. */
static void write_ready_file(const char *path)
{
        char tmp[4096];
        FILE *f;

        if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
                fprintf(stderr, "%s: FAKE_VM_READY path too long\n", prog);
                exit(1);
        }
        f = fopen(tmp, "w");
        if (f == NULL || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0 ||
            rename(tmp, path) != 0) {
                fprintf(stderr, "%s: cannot write %s: %s\n", prog, path, strerror(errno));
                exit(1);
        }
}

int main(int argc, char **argv)
{
        size_t size = 0;
        long page = sysconf(_SC_PAGESIZE);
        const char *env;
        sigset_t stop_signals;
        unsigned char *mem;
        int sig;

        if (argc > 0 && argv[0][0] != '\0')
                prog = argv[0];

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "-m") == 0) {
                        if (++i == argc)
                                usage("-m needs a size");
                        size = qemu_parse_size(argv[i]);
                        if (size == 0)
                                usage("bad -m size (want N, NM or NG, N > 0)");
                } else if (strcmp(argv[i], "-name") == 0) {
                        if (++i == argc)
                                usage("-name needs a value");
                }
                /* anything else: a qemu option we do not need to understand */
        }
        if (size == 0)
                usage("missing -m SIZE");

        /* Block the stop signals before doing any work: a SIGTERM that comes
         * while memory is being touched stays pending and is taken by
         * sigwait() below, so there is no window where it could be lost. */
        sigemptyset(&stop_signals);
        sigaddset(&stop_signals, SIGTERM);
        sigaddset(&stop_signals, SIGINT);
        sigprocmask(SIG_BLOCK, &stop_signals, NULL);

        env = getenv("FAKE_VM_COMM");
        if (env != NULL && env[0] != '\0' && prctl(PR_SET_NAME, env, 0, 0, 0) != 0) {
                fprintf(stderr, "%s: PR_SET_NAME: %s\n", prog, strerror(errno));
                return 1;
        }

        mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) {
                fprintf(stderr, "%s: mmap %zu bytes: %s\n", prog, size, strerror(errno));
                return 1;
        }

        env = getenv("FAKE_VM_MERGEABLE");
        if (env != NULL && strcmp(env, "1") == 0 && madvise(mem, size, MADV_MERGEABLE) != 0) {
                fprintf(stderr, "%s: MADV_MERGEABLE: %s\n", prog, strerror(errno));
                return 1;
        }

        /* Write every page so it is really allocated (RSS ~ size) before we
         * report ready. The bytes are non-zero (zero pages may be special-cased
         * by KSM) and the same in every page and every fake VM, so a test that
         * runs real KSM over mergeable fake VMs sees lots of sharing. */
        for (size_t off = 0; off < size; off += (size_t)page)
                memset(mem + off, 0xa5, (size_t)page);

        env = getenv("FAKE_VM_READY");
        if (env != NULL && env[0] != '\0')
                write_ready_file(env);

        if (sigwait(&stop_signals, &sig) != 0)
                return 1;
        return 0;
}
