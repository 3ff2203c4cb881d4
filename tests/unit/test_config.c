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

#include "config.h"
#include "legacy_conf.h"
#include "util.h"

static void test_defaults(void **state)
{
        struct ksm_config c;

        (void)state;
        assert_int_equal(config_init_defaults(&c), 0);
        assert_int_equal(c.monitor_interval_sec, 60);
        assert_int_equal(c.sleep_msec, 10);
        assert_int_equal(c.npages_boost, 300);
        assert_int_equal(c.npages_decay, -50);
        assert_int_equal(c.npages_min, 64);
        assert_int_equal(c.npages_max, 1250);
        assert_int_equal(c.thres_coef, 20);
        assert_int_equal(c.thres_const_kib, 2048);
        assert_false(c.debug);
        assert_null(c.logfile);
        assert_string_equal(c.pidfile, "/var/run/ksmtune.pid");
        assert_int_equal(c.metric, METRIC_RSS);
        assert_int_equal(c.policy, POLICY_LEGACY);
        assert_int_equal(c.vm_tracking, VM_TRACKING_AUTO);
        assert_int_equal(c.vm_rescan_interval_sec, 3600);

        assert_int_equal(c.vm_comm_patterns.n, 2);
        assert_string_equal(c.vm_comm_patterns.items[0], "^qemu(-(kvm|system-.+)|:.{1,11})$");
        assert_string_equal(c.vm_comm_patterns.items[1], "^kvm$");
        assert_int_equal(c.vm_cmdline_patterns.n, 1);
        assert_string_equal(c.vm_cmdline_patterns.items[0],
                            "^qemu-system.*(-enable-kvm|-accel kvm|accel=kvm)");

        for (int k = 0; k < _CONFIG_KEY_MAX; k++) {
                assert_int_equal(c.origin[k].kind, ORIGIN_DEFAULT);
                assert_int_equal(c.origin[k].line, 0);
        }
        assert_null(c.legacy_path);
        assert_null(c.settings_path);
        config_free(&c);
}

static void test_key_lookup(void **state)
{
        static const struct {
                const char *legacy, *settings;
                enum config_key key;
        } cases[] = {
                {"KSM_MONITOR_INTERVAL", NULL, CONFIG_MONITOR_INTERVAL},
                {"KSM_SLEEP_MSEC", NULL, CONFIG_SLEEP_MSEC},
                {"KSM_NPAGES_BOOST", NULL, CONFIG_NPAGES_BOOST},
                {"KSM_NPAGES_DECAY", NULL, CONFIG_NPAGES_DECAY},
                {"KSM_NPAGES_MIN", NULL, CONFIG_NPAGES_MIN},
                {"KSM_NPAGES_MAX", NULL, CONFIG_NPAGES_MAX},
                {"KSM_THRES_COEF", NULL, CONFIG_THRES_COEF},
                {"KSM_THRES_CONST", NULL, CONFIG_THRES_CONST},
                {"DEBUG", "log.debug", CONFIG_DEBUG},
                {"LOGFILE", "log.file", CONFIG_LOGFILE},
                {"PIDFILE", NULL, CONFIG_PIDFILE},
                {"KSM_PS_METRIC", "committed_metric", CONFIG_PS_METRIC},
                {NULL, "policy", CONFIG_POLICY},
                {NULL, "vm_match.comm", CONFIG_VM_MATCH_COMM},
                {NULL, "vm_match.cmdline", CONFIG_VM_MATCH_CMDLINE},
                {NULL, "vm_tracking", CONFIG_VM_TRACKING},
                {NULL, "vm_rescan_interval_sec", CONFIG_VM_RESCAN_INTERVAL},
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const struct config_key_info *info = config_key_info(cases[i].key);

                assert_non_null(info);
                assert_int_equal(info->key, cases[i].key);
                if (cases[i].legacy) {
                        assert_ptr_equal(config_key_by_legacy_name(cases[i].legacy), info);
                        assert_string_equal(info->legacy_name, cases[i].legacy);
                } else {
                        assert_null(info->legacy_name);
                }
                if (cases[i].settings)
                        assert_ptr_equal(config_key_by_settings_name(cases[i].settings), info);
        }
        assert_null(config_key_by_legacy_name("ksm_npages_max"));
        assert_null(config_key_by_legacy_name("KSM_FOO"));
        assert_null(config_key_by_settings_name("log"));
        assert_null(config_key_info(_CONFIG_KEY_MAX));
}

