/* workload_vm: a stand-in QEMU process whose guest RAM is a chosen, KSM-mergeable
 * mix of pages, for the merge benchmark (bench/merge.sh) and the end-to-end tests
 * on the real kernel (tests/e2e/).
 *
 * It is exec'd as QEMU would be, e.g.
 *
 *     exec -a qemu-system-x86_64 path/to/qemu-system-x86_64 -enable-kvm -m 512 -name vm1
 *
 * (through a symlink called qemu-system-x86_64, so comm is "qemu-system-x86"),
 * so that a VM detector matching on the name or on the command line counts it.
 * "-m SIZE" (MiB, or with an M or G suffix) is the guest RAM; "-name NAME" names
 * the guest and picks its unique pages; every other argument is ignored.
 *
 * The RAM block is set up as QEMU sets up anonymous guest RAM: mmap'd private
 * and anonymous, aligned to 2 MiB, then madvise(MADV_MERGEABLE) (mem-merge=on,
 * QEMU's default) and madvise(MADV_HUGEPAGE) (QEMU does this for every RAM
 * block; thp=off leaves it out). Every page is written before the process
 * reports ready, so the whole block is resident.
 *
 * The content is a mix, described by WORKLOAD_SPEC, a comma-separated list of
 * KEY=VALUE (all optional):
 *
 *   seed=N       everything below is a function of N (default 1)
 *   identical=P  percent of pages that are a shared "guest OS image": page k of
 *                the image has the same content in every VM run with the same
 *                seed, and differs from every other page (default 60)
 *   zero=P       percent of pages that are all zero bytes (default 0)
 *   volatile=P   percent of pages rewritten over and over with new content that
 *                no other page has (default 0)
 *   rate=N       volatile page rewrites per second, in this VM (default 100
 *                when volatile > 0); round-robin over the volatile pages
 *   thp=on|off   madvise(MADV_HUGEPAGE) on the block, as QEMU (default on)
 *
 * The rest of the pages are unique: content that depends on the seed, the VM's
 * name and the page number, found nowhere else. Pages counts are the percent of
 * the block's pages, rounded down; which class each page belongs to is a seeded
 * shuffle (the same layout in every VM with the same seed and size), so classes
 * are interleaved within every huge page, as in a real guest. Each non-zero
 * page starts with a 16-byte tag (class, page number, generation, VM) followed
 * by pseudo-random bytes, so two pages are equal only when meant to be.
 *
 * Environment:
 *   WORKLOAD_SPEC=...    the mix, above
 *   WORKLOAD_READY=FILE  once the memory is written, FILE gets (atomically)
 *                        "PID\n" and "pages=N identical=N zero=N unique=N
 *                        volatile=N page_size=N\n"
 *
 * It dies with its parent (PR_SET_PDEATHSIG), else runs until SIGTERM or
 * SIGINT and exits 0. Exit status 2: usage error; 1: runtime failure.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "../tests/helpers/qemu_size.h"

#define HUGE_ALIGN (2UL * 1024 * 1024)

enum page_class { PC_IDENTICAL, PC_ZERO, PC_UNIQUE, PC_VOLATILE, PC_N };

struct spec {
        uint64_t seed;
        unsigned pct[PC_N]; /* PC_UNIQUE: unused (the rest) */
        unsigned long rate;
        bool thp;
};

static const char *prog = "workload_vm";

static void usage(const char *why)
{
        fprintf(stderr, "%s: %s\n", prog, why);
        fprintf(stderr,
                "usage: %s -m SIZE[M|G] [-name NAME] [ignored qemu options...]\n"
                "       WORKLOAD_SPEC=seed=N,identical=P,zero=P,volatile=P,rate=N,"
                "thp=on|off\n",
                prog);
        exit(2);
}

/* splitmix64: a tiny, good-enough PRNG that is the same everywhere. */
static uint64_t mix64(uint64_t x)
{
        x += 0x9e3779b97f4a7c15ULL;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        return x ^ (x >> 31);
}

static uint64_t hash_str(const char *s)
{
        uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

        for (; *s != '\0'; s++)
                h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
        return h;
}

static bool parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
                return false;
        *out = v;
        return true;
}

