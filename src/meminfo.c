/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "meminfo.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "util.h"

/* /proc/meminfo is about 1.5 KiB; 16 KiB leaves room for future fields while
 * still refusing a runaway file. */
#define MEMINFO_MAX_BYTES (16 * 1024)

enum {
        FIELD_MEM_TOTAL,
        FIELD_MEM_FREE,
        FIELD_BUFFERS,
        FIELD_CACHED,
        FIELD_MEM_AVAILABLE,
        _FIELD_MAX,
};

static const char *const field_names[_FIELD_MAX] = {
        [FIELD_MEM_TOTAL] = "MemTotal",
        [FIELD_MEM_FREE] = "MemFree",
        [FIELD_BUFFERS] = "Buffers",
        [FIELD_CACHED] = "Cached",
        [FIELD_MEM_AVAILABLE] = "MemAvailable",
};

/* Parses "   12345 kB" (the part after the colon). */
static int parse_kib_value(const char *p, const char *end, uint64_t *ret)
{
        char digits[24];
        size_t n = 0;

        while (p < end && *p == ' ')
                p++;
        while (p < end && *p >= '0' && *p <= '9') {
                if (n + 1 >= sizeof(digits))
                        return -ERANGE;
                digits[n++] = *p++;
        }
        digits[n] = '\0';
        if (n == 0)
                return -EINVAL;
        if (end - p != 3 || memcmp(p, " kB", 3) != 0)
                return -EINVAL;
        /* The kernel prints "0" but never zero-padded numbers; parse_uint64_decimal
         * rejects leading zeros, so accept them explicitly here. */
        while (n > 1 && digits[0] == '0') {
                memmove(digits, digits + 1, n);
                n--;
        }
        return parse_uint64_decimal(digits, ret);
}

int meminfo_parse(const char *text, struct meminfo *ret)
{
        uint64_t values[_FIELD_MAX] = {0};
        unsigned found = 0;
        const char *p = text;

        while (*p) {
                const char *nl = strchr(p, '\n');
                const char *end = nl ? nl : p + strlen(p);
                const char *colon = memchr(p, ':', (size_t)(end - p));

                if (!colon)
                        return -EINVAL;
                for (int f = 0; f < _FIELD_MAX; f++) {
                        size_t len = strlen(field_names[f]);
                        int r;

                        if ((size_t)(colon - p) != len || memcmp(p, field_names[f], len) != 0)
                                continue;
                        if (found & (1u << f))
                                return -EINVAL;
                        r = parse_kib_value(colon + 1, end, &values[f]);
                        if (r < 0)
                                return r;
                        found |= 1u << f;
                        break;
                }
                p = nl ? nl + 1 : end;
        }

        /* MemAvailable is optional: the legacy policy never used it. */
        for (int f = 0; f < FIELD_MEM_AVAILABLE; f++)
                if (!(found & (1u << f)))
                        return -EINVAL;

        if (values[FIELD_MEM_TOTAL] == 0 || values[FIELD_MEM_FREE] > values[FIELD_MEM_TOTAL])
                return -EINVAL;
        if ((found & (1u << FIELD_MEM_AVAILABLE)) &&
            values[FIELD_MEM_AVAILABLE] > values[FIELD_MEM_TOTAL])
                return -EINVAL;
        /* Keeps every later sum (free + buffers + cached, committed + thres)
         * far from int64 overflow: 2^50 kB is a petabyte host. */
        for (int f = 0; f < _FIELD_MAX; f++)
                if (values[f] > ((uint64_t)1 << 50))
                        return -ERANGE;

        *ret = (struct meminfo){
                .mem_total_kib = values[FIELD_MEM_TOTAL],
                .mem_free_kib = values[FIELD_MEM_FREE],
                .buffers_kib = values[FIELD_BUFFERS],
                .cached_kib = values[FIELD_CACHED],
                .mem_available_kib = values[FIELD_MEM_AVAILABLE],
                .has_mem_available = (found & (1u << FIELD_MEM_AVAILABLE)) != 0,
        };
        return 0;
}

int meminfo_read(const char *proc_dir, struct meminfo *ret)
{
        char path[PATH_MAX], buf[MEMINFO_MAX_BYTES];
        int r;

        r = path_join(path, sizeof(path), proc_dir, "meminfo");
        if (r < 0)
                return r;
        r = read_file_bounded(path, buf, sizeof(buf), NULL);
        if (r < 0)
                return r;
        return meminfo_parse(buf, ret);
}
