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
#include "legacy_conf.h"
#include "util.h"
#include "config_test.h"

#define FILENAME "test.conf"

static int parse(const char *text, struct ksm_config *c, struct config_error *err,
                 struct warn_log *w)
{
        assert_int_equal(config_init_defaults(c), 0);
        memset(err, 0, sizeof(*err));
        if (w)
                memset(w, 0, sizeof(*w));
        return legacy_conf_parse(text, strlen(text), FILENAME, c, err, record_warn, w);
}

/* ---- accepted syntax ---- */

static const struct ok_case ok_cases[] = {
        {"KSM_NPAGES_MAX=2000\n", CONFIG_NPAGES_MAX, "2000", 1},
        {"KSM_NPAGES_MAX=\"2000\"\n", CONFIG_NPAGES_MAX, "2000", 1},
        {"KSM_NPAGES_MAX='2000'\n", CONFIG_NPAGES_MAX, "2000", 1},
        {"KSM_NPAGES_MAX=\"20\"'00'\n", CONFIG_NPAGES_MAX, "2000", 1},
        {"export KSM_NPAGES_MAX=2000\n", CONFIG_NPAGES_MAX, "2000", 1},
        {"  export\tKSM_NPAGES_MAX=2000  \n", CONFIG_NPAGES_MAX, "2000", 1},
        {"# a comment\n\n   \n\t\nKSM_NPAGES_MAX=2000\n", CONFIG_NPAGES_MAX, "2000", 5},
        {"# KSM_NPAGES_MAX=5\nKSM_NPAGES_MAX=2000\n", CONFIG_NPAGES_MAX, "2000", 2},
        {"   \tKSM_NPAGES_MAX=2000\n", CONFIG_NPAGES_MAX, "2000", 1},
        {"KSM_NPAGES_MAX=2000 # comment\n", CONFIG_NPAGES_MAX, "2000", 1},
        {"KSM_NPAGES_MAX=2000\t# comment $(rm -rf /)\n", CONFIG_NPAGES_MAX, "2000", 1},
        {"KSM_NPAGES_MAX=\"2000\" # comment\n", CONFIG_NPAGES_MAX, "2000", 1},
        {"# c\r\nKSM_NPAGES_MAX=2000\r\n", CONFIG_NPAGES_MAX, "2000", 2},
        {"KSM_NPAGES_MAX=\"2000\"\r\n", CONFIG_NPAGES_MAX, "2000", 1},
        {"KSM_NPAGES_MAX=2000 # c\r\n", CONFIG_NPAGES_MAX, "2000", 1},
        {"\nKSM_NPAGES_MAX=2000", CONFIG_NPAGES_MAX, "2000", 2},
        {"KSM_NPAGES_MAX=2000", CONFIG_NPAGES_MAX, "2000", 1},
        {"KSM_NPAGES_MAX=5\nKSM_NPAGES_MAX=2000\n", CONFIG_NPAGES_MAX, "2000", 2},
        {"KSM_NPAGES_MAX=2000\n\nKSM_NPAGES_MAX=7\n", CONFIG_NPAGES_MAX, "7", 3},
        {"KSM_NPAGES_MAX=0\n", CONFIG_NPAGES_MAX, "0", 1},
        {"KSM_NPAGES_MAX=4294967295\n", CONFIG_NPAGES_MAX, "4294967295", 1},
        {"KSM_MONITOR_INTERVAL=1\n", CONFIG_MONITOR_INTERVAL, "1", 1},
        {"KSM_MONITOR_INTERVAL=2147483647\n", CONFIG_MONITOR_INTERVAL, "2147483647", 1},
        {"KSM_SLEEP_MSEC=0\n", CONFIG_SLEEP_MSEC, "0", 1},
        {"KSM_SLEEP_MSEC=100\n", CONFIG_SLEEP_MSEC, "100", 1},
        {"KSM_NPAGES_BOOST=-300\n", CONFIG_NPAGES_BOOST, "-300", 1},
        {"KSM_NPAGES_DECAY=-100\n", CONFIG_NPAGES_DECAY, "-100", 1},
        {"KSM_NPAGES_DECAY=+25\n", CONFIG_NPAGES_DECAY, "25", 1},
        {"KSM_NPAGES_MIN=0\n", CONFIG_NPAGES_MIN, "0", 1},
        {"KSM_THRES_COEF=0\n", CONFIG_THRES_COEF, "0", 1},
        {"KSM_THRES_COEF=100\n", CONFIG_THRES_COEF, "100", 1},
        {"KSM_THRES_CONST=1099511627776\n", CONFIG_THRES_CONST, "1099511627776", 1},
        {"LOGFILE=/var/log/ksmtuned\n", CONFIG_LOGFILE, "/var/log/ksmtuned", 1},
        {"LOGFILE='/var/log/my log'\n", CONFIG_LOGFILE, "/var/log/my log", 1},
        {"LOGFILE=\"/var/log/a#b\"\n", CONFIG_LOGFILE, "/var/log/a#b", 1},
        {"PIDFILE=\"/run/ksmtune.pid\"\n", CONFIG_PIDFILE, "/run/ksmtune.pid", 1},
        {"KSM_PS_METRIC=rss\n", CONFIG_PS_METRIC, "rss", 1},
        {"KSM_PS_METRIC=rsz\n", CONFIG_PS_METRIC, "rss", 1},
        {"KSM_PS_METRIC=pss\n", CONFIG_PS_METRIC, "pss", 1},
        {"KSM_PS_METRIC='vsz'\n", CONFIG_PS_METRIC, "vsz", 1},
        {"DEBUG=1\n", CONFIG_DEBUG, "1", 1},
};