static void parse_spec(const char *text, struct spec *sp)
{
        char *copy, *save = NULL, *item;
        unsigned long v;

        sp->seed = 1;
        sp->pct[PC_IDENTICAL] = 60;
        sp->pct[PC_ZERO] = 0;
        sp->pct[PC_VOLATILE] = 0;
        sp->rate = 100;
        sp->thp = true;
        if (text == NULL || text[0] == '\0')
                return;
        copy = strdup(text);
        if (copy == NULL) {
                perror("strdup");
                exit(1);
        }
        for (item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(item, '=');
                const char *key = item, *val;

                if (eq == NULL)
                        usage("WORKLOAD_SPEC: want KEY=VALUE items separated by commas");
                *eq = '\0';
                val = eq + 1;
                if (strcmp(key, "thp") == 0) {
                        if (strcmp(val, "on") == 0)
                                sp->thp = true;
                        else if (strcmp(val, "off") == 0)
                                sp->thp = false;
                        else
                                usage("WORKLOAD_SPEC: thp is on or off");
                        continue;
                }
                if (strcmp(key, "seed") == 0) {
                        if (!parse_ulong(val, ULONG_MAX, &v))
                                usage("WORKLOAD_SPEC: bad seed");
                        sp->seed = v;
                } else if (strcmp(key, "rate") == 0) {
                        if (!parse_ulong(val, 100000000UL, &v))
                                usage("WORKLOAD_SPEC: bad rate (0..100000000 pages/s)");
                        sp->rate = v;
                } else {
                        enum page_class c;

                        if (strcmp(key, "identical") == 0)
                                c = PC_IDENTICAL;
                        else if (strcmp(key, "zero") == 0)
                                c = PC_ZERO;
                        else if (strcmp(key, "volatile") == 0)
                                c = PC_VOLATILE;
                        else
                                usage("WORKLOAD_SPEC: unknown key (seed, identical, zero, "
                                      "volatile, rate, thp)");
                        if (!parse_ulong(val, 100, &v))
                                usage("WORKLOAD_SPEC: a percentage is 0..100");
                        sp->pct[c] = (unsigned)v;
                }
        }
        free(copy);
        if (sp->pct[PC_IDENTICAL] + sp->pct[PC_ZERO] + sp->pct[PC_VOLATILE] > 100)
                usage("WORKLOAD_SPEC: identical + zero + volatile exceed 100 percent");
}

/* Fills one page: a 16-byte tag, then bytes from a PRNG seeded by the tag. */
static void fill_page(unsigned char *p, size_t page, uint64_t seed, enum page_class c,
                      uint64_t index, uint64_t generation, uint64_t vm)
{
        uint64_t *w = (uint64_t *)(void *)p;
        size_t n = page / sizeof(uint64_t);
        uint64_t s;

        if (c == PC_ZERO) {
                memset(p, 0, page);
                return;
        }
        if (c == PC_IDENTICAL)
                vm = 0; /* the image is the same in every VM */
        w[0] = ((uint64_t)c << 56) ^ index;
        w[1] = generation ^ mix64(vm);
        s = mix64(seed ^ mix64(w[0] ^ mix64(w[1])));
        for (size_t i = 2; i < n; i++) {
                s = mix64(s);
                w[i] = s;
        }
}

/* Publishes the ready file atomically: readers never see half of it. */
static void write_ready_file(const char *path, const size_t count[PC_N], size_t pages, size_t page)
{
        char tmp[4096];
        FILE *f;

        if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
                fprintf(stderr, "%s: WORKLOAD_READY path too long\n", prog);
                exit(1);
        }
        f = fopen(tmp, "w");
        if (f == NULL ||
            fprintf(f,
                    "%d\npages=%zu identical=%zu zero=%zu unique=%zu volatile=%zu page_size=%zu\n",
                    (int)getpid(), pages, count[PC_IDENTICAL], count[PC_ZERO], count[PC_UNIQUE],
                    count[PC_VOLATILE], page) < 0 ||
            fclose(f) != 0 || rename(tmp, path) != 0) {
                fprintf(stderr, "%s: cannot write %s: %s\n", prog, path, strerror(errno));
                exit(1);
        }
}