static void test_set_from_text(void **state)
{
        struct ksm_config c;
        char why[256];
        struct config_origin cli = {ORIGIN_COMMAND_LINE, 0};

        (void)state;
        assert_int_equal(config_init_defaults(&c), 0);
        assert_int_equal(config_set_from_text(&c, CONFIG_NPAGES_MAX, "2000", cli, why, sizeof(why)),
                         0);
        assert_int_equal(c.npages_max, 2000);
        assert_int_equal(c.origin[CONFIG_NPAGES_MAX].kind, ORIGIN_COMMAND_LINE);

        why[0] = '\0';
        assert_int_equal(config_set_from_text(&c, CONFIG_THRES_COEF, "101", cli, why, sizeof(why)),
                         -ERANGE);
        assert_non_null(strstr(why, "101"));
        assert_int_equal(c.thres_coef, 20);

        assert_int_equal(config_set_from_text(&c, CONFIG_NPAGES_MAX, "0x10", cli, why, sizeof(why)),
                         -EINVAL);
        assert_non_null(strstr(why, "hexadecimal"));
        assert_int_equal(config_set_from_text(&c, CONFIG_NPAGES_MAX, "010", cli, why, sizeof(why)),
                         -EINVAL);
        assert_non_null(strstr(why, "leading zeros"));
        assert_int_equal(
                config_set_from_text(&c, CONFIG_VM_MATCH_COMM, "^x$", cli, why, sizeof(why)),
                -EINVAL);
        assert_int_equal(c.npages_max, 2000);

        assert_int_equal(
                config_set_from_text(&c, CONFIG_VM_TRACKING, "scan", cli, why, sizeof(why)), 0);
        assert_int_equal(c.vm_tracking, VM_TRACKING_SCAN);
        config_free(&c);
}

static void test_set_patterns(void **state)
{
        static const char *const good[] = {"^a$", "b+"};
        static const char *const bad[] = {"^a$", "("};
        struct ksm_config c;
        char why[256];
        struct config_origin o = {ORIGIN_SETTINGS_FILE, 4};

        (void)state;
        assert_int_equal(config_init_defaults(&c), 0);
        assert_int_equal(
                config_set_patterns(&c, CONFIG_VM_MATCH_COMM, good, 2, o, why, sizeof(why)), 0);
        assert_int_equal(c.vm_comm_patterns.n, 2);
        assert_string_equal(c.vm_comm_patterns.items[1], "b+");
        assert_int_equal(c.origin[CONFIG_VM_MATCH_COMM].line, 4);

        assert_int_equal(
                config_set_patterns(&c, CONFIG_VM_MATCH_CMDLINE, bad, 2, o, why, sizeof(why)),
                -EINVAL);
        assert_non_null(strstr(why, "("));
        /* untouched on error */
        assert_int_equal(c.vm_cmdline_patterns.n, 1);
        assert_int_equal(c.origin[CONFIG_VM_MATCH_CMDLINE].kind, ORIGIN_DEFAULT);

        assert_int_equal(config_set_patterns(&c, CONFIG_NPAGES_MAX, good, 2, o, why, sizeof(why)),
                         -EINVAL);
        config_free(&c);
}

/* ---- config_print ---- */

static char *print_to_string(const struct ksm_config *c)
{
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        assert_non_null(f);
        config_print(c, f);
        assert_int_equal(fclose(f), 0);
        assert_non_null(buf);
        return buf;
}

/* The whole line for key NAME ("NAME=..."), copied into line. */
static void find_line(const char *text, const char *name, char *line, size_t size)
{
        size_t nl = strlen(name);
        const char *p = text;

        for (;;) {
                const char *end = strchr(p, '\n');

                assert_non_null(end);
                if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
                        snprintf(line, size, "%.*s", (int)(end - p), p);
                        return;
                }
                p = end + 1;
                if (!*p)
                        fail_msg("no line for %s", name);
        }
}

