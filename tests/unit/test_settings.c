/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "settings.h"
#include "util.h"
#include "config_test.h"

#define FILENAME "test.cfg"

static int parse(const char *text, struct ksm_config *c, struct config_error *err,
                 struct warn_log *w)
{
        assert_int_equal(config_init_defaults(c), 0);
        memset(err, 0, sizeof(*err));
        if (w)
                memset(w, 0, sizeof(*w));
        return settings_parse(text, FILENAME, c, err, record_warn, w);
}

/* ---- accepted settings ---- */

static const struct ok_case ok_cases[] = {
        {"KSM_NPAGES_MAX = 2000;", CONFIG_NPAGES_MAX, "2000", 1},
        {"KSM_NPAGES_MAX: 2000;", CONFIG_NPAGES_MAX, "2000", 1},
        {"# comment\n// comment\n/* c */\nKSM_NPAGES_MAX = 2000; # c\n", CONFIG_NPAGES_MAX, "2000",
         4},
        {"KSM_NPAGES_DECAY = -100;", CONFIG_NPAGES_DECAY, "-100", 1},
        {"KSM_MONITOR_INTERVAL = 30;", CONFIG_MONITOR_INTERVAL, "30", 1},
        {"KSM_SLEEP_MSEC = 100;", CONFIG_SLEEP_MSEC, "100", 1},
        {"KSM_THRES_COEF = 0;", CONFIG_THRES_COEF, "0", 1},
        {"KSM_THRES_CONST = 4096L;", CONFIG_THRES_CONST, "4096", 1},
        {"KSM_THRES_CONST = 1099511627776L;", CONFIG_THRES_CONST, "1099511627776", 1},
        {"KSM_NPAGES_MAX = 4294967295L;", CONFIG_NPAGES_MAX, "4294967295", 1},
        {"policy = \"legacy\";", CONFIG_POLICY, "legacy", 1},
        {"committed_metric = \"pss\";", CONFIG_PS_METRIC, "pss", 1},
        {"committed_metric = \"rsz\";", CONFIG_PS_METRIC, "rss", 1},
        {"KSM_PS_METRIC = \"vsz\";", CONFIG_PS_METRIC, "vsz", 1},
        {"log = { debug = true; file = \"/var/log/x\"; };", CONFIG_DEBUG, "1", 1},
        {"log = { debug = true; file = \"/var/log/x\"; };", CONFIG_LOGFILE, "/var/log/x", 1},
        {"log = {\n  debug = false;\n  file = \"/var/log/x\";\n};", CONFIG_LOGFILE, "/var/log/x",
         3},
        {"log = {\n  debug = true;\n};", CONFIG_DEBUG, "1", 2},
        {"DEBUG = true;", CONFIG_DEBUG, "1", 1},
        {"DEBUG = 1;", CONFIG_DEBUG, "1", 1},
        {"DEBUG = \"yes\";", CONFIG_DEBUG, "1", 1},
        {"DEBUG = \"off\";", CONFIG_DEBUG, "0", 1},
        {"LOGFILE = \"/var/log/y\";", CONFIG_LOGFILE, "/var/log/y", 1},
        {"PIDFILE = \"/run/ksmtune.pid\";", CONFIG_PIDFILE, "/run/ksmtune.pid", 1},
        {"vm_match = { comm = [\"^a$\"]; cmdline = [\"^b\"]; };", CONFIG_VM_MATCH_COMM, "[\"^a$\"]",
         1},
        {"vm_match = { comm = [\"^a$\"]; cmdline = [\"^b\"]; };", CONFIG_VM_MATCH_CMDLINE,
         "[\"^b\"]", 1},
        {"vm_match = { comm = ( \"a\" ); };", CONFIG_VM_MATCH_COMM, "[\"a\"]", 1},
        {"vm_match = { comm = ( \"a\", \"b\" ); };", CONFIG_VM_MATCH_COMM, "[\"a\", \"b\"]", 1},
        {"vm_match = {\n  cmdline = [\"^x\", \"^y\"];\n};", CONFIG_VM_MATCH_CMDLINE,
         "[\"^x\", \"^y\"]", 2},
        {"vm_match = { cmdline = []; };", CONFIG_VM_MATCH_CMDLINE, "[]", 1},
        {"vm_tracking = \"scan\";", CONFIG_VM_TRACKING, "scan", 1},
        {"vm_tracking = \"auto\";", CONFIG_VM_TRACKING, "auto", 1},
        {"vm_rescan_interval_sec = 30;", CONFIG_VM_RESCAN_INTERVAL, "30", 1},
};