static uint64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
        size_t size = 0, page = (size_t)sysconf(_SC_PAGESIZE), pages, count[PC_N] = {0};
        const char *name = "", *env;
        struct spec sp;
        sigset_t stop_signals;
        unsigned char *raw, *mem, *cls;
        size_t *volatile_pages = NULL, n_volatile = 0;
        uint64_t vm, generation = 0, start, done = 0;

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
                        name = argv[i];
                }
                /* anything else: a qemu option we do not need to understand */
        }
        if (size == 0)
                usage("missing -m SIZE");
        parse_spec(getenv("WORKLOAD_SPEC"), &sp);
        vm = hash_str(name);

        /* Stop signals stay pending until sigtimedwait() takes them. */
        sigemptyset(&stop_signals);
        sigaddset(&stop_signals, SIGTERM);
        sigaddset(&stop_signals, SIGINT);
        sigprocmask(SIG_BLOCK, &stop_signals, NULL);
        /* Never outlive the harness that started us. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0 || getppid() == 1)
                return 1;

        /* Guest RAM as QEMU maps it: anonymous, private, 2 MiB aligned. */
        raw = mmap(NULL, size + HUGE_ALIGN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                   0);
        if (raw == MAP_FAILED) {
                fprintf(stderr, "%s: mmap %zu bytes: %s\n", prog, size, strerror(errno));
                return 1;
        }
        mem = (unsigned char *)(((uintptr_t)raw + HUGE_ALIGN - 1) & ~(uintptr_t)(HUGE_ALIGN - 1));
        if (madvise(mem, size, MADV_MERGEABLE) != 0) {
                fprintf(stderr, "%s: MADV_MERGEABLE: %s\n", prog, strerror(errno));
                return 1;
        }
        if (sp.thp && madvise(mem, size, MADV_HUGEPAGE) != 0 && errno != EINVAL) {
                fprintf(stderr, "%s: MADV_HUGEPAGE: %s\n", prog, strerror(errno));
                return 1;
        }

        /* Layout: exact class counts, then a seeded Fisher-Yates shuffle. */
        pages = size / page;
        cls = malloc(pages);
        if (cls == NULL) {
                perror("malloc");
                return 1;
        }
        count[PC_IDENTICAL] = pages * sp.pct[PC_IDENTICAL] / 100;
        count[PC_ZERO] = pages * sp.pct[PC_ZERO] / 100;
        count[PC_VOLATILE] = pages * sp.pct[PC_VOLATILE] / 100;
        count[PC_UNIQUE] = pages - count[PC_IDENTICAL] - count[PC_ZERO] - count[PC_VOLATILE];
        {
                size_t k = 0;
                uint64_t s = mix64(sp.seed ^ 0x5eed5eed5eedULL);

                for (int c = 0; c < PC_N; c++)
                        for (size_t j = 0; j < count[c]; j++)
                                cls[k++] = (unsigned char)c;
                for (size_t i = pages - 1; i > 0; i--) {
                        size_t j;
                        unsigned char t;

                        s = mix64(s);
                        j = (size_t)(s % (i + 1));
                        t = cls[i];
                        cls[i] = cls[j];
                        cls[j] = t;
                }
        }
        if (count[PC_VOLATILE] > 0) {
                volatile_pages = malloc(count[PC_VOLATILE] * sizeof(*volatile_pages));
                if (volatile_pages == NULL) {
                        perror("malloc");
                        return 1;
                }
        }
        /* The identical pages are numbered in layout order, so page k of the
         * image is at the same place in every VM with the same seed. */
        for (size_t i = 0; i < pages; i++) {
                if (cls[i] == PC_VOLATILE)
                        volatile_pages[n_volatile++] = i;
                fill_page(mem + i * page, page, sp.seed, (enum page_class)cls[i], i, 0, vm);
        }
        free(cls);

        env = getenv("WORKLOAD_READY");
        if (env != NULL && env[0] != '\0')
                write_ready_file(env, count, pages, page);

        if (n_volatile == 0 || sp.rate == 0) {
                int sig;

                return sigwait(&stop_signals, &sig) == 0 ? 0 : 1;
        }

        /* Rewrite volatile pages at sp.rate pages/s, in 10 ms steps, until stopped. */
        start = now_ns();
        for (;;) {
                struct timespec tick = {0, 10 * 1000 * 1000};
                uint64_t due;
                int sig = sigtimedwait(&stop_signals, NULL, &tick);

                if (sig == SIGTERM || sig == SIGINT)
                        return 0;
                if (sig < 0 && errno != EAGAIN && errno != EINTR) {
                        perror("sigtimedwait");
                        return 1;
                }
                due = (now_ns() - start) / 1000 * sp.rate / 1000000;
                for (; done < due; done++) {
                        size_t v = (size_t)(done % n_volatile);

                        if (v == 0)
                                generation++;
                        fill_page(mem + volatile_pages[v] * page, page, sp.seed, PC_VOLATILE,
                                  volatile_pages[v], generation, vm);
                }
        }
}
