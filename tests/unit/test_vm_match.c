/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "config.h"
#include "util.h"
#include "vm_match.h"

static void compile_builtin(struct vm_match *m)
{
        struct ksm_config c;

        assert_int_equal(config_init_defaults(&c), 0);
        assert_int_equal(vm_match_compile(m, &c.vm_comm_patterns, &c.vm_cmdline_patterns), 0);
        config_free(&c); /* the compiled matcher does not keep the strings */
}

struct match_case {
        const char *comm;
        const char *cmdline;
        bool want;
};

static const struct match_case builtin_cases[] = {
        /* comm rules */
        {"qemu-kvm", NULL, true},
        {"qemu-system-x86", NULL, true}, /* qemu-system-x86_64 truncated to 15 */
        {"qemu-system-aar", NULL, true},
        {"qemu:vm1", NULL, true},           /* libvirt/Proxmox "-name guest=vm1,process=qemu:vm1" */
        {"qemu:12345678901", NULL, true},   /* 11 characters after the colon */
        {"qemu:123456789012", NULL, false}, /* 12: cannot be a 15-char comm */
        {"qemu:", NULL, false},
        {"kvm", NULL, true}, /* Proxmox */
        {"kvmx", NULL, false},
        {"xkvm", NULL, false},
        {"qemu", NULL, false},
        {"qemu-system-", NULL, false},
        {"qemu-kvmx", NULL, false},
        {"qemu-img", NULL, false},
        {"bash", NULL, false},
        {"", NULL, false},
        {"QEMU-KVM", NULL, false},
        /* cmdline rules (comm that matches nothing) */
        {"x", "qemu-system-x86_64 -enable-kvm -m 512", true},
        {"x", "qemu-system-x86_64 -accel kvm", true},
        {"x", "qemu-system-aarch64 -machine virt,accel=kvm", true},
        {"x", "qemu-system-x86_64 -machine accel=kvm:tcg -m 1G", true},
        {"x", "qemu-system-x86_64 -m 512", false},
        {"x", "qemu-system-x86_64 -accel tcg", false},
        {"x", "/usr/bin/qemu-system-x86_64 -enable-kvm", false}, /* anchored at ^qemu-system */
        {"x", "qemu-img convert -enable-kvm", false},
        {"x", "bash -c qemu-system-x86_64 -enable-kvm", false},
        {"x", "", false},
        {"x", NULL, false},
        /* the real comm of /usr/bin/qemu-system-x86_64 -enable-kvm still matches */
        {"qemu-system-x86", "/usr/bin/qemu-system-x86_64 -enable-kvm", true},
        {"kvm", "", true},
        {NULL, "qemu-system-x86_64 -enable-kvm", true},
        {NULL, NULL, false},
};

static void test_builtin_patterns(void **state)
{
        struct vm_match m;

        (void)state;
        compile_builtin(&m);
        assert_int_equal(m.n_comm, 2);
        assert_int_equal(m.n_cmdline, 1);
        for (size_t i = 0; i < ELEMENTSOF(builtin_cases); i++) {
                const struct match_case *t = &builtin_cases[i];
                bool got = vm_match_process(&m, t->comm, t->cmdline);

                if (got != t->want)
                        print_message("comm \"%s\" cmdline \"%s\": got %d\n",
                                      t->comm ? t->comm : "(null)",
                                      t->cmdline ? t->cmdline : "(null)", got);
                assert_int_equal(got, t->want);
        }
        vm_match_free(&m);
}

static void set_list(struct pattern_list *l, const char *const *items, size_t n)
{
        l->n = n;
        for (size_t i = 0; i < n; i++)
                l->items[i] = (char *)items[i];
}