static void test_settings_ok(void **state)
{
        (void)state;
        check_ok_cases(ok_cases, ELEMENTSOF(ok_cases), parse, ORIGIN_SETTINGS_FILE);
}

static void test_settings_full_file(void **state)
{
        static const char text[] = "# ksmtuned.cfg\n"
                                   "KSM_NPAGES_MAX = 2000;\n"
                                   "policy = \"legacy\";\n"
                                   "committed_metric = \"pss\";\n"
                                   "log = { debug = true; file = \"/var/log/x\"; };\n"
                                   "vm_match = { comm = [\"^a$\"]; cmdline = [\"^b\"]; };\n"
                                   "vm_tracking = \"scan\";\n"
                                   "vm_rescan_interval_sec = 30;\n";
        struct ksm_config c;
        struct config_error err;
        struct warn_log w;

        (void)state;
        assert_int_equal(parse(text, &c, &err, &w), 0);
        assert_int_equal(w.count, 0);
        assert_int_equal(c.npages_max, 2000);
        assert_int_equal(c.policy, POLICY_LEGACY);
        assert_int_equal(c.metric, METRIC_PSS);
        assert_true(c.debug);
        assert_string_equal(c.logfile, "/var/log/x");
        assert_int_equal(c.vm_comm_patterns.n, 1);
        assert_string_equal(c.vm_comm_patterns.items[0], "^a$");
        assert_int_equal(c.vm_cmdline_patterns.n, 1);
        assert_string_equal(c.vm_cmdline_patterns.items[0], "^b");
        assert_int_equal(c.vm_tracking, VM_TRACKING_SCAN);
        assert_int_equal(c.vm_rescan_interval_sec, 30);
        assert_int_equal(c.origin[CONFIG_VM_TRACKING].line, 7);
        /* untouched keys stay defaults */
        assert_int_equal(c.npages_min, 64);
        assert_int_equal(c.origin[CONFIG_NPAGES_MIN].kind, ORIGIN_DEFAULT);
        config_free(&c);
}

static void test_empty_settings(void **state)
{
        struct ksm_config c;
        struct config_error err;
        struct warn_log w;

        (void)state;
        assert_int_equal(parse("", &c, &err, &w), 0);
        assert_int_equal(w.count, 0);
        for (int k = 0; k < _CONFIG_KEY_MAX; k++)
                assert_int_equal(c.origin[k].kind, ORIGIN_DEFAULT);
        config_free(&c);
}

/* ---- errors: FILE:LINE: and the key ---- */

struct err_case {
        const char *text;
        unsigned line;
        const char *key;
        const char *detail; /* NULL or another substring the message must hold */
};