static void test_syntax_ok(void **state)
{
        (void)state;
        check_ok_cases(ok_cases, ELEMENTSOF(ok_cases), parse, ORIGIN_LEGACY_FILE);
}

static void test_metric_enum(void **state)
{
        static const struct {
                const char *text;
                enum committed_metric want;
        } cases[] = {
                {"KSM_PS_METRIC=rss", METRIC_RSS},
                {"KSM_PS_METRIC=rsz", METRIC_RSS},
                {"KSM_PS_METRIC=pss", METRIC_PSS},
                {"KSM_PS_METRIC=vsz", METRIC_VSZ},
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct ksm_config c;
                struct config_error err;

                assert_int_equal(parse(cases[i].text, &c, &err, NULL), 0);
                assert_int_equal(c.metric, cases[i].want);
                config_free(&c);
        }
}

static void test_debug_values(void **state)
{
        static const struct {
                const char *value;
                bool on;
        } cases[] = {
                {"1", true},    {"yes", true}, {"anything", true}, {"true", true},   {"2", true},
                {"on", true},   {"0", false},  {"no", false},      {"false", false}, {"off", false},
                {"OFF", false}, {"No", false}, {"FALSE", false},
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct ksm_config c;
                struct config_error err;
                char text[64];

                /* start from the opposite so that the assignment must change it */
                snprintf(text, sizeof(text), "DEBUG=%s\nDEBUG=%s\n", cases[i].on ? "0" : "1",
                         cases[i].value);
                assert_int_equal(parse(text, &c, &err, NULL), 0);
                if (c.debug != cases[i].on)
                        print_message("DEBUG=%s\n", cases[i].value);
                assert_int_equal(c.debug, cases[i].on);
                assert_origin(&c, CONFIG_DEBUG, ORIGIN_LEGACY_FILE, 2);
                config_free(&c);
        }
}

/* The stock /etc/ksmtuned.conf: everything commented out. */
static const char stock_conf[] = "# Configuration file for ksmtuned.\n"
                                 "\n"
                                 "# How long ksmtuned should sleep between tuning adjustments\n"
                                 "# KSM_MONITOR_INTERVAL=60\n"
                                 "\n"
                                 "# Millisecond sleep between ksm scans for 16Gb server.\n"
                                 "# Smaller servers sleep more, bigger sleep less.\n"
                                 "# KSM_SLEEP_MSEC=10\n"
                                 "\n"
                                 "# KSM_NPAGES_BOOST=300\n"
                                 "# KSM_NPAGES_DECAY=-50\n"
                                 "# KSM_NPAGES_MIN=64\n"
                                 "# KSM_NPAGES_MAX=1250\n"
                                 "\n"
                                 "# KSM_THRES_COEF=20\n"
                                 "# KSM_THRES_CONST=2048\n"
                                 "\n"
                                 "# uncomment the following if you want ksmtuned debug info\n"
                                 "\n"
                                 "# LOGFILE=/var/log/ksmtuned\n"
                                 "# DEBUG=1\n";

