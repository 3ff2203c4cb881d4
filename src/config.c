/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "legacy_conf.h"
#include "settings.h"
#include "util.h"

static const char *const metric_names[] = {"rss", "rsz", "pss", "vsz", NULL};
static const char *const policy_names[] = {"legacy", NULL};
static const char *const tracking_names[] = {"auto", "scan", NULL};

/* The built-in VM matchers: upstream's comm regex, Proxmox's "kvm" binary,
 * and Debian's command-line rule widened to the newer -accel spellings. */
static const char *const default_comm_patterns[] = {
        "^qemu(-(kvm|system-.+)|:.{1,11})$",
        "^kvm$",
};
static const char *const default_cmdline_patterns[] = {
        "^qemu-system.*(-enable-kvm|-accel kvm|accel=kvm)",
};

#define U32_MAX_I64 ((int64_t)UINT32_MAX)

static const struct config_key_info key_table[_CONFIG_KEY_MAX] = {
        [CONFIG_MONITOR_INTERVAL] = {CONFIG_MONITOR_INTERVAL, "KSM_MONITOR_INTERVAL", NULL,
                                     VALUE_INT, 1, INT32_MAX, NULL, "s",
                                     "seconds between two adjustments"},
        [CONFIG_SLEEP_MSEC] = {CONFIG_SLEEP_MSEC, "KSM_SLEEP_MSEC", NULL, VALUE_INT, 0, U32_MAX_I64,
                               NULL, "ms", "ksmd sleep for a 16 GiB host, scaled by RAM, floor 10"},
        [CONFIG_NPAGES_BOOST] = {CONFIG_NPAGES_BOOST, "KSM_NPAGES_BOOST", NULL, VALUE_INT,
                                 -U32_MAX_I64, U32_MAX_I64, NULL, "pages",
                                 "added to pages_to_scan while free memory is short"},
        [CONFIG_NPAGES_DECAY] = {CONFIG_NPAGES_DECAY, "KSM_NPAGES_DECAY", NULL, VALUE_INT,
                                 -U32_MAX_I64, U32_MAX_I64, NULL, "pages",
                                 "added to pages_to_scan while free memory suffices"},
        [CONFIG_NPAGES_MIN] = {CONFIG_NPAGES_MIN, "KSM_NPAGES_MIN", NULL, VALUE_INT, 0, U32_MAX_I64,
                               NULL, "pages", "lowest pages_to_scan written"},
        [CONFIG_NPAGES_MAX] = {CONFIG_NPAGES_MAX, "KSM_NPAGES_MAX", NULL, VALUE_INT, 0, U32_MAX_I64,
                               NULL, "pages", "highest pages_to_scan written"},
        [CONFIG_THRES_COEF] = {CONFIG_THRES_COEF, "KSM_THRES_COEF", NULL, VALUE_INT, 0, 100, NULL,
                               "%", "free-memory threshold as a percentage of MemTotal"},
        [CONFIG_THRES_CONST] = {CONFIG_THRES_CONST, "KSM_THRES_CONST", NULL, VALUE_INT, 0,
                                (int64_t)1 << 40, NULL, "kB", "lowest free-memory threshold"},
        [CONFIG_DEBUG] = {CONFIG_DEBUG, "DEBUG", "log.debug", VALUE_BOOL, 0, 0, NULL, NULL,
                          "log every decision at debug level"},
        [CONFIG_LOGFILE] = {CONFIG_LOGFILE, "LOGFILE", "log.file", VALUE_STRING, 0, 0, NULL, NULL,
                            "also append debug lines to this file"},
        [CONFIG_PIDFILE] = {CONFIG_PIDFILE, "PIDFILE", NULL, VALUE_STRING, 0, 0, NULL, NULL,
                            "PID file written when forking"},
        [CONFIG_PS_METRIC] = {CONFIG_PS_METRIC, "KSM_PS_METRIC", "committed_metric", VALUE_ENUM, 0,
                              0, metric_names, NULL,
                              "per-VM memory summed as committed: rss|rsz|pss|vsz"},
        [CONFIG_POLICY] = {CONFIG_POLICY, NULL, "policy", VALUE_ENUM, 0, 0, policy_names, NULL,
                           "tuning policy"},
        [CONFIG_VM_MATCH_COMM] = {CONFIG_VM_MATCH_COMM, NULL, "vm_match.comm", VALUE_PATTERNS, 0, 0,
                                  NULL, NULL, "regexes matched against the process name (comm)"},
        [CONFIG_VM_MATCH_CMDLINE] = {CONFIG_VM_MATCH_CMDLINE, NULL, "vm_match.cmdline",
                                     VALUE_PATTERNS, 0, 0, NULL, NULL,
                                     "regexes matched against the space-joined command line"},
        [CONFIG_VM_TRACKING] = {CONFIG_VM_TRACKING, NULL, "vm_tracking", VALUE_ENUM, 0, 0,
                                tracking_names, NULL,
                                "auto: follow process events; scan: full /proc scan each cycle"},
        [CONFIG_VM_RESCAN_INTERVAL] = {CONFIG_VM_RESCAN_INTERVAL, NULL, "vm_rescan_interval_sec",
                                       VALUE_INT, 1, INT32_MAX, NULL, "s",
                                       "full /proc rescan period backing up process events"},
        [CONFIG_DBUS_ENABLED] = {CONFIG_DBUS_ENABLED, NULL, "dbus.enabled", VALUE_BOOL, 0, 0, NULL,
                                 NULL, "serve org.ksmtuned1 on the system bus"},
        [CONFIG_DBUS_GROUP] = {CONFIG_DBUS_GROUP, NULL, "dbus.group", VALUE_STRING, 0, 0, NULL,
                               NULL, "group whose members may call the mutating D-Bus methods"},
        [CONFIG_DBUS_INHIBIT_MAX] = {CONFIG_DBUS_INHIBIT_MAX, NULL, "dbus.inhibit_max_sec",
                                     VALUE_INT, 1, 7 * 24 * 3600, NULL, "s",
                                     "longest an Inhibit() hold may last"},
        [CONFIG_DBUS_SATURATE_CYCLES] = {CONFIG_DBUS_SATURATE_CYCLES, NULL, "dbus.saturate_cycles",
                                         VALUE_INT, 1, 1000, NULL, "cycles",
                                         "cycles at maximum effort before BalloonAdvised"},
        [CONFIG_DBUS_CRITICAL_PERCENT] = {CONFIG_DBUS_CRITICAL_PERCENT, NULL,
                                          "dbus.critical_percent", VALUE_INT, 0, 100, NULL, "%",
                                          "MemAvailable below this share of MemTotal is critical"},
};

