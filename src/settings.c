/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "settings.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct settings_ctx {
        const char *filename;
        struct ksm_config *c;
        struct config_error *err;
        config_warn_fn warn;
        void *userdata;
        unsigned seen_line[_CONFIG_KEY_MAX];
};

static int fail(struct settings_ctx *x, const config_setting_t *s, const char *name,
                const char *why)
{
        snprintf(x->err->text, sizeof(x->err->text), "%s:%u: %s: %s", x->filename,
                 config_setting_source_line(s), name, why);
        return -EINVAL;
}

static int apply_value(struct settings_ctx *x, const config_setting_t *s, const char *name,
                       const struct config_key_info *info)
{
        struct config_origin origin = {ORIGIN_SETTINGS_FILE, config_setting_source_line(s)};
        int type = config_setting_type(s);
        char why[512];
        int r;

        if (x->seen_line[info->key]) {
                char msg[256];
                snprintf(msg, sizeof(msg), "set twice in this file (also on line %u)",
                         x->seen_line[info->key]);
                return fail(x, s, name, msg);
        }
        x->seen_line[info->key] = origin.line;

        switch (info->type) {
        case VALUE_INT:
                if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
                        return fail(x, s, name, "expected an integer");
                /* config_setting_get_int() reads 64-bit literals as 0; always go wide. */
                r = config_set_int(x->c, info->key, config_setting_get_int64(s), origin, why,
                                   sizeof(why));
                break;
        case VALUE_BOOL:
                if (type == CONFIG_TYPE_BOOL || type == CONFIG_TYPE_INT)
                        r = config_set_string(
                                x->c, info->key,
                                config_setting_get_int64(s) || config_setting_get_bool(s) ? "1"
                                                                                          : "0",
                                origin, why, sizeof(why));
                else if (type == CONFIG_TYPE_STRING)
                        r = config_set_from_text(x->c, info->key, config_setting_get_string(s),
                                                 origin, why, sizeof(why));
                else
                        return fail(x, s, name, "expected true or false");
                break;
        case VALUE_STRING:
        case VALUE_ENUM:
                if (type != CONFIG_TYPE_STRING)
                        return fail(x, s, name, "expected a string");
                r = config_set_from_text(x->c, info->key, config_setting_get_string(s), origin, why,
                                         sizeof(why));
                break;
        case VALUE_PATTERNS: {
                const char *items[CONFIG_MAX_PATTERNS];
                int n;

                if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
                        return fail(x, s, name, "expected a list of strings, e.g. [\"^qemu\"]");
                n = config_setting_length(s);
                if (n > CONFIG_MAX_PATTERNS) {
                        snprintf(why, sizeof(why), "%d patterns, at most %d are allowed", n,
                                 CONFIG_MAX_PATTERNS);
                        return fail(x, s, name, why);
                }
                for (int i = 0; i < n; i++) {
                        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
                        if (!e || config_setting_type(e) != CONFIG_TYPE_STRING)
                                return fail(x, s, name, "expected a list of strings");
                        items[i] = config_setting_get_string(e);
                }
                r = config_set_patterns(x->c, info->key, items, (size_t)n, origin, why,
                                        sizeof(why));
                break;
        }
        default: return fail(x, s, name, "unsupported setting type");
        }
        if (r < 0)
                return fail(x, s, name, why);
        return 0;
}

static void warn_unknown(struct settings_ctx *x, const config_setting_t *s, const char *path)
{
        char msg[256];

        if (!x->warn)
                return;
        snprintf(msg, sizeof(msg), "unknown setting %s, ignored", path);
        x->warn(x->userdata, x->filename, config_setting_source_line(s), msg);
}

static int walk_group(struct settings_ctx *x, const config_setting_t *group, const char *prefix)
{
        int n = config_setting_length(group);

        for (int i = 0; i < n; i++) {
                const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
                const struct config_key_info *info = NULL;
                const char *name = config_setting_name(s);
                char path[256];
                int r;

                if (!name)
                        continue;
                snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "", name);

                if (!prefix[0])
                        info = config_key_by_legacy_name(name);
                if (!info)
                        info = config_key_by_settings_name(path);
                if (info) {
                        r = apply_value(x, s, path, info);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (config_setting_type(s) == CONFIG_TYPE_GROUP) {
                        /* Only descend into groups we know, so a misspelled group
                         * is one warning rather than one per member. */
                        bool known = false;
                        size_t plen = strlen(path);
                        for (int k = 0; k < _CONFIG_KEY_MAX && !known; k++) {
                                const char *sn = config_key_info((enum config_key)k)->settings_name;
                                known = sn && strncmp(sn, path, plen) == 0 && sn[plen] == '.';
                        }
                        if (known) {
                                r = walk_group(x, s, path);
                                if (r < 0)
                                        return r;
                                continue;
                        }
                }
                warn_unknown(x, s, path);
        }
        return 0;
}

