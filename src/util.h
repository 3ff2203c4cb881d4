/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Reads a whole small file into buf (NUL-terminated). Files that do not fit in
 * size-1 bytes are rejected with -EFBIG rather than silently truncated: a
 * truncated /proc/meminfo or config file would parse into wrong numbers. */
int read_file_bounded(const char *path, char *buf, size_t size, size_t *ret_len);
int read_file_bounded_at(int dirfd, const char *name, char *buf, size_t size, size_t *ret_len);

/* Strict decimal parsers: optional sign (signed only), digits, nothing else.
 * No leading/trailing spaces, no "0x", no leading zeros (shell arithmetic
 * would read "010" as octal, so we refuse to guess), no overflow. */
int parse_int64_decimal(const char *s, int64_t *ret);
int parse_uint64_decimal(const char *s, uint64_t *ret);

/* Joins dir and name with one '/'; -ENAMETOOLONG when it does not fit. */
int path_join(char *buf, size_t size, const char *dir, const char *name);

/* Saturating addition for kB sums that must never wrap. */
static inline uint64_t add_sat_u64(uint64_t a, uint64_t b)
{
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

uint64_t now_usec(int clock_id);