static const struct err_case err_cases[] = {
        {"KSM_NPAGES_MAX = \"x\";", 1, "KSM_NPAGES_MAX", "integer"},
        {"KSM_NPAGES_MAX = 2.5;", 1, "KSM_NPAGES_MAX", "integer"},
        {"KSM_NPAGES_MAX = true;", 1, "KSM_NPAGES_MAX", "integer"},
        {"KSM_NPAGES_MAX = [1];", 1, "KSM_NPAGES_MAX", "integer"},
        {"\nKSM_THRES_COEF = 101;", 2, "KSM_THRES_COEF", "101"},
        {"KSM_MONITOR_INTERVAL = 0;", 1, "KSM_MONITOR_INTERVAL", "range"},
        {"KSM_NPAGES_MIN = -1;", 1, "KSM_NPAGES_MIN", "range"},
        {"KSM_NPAGES_MAX = 4294967296L;", 1, "KSM_NPAGES_MAX", "4294967296"},
        {"KSM_THRES_CONST = 10000000000000L;", 1, "KSM_THRES_CONST", "10000000000000"},
        {"KSM_NPAGES_MAX = 10000000000000L;", 1, "KSM_NPAGES_MAX", "10000000000000"},
        {"KSM_NPAGES_MAX = -10000000000000L;", 1, "KSM_NPAGES_MAX", "-10000000000000"},
        {"vm_rescan_interval_sec = 0;", 1, "vm_rescan_interval_sec", NULL},
        {"vm_match = { comm = [\"(\"]; };", 1, "vm_match.comm", "("},
        {"vm_match = {\n  cmdline = [\"qemu[\"];\n};", 2, "vm_match.cmdline", "qemu["},
        {"vm_match = { comm = ( \"a\", 5 ); };", 1, "vm_match.comm", NULL},
        {"vm_match = { comm = \"^a$\"; };", 1, "vm_match.comm", NULL},
        {"policy = \"fancy\";", 1, "policy", "fancy"},
        {"policy = 1;", 1, "policy", "string"},
        {"committed_metric = \"bogus\";", 1, "committed_metric", "bogus"},
        {"KSM_PS_METRIC = \"bogus\";", 1, "KSM_PS_METRIC", "bogus"},
        {"vm_tracking = \"events\";", 1, "vm_tracking", "events"},
        {"log = { file = \"relative/x\"; };", 1, "log.file", "absolute"},
        {"LOGFILE = 5;", 1, "LOGFILE", "string"},
        {"PIDFILE = \"x.pid\";", 1, "PIDFILE", "absolute"},
        {"log = { debug = 2.0; };", 1, "log.debug", NULL},
        {"DEBUG = true;\nlog = { debug = false; };", 2, "log.debug", "set twice"},
        {"log = { debug = false; };\nDEBUG = true;", 2, "DEBUG", "set twice"},
        {"KSM_PS_METRIC = \"rss\";\ncommitted_metric = \"pss\";", 2, "committed_metric",
         "set twice"},
        {"LOGFILE = \"/a\";\n\nlog = { file = \"/b\"; };", 3, "log.file", "set twice"},
};

static void check_error(const char *text, unsigned line, const char *key, const char *detail)
{
        struct ksm_config c;
        struct config_error err;
        char where[64];
        int r = parse(text, &c, &err, NULL);

        snprintf(where, sizeof(where), FILENAME ":%u:", line);
        if (r >= 0 || !strstr(err.text, where) || (key && !strstr(err.text, key)) ||
            (detail && !strstr(err.text, detail)))
                print_message("text \"%s\": r=%d err=\"%s\"\n", text, r, err.text);
        config_free(&c); /* before asserting: a failure must not leak */
        assert_true(r < 0);
        assert_non_null(strstr(err.text, where));
        if (key)
                assert_non_null(strstr(err.text, key));
        if (detail)
                assert_non_null(strstr(err.text, detail));
}

static void test_settings_errors(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(err_cases); i++)
                check_error(err_cases[i].text, err_cases[i].line, err_cases[i].key,
                            err_cases[i].detail);
}

static void test_too_many_patterns(void **state)
{
        char text[1024];
        size_t used = 0;

        (void)state;
        used += (size_t)snprintf(text + used, sizeof(text) - used, "vm_match = { comm = [");
        for (int i = 0; i <= CONFIG_MAX_PATTERNS; i++)
                used += (size_t)snprintf(text + used, sizeof(text) - used, "%s\"p%d\"",
                                         i ? ", " : "", i);
        snprintf(text + used, sizeof(text) - used, "]; };");
        assert_true(strlen(text) < sizeof(text) - 1);
        check_error(text, 1, "vm_match.comm", NULL);
}

