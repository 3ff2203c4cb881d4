/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "ksmd.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

int ksmd_find(const char *proc_dir, pid_t *ret)
{
        struct dirent *de;
        DIR *d;
        int r = -ENOENT;

        d = opendir(proc_dir);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char path[PATH_MAX], buf[512], *close_paren;
                int ppid;

                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                if (snprintf(path, sizeof(path), "%s/%s/stat", proc_dir, de->d_name) >=
                    (int)sizeof(path))
                        continue;
                if (read_file_bounded(path, buf, sizeof(buf), NULL) < 0)
                        continue;
                /* "pid (comm) state ppid ...": comm may hold spaces, so split at
                 * the last parenthesis. */
                if (strncmp(strchr(buf, '(') ? strchr(buf, '(') : "", "(ksmd)", 6) != 0)
                        continue;
                close_paren = strrchr(buf, ')');
                if (!close_paren || sscanf(close_paren + 1, " %*c %d", &ppid) != 1 || ppid != 2)
                        continue;
                {
                        uint64_t v;
                        if (parse_uint64_decimal(de->d_name, &v) < 0 || v > INT_MAX)
                                continue;
                        *ret = (pid_t)v;
                }
                r = 0;
                break;
        }
        closedir(d);
        return r;
}

int ksmd_cpu_ns(const char *proc_dir, pid_t pid, uint64_t *ret)
{
        char path[PATH_MAX], buf[128], *sp;
        int r;

        snprintf(path, sizeof(path), "%s/%d/schedstat", proc_dir, (int)pid);
        r = read_file_bounded(path, buf, sizeof(buf), NULL);
        if (r < 0)
                return r;
        sp = strchr(buf, ' ');
        if (!sp)
                return -EINVAL;
        *sp = '\0';
        return parse_uint64_decimal(buf, ret);
}