static void test_stock_file_is_defaults(void **state)
{
        struct ksm_config c;
        struct config_error err;
        struct warn_log w;

        (void)state;
        assert_int_equal(parse(stock_conf, &c, &err, &w), 0);
        assert_int_equal(w.count, 0);
        for (int k = 0; k < _CONFIG_KEY_MAX; k++)
                assert_int_equal(c.origin[k].kind, ORIGIN_DEFAULT);
        assert_int_equal(c.monitor_interval_sec, 60);
        assert_int_equal(c.npages_max, 1250);
        assert_null(c.logfile);
        assert_false(c.debug);
        config_free(&c);
}

static void test_empty_text(void **state)
{
        struct ksm_config c;
        struct config_error err;

        (void)state;
        assert_int_equal(parse("", &c, &err, NULL), 0);
        assert_int_equal(c.npages_max, 1250);
        assert_int_equal(c.origin[CONFIG_NPAGES_MAX].kind, ORIGIN_DEFAULT);
        config_free(&c);
}

/* ${KEY:-default}: an empty value means the default, but the file set it. */
static void test_empty_value_means_default(void **state)
{
        static const struct {
                const char *text;
                enum config_key key;
                const char *value;
        } cases[] = {
                {"KSM_NPAGES_MAX=5\nKSM_NPAGES_MAX=\n", CONFIG_NPAGES_MAX, "1250"},
                {"KSM_NPAGES_MAX=5\nKSM_NPAGES_MAX=\"\"\n", CONFIG_NPAGES_MAX, "1250"},
                {"KSM_NPAGES_MAX=5\nKSM_NPAGES_MAX=''\n", CONFIG_NPAGES_MAX, "1250"},
                {"KSM_NPAGES_MAX=5\nKSM_NPAGES_MAX= # c\n", CONFIG_NPAGES_MAX, "1250"},
                {"KSM_SLEEP_MSEC=99\nKSM_SLEEP_MSEC=\n", CONFIG_SLEEP_MSEC, "10"},
                {"KSM_NPAGES_DECAY=7\nKSM_NPAGES_DECAY=\n", CONFIG_NPAGES_DECAY, "-50"},
                {"LOGFILE=/x\nLOGFILE=\n", CONFIG_LOGFILE, ""},
                {"PIDFILE=/x\nPIDFILE=\"\"\n", CONFIG_PIDFILE, "/var/run/ksmtune.pid"},
                {"KSM_PS_METRIC=vsz\nKSM_PS_METRIC=\n", CONFIG_PS_METRIC, "rss"},
                {"DEBUG=1\nDEBUG=\n", CONFIG_DEBUG, "0"},
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct ksm_config c;
                struct config_error err;

                assert_int_equal(parse(cases[i].text, &c, &err, NULL), 0);
                assert_value(&c, cases[i].key, cases[i].value);
                assert_origin(&c, cases[i].key, ORIGIN_LEGACY_FILE, 2);
                config_free(&c);
        }
}

static void test_empty_logfile_is_null(void **state)
{
        struct ksm_config c;
        struct config_error err;

        (void)state;
        assert_int_equal(parse("LOGFILE=/var/log/k\nLOGFILE=\n", &c, &err, NULL), 0);
        assert_null(c.logfile);
        config_free(&c);
}

