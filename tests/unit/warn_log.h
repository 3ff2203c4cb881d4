/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Records what a config parser reports through its warning hook. */
#pragma once

#include <stdio.h>

struct warn_log {
        unsigned count;
        unsigned line;
        char file[128];
        char msg[256];
};

static inline void record_warn(void *userdata, const char *file, unsigned line, const char *msg)
{
        struct warn_log *w = userdata;

        w->count++;
        w->line = line;
        snprintf(w->file, sizeof(w->file), "%s", file);
        snprintf(w->msg, sizeof(w->msg), "%s", msg);
}