static void test_custom_patterns(void **state)
{
        static const char *const comm[] = {"^cloud-hypervisor$", "^firecracker"};
        static const char *const cmdline[] = {"--vm-name=prod-", "^/opt/vmm/bin/vmm "};
        struct pattern_list lc = {0}, lcmd = {0};
        struct vm_match m;

        (void)state;
        set_list(&lc, comm, ELEMENTSOF(comm));
        set_list(&lcmd, cmdline, ELEMENTSOF(cmdline));
        assert_int_equal(vm_match_compile(&m, &lc, &lcmd), 0);
        assert_int_equal(m.n_comm, 2);
        assert_int_equal(m.n_cmdline, 2);
        assert_true(vm_match_needs_cmdline(&m));

        assert_true(vm_match_process(&m, "cloud-hypervisor", NULL));
        assert_false(vm_match_process(&m, "cloud-hypervisorx", NULL));
        assert_true(vm_match_process(&m, "firecracker-jail", NULL)); /* unanchored end */
        assert_true(vm_match_process(&m, "x", "/usr/bin/thing --vm-name=prod-1"));
        assert_true(vm_match_process(&m, "x", "/opt/vmm/bin/vmm -c 2"));
        assert_false(vm_match_process(&m, "x", "/opt/vmm/bin/vmmctl -c 2"));
        /* the built-in rules are replaced, not extended */
        assert_false(vm_match_process(&m, "qemu-kvm", "qemu-system-x86_64 -enable-kvm"));
        vm_match_free(&m);
        assert_int_equal(m.n_comm, 0);
        assert_int_equal(m.n_cmdline, 0);
}

static void test_comm_only(void **state)
{
        static const char *const comm[] = {"^qemu"};
        struct pattern_list lc = {0}, lcmd = {0};
        struct vm_match m;

        (void)state;
        set_list(&lc, comm, 1);
        assert_int_equal(vm_match_compile(&m, &lc, &lcmd), 0);
        assert_false(vm_match_needs_cmdline(&m));
        assert_true(vm_match_process(&m, "qemu-img", NULL));
        assert_false(vm_match_process(&m, "kvm", "qemu-system-x86_64 -enable-kvm"));
        vm_match_free(&m);
}

static void test_cmdline_only(void **state)
{
        static const char *const cmdline[] = {"-enable-kvm"};
        struct pattern_list lc = {0}, lcmd = {0};
        struct vm_match m;

        (void)state;
        set_list(&lcmd, cmdline, 1);
        assert_int_equal(vm_match_compile(&m, &lc, &lcmd), 0);
        assert_true(vm_match_needs_cmdline(&m));
        assert_false(vm_match_process(&m, "qemu-kvm", NULL));
        assert_true(vm_match_process(&m, "anything", "/usr/bin/x -enable-kvm"));
        vm_match_free(&m);
}

static void test_needs_cmdline_builtin(void **state)
{
        struct vm_match m;

        (void)state;
        compile_builtin(&m);
        assert_true(vm_match_needs_cmdline(&m));
        vm_match_free(&m);
}

static void test_empty_lists(void **state)
{
        struct pattern_list lc = {0}, lcmd = {0};
        struct vm_match m;

        (void)state;
        assert_int_equal(vm_match_compile(&m, &lc, &lcmd), 0);
        assert_false(vm_match_needs_cmdline(&m));
        assert_false(vm_match_process(&m, "qemu-kvm", "qemu-system-x86_64 -enable-kvm"));
        vm_match_free(&m);
}

static void test_bad_pattern(void **state)
{
        static const char *const comm[] = {"^ok$"};
        static const char *const bad[] = {"^ok$", "(unclosed"};
        struct pattern_list lc = {0}, lcmd = {0};
        struct vm_match m;

        (void)state;
        set_list(&lc, comm, 1);
        set_list(&lcmd, bad, 2);
        assert_int_equal(vm_match_compile(&m, &lc, &lcmd), -EINVAL);
        /* everything compiled so far was released */
        assert_int_equal(m.n_comm, 0);
        assert_int_equal(m.n_cmdline, 0);

        set_list(&lc, bad + 1, 1);
        lcmd.n = 0;
        assert_int_equal(vm_match_compile(&m, &lc, &lcmd), -EINVAL);
        assert_int_equal(m.n_comm, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_builtin_patterns),
                cmocka_unit_test(test_custom_patterns),
                cmocka_unit_test(test_comm_only),
                cmocka_unit_test(test_cmdline_only),
                cmocka_unit_test(test_needs_cmdline_builtin),
                cmocka_unit_test(test_empty_lists),
                cmocka_unit_test(test_bad_pattern),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