static void test_unknown_key_warns(void **state)
{
        struct ksm_config c;
        struct config_error err;
        struct warn_log w;

        (void)state;
        assert_int_equal(
                parse("# x\nKSM_NPAGES_MAX=7\nKSM_FOO=bar\nKSM_NPAGES_MIN=3\n", &c, &err, &w), 0);
        assert_int_equal(w.count, 1);
        assert_int_equal(w.line, 3);
        assert_string_equal(w.file, FILENAME);
        assert_non_null(strstr(w.msg, "KSM_FOO"));
        /* lines before and after the unknown key still apply */
        assert_int_equal(c.npages_max, 7);
        assert_int_equal(c.npages_min, 3);
        config_free(&c);

        /* no callback: still not an error */
        assert_int_equal(config_init_defaults(&c), 0);
        assert_int_equal(legacy_conf_parse("FOO=1\n", 6, FILENAME, &c, &err, NULL, NULL), 0);
        config_free(&c);
}

static void test_unknown_keys_each_warn(void **state)
{
        struct ksm_config c;
        struct config_error err;
        struct warn_log w;

        (void)state;
        /* includes names that merely resemble real keys */
        assert_int_equal(parse("ksm_npages_max=1\nexportKSM_NPAGES_MAX=2\nKSM_NPAGES_MAXX=3\n", &c,
                               &err, &w),
                         0);
        assert_int_equal(w.count, 3);
        assert_int_equal(w.line, 3);
        assert_non_null(strstr(w.msg, "KSM_NPAGES_MAXX"));
        assert_int_equal(c.npages_max, 1250);
        config_free(&c);
}

/* ---- rejected syntax: FILE:LINE: and the key in the message ---- */

struct err_case {
        const char *text;
        unsigned line;
        const char *key;
};

static const struct err_case err_cases[] = {
        {"KSM_NPAGES_MAX=$(echo 5)\n", 1, "KSM_NPAGES_MAX"},
        {"KSM_NPAGES_MAX=$FOO\n", 1, "KSM_NPAGES_MAX"},
        {"KSM_NPAGES_MAX=${FOO:-5}\n", 1, "KSM_NPAGES_MAX"},
        {"KSM_NPAGES_MAX=`echo 5`\n", 1, "KSM_NPAGES_MAX"},
        {"KSM_NPAGES_MAX=\"1$x\"\n", 1, "KSM_NPAGES_MAX"},
        {"KSM_NPAGES_MAX=\"1`x`\"\n", 1, "KSM_NPAGES_MAX"},
        {"KSM_NPAGES_MAX=\"1\\2\"\n", 1, "KSM_NPAGES_MAX"},
        {"KSM_NPAGES_MAX=1\\2\n", 1, "KSM_NPAGES_MAX"},
        {"KSM_SLEEP_MSEC=10ms\n", 1, "KSM_SLEEP_MSEC"},
        {"KSM_NPAGES_MAX=0x10\n", 1, "KSM_NPAGES_MAX"},
        {"KSM_NPAGES_MAX=010\n", 1, "KSM_NPAGES_MAX"},
        {"KSM_NPAGES_MAX=1.5\n", 1, "KSM_NPAGES_MAX"},
        {"KSM_NPAGES_MAX=4294967296\n", 1, "KSM_NPAGES_MAX"},
        {"KSM_NPAGES_MAX=99999999999999999999\n", 1, "KSM_NPAGES_MAX"},
        {"KSM_THRES_COEF=101\n", 1, "KSM_THRES_COEF"},
        {"KSM_THRES_COEF=-1\n", 1, "KSM_THRES_COEF"},
        {"KSM_THRES_CONST=1099511627777\n", 1, "KSM_THRES_CONST"},
        {"KSM_MONITOR_INTERVAL=0\n", 1, "KSM_MONITOR_INTERVAL"},
        {"KSM_MONITOR_INTERVAL=2147483648\n", 1, "KSM_MONITOR_INTERVAL"},
        {"KSM_NPAGES_MIN=-1\n", 1, "KSM_NPAGES_MIN"},
        {"KSM_SLEEP_MSEC=-1\n", 1, "KSM_SLEEP_MSEC"},
        {"KSM_NPAGES_MAX=a b\n", 1, "KSM_NPAGES_MAX"},
        {"KSM_NPAGES_MAX=1 2\n", 1, "KSM_NPAGES_MAX"},
        {"LOGFILE=/var/log/a b\n", 1, "LOGFILE"},
        {"KSM_NPAGES_MAX=\"5\n", 1, "KSM_NPAGES_MAX"},
        {"KSM_NPAGES_MAX='5\n", 1, "KSM_NPAGES_MAX"},
        {"KSM_NPAGES_MAX=\"5\nKSM_NPAGES_MIN=1\"\n", 1, "KSM_NPAGES_MAX"},
        {"KSM_NPAGES_MAX=1; KSM_NPAGES_MIN=2\n", 1, "KSM_NPAGES_MAX"},
        {"KSM_NPAGES_MAX=1;\n", 1, "KSM_NPAGES_MAX"},
        {"KSM_NPAGES_MAX=1 && reboot\n", 1, "KSM_NPAGES_MAX"},
        {"KSM_NPAGES_MAX=1|x\n", 1, "KSM_NPAGES_MAX"},
        {"KSM_NPAGES_MAX=(1)\n", 1, "KSM_NPAGES_MAX"},
        {"LOGFILE=var/log/ksmtuned\n", 1, "LOGFILE"},
        {"LOGFILE=~/ksmtuned.log\n", 1, "LOGFILE"},
        {"PIDFILE=ksmtune.pid\n", 1, "PIDFILE"},
        {"KSM_PS_METRIC=bogus\n", 1, "KSM_PS_METRIC"},
        {"KSM_PS_METRIC=RSS\n", 1, "KSM_PS_METRIC"},
        {"# fine\n\nKSM_NPAGES_MAX=$(x)\n", 3, "KSM_NPAGES_MAX"},
        {"KSM_NPAGES_MIN=1\r\nKSM_NPAGES_MAX=x\r\n", 2, "KSM_NPAGES_MAX"},
        {"KSM_NPAGES_MIN=1\nKSM_NPAGES_MAX=x", 2, "KSM_NPAGES_MAX"},
        /* an unknown key with a dangerous value is still an error */
        {"FOO=$(reboot)\n", 1, "FOO"},
};