/* Regression (was a bug): libconfig 1.5 reads an integer literal without the L
 * suffix into 32 bits and wraps it silently (4294967296 -> 0, 10000000000000
 * -> 1316134912, 3000000000 -> -1294967296); settings.c then takes the
 * wrapped value. Either the exact value or an error naming the line and the
 * number as written is acceptable; a different number is not. */
static void test_big_literal_without_L(void **state)
{
        static const struct {
                const char *text;
                enum config_key key;
                int64_t value;
        } cases[] = {
                {"KSM_THRES_CONST = 1099511627776;", CONFIG_THRES_CONST, 1099511627776LL},
                {"KSM_THRES_CONST = 10000000000000;", CONFIG_THRES_CONST, 10000000000000LL},
                {"KSM_NPAGES_MAX = 4294967296;", CONFIG_NPAGES_MAX, 4294967296LL},
                {"KSM_NPAGES_MAX = 3000000000;", CONFIG_NPAGES_MAX, 3000000000LL},
                {"KSM_NPAGES_MAX = 4294967295;", CONFIG_NPAGES_MAX, 4294967295LL},
                {"KSM_NPAGES_DECAY = -4294967296;", CONFIG_NPAGES_DECAY, -4294967296LL},
        };
        bool ok = true;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct ksm_config c;
                struct config_error err;
                char want[32], got[64], sp_want[40], q_want[40];
                int r = parse(cases[i].text, &c, &err, NULL);

                snprintf(want, sizeof(want), "%lld", (long long)cases[i].value);
                /* the number as the user wrote it, not the "expected 0..MAX" part */
                snprintf(sp_want, sizeof(sp_want), " %s", want);
                snprintf(q_want, sizeof(q_want), "\"%s", want);
                config_format_value(&c, cases[i].key, got, sizeof(got));
                if (r == 0 && strcmp(got, want) != 0) {
                        print_message("\"%s\" silently became %s\n", cases[i].text, got);
                        ok = false;
                }
                if (r < 0 && (!strstr(err.text, FILENAME ":1:") ||
                              (!strstr(err.text, sp_want) && !strstr(err.text, q_want)))) {
                        print_message("\"%s\": misleading error: %s\n", cases[i].text, err.text);
                        ok = false;
                }
                config_free(&c);
        }
        assert_true(ok);
}

/* libconfig's own syntax errors carry its line number. */
static void test_libconfig_syntax_error(void **state)
{
        (void)state;
        check_error("KSM_NPAGES_MIN = 5;\n\nKSM_NPAGES_MAX = = 2000;\n", 3, NULL, NULL);
        check_error("log = {\n  debug = true;\n", 3, NULL, NULL);
        check_error("KSM_NPAGES_MAX = \"unterminated;", 1, NULL, NULL);
        /* libconfig refuses a duplicate name in one group */
        check_error("KSM_NPAGES_MAX = 1;\nKSM_NPAGES_MAX = 2;\n", 2, NULL, NULL);
}

/* ---- unknown names: a warning with the line, not an error ---- */