const struct config_key_info *config_key_info(enum config_key key)
{
        if ((unsigned)key >= _CONFIG_KEY_MAX)
                return NULL;
        return &key_table[key];
}

const struct config_key_info *config_key_by_legacy_name(const char *name)
{
        for (size_t i = 0; i < _CONFIG_KEY_MAX; i++)
                if (key_table[i].legacy_name && strcmp(key_table[i].legacy_name, name) == 0)
                        return &key_table[i];
        return NULL;
}

const struct config_key_info *config_key_by_settings_name(const char *name)
{
        for (size_t i = 0; i < _CONFIG_KEY_MAX; i++)
                if (key_table[i].settings_name && strcmp(key_table[i].settings_name, name) == 0)
                        return &key_table[i];
        return NULL;
}

static void pattern_list_clear(struct pattern_list *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->items[i]);
        l->n = 0;
}

static int pattern_list_assign(struct pattern_list *l, const char *const *items, size_t n)
{
        struct pattern_list tmp = {0};

        if (n > CONFIG_MAX_PATTERNS)
                return -E2BIG;
        for (size_t i = 0; i < n; i++) {
                tmp.items[i] = strdup(items[i]);
                if (!tmp.items[i]) {
                        pattern_list_clear(&tmp);
                        return -ENOMEM;
                }
                tmp.n = i + 1;
        }
        pattern_list_clear(l);
        *l = tmp;
        return 0;
}