static void test_print_defaults(void **state)
{
        struct ksm_config c;
        char line[2048];
        char *out;
        unsigned lines = 0;

        (void)state;
        assert_int_equal(config_init_defaults(&c), 0);
        out = print_to_string(&c);
        for (const char *p = out; *p; p++)
                lines += *p == '\n';
        assert_int_equal(lines, _CONFIG_KEY_MAX);

        find_line(out, "KSM_SLEEP_MSEC", line, sizeof(line));
        assert_true(strncmp(line, "KSM_SLEEP_MSEC=10 ", 18) == 0);
        assert_non_null(strstr(line, "# default"));

        find_line(out, "KSM_NPAGES_DECAY", line, sizeof(line));
        assert_true(strncmp(line, "KSM_NPAGES_DECAY=-50 ", 21) == 0);
        find_line(out, "PIDFILE", line, sizeof(line));
        assert_true(strncmp(line, "PIDFILE=/var/run/ksmtune.pid ", 29) == 0);
        find_line(out, "LOGFILE", line, sizeof(line));
        assert_true(strncmp(line, "LOGFILE= ", 9) == 0);
        find_line(out, "KSM_PS_METRIC", line, sizeof(line));
        assert_true(strncmp(line, "KSM_PS_METRIC=rss ", 18) == 0);
        find_line(out, "policy", line, sizeof(line));
        assert_true(strncmp(line, "policy=legacy ", 14) == 0);
        find_line(out, "vm_match.cmdline", line, sizeof(line));
        assert_non_null(strstr(line, "[\"^qemu-system.*(-enable-kvm|-accel kvm|accel=kvm)\"]"));
        assert_non_null(strstr(line, "# default"));
        free(out);
        config_free(&c);
}

static void test_print_origins(void **state)
{
        static const char text[] = "# x\nKSM_SLEEP_MSEC=100\n\nDEBUG=yes\n";
        struct ksm_config c;
        struct config_error err;
        char line[2048];
        char *out;

        (void)state;
        assert_int_equal(config_init_defaults(&c), 0);
        c.legacy_path = strdup("/etc/test-ksmtuned.conf");
        assert_non_null(c.legacy_path);
        assert_int_equal(legacy_conf_parse(text, strlen(text), c.legacy_path, &c, &err, NULL, NULL),
                         0);
        c.origin[CONFIG_VM_TRACKING] = (struct config_origin){ORIGIN_SETTINGS_FILE, 7};
        c.origin[CONFIG_NPAGES_MIN] = (struct config_origin){ORIGIN_COMMAND_LINE, 0};
        out = print_to_string(&c);

        find_line(out, "KSM_SLEEP_MSEC", line, sizeof(line));
        assert_true(strncmp(line, "KSM_SLEEP_MSEC=100 ", 19) == 0);
        assert_non_null(strstr(line, "# /etc/test-ksmtuned.conf:2"));
        find_line(out, "DEBUG", line, sizeof(line));
        assert_true(strncmp(line, "DEBUG=1 ", 8) == 0);
        assert_non_null(strstr(line, "# /etc/test-ksmtuned.conf:4"));
        /* no settings_path: the default path is named */
        find_line(out, "vm_tracking", line, sizeof(line));
        assert_non_null(strstr(line, "# " CONFIG_DEFAULT_SETTINGS_PATH ":7"));
        find_line(out, "KSM_NPAGES_MIN", line, sizeof(line));
        assert_non_null(strstr(line, "# command line"));
        find_line(out, "KSM_NPAGES_MAX", line, sizeof(line));
        assert_non_null(strstr(line, "# default"));
        free(out);
        config_free(&c);
}

static void test_print_with_fmemopen(void **state)
{
        struct ksm_config c;
        char buf[8192] = {0};
        FILE *f;

        (void)state;
        assert_int_equal(config_init_defaults(&c), 0);
        f = fmemopen(buf, sizeof(buf) - 1, "w");
        assert_non_null(f);
        config_print(&c, f);
        fclose(f);
        assert_true(strncmp(buf, "KSM_MONITOR_INTERVAL=60 ", 24) == 0);
        config_free(&c);
}

static void test_format_patterns_escapes(void **state)
{
        static const char *const items[] = {"a\"b", "c\\d"};
        struct ksm_config c;
        char why[128], buf[256];

        (void)state;
        assert_int_equal(config_init_defaults(&c), 0);
        assert_int_equal(config_set_patterns(&c, CONFIG_VM_MATCH_COMM, items, 2,
                                             (struct config_origin){ORIGIN_COMMAND_LINE, 0}, why,
                                             sizeof(why)),
                         0);
        config_format_value(&c, CONFIG_VM_MATCH_COMM, buf, sizeof(buf));
        assert_string_equal(buf, "[\"a\\\"b\", \"c\\\\d\"]");
        config_free(&c);
}

/* ---- config_copy ---- */

