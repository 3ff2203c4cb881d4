/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The "-m SIZE" argument of QEMU as the stand-in VM programs take it
 * (tests/helpers/fake_vm.c, bench/workload_vm.c). */
#pragma once

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

/* Parses "64", "64M" or "1G" into bytes; returns 0 on a malformed value. */
static inline size_t qemu_parse_size(const char *s)
{
        char *end;
        unsigned long long mib;

        errno = 0;
        mib = strtoull(s, &end, 10);
        if (errno != 0 || end == s || s[0] == '-')
                return 0;
        if (*end == 'G' || *end == 'g') {
                if (mib > ULLONG_MAX / 1024)
                        return 0;
                mib *= 1024;
                end++;
        } else if (*end == 'M' || *end == 'm') {
                end++;
        }
        if (*end != '\0' || mib == 0 || mib > SIZE_MAX / (1024 * 1024))
                return 0;
        return (size_t)mib * 1024 * 1024;
}
