/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared by the tests of the two configuration parsers (legacy_conf,
 * settings). Include after cmocka.h. */
#pragma once

#include <stdio.h>

#include "config.h"

/* Records what a config parser reports through its warning hook. */
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

static inline void assert_value(const struct ksm_config *c, enum config_key key, const char *want)
{
        char buf[512];

        config_format_value(c, key, buf, sizeof(buf));
        assert_string_equal(buf, want);
}

static inline void assert_origin(const struct ksm_config *c, enum config_key key,
                                 enum config_origin_kind kind, unsigned line)
{
        assert_int_equal(c->origin[key].kind, kind);
        assert_int_equal(c->origin[key].line, line);
}

/* One accepted input: the key it sets, the value as config_format_value
 * prints it, and the line the origin must name. */
struct ok_case {
        const char *text;
        enum config_key key;
        const char *value;
        unsigned line;
};

typedef int (*parse_fn)(const char *text, struct ksm_config *c, struct config_error *err,
                        struct warn_log *w);

/* Each case parses without error or warning and sets its key, from its line. */
static inline void check_ok_cases(const struct ok_case *cases, size_t n, parse_fn parse,
                                  enum config_origin_kind kind)
{
        for (size_t i = 0; i < n; i++) {
                const struct ok_case *t = &cases[i];
                struct ksm_config c;
                struct config_error err;
                struct warn_log w;
                int r = parse(t->text, &c, &err, &w);

                if (r != 0)
                        print_message("case %zu \"%s\": %s\n", i, t->text, err.text);
                assert_int_equal(r, 0);
                assert_int_equal(w.count, 0);
                assert_value(&c, t->key, t->value);
                assert_origin(&c, t->key, kind, t->line);
                config_free(&c);
        }
}
