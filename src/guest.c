/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "guest.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* QEMU command lines with many devices run to tens of KiB. */
#define CMDLINE_MAX_BYTES (256 * 1024)

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *p)
{
        size_t n;
        unsigned cp;

        if (p[0] < 0x80)
                return 1;
        if (p[0] >= 0xc2 && p[0] <= 0xdf)
                n = 2, cp = p[0] & 0x1f;
        else if (p[0] >= 0xe0 && p[0] <= 0xef)
                n = 3, cp = p[0] & 0x0f;
        else if (p[0] >= 0xf0 && p[0] <= 0xf4)
                n = 4, cp = p[0] & 0x07;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
                return 0;
        return n;
}

/* Copies at most n bytes, cut to GUEST_ID_MAX - 1; D-Bus strings, JSON and
 * Prometheus labels must be UTF-8, so a byte that is not part of a valid
 * sequence (or a sequence the cut split) becomes '?'. */
static void copy_value(char *dst, const char *src, size_t n)
{
        size_t i, l;

        for (i = 0; i + 1 < GUEST_ID_MAX && i < n && src[i]; i++)
                dst[i] = src[i];
        dst[i] = '\0';
        for (i = 0; dst[i]; i += l)
                if ((l = utf8_len((const unsigned char *)dst + i)) == 0) {
                        dst[i] = '?';
                        l = 1;
                }
}

/* "-name guest=vm1,debug-threads=on", "-name vm1,process=qemu:vm1", "-name vm1" */
static void parse_name(const char *v, char *out)
{
        const char *p = v, *end;

        if (strncmp(p, "guest=", 6) == 0)
                p += 6;
        else {
                /* The name may come as any key of the option group. */
                const char *g = strstr(v, ",guest=");
                if (g)
                        p = g + 7;
        }
        end = strchr(p, ',');
        copy_value(out, p, end ? (size_t)(end - p) : strlen(p));
}

void guest_identity_parse(const char *cmdline, size_t len, pid_t pid, struct guest_identity *ret)
{
        const char *args[2048];
        size_t n = 0, i;
        char uuid[GUEST_ID_MAX] = "";

        memset(ret, 0, sizeof(*ret));
        for (i = 0; i < len && n < ELEMENTSOF(args);) {
                const char *a = cmdline + i;
                size_t l = strnlen(a, len - i);
                args[n++] = a;
                i += l + 1;
                if (l == len - (size_t)(a - cmdline))
                        break; /* unterminated last argument */
        }
        for (i = 0; i + 1 < n; i++) {
                /* QEMU takes both "-opt" and "--opt". */
                const char *opt = args[i][0] == '-' && args[i][1] == '-' ? args[i] + 1 : args[i];
                if (strcmp(opt, "-name") == 0)
                        parse_name(args[i + 1], ret->name);
                else if (strcmp(opt, "-uuid") == 0)
                        copy_value(uuid, args[i + 1], strlen(args[i + 1]));
        }
        if (uuid[0])
                snprintf(ret->id, sizeof(ret->id), "%s", uuid);
        else if (ret->name[0])
                snprintf(ret->id, sizeof(ret->id), "%s", ret->name);
        else
                snprintf(ret->id, sizeof(ret->id), "pid%d", (int)pid);
}

int guest_identity_read(const char *proc_dir, pid_t pid, struct guest_identity *ret)
{
        char path[PATH_MAX];
        size_t len;
        char *buf;
        int r;

        snprintf(path, sizeof(path), "%s/%d/cmdline", proc_dir, (int)pid);
        buf = malloc(CMDLINE_MAX_BYTES);
        if (!buf)
                return -ENOMEM;
        r = read_file_bounded(path, buf, CMDLINE_MAX_BYTES, &len);
        if (r == -EFBIG)
                len = 0, r = 0; /* absurdly long: identify by pid */
        if (r >= 0)
                guest_identity_parse(buf, len, pid, ret);
        free(buf);
        return r;
}

uint64_t guest_rss_bytes(const char *proc_dir, pid_t pid)
{
        char path[PATH_MAX], buf[4096], *p;
        unsigned long long kib = 0;

        snprintf(path, sizeof(path), "%s/%d/status", proc_dir, (int)pid);
        if (read_file_bounded(path, buf, sizeof(buf), NULL) < 0)
                return 0;
        p = strstr(buf, "\nVmRSS:");
        if (!p || sscanf(p + 7, "%llu", &kib) != 1)
                return 0;
        return (uint64_t)kib * 1024;
}

int ksm_stat_parse(const char *text, struct ksm_stat *ret)
{
        struct ksm_stat s;
        const char *p = text;

        memset(&s, 0, sizeof(s));
        while (*p) {
                const char *nl = strchr(p, '\n');
                size_t l = nl ? (size_t)(nl - p) : strlen(p);
                char line[128], key[64], value[64];
                char *sep;

                if (l >= sizeof(line))
                        return -EINVAL;
                memcpy(line, p, l);
                line[l] = '\0';
                p = nl ? nl + 1 : p + l;
                if (l == 0)
                        continue;

                sep = strpbrk(line, " :");
                if (!sep || (size_t)(sep - line) >= sizeof(key))
                        return -EINVAL;
                memcpy(key, line, (size_t)(sep - line));
                key[sep - line] = '\0';
                while (*sep == ' ' || *sep == ':')
                        sep++;
                snprintf(value, sizeof(value), "%s", sep);

                if (strcmp(key, "ksm_rmap_items") == 0) {
                        if (parse_uint64_decimal(value, &s.rmap_items) < 0)
                                return -EINVAL;
                } else if (strcmp(key, "ksm_merging_pages") == 0) {
                        if (parse_uint64_decimal(value, &s.merging_pages) < 0)
                                return -EINVAL;
                        s.has_merging_pages = true;
                } else if (strcmp(key, "ksm_zero_pages") == 0) {
                        if (parse_uint64_decimal(value, &s.zero_pages) < 0)
                                return -EINVAL;
                        s.has_zero_pages = true;
                } else if (strcmp(key, "ksm_process_profit") == 0) {
                        if (parse_int64_decimal(value, &s.profit_bytes) < 0)
                                return -EINVAL;
                        s.has_profit = true;
                }
        }
        *ret = s;
        return 0;
}

int ksm_stat_read(const char *proc_dir, pid_t pid, struct ksm_stat *ret)
{
        char path[PATH_MAX], buf[1024];
        int r;

        snprintf(path, sizeof(path), "%s/%d/ksm_stat", proc_dir, (int)pid);
        r = read_file_bounded(path, buf, sizeof(buf), NULL);
        if (r < 0)
                return r;
        return ksm_stat_parse(buf, ret);
}