static bool is_name_char(char ch)
{
        return isalnum((unsigned char)ch) || ch == '_' || ch == '-' || ch == '*' || ch == '.';
}

/* A digit starts a number unless it continues a name ("vm-2") or a number. */
static bool starts_number(const char *text, const char *p)
{
        if (p == text)
                return true;
        if (p[-1] == '-')
                return p - 1 == text || !is_name_char(p[-2]);
        return !is_name_char(p[-1]);
}

/* libconfig 1.5 stores an integer literal without the L suffix in 32 bits
 * and silently wraps larger ones (4294967296 becomes 0). Find such literals
 * before libconfig sees them and say how to write them. Strings and comments
 * are skipped so that regexes such as "x{1,11111111111}" are left alone. */
static int check_wide_literals(const char *text, const char *filename, struct config_error *err)
{
        unsigned line = 1;

        for (const char *p = text; *p; p++) {
                if (*p == '\n') {
                        line++;
                } else if (*p == '"') {
                        for (p++; *p && *p != '"'; p++) {
                                if (*p == '\\' && p[1])
                                        p++;
                                else if (*p == '\n')
                                        line++;
                        }
                        if (!*p)
                                break;
                } else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
                        while (p[1] && p[1] != '\n')
                                p++;
                } else if (p[0] == '/' && p[1] == '*') {
                        for (p += 2; *p && !(p[0] == '*' && p[1] == '/'); p++)
                                if (*p == '\n')
                                        line++;
                        if (!*p)
                                break;
                        p++;
                } else if (*p >= '0' && *p <= '9' && starts_number(text, p)) {
                        const char *start = p;
                        bool negative = p > text && p[-1] == '-';
                        uint64_t v = 0;
                        bool wide = false;

                        /* Hexadecimal literals and floats are not our concern. */
                        if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
                                while (isxdigit((unsigned char)p[1]) || p[1] == 'x' || p[1] == 'X')
                                        p++;
                                continue;
                        }
                        while (p[1] >= '0' && p[1] <= '9')
                                p++;
                        if (p[1] == '.' || p[1] == 'e' || p[1] == 'E' || p[1] == 'L')
                                continue;
                        for (const char *d = start; d <= p; d++) {
                                if (v > (UINT64_MAX - 9) / 10) {
                                        wide = true;
                                        break;
                                }
                                v = v * 10 + (uint64_t)(*d - '0');
                        }
                        if (wide ||
                            v > (negative ? (uint64_t)INT32_MAX + 1 : (uint64_t)INT32_MAX)) {
                                int len = (int)(p - start + 1);
                                snprintf(err->text, sizeof(err->text),
                                         "%s:%u: integer %s%.*s does not fit in 32 bits and "
                                         "libconfig would silently truncate it; write %s%.*sL",
                                         filename, line, negative ? "-" : "", len, start,
                                         negative ? "-" : "", len, start);
                                return -ERANGE;
                        }
                }
        }
        return 0;
}

int settings_parse(const char *text, const char *filename, struct ksm_config *c,
                   struct config_error *err, config_warn_fn warn, void *userdata)
{
        struct settings_ctx x = {
                .filename = filename, .c = c, .err = err, .warn = warn, .userdata = userdata};
        config_t lc;
        int r;

        r = check_wide_literals(text, filename, err);
        if (r < 0)
                return r;
        config_init(&lc);
        if (config_read_string(&lc, text) != CONFIG_TRUE) {
                snprintf(err->text, sizeof(err->text), "%s:%d: %s", filename,
                         config_error_line(&lc), config_error_text(&lc));
                config_destroy(&lc);
                return -EINVAL;
        }
        r = walk_group(&x, config_root_setting(&lc), "");
        config_destroy(&lc);
        return r;
}

int settings_load_file(const char *path, struct ksm_config *c, struct config_error *err,
                       config_warn_fn warn, void *userdata)
{
        size_t len = 0;
        char *buf;
        int r;

        r = config_load_text(path, &buf, &len, err);
        if (r < 0 || !buf)
                return r;
        r = settings_parse(buf, path, c, err, warn, userdata);
        free(buf);
        return r;
}
