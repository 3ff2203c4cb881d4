/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "legacy_conf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_LINE_BYTES 4096

static bool is_name_start(char ch)
{
        return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
}

static bool is_name_char(char ch)
{
        return is_name_start(ch) || (ch >= '0' && ch <= '9');
}

static bool is_blank(char ch)
{
        return ch == ' ' || ch == '\t';
}

/* Why a character cannot appear unquoted, or NULL if it is plain text. */
static const char *unquoted_problem(char ch)
{
        switch (ch) {
        case '$':
        case '`':
                return "expansions ($VAR, $(...), `...`) are not supported: the file is read, "
                       "never "
                       "executed";
        case '\\': return "backslash escapes are not supported";
        case ';':
        case '&':
        case '|':
        case '<':
        case '>':
        case '(':
        case ')':
        case '{':
        case '}': return "shell syntax is not supported, only KEY=value assignments";
        default: return NULL;
        }
}

/* Parses the value word starting at *pp into out; leaves *pp after it. */
static int lex_value(const char **pp, const char *end, char *out, size_t out_size, const char **why)
{
        const char *p = *pp;
        size_t n = 0;

#define PUT(ch)                                                                                    \
        do {                                                                                       \
                if (n + 1 >= out_size) {                                                           \
                        *why = "value is too long";                                                \
                        return -E2BIG;                                                             \
                }                                                                                  \
                out[n++] = (ch);                                                                   \
        } while (0)

        if (p < end && *p == '~') {
                *why = "tilde expansion is not supported, write the full path";
                return -EINVAL;
        }
        while (p < end && !is_blank(*p)) {
                if (*p == '\'') {
                        const char *q = memchr(p + 1, '\'', (size_t)(end - p - 1));
                        if (!q) {
                                *why = "unterminated single quote";
                                return -EINVAL;
                        }
                        for (p++; p < q; p++)
                                PUT(*p);
                        p = q + 1;
                } else if (*p == '"') {
                        for (p++; p < end && *p != '"'; p++) {
                                if (*p == '$' || *p == '`') {
                                        *why = unquoted_problem(*p);
                                        return -EINVAL;
                                }
                                if (*p == '\\') {
                                        *why = "backslash escapes are not supported";
                                        return -EINVAL;
                                }
                                PUT(*p);
                        }
                        if (p >= end) {
                                *why = "unterminated double quote";
                                return -EINVAL;
                        }
                        p++;
                } else {
                        const char *problem = unquoted_problem(*p);
                        if (problem) {
                                *why = problem;
                                return -EINVAL;
                        }
                        PUT(*p);
                        p++;
                }
        }
#undef PUT
        out[n] = '\0';
        *pp = p;
        return 0;
}

static int parse_line(const char *p, const char *end, const char *filename, unsigned lineno,
                      struct ksm_config *c, struct config_error *err, config_warn_fn warn,
                      void *userdata)
{
        char name[128], value[MAX_LINE_BYTES], why[512];
        const char *why_lex = NULL, *name_start;
        const struct config_key_info *info;
        size_t name_len;
        int r;

        while (p < end && is_blank(*p))
                p++;
        if (p == end || *p == '#')
                return 0;

        if ((size_t)(end - p) > 7 && memcmp(p, "export", 6) == 0 && is_blank(p[6])) {
                p += 6;
                while (p < end && is_blank(*p))
                        p++;
        }

        name_start = p;
        if (p < end && is_name_start(*p))
                while (p < end && is_name_char(*p))
                        p++;
        name_len = (size_t)(p - name_start);
        if (name_len > 0 && name_len < sizeof(name) && (p == end || *p != '=')) {
                const char *q = p;
                while (q < end && is_blank(*q))
                        q++;
                snprintf(err->text, sizeof(err->text), "%s:%u: %.*s: %s", filename, lineno,
                         (int)name_len, name_start,
                         q < end && *q == '=' ? "no spaces are allowed around '='"
                                              : "not an assignment: only KEY=value lines, "
                                                "comments and blank lines are understood");
                return -EINVAL;
        }
        if (name_len == 0) {
                snprintf(err->text, sizeof(err->text),
                         "%s:%u: not an assignment: only KEY=value lines, comments and blank lines "
                         "are understood",
                         filename, lineno);
                return -EINVAL;
        }
        if (name_len >= sizeof(name)) {
                snprintf(err->text, sizeof(err->text), "%s:%u: key name is too long", filename,
                         lineno);
                return -EINVAL;
        }
        memcpy(name, name_start, name_len);
        name[name_len] = '\0';
        p++; /* '=' */

        r = lex_value(&p, end, value, sizeof(value), &why_lex);
        if (r < 0) {
                snprintf(err->text, sizeof(err->text), "%s:%u: %s: %s", filename, lineno, name,
                         why_lex);
                return r;
        }
        while (p < end && is_blank(*p))
                p++;
        if (p < end && *p != '#') {
                snprintf(err->text, sizeof(err->text),
                         "%s:%u: %s: unexpected text after the value (quote values that contain "
                         "spaces; one assignment per line)",
                         filename, lineno, name);
                return -EINVAL;
        }

        info = config_key_by_legacy_name(name);
        if (!info) {
                if (warn) {
                        char msg[256];
                        snprintf(msg, sizeof(msg), "unknown key %s, ignored", name);
                        warn(userdata, filename, lineno, msg);
                }
                return 0;
        }
        r = config_set_from_text(c, info->key, value,
                                 (struct config_origin){ORIGIN_LEGACY_FILE, lineno}, why,
                                 sizeof(why));
        if (r < 0) {
                snprintf(err->text, sizeof(err->text), "%s:%u: %s: %s", filename, lineno, name,
                         why);
                return r;
        }
        return 0;
}

int legacy_conf_parse(const char *text, size_t len, const char *filename, struct ksm_config *c,
                      struct config_error *err, config_warn_fn warn, void *userdata)
{
        const char *p = text, *end = text + len;
        unsigned lineno = 0;

        if (memchr(text, '\0', len)) {
                snprintf(err->text, sizeof(err->text), "%s: contains NUL bytes, not a text file",
                         filename);
                return -EINVAL;
        }
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *line_end = nl ? nl : end;
                int r;

                lineno++;
                if ((size_t)(line_end - p) >= MAX_LINE_BYTES) {
                        snprintf(err->text, sizeof(err->text), "%s:%u: line is too long", filename,
                                 lineno);
                        return -EINVAL;
                }
                /* CRLF files made the stock script busy-loop; here \r is just a line end. */
                if (line_end > p && line_end[-1] == '\r')
                        line_end--;
                r = parse_line(p, line_end, filename, lineno, c, err, warn, userdata);
                if (r < 0)
                        return r;
                p = nl ? nl + 1 : end;
        }
        return 0;
}

int legacy_conf_load_file(const char *path, struct ksm_config *c, struct config_error *err,
                          config_warn_fn warn, void *userdata)
{
        size_t len = 0;
        char *buf;
        int r;

        r = config_load_text(path, &buf, &len, err);
        if (r < 0 || !buf)
                return r;
        r = legacy_conf_parse(buf, len, path, c, err, warn, userdata);
        free(buf);
        return r;
}
