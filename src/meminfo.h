/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct meminfo {
        uint64_t mem_total_kib;
        uint64_t mem_free_kib;
        uint64_t buffers_kib;
        uint64_t cached_kib;
        uint64_t mem_available_kib;
        bool has_mem_available; /* absent before Linux 3.14 */
};

/* Parses meminfo text. Every field we use must appear once, as "Name: N kB";
 * a missing field, garbage or impossible values give -EINVAL. */
int meminfo_parse(const char *text, struct meminfo *ret);

/* MemFree + Buffers + Cached: what every ksmtuned variant calls "free". */
static inline uint64_t meminfo_legacy_free_kib(const struct meminfo *m)
{
        return m->mem_free_kib + m->buffers_kib + m->cached_kib;
}

/* Reads <proc_dir>/meminfo. */
int meminfo_read(const char *proc_dir, struct meminfo *ret);