static void test_copy_is_deep(void **state)
{
        static const char *const items[] = {"^one$", "^two$"};
        struct ksm_config src, dst;
        char why[128];

        (void)state;
        assert_int_equal(config_init_defaults(&src), 0);
        src.npages_max = 4000;
        src.logfile = strdup("/var/log/ksm");
        src.legacy_path = strdup("/etc/a.conf");
        src.settings_path = strdup("/etc/a.cfg");
        assert_int_equal(config_set_patterns(&src, CONFIG_VM_MATCH_COMM, items, 2,
                                             (struct config_origin){ORIGIN_SETTINGS_FILE, 3}, why,
                                             sizeof(why)),
                         0);

        assert_int_equal(config_copy(&dst, &src), 0);
        assert_int_equal(dst.npages_max, 4000);
        assert_string_equal(dst.logfile, "/var/log/ksm");
        assert_string_equal(dst.pidfile, "/var/run/ksmtune.pid");
        assert_string_equal(dst.legacy_path, "/etc/a.conf");
        assert_string_equal(dst.settings_path, "/etc/a.cfg");
        assert_int_equal(dst.vm_comm_patterns.n, 2);
        assert_string_equal(dst.vm_comm_patterns.items[1], "^two$");
        assert_int_equal(dst.vm_cmdline_patterns.n, 1);
        assert_int_equal(dst.origin[CONFIG_VM_MATCH_COMM].kind, ORIGIN_SETTINGS_FILE);
        assert_int_equal(dst.origin[CONFIG_VM_MATCH_COMM].line, 3);

        /* no shared storage */
        assert_ptr_not_equal(dst.logfile, src.logfile);
        assert_ptr_not_equal(dst.pidfile, src.pidfile);
        assert_ptr_not_equal(dst.legacy_path, src.legacy_path);
        assert_ptr_not_equal(dst.vm_comm_patterns.items[0], src.vm_comm_patterns.items[0]);
        assert_ptr_not_equal(dst.vm_cmdline_patterns.items[0], src.vm_cmdline_patterns.items[0]);

        /* freeing the source leaves the copy intact */
        config_free(&src);
        assert_string_equal(dst.logfile, "/var/log/ksm");
        assert_string_equal(dst.vm_comm_patterns.items[0], "^one$");
        assert_string_equal(dst.vm_cmdline_patterns.items[0],
                            "^qemu-system.*(-enable-kvm|-accel kvm|accel=kvm)");
        config_free(&dst);
}

static void test_copy_null_strings(void **state)
{
        struct ksm_config src, dst;

        (void)state;
        assert_int_equal(config_init_defaults(&src), 0);
        assert_int_equal(config_copy(&dst, &src), 0);
        assert_null(dst.logfile);
        assert_null(dst.legacy_path);
        assert_int_equal(dst.vm_comm_patterns.n, 2);
        config_free(&src);
        config_free(&dst);
}

/* ---- config_validate ---- */

static void test_validate(void **state)
{
        struct ksm_config c;
        struct config_error err = {{0}};
        char why[128];
        struct config_origin o = {ORIGIN_SETTINGS_FILE, 5};

        (void)state;
        assert_int_equal(config_init_defaults(&c), 0);
        assert_int_equal(config_validate(&c, &err), 0);

        /* MIN > MAX is legal, as in stock */
        c.npages_min = 2000;
        c.npages_max = 10;
        assert_int_equal(config_validate(&c, &err), 0);

        /* one list empty is fine */
        assert_int_equal(
                config_set_patterns(&c, CONFIG_VM_MATCH_CMDLINE, NULL, 0, o, why, sizeof(why)), 0);
        assert_int_equal(c.vm_cmdline_patterns.n, 0);
        assert_int_equal(config_validate(&c, &err), 0);

        /* both empty is not */
        assert_int_equal(
                config_set_patterns(&c, CONFIG_VM_MATCH_COMM, NULL, 0, o, why, sizeof(why)), 0);
        assert_int_equal(config_validate(&c, &err), -EINVAL);
        assert_non_null(strstr(err.text, "vm_match"));
        assert_non_null(strstr(err.text, CONFIG_DEFAULT_SETTINGS_PATH ":5"));
        config_free(&c);
}

static void test_names(void **state)
{
        (void)state;
        assert_string_equal(config_metric_name(METRIC_RSS), "rss");
        assert_string_equal(config_metric_name(METRIC_PSS), "pss");
        assert_string_equal(config_metric_name(METRIC_VSZ), "vsz");
        assert_string_equal(config_policy_name(POLICY_LEGACY), "legacy");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_key_lookup),
                cmocka_unit_test(test_set_from_text),
                cmocka_unit_test(test_set_patterns),
                cmocka_unit_test(test_print_defaults),
                cmocka_unit_test(test_print_origins),
                cmocka_unit_test(test_print_with_fmemopen),
                cmocka_unit_test(test_format_patterns_escapes),
                cmocka_unit_test(test_copy_is_deep),
                cmocka_unit_test(test_copy_null_strings),
                cmocka_unit_test(test_validate),
                cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