static void test_unknown_setting_warns(void **state)
{
        static const struct {
                const char *text;
                unsigned line;
                const char *name;
        } cases[] = {
                {"KSM_NPAGES_MIN = 5;\nfoo = 1;\n", 2, "foo"},
                {"ksm_npages_max = 5;", 1, "ksm_npages_max"},
                {"\n\nbar = { x = 1; y = 2; };", 3, "bar"},
                {"log = {\n  colour = true;\n};", 2, "log.colour"},
                {"vm_match = { pid = [\"1\"]; };", 1, "vm_match.pid"},
                /* legacy names are only recognised at the top level */
                {"log = { KSM_NPAGES_MAX = 5; };", 1, "log.KSM_NPAGES_MAX"},
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct ksm_config c;
                struct config_error err;
                struct warn_log w;

                assert_int_equal(parse(cases[i].text, &c, &err, &w), 0);
                if (w.count != 1 || !strstr(w.msg, cases[i].name))
                        print_message("case %zu: count=%u msg=\"%s\"\n", i, w.count, w.msg);
                assert_int_equal(w.count, 1); /* an unknown group is one warning */
                assert_int_equal(w.line, cases[i].line);
                assert_string_equal(w.file, FILENAME);
                assert_non_null(strstr(w.msg, cases[i].name));
                assert_int_equal(c.npages_max, 1250);
                config_free(&c);
        }
}

static void test_unknown_setting_keeps_known(void **state)
{
        struct ksm_config c;
        struct config_error err;
        struct warn_log w;

        (void)state;
        assert_int_equal(parse("foo = 1;\nKSM_NPAGES_MAX = 5;\n", &c, &err, &w), 0);
        assert_int_equal(w.count, 1);
        assert_int_equal(c.npages_max, 5);
        config_free(&c);

        /* no callback: still fine */
        assert_int_equal(config_init_defaults(&c), 0);
        assert_int_equal(settings_parse("foo = 1;", FILENAME, &c, &err, NULL, NULL), 0);
        config_free(&c);
}

/* ---- files and precedence through config_load ---- */

struct tmpdir {
        char dir[64];
        char legacy[96];
        char settings[96];
};

static void tmpdir_make(struct tmpdir *t)
{
        snprintf(t->dir, sizeof(t->dir), "/tmp/ksmt-settings-XXXXXX");
        assert_non_null(mkdtemp(t->dir));
        snprintf(t->legacy, sizeof(t->legacy), "%s/ksmtuned.conf", t->dir);
        snprintf(t->settings, sizeof(t->settings), "%s/ksmtuned.cfg", t->dir);
}

