/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_DEFAULT_LEGACY_PATH   "/etc/ksmtuned.conf"
#define CONFIG_DEFAULT_SETTINGS_PATH "/etc/ksmtuned/ksmtuned.cfg"
#define CONFIG_DEFAULT_PIDFILE       "/var/run/ksmtune.pid" /* sic: the stock name */
#define CONFIG_MAX_FILE_BYTES        (256 * 1024)
#define CONFIG_MAX_PATTERNS          32

enum committed_metric {
        METRIC_RSS, /* "rss" and "rsz": VmRSS, what ps -o rsz prints */
        METRIC_PSS,
        METRIC_VSZ,
};

enum policy_kind {
        POLICY_LEGACY,
};

enum vm_tracking {
        VM_TRACKING_AUTO, /* process events when the kernel offers them, else full scans */
        VM_TRACKING_SCAN, /* a full /proc scan every cycle, like the stock script */
};

enum config_key {
        CONFIG_MONITOR_INTERVAL,
        CONFIG_SLEEP_MSEC,
        CONFIG_NPAGES_BOOST,
        CONFIG_NPAGES_DECAY,
        CONFIG_NPAGES_MIN,
        CONFIG_NPAGES_MAX,
        CONFIG_THRES_COEF,
        CONFIG_THRES_CONST,
        CONFIG_DEBUG,
        CONFIG_LOGFILE,
        CONFIG_PIDFILE,
        CONFIG_PS_METRIC,
        CONFIG_POLICY,
        CONFIG_VM_MATCH_COMM,
        CONFIG_VM_MATCH_CMDLINE,
        CONFIG_VM_TRACKING,
        CONFIG_VM_RESCAN_INTERVAL,
        CONFIG_DBUS_ENABLED,
        CONFIG_DBUS_GROUP,
        CONFIG_DBUS_INHIBIT_MAX,
        CONFIG_DBUS_SATURATE_CYCLES,
        CONFIG_DBUS_CRITICAL_PERCENT,
        _CONFIG_KEY_MAX,
};

enum config_value_kind {
        VALUE_INT,
        VALUE_BOOL,
        VALUE_STRING,
        VALUE_ENUM,
        VALUE_PATTERNS,
};

struct config_key_info {
        enum config_key key;
        const char *legacy_name;   /* name in /etc/ksmtuned.conf, NULL if settings-only */
        const char *settings_name; /* path in ksmtuned.cfg (legacy_name is accepted too) */
        enum config_value_kind type;
        int64_t min, max; /* VALUE_INT */
        const char *const *enum_names;
        const char *unit;
        const char *help;
};

enum config_origin_kind {
        ORIGIN_DEFAULT,
        ORIGIN_LEGACY_FILE,
        ORIGIN_SETTINGS_FILE,
        ORIGIN_COMMAND_LINE,
        ORIGIN_DBUS, /* SetTunables at run time */
};

struct config_origin {
        enum config_origin_kind kind;
        unsigned line;
};

struct pattern_list {
        size_t n;
        char *items[CONFIG_MAX_PATTERNS];
};

struct ksm_config {
        int64_t monitor_interval_sec;
        int64_t sleep_msec;
        int64_t npages_boost;
        int64_t npages_decay;
        int64_t npages_min;
        int64_t npages_max;
        int64_t thres_coef;
        int64_t thres_const_kib;
        bool debug;
        char *logfile; /* NULL: none */
        char *pidfile;
        enum committed_metric metric;
        enum policy_kind policy;
        struct pattern_list vm_comm_patterns;
        struct pattern_list vm_cmdline_patterns;
        enum vm_tracking vm_tracking;
        int64_t vm_rescan_interval_sec;
        bool dbus_enabled;
        char *dbus_group;
        int64_t dbus_inhibit_max_sec;
        int64_t dbus_saturate_cycles;
        int64_t dbus_critical_percent;

        char *legacy_path;
        char *settings_path;
        struct config_origin origin[_CONFIG_KEY_MAX];
};

/* What went wrong and where: "FILE:LINE: KEY: why". */
struct config_error {
        char text[768];
};

/* Non-fatal findings (unknown keys) go through this hook so that parsers stay
 * silent and the caller decides how loud to be. */
typedef void (*config_warn_fn)(void *userdata, const char *file, unsigned line, const char *msg);

const struct config_key_info *config_key_info(enum config_key key);
const struct config_key_info *config_key_by_legacy_name(const char *name);
const struct config_key_info *config_key_by_settings_name(const char *name);

/* Fills every value with its built-in default. Returns -ENOMEM on failure. */
int config_init_defaults(struct ksm_config *c);
void config_free(struct ksm_config *c);
/* Deep copy; dst must not hold allocations. */
int config_copy(struct ksm_config *dst, const struct ksm_config *src);

/* Parses a textual value for key as the given origin would, validates range,
 * and stores it with its origin. Used by the legacy parser (text values) and
 * by command-line overrides. An empty value restores the default. */
int config_set_from_text(struct ksm_config *c, enum config_key key, const char *value,
                         struct config_origin origin, char *why, size_t why_size);
/* The value of a numeric key; -EINVAL for other keys. */
int config_get_int(const struct ksm_config *c, enum config_key key, int64_t *ret);
int config_set_int(struct ksm_config *c, enum config_key key, int64_t v,
                   struct config_origin origin, char *why, size_t why_size);
int config_set_string(struct ksm_config *c, enum config_key key, const char *value,
                      struct config_origin origin, char *why, size_t why_size);
int config_set_patterns(struct ksm_config *c, enum config_key key, const char *const *items,
                        size_t n, struct config_origin origin, char *why, size_t why_size);

/* Reads a whole configuration file of at most CONFIG_MAX_FILE_BYTES into a
 * NUL-terminated buffer the caller frees. A missing file is not an error:
 * 0 with *ret_text NULL. Text with NUL bytes is rejected. */
int config_load_text(const char *path, char **ret_text, size_t *ret_len, struct config_error *err);

/* Cross-key checks that no single key can do on its own. */
int config_validate(const struct ksm_config *c, struct config_error *err);

/* Reads /etc/ksmtuned.conf then the extended settings; either may be absent.
 * On error nothing in *ret is valid and err says why. */
int config_load(const char *legacy_path, const char *settings_path, struct ksm_config *ret,
                struct config_error *err, config_warn_fn warn, void *userdata);

void config_format_value(const struct ksm_config *c, enum config_key key, char *buf, size_t size);
void config_print(const struct ksm_config *c, FILE *f);
const char *config_metric_name(enum committed_metric m);
const char *config_policy_name(enum policy_kind p);
