/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int read_file_bounded_at(int dirfd, const char *name, char *buf, size_t size, size_t *ret_len)
{
        size_t len = 0;
        int fd, r = 0;

        if (size < 2)
                return -EINVAL;

        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;

        for (;;) {
                ssize_t n = read(fd, buf + len, size - 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len == size - 1) {
                        /* Buffer full: only acceptable if the file ends exactly here. */
                        char probe;
                        n = read(fd, &probe, 1);
                        if (n != 0)
                                r = n < 0 ? -errno : -EFBIG;
                        break;
                }
        }
        close(fd);
        if (r < 0)
                return r;

        buf[len] = '\0';
        if (ret_len)
                *ret_len = len;
        return 0;
}

int read_file_bounded(const char *path, char *buf, size_t size, size_t *ret_len)
{
        return read_file_bounded_at(AT_FDCWD, path, buf, size, ret_len);
}

static int parse_digits(const char *p, uint64_t *ret)
{
        uint64_t v = 0;

        if (*p < '0' || *p > '9')
                return -EINVAL;
        if (p[0] == '0' && p[1] != '\0')
                return -EINVAL;
        for (; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t)(*p - '0');
        }
        *ret = v;
        return 0;
}

int parse_uint64_decimal(const char *s, uint64_t *ret)
{
        if (!s)
                return -EINVAL;
        if (*s == '+')
                s++;
        return parse_digits(s, ret);
}

int parse_int64_decimal(const char *s, int64_t *ret)
{
        bool negative = false;
        uint64_t v;
        int r;

        if (!s)
                return -EINVAL;
        if (*s == '-' || *s == '+') {
                negative = *s == '-';
                s++;
        }
        r = parse_digits(s, &v);
        if (r < 0)
                return r;
        if (negative) {
                if (v > (uint64_t)INT64_MAX + 1)
                        return -ERANGE;
                *ret = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
        } else {
                if (v > (uint64_t)INT64_MAX)
                        return -ERANGE;
                *ret = (int64_t)v;
        }
        return 0;
}

int path_join(char *buf, size_t size, const char *dir, const char *name)
{
        size_t dl = strlen(dir);
        int n;

        while (dl > 1 && dir[dl - 1] == '/')
                dl--;
        /* Only "/" keeps a trailing slash; do not double it. */
        n = snprintf(buf, size, "%.*s%s%s", (int)dl, dir, dir[dl - 1] == '/' ? "" : "/", name);
        if (n < 0 || (size_t)n >= size)
                return -ENAMETOOLONG;
        return 0;
}

uint64_t now_usec(int clock_id)
{
        struct timespec ts;

        if (clock_gettime(clock_id, &ts) < 0)
                return 0;
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