static void write_file(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");

        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

static void tmpdir_remove(struct tmpdir *t)
{
        unlink(t->legacy);
        unlink(t->settings);
        assert_int_equal(rmdir(t->dir), 0);
}

static void test_precedence(void **state)
{
        struct tmpdir t;
        struct ksm_config c;
        struct config_error err;
        struct warn_log w = {0};

        (void)state;
        tmpdir_make(&t);
        write_file(t.legacy, "# legacy\nKSM_NPAGES_MAX=100\nKSM_NPAGES_MIN=10\nDEBUG=1\n");
        write_file(t.settings, "// cfg\n\nKSM_NPAGES_MAX = 2000;\nlog = { debug = false; };\n");

        assert_int_equal(config_load(t.legacy, t.settings, &c, &err, record_warn, &w), 0);
        assert_int_equal(w.count, 0);
        /* in both: the .cfg wins, and says so */
        assert_int_equal(c.npages_max, 2000);
        assert_int_equal(c.origin[CONFIG_NPAGES_MAX].kind, ORIGIN_SETTINGS_FILE);
        assert_int_equal(c.origin[CONFIG_NPAGES_MAX].line, 3);
        assert_false(c.debug);
        assert_int_equal(c.origin[CONFIG_DEBUG].kind, ORIGIN_SETTINGS_FILE);
        assert_int_equal(c.origin[CONFIG_DEBUG].line, 4);
        /* only in the legacy file */
        assert_int_equal(c.npages_min, 10);
        assert_int_equal(c.origin[CONFIG_NPAGES_MIN].kind, ORIGIN_LEGACY_FILE);
        assert_int_equal(c.origin[CONFIG_NPAGES_MIN].line, 3);
        /* in neither */
        assert_int_equal(c.sleep_msec, 10);
        assert_int_equal(c.origin[CONFIG_SLEEP_MSEC].kind, ORIGIN_DEFAULT);
        assert_string_equal(c.legacy_path, t.legacy);
        assert_string_equal(c.settings_path, t.settings);
        config_free(&c);
        tmpdir_remove(&t);
}

static void test_missing_files_are_defaults(void **state)
{
        struct tmpdir t;
        struct ksm_config c;
        struct config_error err;

        (void)state;
        tmpdir_make(&t); /* files are never created */
        assert_int_equal(config_load(t.legacy, t.settings, &c, &err, NULL, NULL), 0);
        for (int k = 0; k < _CONFIG_KEY_MAX; k++)
                assert_int_equal(c.origin[k].kind, ORIGIN_DEFAULT);
        assert_int_equal(c.monitor_interval_sec, 60);
        assert_int_equal(c.npages_max, 1250);
        assert_int_equal(c.vm_comm_patterns.n, 2);
        config_free(&c);

        /* only the settings file present */
        write_file(t.settings, "KSM_SLEEP_MSEC = 100;\n");
        assert_int_equal(config_load(t.legacy, t.settings, &c, &err, NULL, NULL), 0);
        assert_int_equal(c.sleep_msec, 100);
        assert_int_equal(c.origin[CONFIG_SLEEP_MSEC].kind, ORIGIN_SETTINGS_FILE);
        config_free(&c);
        tmpdir_remove(&t);
}

static void test_load_errors_name_the_file(void **state)
{
        struct tmpdir t;
        struct ksm_config c;
        struct config_error err;
        char where[128];

        (void)state;
        tmpdir_make(&t);
        write_file(t.settings, "\nKSM_NPAGES_MAX = \"x\";\n");
        assert_true(config_load(t.legacy, t.settings, &c, &err, NULL, NULL) < 0);
        snprintf(where, sizeof(where), "%s:2:", t.settings);
        assert_non_null(strstr(err.text, where));
        assert_non_null(strstr(err.text, "KSM_NPAGES_MAX"));

        /* both pattern lists emptied: caught by the cross-key check */
        write_file(t.settings, "vm_match = { comm = []; cmdline = []; };\n");
        assert_true(config_load(t.legacy, t.settings, &c, &err, NULL, NULL) < 0);
        assert_non_null(strstr(err.text, "vm_match"));

        /* a legacy file error stops before the settings file */
        write_file(t.legacy, "KSM_NPAGES_MAX=$(x)\n");
        write_file(t.settings, "KSM_NPAGES_MAX = 5;\n");
        assert_true(config_load(t.legacy, t.settings, &c, &err, NULL, NULL) < 0);
        snprintf(where, sizeof(where), "%s:1:", t.legacy);
        assert_non_null(strstr(err.text, where));
        tmpdir_remove(&t);
}

static void test_settings_load_missing(void **state)
{
        struct ksm_config c;
        struct config_error err = {{0}};

        (void)state;
        assert_int_equal(config_init_defaults(&c), 0);
        c.npages_max = 9;
        assert_int_equal(settings_load_file("/nonexistent/ksmtuned.cfg", &c, &err, NULL, NULL), 0);
        assert_int_equal(c.npages_max, 9);
        config_free(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_settings_ok),
                cmocka_unit_test(test_settings_full_file),
                cmocka_unit_test(test_empty_settings),
                cmocka_unit_test(test_settings_errors),
                cmocka_unit_test(test_too_many_patterns),
                cmocka_unit_test(test_big_literal_without_L),
                cmocka_unit_test(test_libconfig_syntax_error),
                cmocka_unit_test(test_unknown_setting_warns),
                cmocka_unit_test(test_unknown_setting_keeps_known),
                cmocka_unit_test(test_precedence),
                cmocka_unit_test(test_missing_files_are_defaults),
                cmocka_unit_test(test_load_errors_name_the_file),
                cmocka_unit_test(test_settings_load_missing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