static void check_error(const char *text, unsigned line, const char *key)
{
        struct ksm_config c;
        struct config_error err;
        char where[64];
        int r = parse(text, &c, &err, NULL);

        snprintf(where, sizeof(where), FILENAME ":%u:", line);
        if (r >= 0 || !strstr(err.text, where) || (key && !strstr(err.text, key)))
                print_message("text \"%s\": r=%d err=\"%s\"\n", text, r, err.text);
        config_free(&c); /* before asserting: a failure must not leak */
        assert_true(r < 0);
        assert_non_null(strstr(err.text, where));
        if (key)
                assert_non_null(strstr(err.text, key));
}

static void test_syntax_errors(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(err_cases); i++)
                check_error(err_cases[i].text, err_cases[i].line, err_cases[i].key);
}

/* Lines that are not assignments at all: the position must be reported. */
static void test_not_assignments(void **state)
{
        static const char *const cases[] = {
                "echo hello\n",
                "if true; then\n",
                "=5\n",
                "1KEY=5\n",
                "export\n",
                "source /etc/other.conf\n",
                ". /etc/other.conf\n",
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                check_error(cases[i], 1, NULL);
        check_error("# ok\nKSM_NPAGES_MAX\n", 2, NULL);
}

/* Regression (was a bug): "KEY = v" is rejected, but as "not an assignment"
 * without the key name the user typed. */
static void test_spaces_around_equals(void **state)
{
        (void)state;
        check_error("KSM_NPAGES_MAX = 5\n", 1, "KSM_NPAGES_MAX");
        check_error("KSM_NPAGES_MAX =5\n", 1, "KSM_NPAGES_MAX");
}

static void test_space_after_equals(void **state)
{
        (void)state;
        /* in shell this runs "5" as a command with KSM_NPAGES_MAX="" */
        check_error("KSM_NPAGES_MAX= 5\n", 1, "KSM_NPAGES_MAX");
}

static void test_nul_byte(void **state)
{
        static const char text[] = "KSM_NPAGES_MAX=5\n\0KSM_NPAGES_MIN=1\n";
        struct ksm_config c;
        struct config_error err = {{0}};

        (void)state;
        assert_int_equal(config_init_defaults(&c), 0);
        assert_true(legacy_conf_parse(text, sizeof(text) - 1, FILENAME, &c, &err, NULL, NULL) < 0);
        assert_non_null(strstr(err.text, FILENAME));
        config_free(&c);
}

static void test_long_line(void **state)
{
        size_t n = 10000;
        char *text = malloc(n + 1);
        struct ksm_config c;
        struct config_error err = {{0}};

        (void)state;
        assert_non_null(text);
        memset(text, '#', n);
        text[n] = '\0';
        assert_int_equal(config_init_defaults(&c), 0);
        assert_true(legacy_conf_parse(text, n, FILENAME, &c, &err, NULL, NULL) < 0);
        assert_non_null(strstr(err.text, FILENAME ":1:"));
        config_free(&c);
        free(text);
}

/* ---- legacy_conf_load_file ---- */

static void test_load_missing_file(void **state)
{
        struct ksm_config c;
        struct config_error err = {{0}};

        (void)state;
        assert_int_equal(config_init_defaults(&c), 0);
        c.npages_max = 777; /* "untouched" means untouched, not reset */
        assert_int_equal(legacy_conf_load_file("/nonexistent/ksmtuned.conf", &c, &err, NULL, NULL),
                         0);
        assert_int_equal(c.npages_max, 777);
        assert_int_equal(c.sleep_msec, 10);
        assert_int_equal(c.origin[CONFIG_NPAGES_MAX].kind, ORIGIN_DEFAULT);
        config_free(&c);
}

static void test_load_file(void **state)
{
        char path[] = "/tmp/ksmt-legacy-XXXXXX";
        const char *text = "# test\nKSM_SLEEP_MSEC=100\nKSM_NPAGES_MAX=$(x)\n";
        struct ksm_config c;
        struct config_error err = {{0}};
        char where[64];
        int fd;

        (void)state;
        fd = mkstemp(path);
        assert_true(fd >= 0);
        /* first only the good lines */
        assert_int_equal(write(fd, text, 26), 26);
        assert_int_equal(config_init_defaults(&c), 0);
        assert_int_equal(legacy_conf_load_file(path, &c, &err, NULL, NULL), 0);
        assert_int_equal(c.sleep_msec, 100);
        assert_origin(&c, CONFIG_SLEEP_MSEC, ORIGIN_LEGACY_FILE, 2);
        config_free(&c);

        /* then the bad one: the message names the real path */
        assert_int_equal(write(fd, text + 26, strlen(text) - 26), (ssize_t)(strlen(text) - 26));
        close(fd);
        assert_int_equal(config_init_defaults(&c), 0);
        assert_true(legacy_conf_load_file(path, &c, &err, NULL, NULL) < 0);
        snprintf(where, sizeof(where), "%s:3:", path);
        assert_non_null(strstr(err.text, where));
        assert_non_null(strstr(err.text, "KSM_NPAGES_MAX"));
        config_free(&c);
        unlink(path);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_syntax_ok),
                cmocka_unit_test(test_metric_enum),
                cmocka_unit_test(test_debug_values),
                cmocka_unit_test(test_stock_file_is_defaults),
                cmocka_unit_test(test_empty_text),
                cmocka_unit_test(test_empty_value_means_default),
                cmocka_unit_test(test_empty_logfile_is_null),
                cmocka_unit_test(test_unknown_key_warns),
                cmocka_unit_test(test_unknown_keys_each_warn),
                cmocka_unit_test(test_syntax_errors),
                cmocka_unit_test(test_not_assignments),
                cmocka_unit_test(test_spaces_around_equals),
                cmocka_unit_test(test_space_after_equals),
                cmocka_unit_test(test_nul_byte),
                cmocka_unit_test(test_long_line),
                cmocka_unit_test(test_load_missing_file),
                cmocka_unit_test(test_load_file),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