static int set_string_field(char **field, const char *value)
{
        char *copy = NULL;

        if (value) {
                copy = strdup(value);
                if (!copy)
                        return -ENOMEM;
        }
        free(*field);
        *field = copy;
        return 0;
}

static int config_set_default(struct ksm_config *c, enum config_key key)
{
        int r = 0;

        switch (key) {
        case CONFIG_MONITOR_INTERVAL: c->monitor_interval_sec = 60; break;
        case CONFIG_SLEEP_MSEC: c->sleep_msec = 10; break;
        case CONFIG_NPAGES_BOOST: c->npages_boost = 300; break;
        case CONFIG_NPAGES_DECAY: c->npages_decay = -50; break;
        case CONFIG_NPAGES_MIN: c->npages_min = 64; break;
        case CONFIG_NPAGES_MAX: c->npages_max = 1250; break;
        case CONFIG_THRES_COEF: c->thres_coef = 20; break;
        case CONFIG_THRES_CONST: c->thres_const_kib = 2048; break;
        case CONFIG_DEBUG: c->debug = false; break;
        case CONFIG_LOGFILE: r = set_string_field(&c->logfile, NULL); break;
        case CONFIG_PIDFILE: r = set_string_field(&c->pidfile, CONFIG_DEFAULT_PIDFILE); break;
        case CONFIG_PS_METRIC: c->metric = METRIC_RSS; break;
        case CONFIG_POLICY: c->policy = POLICY_LEGACY; break;
        case CONFIG_VM_MATCH_COMM:
                r = pattern_list_assign(&c->vm_comm_patterns, default_comm_patterns,
                                        ELEMENTSOF(default_comm_patterns));
                break;
        case CONFIG_VM_MATCH_CMDLINE:
                r = pattern_list_assign(&c->vm_cmdline_patterns, default_cmdline_patterns,
                                        ELEMENTSOF(default_cmdline_patterns));
                break;
        case CONFIG_VM_TRACKING: c->vm_tracking = VM_TRACKING_AUTO; break;
        case CONFIG_VM_RESCAN_INTERVAL: c->vm_rescan_interval_sec = 3600; break;
        case CONFIG_DBUS_ENABLED: c->dbus_enabled = true; break;
        case CONFIG_DBUS_GROUP: r = set_string_field(&c->dbus_group, "ksmtuned"); break;
        case CONFIG_DBUS_INHIBIT_MAX: c->dbus_inhibit_max_sec = 3600; break;
        case CONFIG_DBUS_SATURATE_CYCLES: c->dbus_saturate_cycles = 3; break;
        case CONFIG_DBUS_CRITICAL_PERCENT: c->dbus_critical_percent = 5; break;
        default: return -EINVAL;
        }
        if (r == 0)
                c->origin[key] = (struct config_origin){ORIGIN_DEFAULT, 0};
        return r;
}

int config_init_defaults(struct ksm_config *c)
{
        memset(c, 0, sizeof(*c));
        for (int k = 0; k < _CONFIG_KEY_MAX; k++) {
                int r = config_set_default(c, (enum config_key)k);
                if (r < 0) {
                        config_free(c);
                        return r;
                }
        }
        return 0;
}

void config_free(struct ksm_config *c)
{
        free(c->logfile);
        free(c->pidfile);
        free(c->legacy_path);
        free(c->settings_path);
        free(c->dbus_group);
        pattern_list_clear(&c->vm_comm_patterns);
        pattern_list_clear(&c->vm_cmdline_patterns);
        memset(c, 0, sizeof(*c));
}

int config_copy(struct ksm_config *dst, const struct ksm_config *src)
{
        *dst = *src;
        dst->logfile = dst->pidfile = dst->legacy_path = dst->settings_path = NULL;
        dst->dbus_group = NULL;
        dst->vm_comm_patterns.n = dst->vm_cmdline_patterns.n = 0;
        if (set_string_field(&dst->logfile, src->logfile) < 0 ||
            set_string_field(&dst->pidfile, src->pidfile) < 0 ||
            set_string_field(&dst->legacy_path, src->legacy_path) < 0 ||
            set_string_field(&dst->settings_path, src->settings_path) < 0 ||
            set_string_field(&dst->dbus_group, src->dbus_group) < 0 ||
            pattern_list_assign(&dst->vm_comm_patterns,
                                (const char *const *)src->vm_comm_patterns.items,
                                src->vm_comm_patterns.n) < 0 ||
            pattern_list_assign(&dst->vm_cmdline_patterns,
                                (const char *const *)src->vm_cmdline_patterns.items,
                                src->vm_cmdline_patterns.n) < 0) {
                config_free(dst);
                return -ENOMEM;
        }
        return 0;
}

/* The one place that knows which field holds each numeric key. */
static int64_t *int_field(struct ksm_config *c, enum config_key key)
{
        switch (key) {
        case CONFIG_MONITOR_INTERVAL: return &c->monitor_interval_sec;
        case CONFIG_SLEEP_MSEC: return &c->sleep_msec;
        case CONFIG_NPAGES_BOOST: return &c->npages_boost;
        case CONFIG_NPAGES_DECAY: return &c->npages_decay;
        case CONFIG_NPAGES_MIN: return &c->npages_min;
        case CONFIG_NPAGES_MAX: return &c->npages_max;
        case CONFIG_THRES_COEF: return &c->thres_coef;
        case CONFIG_THRES_CONST: return &c->thres_const_kib;
        case CONFIG_VM_RESCAN_INTERVAL: return &c->vm_rescan_interval_sec;
        case CONFIG_DBUS_INHIBIT_MAX: return &c->dbus_inhibit_max_sec;
        case CONFIG_DBUS_SATURATE_CYCLES: return &c->dbus_saturate_cycles;
        case CONFIG_DBUS_CRITICAL_PERCENT: return &c->dbus_critical_percent;
        default: return NULL;
        }
}

int config_get_int(const struct ksm_config *c, enum config_key key, int64_t *ret)
{
        /* int_field() only takes the address; nothing is written through it. */
        const int64_t *field = int_field((struct ksm_config *)c, key);

        if (!field)
                return -EINVAL;
        *ret = *field;
        return 0;
}

int config_set_int(struct ksm_config *c, enum config_key key, int64_t v,
                   struct config_origin origin, char *why, size_t why_size)
{
        const struct config_key_info *info = config_key_info(key);
        int64_t *field = int_field(c, key);

        if (!info || info->type != VALUE_INT || !field) {
                snprintf(why, why_size, "not a numeric setting");
                return -EINVAL;
        }
        if (v < info->min || v > info->max) {
                snprintf(why, why_size, "%lld is out of range, expected %lld..%lld", (long long)v,
                         (long long)info->min, (long long)info->max);
                return -ERANGE;
        }
        *field = v;
        c->origin[key] = origin;
        return 0;
}

static int lookup_enum(const char *const *names, const char *value)
{
        for (int i = 0; names[i]; i++)
                if (strcmp(names[i], value) == 0)
                        return i;
        return -1;
}

static void describe_enum(const char *const *names, char *buf, size_t size)
{
        size_t used = 0;

        buf[0] = '\0';
        for (int i = 0; names[i] && used < size; i++) {
                int n = snprintf(buf + used, size - used, "%s%s", i ? "|" : "", names[i]);
                if (n < 0)
                        break;
                used += (size_t)n;
        }
}

static bool valid_group_name(const char *v)
{
        size_t n = strlen(v);

        if (n == 0 || n > 32 || v[0] == '-')
                return false;
        for (const char *p = v; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
                        return false;
        return true;
}

static bool debug_value_is_off(const char *v)
{
        static const char *const off[] = {"0", "no", "false", "off"};

        for (size_t i = 0; i < ELEMENTSOF(off); i++)
                if (strcasecmp(v, off[i]) == 0)
                        return true;
        return false;
}

int config_set_string(struct ksm_config *c, enum config_key key, const char *value,
                      struct config_origin origin, char *why, size_t why_size)
{
        const struct config_key_info *info = config_key_info(key);
        char expected[128];
        int idx, r;

        if (!info) {
                snprintf(why, why_size, "unknown setting");
                return -EINVAL;
        }
        switch (key) {
        case CONFIG_DEBUG: c->debug = !debug_value_is_off(value); break;
        case CONFIG_DBUS_ENABLED: c->dbus_enabled = !debug_value_is_off(value); break;
        case CONFIG_DBUS_GROUP:
                if (!valid_group_name(value)) {
                        snprintf(why, why_size, "\"%s\" is not a valid group name", value);
                        return -EINVAL;
                }
                r = set_string_field(&c->dbus_group, value);
                if (r < 0) {
                        snprintf(why, why_size, "out of memory");
                        return r;
                }
                break;
        case CONFIG_LOGFILE:
        case CONFIG_PIDFILE:
                if (value[0] != '/') {
                        snprintf(why, why_size, "\"%s\" is not an absolute path", value);
                        return -EINVAL;
                }
                r = set_string_field(key == CONFIG_LOGFILE ? &c->logfile : &c->pidfile, value);
                if (r < 0) {
                        snprintf(why, why_size, "out of memory");
                        return r;
                }
                break;
        case CONFIG_PS_METRIC:
        case CONFIG_POLICY:
        case CONFIG_VM_TRACKING:
                idx = lookup_enum(info->enum_names, value);
                if (idx < 0) {
                        describe_enum(info->enum_names, expected, sizeof(expected));
                        snprintf(why, why_size, "\"%s\" is not one of %s", value, expected);
                        return -EINVAL;
                }
                if (key == CONFIG_PS_METRIC)
                        c->metric = idx <= 1 ? METRIC_RSS : idx == 2 ? METRIC_PSS : METRIC_VSZ;
                else if (key == CONFIG_POLICY)
                        c->policy = (enum policy_kind)idx;
                else
                        c->vm_tracking = (enum vm_tracking)idx;
                break;
        default: snprintf(why, why_size, "not a text setting"); return -EINVAL;
        }
        c->origin[key] = origin;
        return 0;
}

int config_set_from_text(struct ksm_config *c, enum config_key key, const char *value,
                         struct config_origin origin, char *why, size_t why_size)
{
        const struct config_key_info *info = config_key_info(key);
        int64_t v;
        int r;

        if (!info) {
                snprintf(why, why_size, "unknown setting");
                return -EINVAL;
        }
        if (value[0] == '\0') {
                /* The stock script applied defaults with ${KEY:-default}. */
                r = config_set_default(c, key);
                if (r < 0)
                        snprintf(why, why_size, "out of memory");
                else
                        c->origin[key] = origin;
                return r;
        }
        if (info->type == VALUE_PATTERNS) {
                snprintf(why, why_size, "only settable as a list in the settings file");
                return -EINVAL;
        }
        if (info->type != VALUE_INT)
                return config_set_string(c, key, value, origin, why, why_size);

        r = parse_int64_decimal(value, &v);
        if (r == -ERANGE) {
                snprintf(why, why_size, "\"%s\" is out of range, expected %lld..%lld", value,
                         (long long)info->min, (long long)info->max);
                return r;
        }
        if (r < 0) {
                const char *digits = value + (value[0] == '-' || value[0] == '+');
                if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
                        snprintf(why, why_size,
                                 "\"%s\": hexadecimal is not accepted, write a "
                                 "decimal number",
                                 value);
                else if (digits[0] == '0' && digits[1] >= '0' && digits[1] <= '9')
                        snprintf(why, why_size,
                                 "\"%s\": leading zeros are ambiguous (shell "
                                 "arithmetic reads them as octal), write a plain decimal number",
                                 value);
                else
                        snprintf(why, why_size, "\"%s\" is not a decimal integer%s%s", value,
                                 info->unit ? " in " : "", info->unit ? info->unit : "");
                return r;
        }
        return config_set_int(c, key, v, origin, why, why_size);
}

int config_set_patterns(struct ksm_config *c, enum config_key key, const char *const *items,
                        size_t n, struct config_origin origin, char *why, size_t why_size)
{
        struct pattern_list *l;
        int r;

        if (key == CONFIG_VM_MATCH_COMM)
                l = &c->vm_comm_patterns;
        else if (key == CONFIG_VM_MATCH_CMDLINE)
                l = &c->vm_cmdline_patterns;
        else {
                snprintf(why, why_size, "not a pattern list");
                return -EINVAL;
        }
        if (n > CONFIG_MAX_PATTERNS) {
                snprintf(why, why_size, "%zu patterns, at most %d are allowed", n,
                         CONFIG_MAX_PATTERNS);
                return -E2BIG;
        }
        /* Compile once here so that a typo is reported with its line, not
         * at the first scan. */
        for (size_t i = 0; i < n; i++) {
                regex_t re;
                int rc = regcomp(&re, items[i], REG_EXTENDED | REG_NOSUB);
                if (rc != 0) {
                        char msg[128];
                        regerror(rc, &re, msg, sizeof(msg));
                        snprintf(why, why_size, "pattern \"%s\": %s", items[i], msg);
                        return -EINVAL;
                }
                regfree(&re);
        }
        r = pattern_list_assign(l, items, n);
        if (r < 0) {
                snprintf(why, why_size, "out of memory");
                return r;
        }
        c->origin[key] = origin;
        return 0;
}

static const char *origin_file(const struct ksm_config *c, enum config_origin_kind kind)
{
        if (kind == ORIGIN_LEGACY_FILE)
                return c->legacy_path ? c->legacy_path : CONFIG_DEFAULT_LEGACY_PATH;
        return c->settings_path ? c->settings_path : CONFIG_DEFAULT_SETTINGS_PATH;
}

static void format_origin(const struct ksm_config *c, const struct config_origin *o, char *buf,
                          size_t size)
{
        switch (o->kind) {
        case ORIGIN_DEFAULT: snprintf(buf, size, "default"); break;
        case ORIGIN_COMMAND_LINE: snprintf(buf, size, "command line"); break;
        case ORIGIN_DBUS: snprintf(buf, size, "D-Bus SetTunables"); break;
        default: snprintf(buf, size, "%s:%u", origin_file(c, o->kind), o->line); break;
        }
}

int config_load_text(const char *path, char **ret_text, size_t *ret_len, struct config_error *err)
{
        size_t len;
        char *buf;
        int r;

        *ret_text = NULL;
        buf = malloc(CONFIG_MAX_FILE_BYTES + 1);
        if (!buf) {
                snprintf(err->text, sizeof(err->text), "%s: out of memory", path);
                return -ENOMEM;
        }
        r = read_file_bounded(path, buf, CONFIG_MAX_FILE_BYTES + 1, &len);
        if (r == -ENOENT) {
                free(buf);
                return 0;
        }
        if (r < 0) {
                snprintf(err->text, sizeof(err->text), "%s: %s", path,
                         r == -EFBIG ? "file is larger than 256 KiB" : strerror(-r));
                free(buf);
                return r;
        }
        if (memchr(buf, '\0', len)) {
                snprintf(err->text, sizeof(err->text), "%s: contains NUL bytes, not a text file",
                         path);
                free(buf);
                return -EINVAL;
        }
        *ret_text = buf;
        *ret_len = len;
        return 0;
}

int config_validate(const struct ksm_config *c, struct config_error *err)
{
        if (c->vm_comm_patterns.n == 0 && c->vm_cmdline_patterns.n == 0) {
                char where[600];
                format_origin(c, &c->origin[CONFIG_VM_MATCH_COMM], where, sizeof(where));
                snprintf(err->text, sizeof(err->text),
                         "%s: vm_match: both pattern lists are empty, no VM could ever be "
                         "counted as committed memory",
                         where);
                return -EINVAL;
        }
        /* KSM_NPAGES_MIN > KSM_NPAGES_MAX is legal: the stock clamp lets MIN
         * win, and we keep that. */
        return 0;
}

int config_load(const char *legacy_path, const char *settings_path, struct ksm_config *ret,
                struct config_error *err, config_warn_fn warn, void *userdata)
{
        struct ksm_config c;
        int r;

        err->text[0] = '\0';
        r = config_init_defaults(&c);
        if (r < 0) {
                snprintf(err->text, sizeof(err->text), "out of memory");
                return r;
        }
        if (set_string_field(&c.legacy_path, legacy_path) < 0 ||
            set_string_field(&c.settings_path, settings_path) < 0) {
                snprintf(err->text, sizeof(err->text), "out of memory");
                config_free(&c);
                return -ENOMEM;
        }

        r = legacy_conf_load_file(legacy_path, &c, err, warn, userdata);
        if (r >= 0)
                r = settings_load_file(settings_path, &c, err, warn, userdata);
        if (r >= 0)
                r = config_validate(&c, err);
        if (r < 0) {
                config_free(&c);
                return r;
        }
        *ret = c;
        return 0;
}

const char *config_metric_name(enum committed_metric m)
{
        switch (m) {
        case METRIC_RSS: return "rss";
        case METRIC_PSS: return "pss";
        case METRIC_VSZ: return "vsz";
        }
        return "?";
}

const char *config_policy_name(enum policy_kind p)
{
        return p == POLICY_LEGACY ? "legacy" : "?";
}

static void append(char *buf, size_t size, size_t *used, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (*used >= size)
                return;
        va_start(ap, fmt);
        n = vsnprintf(buf + *used, size - *used, fmt, ap);
        va_end(ap);
        if (n > 0)
                *used = *used + (size_t)n >= size ? size - 1 : *used + (size_t)n;
}

static void format_patterns(const struct pattern_list *l, char *buf, size_t size, size_t *used)
{
        append(buf, size, used, "[");
        for (size_t i = 0; i < l->n; i++) {
                append(buf, size, used, "%s\"", i ? ", " : "");
                for (const char *p = l->items[i]; *p; p++)
                        append(buf, size, used, "%s%c", (*p == '"' || *p == '\\') ? "\\" : "", *p);
                append(buf, size, used, "\"");
        }
        append(buf, size, used, "]");
}

void config_format_value(const struct ksm_config *c, enum config_key key, char *buf, size_t size)
{
        size_t used = 0;
        int64_t v;

        buf[0] = '\0';
        if (config_get_int(c, key, &v) >= 0) {
                append(buf, size, &used, "%lld", (long long)v);
                return;
        }
        switch (key) {
        case CONFIG_DEBUG: append(buf, size, &used, "%s", c->debug ? "1" : "0"); break;
        case CONFIG_LOGFILE: append(buf, size, &used, "%s", c->logfile ? c->logfile : ""); break;
        case CONFIG_PIDFILE: append(buf, size, &used, "%s", c->pidfile ? c->pidfile : ""); break;
        case CONFIG_PS_METRIC: append(buf, size, &used, "%s", config_metric_name(c->metric)); break;
        case CONFIG_POLICY: append(buf, size, &used, "%s", config_policy_name(c->policy)); break;
        case CONFIG_VM_MATCH_COMM: format_patterns(&c->vm_comm_patterns, buf, size, &used); break;
        case CONFIG_VM_MATCH_CMDLINE:
                format_patterns(&c->vm_cmdline_patterns, buf, size, &used);
                break;
        case CONFIG_VM_TRACKING:
                append(buf, size, &used, "%s", tracking_names[c->vm_tracking]);
                break;
        case CONFIG_DBUS_ENABLED:
                append(buf, size, &used, "%s", c->dbus_enabled ? "true" : "false");
                break;
        case CONFIG_DBUS_GROUP:
                append(buf, size, &used, "%s", c->dbus_group ? c->dbus_group : "");
                break;
        default: break;
        }
}

void config_print(const struct ksm_config *c, FILE *f)
{
        for (int k = 0; k < _CONFIG_KEY_MAX; k++) {
                const struct config_key_info *info = &key_table[k];
                const char *name = info->legacy_name ? info->legacy_name : info->settings_name;
                char value[2048], where[600];
                int width;

                config_format_value(c, (enum config_key)k, value, sizeof(value));
                format_origin(c, &c->origin[k], where, sizeof(where));
                width = (int)(strlen(name) + 1 + strlen(value));
                fprintf(f, "%s=%s%*s# %s\n", name, value, width < 40 ? 40 - width : 1, "", where);
        }
}
