/* SPDX-License-Identifier: GPL-2.0-or-later */
/* org.ksmtuned1: KSM state for management tools and coordination with a
 * balloon daemon. Only the vtables and their handlers live here; the
 * manager owns the state. */
#include "bus.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "ksm_sysfs.h"
#include "log.h"
#include "manager.h"
#include "meminfo.h"
#include "policy.h"
#include "util.h"

#define USEC_PER_SEC          1000000ULL
#define BUS_RETRY_USEC        (5 * USEC_PER_SEC)
#define BUS_RETRY_MAX_USEC    (60 * USEC_PER_SEC)
#define NOTIFY_DEBOUNCE_USEC  (100 * 1000ULL)
#define ERROR_INVALID_TUNABLE "org.ksmtuned1.InvalidTunable"
#define ERROR_NO_SUCH_GUEST   "org.ksmtuned1.NoSuchGuest"
#define ERROR_INHIBITED       "org.ksmtuned1.Inhibited"

/* ---- access ---------------------------------------------------------- */

static bool uid_in_group(uid_t uid, gid_t primary, gid_t group)
{
        char buf[4096];
        struct passwd pw, *res = NULL;
        gid_t groups[256];
        int n = (int)ELEMENTSOF(groups);

        if (primary == group)
                return true;
        if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
                return false;
        if (pw.pw_gid == group)
                return true;
        if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
                return false;
        for (int i = 0; i < n; i++)
                if (groups[i] == group)
                        return true;
        return false;
}

/* Mutating methods: root, or a member of dbus.group. Checked here from the
 * sender's credentials whatever the bus policy says. */
static int check_privileged(struct manager *m, sd_bus_message *msg, sd_bus_error *error)
{
        sd_bus_creds *creds = NULL;
        uid_t uid = (uid_t)-1;
        gid_t gid = (gid_t)-1;
        const gid_t *gids = NULL;
        char buf[4096];
        struct group gr, *grp = NULL;
        bool allowed = false;
        int r, n;

        r = sd_bus_query_sender_creds(msg,
                                      SD_BUS_CREDS_EUID | SD_BUS_CREDS_UID | SD_BUS_CREDS_GID |
                                              SD_BUS_CREDS_SUPPLEMENTARY_GIDS |
                                              SD_BUS_CREDS_AUGMENT,
                                      &creds);
        if (r < 0)
                return sd_bus_error_set_errnof(error, -r,
                                               "Failed to read the caller's credentials");
        if (sd_bus_creds_get_euid(creds, &uid) < 0)
                (void)sd_bus_creds_get_uid(creds, &uid);
        (void)sd_bus_creds_get_gid(creds, &gid);

        if (uid == 0)
                allowed = true;
        else if (uid != (uid_t)-1 && m->config.dbus_group &&
                 getgrnam_r(m->config.dbus_group, &gr, buf, sizeof(buf), &grp) == 0 && grp) {
                n = sd_bus_creds_get_supplementary_gids(creds, &gids);
                for (int i = 0; i < n && !allowed; i++)
                        allowed = gids[i] == grp->gr_gid;
                if (!allowed)
                        allowed = uid_in_group(uid, gid, grp->gr_gid);
        }
        sd_bus_creds_unref(creds);
        if (!allowed)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Only root and members of group '%s' may call %s",
                                         m->config.dbus_group ? m->config.dbus_group : "?",
                                         sd_bus_message_get_member(msg));
        return 0;
}

/* ---- live readings ---------------------------------------------------- */

static int read_counters(struct manager *m, struct ksm_counters *c, sd_bus_error *error)
{
        int r = ksm_sysfs_read_counters(&m->sysfs, c);

        if (r < 0)
                return sd_bus_error_set_errnof(error, -r, "Failed to read KSM counters: %s",
                                               strerror(-r));
        return 0;
}

static int read_meminfo(struct manager *m, struct meminfo *mi, sd_bus_error *error)
{
        int r = meminfo_read(m->opts.proc_dir, mi);

        if (r < 0)
                return sd_bus_error_set_errnof(error, -r, "Failed to read meminfo: %s",
                                               strerror(-r));
        return 0;
}

static uint64_t saved_bytes(const struct manager *m, const struct ksm_counters *c)
{
        return (c->pages_sharing + c->zero_pages) * m->page_size;
}

/* ---- Manager properties ---------------------------------------------- */

static int prop_counter(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct manager *m = userdata;
        struct ksm_counters c;
        int r;

        (void)bus, (void)path, (void)interface;
        r = read_counters(m, &c, error);
        if (r < 0)
                return r;
        if (strcmp(property, "Run") == 0)
                return sd_bus_message_append(reply, "u", (uint32_t)c.run);
        if (strcmp(property, "PagesToScan") == 0)
                return sd_bus_message_append(reply, "u", (uint32_t)c.pages_to_scan);
        if (strcmp(property, "SleepMillisecs") == 0)
                return sd_bus_message_append(reply, "u", (uint32_t)c.sleep_millisecs);
        if (strcmp(property, "PagesShared") == 0)
                return sd_bus_message_append(reply, "t", c.pages_shared);
        if (strcmp(property, "PagesSharing") == 0)
                return sd_bus_message_append(reply, "t", c.pages_sharing);
        if (strcmp(property, "PagesUnshared") == 0)
                return sd_bus_message_append(reply, "t", c.pages_unshared);
        if (strcmp(property, "PagesVolatile") == 0)
                return sd_bus_message_append(reply, "t", c.pages_volatile);
        if (strcmp(property, "FullScans") == 0)
                return sd_bus_message_append(reply, "t", c.full_scans);
        if (strcmp(property, "ZeroPages") == 0)
                return sd_bus_message_append(reply, "t", c.zero_pages);
        if (strcmp(property, "GeneralProfit") == 0)
                return sd_bus_message_append(reply, "x", c.general_profit);
        if (strcmp(property, "SharedBytes") == 0)
                return sd_bus_message_append(reply, "t", c.pages_sharing * m->page_size);
        if (strcmp(property, "SavedBytes") == 0)
                return sd_bus_message_append(reply, "t", saved_bytes(m, &c));
        return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_PROPERTY, "%s", property);
}

static int prop_memory(sd_bus *bus, const char *path, const char *interface, const char *property,
                       sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct manager *m = userdata;
        struct meminfo mi;
        int r;

        (void)bus, (void)path, (void)interface;
        if (strcmp(property, "Committed") == 0)
                return sd_bus_message_append(reply, "t",
                                             (uint64_t)m->last.sample.committed_kib * 1024);
        r = read_meminfo(m, &mi, error);
        if (r < 0)
                return r;
        if (strcmp(property, "MemTotal") == 0)
                return sd_bus_message_append(reply, "t", mi.mem_total_kib * 1024);
        if (strcmp(property, "MemAvailable") == 0)
                return sd_bus_message_append(reply, "t", mi.mem_available_kib * 1024);
        return sd_bus_message_append(reply, "t", meminfo_legacy_free_kib(&mi) * 1024);
}

static int prop_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                      sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct manager *m = userdata;

        (void)bus, (void)path, (void)interface, (void)error;
        if (strcmp(property, "State") == 0)
                return sd_bus_message_append(reply, "s", ksm_state_name(m->coord_result.state));
        if (strcmp(property, "Pressure") == 0)
                return sd_bus_message_append(reply, "s", pressure_name(m->coord_result.pressure));
        if (strcmp(property, "Inhibited") == 0)
                return sd_bus_message_append(reply, "s", manager_held_text(manager_held(m)));
        if (strcmp(property, "Mode") == 0)
                return sd_bus_message_append(reply, "s", config_policy_name(m->config.policy));
        if (strcmp(property, "Version") == 0)
                return sd_bus_message_append(reply, "s", KSMTUNED_VERSION);
        if (strcmp(property, "PageSize") == 0)
                return sd_bus_message_append(reply, "t", m->page_size);
        if (strcmp(property, "InhibitMaxUSec") == 0)
                return sd_bus_message_append(
                        reply, "t", (uint64_t)m->config.dbus_inhibit_max_sec * USEC_PER_SEC);
        if (strcmp(property, "KsmdCpuPercent") == 0)
                return sd_bus_message_append(reply, "d", m->ksmd_cpu_percent);
        return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_PROPERTY, "%s", property);
}

static int prop_kernel_features(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *error)
{
        static const struct {
                enum ksm_file file;
                const char *name;
        } features[] = {
                {KSM_GENERAL_PROFIT, "general_profit"},
                {KSM_ZERO_PAGES, "ksm_zero_pages"},
                {KSM_USE_ZERO_PAGES, "use_zero_pages"},
                {KSM_SMART_SCAN, "smart_scan"},
                {KSM_ADVISOR_MODE, "advisor"},
                {KSM_PAGES_SCANNED, "pages_scanned"},
                {KSM_MAX_PAGE_SHARING, "max_page_sharing"},
                {KSM_MERGE_ACROSS_NODES, "merge_across_nodes"},
        };
        struct manager *m = userdata;
        int r;

        (void)bus, (void)path, (void)interface, (void)property, (void)error;
        r = sd_bus_message_open_container(reply, 'a', "s");
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(features); i++)
                if (ksm_sysfs_has(&m->sysfs, features[i].file)) {
                        r = sd_bus_message_append(reply, "s", features[i].name);
                        if (r < 0)
                                return r;
                }
        if (access("/proc/self/ksm_stat", R_OK) == 0) {
                r = sd_bus_message_append(reply, "s", "ksm_stat");
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static const struct {
        const char *name;
        enum config_key key;
} tunables[] = {
        {"monitor-interval-sec", CONFIG_MONITOR_INTERVAL},
        {"sleep-msec", CONFIG_SLEEP_MSEC},
        {"npages-boost", CONFIG_NPAGES_BOOST},
        {"npages-decay", CONFIG_NPAGES_DECAY},
        {"npages-min", CONFIG_NPAGES_MIN},
        {"npages-max", CONFIG_NPAGES_MAX},
        {"thres-coef", CONFIG_THRES_COEF},
        {"thres-const-kib", CONFIG_THRES_CONST},
};

const char *bus_tunable_name(enum config_key key)
{
        for (size_t i = 0; i < ELEMENTSOF(tunables); i++)
                if (tunables[i].key == key)
                        return tunables[i].name;
        return NULL;
}

static int64_t tunable_value(const struct ksm_config *c, enum config_key key)
{
        int64_t v = 0;

        (void)config_get_int(c, key, &v);
        return v;
}

static int prop_tunables(sd_bus *bus, const char *path, const char *interface, const char *property,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct manager *m = userdata;
        int r;

        (void)bus, (void)path, (void)interface, (void)property, (void)error;
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(tunables); i++)
                r = sd_bus_message_append(reply, "{sv}", tunables[i].name, "x",
                                          tunable_value(&m->config, tunables[i].key));
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

/* ---- Manager methods ---------------------------------------------------- */

static int method_get_statistics(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        struct manager *m = userdata;
        sd_bus_message *reply = NULL;
        struct ksm_counters c;
        struct meminfo mi;
        int r;

        r = read_counters(m, &c, error);
        if (r >= 0)
                r = read_meminfo(m, &mi, error);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(
                reply, "a{sv}", 23, "timestamp-usec", "t", now_usec(CLOCK_REALTIME), "run", "u",
                (uint32_t)c.run, "pages-to-scan", "u", (uint32_t)c.pages_to_scan, "sleep-millisecs",
                "u", (uint32_t)c.sleep_millisecs, "pages-shared", "t", c.pages_shared,
                "pages-sharing", "t", c.pages_sharing, "pages-unshared", "t", c.pages_unshared,
                "pages-volatile", "t", c.pages_volatile, "full-scans", "t", c.full_scans,
                "zero-pages", "t", c.zero_pages, "general-profit", "x", c.general_profit,
                "shared-bytes", "t", c.pages_sharing * m->page_size, "saved-bytes", "t",
                saved_bytes(m, &c), "saved-bytes-rate", "t", m->saved_bytes_rate, "mem-total", "t",
                mi.mem_total_kib * 1024, "mem-available", "t", mi.mem_available_kib * 1024, "free",
                "t", meminfo_legacy_free_kib(&mi) * 1024, "committed", "t",
                (uint64_t)m->last.sample.committed_kib * 1024, "vms", "u", (uint32_t)m->last.n_vms,
                "state", "s", ksm_state_name(m->coord_result.state), "pressure", "s",
                pressure_name(m->coord_result.pressure), "mode", "s",
                config_policy_name(m->config.policy), "ksmd-cpu-percent", "d", m->ksmd_cpu_percent);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        return r < 0 ? r : 1;
}

static int method_retune(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        struct manager *m = userdata;
        int r;

        r = check_privileged(m, msg, error);
        if (r < 0)
                return r;
        if (manager_held(m))
                return sd_bus_error_setf(error, ERROR_INHIBITED,
                                         "KSM is held (%s); Retune is refused until the hold ends",
                                         manager_held_text(manager_held(m)));
        r = manager_request_retune(m, 0);
        if (r < 0)
                return sd_bus_error_set_errnof(error, -r, "Failed to schedule a retune");
        return sd_bus_reply_method_return(msg, NULL);
}

/* Reads one integer variant of any integer type. */
static int read_integer_variant(sd_bus_message *msg, int64_t *ret, bool *too_big)
{
        const char *contents;
        char type;
        int r;

        *too_big = false;
        r = sd_bus_message_peek_type(msg, &type, &contents);
        if (r < 0)
                return r;
        if (type != 'v' || !contents || strlen(contents) != 1)
                return -EINVAL;
        r = sd_bus_message_enter_container(msg, 'v', contents);
        if (r < 0)
                return r;
        switch (contents[0]) {
        case 'y': {
                uint8_t v;
                r = sd_bus_message_read_basic(msg, 'y', &v);
                *ret = v;
                break;
        }
        case 'n': {
                int16_t v;
                r = sd_bus_message_read_basic(msg, 'n', &v);
                *ret = v;
                break;
        }
        case 'q': {
                uint16_t v;
                r = sd_bus_message_read_basic(msg, 'q', &v);
                *ret = v;
                break;
        }
        case 'i': {
                int32_t v;
                r = sd_bus_message_read_basic(msg, 'i', &v);
                *ret = v;
                break;
        }
        case 'u': {
                uint32_t v;
                r = sd_bus_message_read_basic(msg, 'u', &v);
                *ret = v;
                break;
        }
        case 'x': {
                int64_t v;
                r = sd_bus_message_read_basic(msg, 'x', &v);
                *ret = v;
                break;
        }
        case 't': {
                uint64_t v;
                r = sd_bus_message_read_basic(msg, 't', &v);
                *too_big = v > INT64_MAX;
                *ret = (int64_t)v;
                break;
        }
        default:
                r = sd_bus_message_skip(msg, contents);
                if (r >= 0)
                        r = -EINVAL;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(msg);
        return r == -EINVAL ? -EDOM : r;
}

static int method_set_tunables(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        struct manager *m = userdata;
        uint64_t old_interval = (uint64_t)m->config.monitor_interval_sec * USEC_PER_SEC;
        struct ksm_config next;
        const char *key;
        unsigned n_keys = 0;
        int r;

        r = check_privileged(m, msg, error);
        if (r < 0)
                return r;
        r = config_copy(&next, &m->config);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                goto fail;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                enum config_key ck = _CONFIG_KEY_MAX;
                char why[256];
                bool too_big;
                int64_t v;

                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        goto fail;
                for (size_t i = 0; i < ELEMENTSOF(tunables); i++)
                        if (strcmp(tunables[i].name, key) == 0)
                                ck = tunables[i].key;
                if (ck == _CONFIG_KEY_MAX) {
                        r = sd_bus_error_setf(error, ERROR_INVALID_TUNABLE,
                                              "%.64s: unknown tunable", key);
                        goto fail;
                }
                r = read_integer_variant(msg, &v, &too_big);
                if (r == -EDOM) {
                        r = sd_bus_error_setf(error, ERROR_INVALID_TUNABLE,
                                              "%s: expected an integer", key);
                        goto fail;
                }
                if (r < 0)
                        goto fail;
                if (too_big || config_set_int(&next, ck, v, (struct config_origin){ORIGIN_DBUS, 0},
                                              why, sizeof(why)) < 0) {
                        r = sd_bus_error_setf(error, ERROR_INVALID_TUNABLE, "%s: %s", key,
                                              too_big ? "out of range" : why);
                        goto fail;
                }
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        goto fail;
                n_keys++;
        }
        if (r < 0)
                goto fail;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                goto fail;
        if (n_keys == 0) {
                config_free(&next);
                return sd_bus_reply_method_return(msg, NULL);
        }

        /* All keys valid: swap the whole set in at once. */
        config_free(&m->config);
        m->config = next;
        log_info("Tunables changed over D-Bus");
        manager_config_changed(m, old_interval);
        return sd_bus_reply_method_return(msg, NULL);
fail:
        config_free(&next);
        return r;
}

static struct guest *find_guest(struct manager *m, const char *key)
{
        for (size_t i = 0; i < m->n_guests; i++)
                if (strcmp(m->guests[i].ident.id, key) == 0)
                        return &m->guests[i];
        for (size_t i = 0; i < m->n_guests; i++)
                if (m->guests[i].ident.name[0] && strcmp(m->guests[i].ident.name, key) == 0)
                        return &m->guests[i];
        return NULL;
}

static int method_notify_balloon(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        struct manager *m = userdata;
        uint64_t target, actual;
        const char *guest_key;
        struct guest *g;
        uint32_t flags;
        int r;

        r = check_privileged(m, msg, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "sttu", &guest_key, &target, &actual, &flags);
        if (r < 0)
                return r;
        g = find_guest(m, guest_key);
        if (!g)
                return sd_bus_error_setf(error, ERROR_NO_SUCH_GUEST,
                                         "No VM with Id or Name '%.128s'", guest_key);
        g->balloon_target_bytes = target;
        g->balloon_actual_bytes = actual;
        if (m->bus && g->path)
                (void)sd_bus_emit_properties_changed(m->bus, g->path, BUS_GUEST_IF,
                                                     "BalloonTargetBytes", "BalloonActualBytes",
                                                     NULL);
        log_debug("Balloon of %s: target %llu, actual %llu bytes", g->ident.id,
                  (unsigned long long)target, (unsigned long long)actual);
        /* Re-sample soon: committed memory moves as the balloon does. A burst
         * of notifications gives one retune. */
        if (!manager_held(m))
                (void)manager_request_retune(m, NOTIFY_DEBOUNCE_USEC);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_assess(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        struct manager *m = userdata;
        struct assess_input in = {0};
        struct assess_result out;
        struct ksm_counters c;
        struct meminfo mi;
        const char *key;
        int64_t headroom_kib;
        int r;

        r = sd_bus_message_read(msg, "t", &in.bytes_needed);
        if (r < 0)
                return r;
        in.max_wait_usec = 5 * (uint64_t)m->config.monitor_interval_sec * USEC_PER_SEC;
        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                if (strcmp(key, "max-wait-usec") == 0) {
                        r = sd_bus_message_read(msg, "v", "t", &in.max_wait_usec);
                        if (r < 0)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "max-wait-usec: expected type t");
                } else {
                        /* Unknown options are for newer daemons: ignored. */
                        r = sd_bus_message_skip(msg, "v");
                        if (r < 0)
                                return r;
                }
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;

        r = read_counters(m, &c, error);
        if (r >= 0)
                r = read_meminfo(m, &mi, error);
        if (r < 0)
                return r;
        /* Memory now, not as of the last cycle: the caller is about to act. */
        in.pressure = manager_pressure_now(m, &mi, &headroom_kib);
        in.state = m->coord_result.state;
        in.effort = m->coord_result.effort;
        in.saved_bytes_rate = m->saved_bytes_rate;
        in.interval_usec = (uint64_t)m->config.monitor_interval_sec * USEC_PER_SEC;
        in.headroom_bytes = headroom_kib > 0 ? (uint64_t)headroom_kib * 1024 : 0;
        coord_assess(&in, &out);

        return sd_bus_reply_method_return(
                msg, "a{sv}", 7, "recommend", "s", recommendation_name(out.recommend), "eta-usec",
                "t", out.eta_usec, "saved-bytes", "t", saved_bytes(m, &c), "saved-bytes-rate", "t",
                m->saved_bytes_rate, "state", "s", ksm_state_name(in.state), "effort", "u",
                in.effort, "deficit-bytes", "t",
                m->last.valid && headroom_kib < 0 ? (uint64_t)(-headroom_kib) * 1024 : 0);
}

/* ---- inhibitors --------------------------------------------------------- */

static void inhibitor_free(struct inhibitor *h)
{
        sd_event_source_disable_unref(h->hup);
        sd_event_source_disable_unref(h->expire);
        if (h->fd >= 0)
                close(h->fd);
        free(h);
}

static void inhibitor_release(struct inhibitor *h, const char *why)
{
        struct manager *m = h->manager;

        for (size_t i = 0; i < m->n_inhibitors; i++)
                if (m->inhibitors[i] == h) {
                        m->inhibitors[i] = m->inhibitors[--m->n_inhibitors];
                        break;
                }
        log_info("Released the %s hold of %s (%s): %s", manager_held_text(h->what), h->who, h->why,
                 why);
        inhibitor_free(h);
        if (!manager_held(m)) {
                manager_hold_released(m);
                (void)manager_request_retune(m, 0);
        }
        bus_emit_changes(m);
}

static int on_inhibitor_hup(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        char discard[256];

        (void)s;
        /* Only the last close ends a hold; anything a holder writes into the
         * pipe is read and ignored. */
        if (!(revents & (EPOLLHUP | EPOLLERR))) {
                while (read(fd, discard, sizeof(discard)) > 0)
                        ;
                return 0;
        }
        inhibitor_release(userdata, "its holder closed the file descriptor");
        return 0;
}

static int on_inhibitor_expire(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct inhibitor *h = userdata;

        (void)s, (void)usec;
        log_warning("The %s hold of %s (%s) reached dbus.inhibit_max_sec, releasing it",
                    manager_held_text(h->what), h->who, h->why);
        inhibitor_release(h, "maximum hold time reached");
        return 0;
}

/* "retune", "merge", "retune:merge" or "merge:retune"; nothing else: no
 * empty parts, no repeats, so a typo is an error rather than a hold. */
static int parse_what(const char *what, unsigned *ret)
{
        unsigned bits = 0;
        const char *p = what;

        for (;;) {
                const char *end = strchrnul(p, ':');
                size_t len = (size_t)(end - p);
                unsigned bit;

                if (len == 6 && strncmp(p, "retune", 6) == 0)
                        bit = INHIBIT_RETUNE;
                else if (len == 5 && strncmp(p, "merge", 5) == 0)
                        bit = INHIBIT_MERGE;
                else
                        return -EINVAL;
                if (bits & bit)
                        return -EINVAL;
                bits |= bit;
                if (*end == '\0')
                        break;
                p = end + 1;
        }
        *ret = bits;
        return 0;
}

static int method_inhibit(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        struct manager *m = userdata;
        const char *what, *who, *why;
        sd_bus_creds *creds = NULL;
        struct inhibitor *h;
        unsigned bits;
        int fds[2], r;

        r = check_privileged(m, msg, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "sss", &what, &who, &why);
        if (r < 0)
                return r;
        if (parse_what(what, &bits) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "what: '%.64s' is not retune, merge or retune:merge",
                                         what);
        if (strlen(who) >= INHIBIT_TEXT_MAX || strlen(why) >= INHIBIT_TEXT_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "who and why are limited to %d bytes",
                                         INHIBIT_TEXT_MAX - 1);
        if (m->n_inhibitors >= INHIBITORS_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "Already %d holds; release one first", INHIBITORS_MAX);

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->manager = m;
        h->what = bits;
        h->fd = -1;
        snprintf(h->who, sizeof(h->who), "%s", who);
        snprintf(h->why, sizeof(h->why), "%s", why);
        h->since_usec = now_usec(CLOCK_REALTIME);
        if (sd_bus_query_sender_creds(msg, SD_BUS_CREDS_PID | SD_BUS_CREDS_EUID | SD_BUS_CREDS_UID,
                                      &creds) >= 0) {
                pid_t pid = 0;
                uid_t uid = 0;
                if (sd_bus_creds_get_pid(creds, &pid) >= 0)
                        h->pid = (uint32_t)pid;
                if (sd_bus_creds_get_euid(creds, &uid) >= 0 ||
                    sd_bus_creds_get_uid(creds, &uid) >= 0)
                        h->uid = (uint32_t)uid;
                sd_bus_creds_unref(creds);
        }

        /* The caller gets the write end; when every copy of it is closed
         * (the caller exits, crashes or closes it), our read end hangs up. */
        if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
                r = -errno;
                free(h);
                return r;
        }
        h->fd = fds[0];
        r = sd_event_add_io(m->event, &h->hup, h->fd, EPOLLIN, on_inhibitor_hup, h);
        if (r >= 0)
                r = sd_event_add_time_relative(m->event, &h->expire, CLOCK_MONOTONIC,
                                               (uint64_t)m->config.dbus_inhibit_max_sec *
                                                       USEC_PER_SEC,
                                               USEC_PER_SEC, on_inhibitor_expire, h);
        if (r >= 0)
                r = sd_bus_reply_method_return(msg, "h", fds[1]);
        close(fds[1]);
        if (r < 0) {
                inhibitor_free(h);
                return r;
        }
        m->inhibitors[m->n_inhibitors++] = h;
        log_info("%s holds KSM (%s) for: %s", h->who, manager_held_text(h->what), h->why);
        manager_apply_hold(m, bits);
        bus_emit_changes(m);
        return 1;
}

static int method_list_inhibitors(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        struct manager *m = userdata;
        sd_bus_message *reply = NULL;
        int r;

        (void)error;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sssuut)");
        for (size_t i = 0; r >= 0 && i < m->n_inhibitors; i++) {
                const struct inhibitor *h = m->inhibitors[i];
                r = sd_bus_message_append(reply, "(sssuut)", manager_held_text(h->what), h->who,
                                          h->why, h->pid, h->uid, h->since_usec);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        return r < 0 ? r : 1;
}

void bus_release_all_inhibitors(struct manager *m)
{
        while (m->n_inhibitors > 0)
                inhibitor_free(m->inhibitors[--m->n_inhibitors]);
}

/* ---- vtables ------------------------------------------------------------ */

#define COUNTER(name, sig) SD_BUS_PROPERTY(name, sig, prop_counter, 0, 0)
#define COUNTER_CHANGES(name)                                                                      \
        SD_BUS_PROPERTY(name, "u", prop_counter, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", prop_state, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("KernelFeatures", "as", prop_kernel_features, 0,
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PageSize", "t", prop_state, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("InhibitMaxUSec", "t", prop_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Mode", "s", prop_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("State", "s", prop_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Pressure", "s", prop_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        COUNTER_CHANGES("Run"),
        COUNTER_CHANGES("PagesToScan"),
        COUNTER_CHANGES("SleepMillisecs"),
        SD_BUS_PROPERTY("Tunables", "a{sv}", prop_tunables, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Inhibited", "s", prop_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        COUNTER("PagesShared", "t"),
        COUNTER("PagesSharing", "t"),
        COUNTER("PagesUnshared", "t"),
        COUNTER("PagesVolatile", "t"),
        COUNTER("FullScans", "t"),
        COUNTER("ZeroPages", "t"),
        COUNTER("GeneralProfit", "x"),
        COUNTER("SharedBytes", "t"),
        COUNTER("SavedBytes", "t"),
        SD_BUS_PROPERTY("MemTotal", "t", prop_memory, 0, 0),
        SD_BUS_PROPERTY("MemAvailable", "t", prop_memory, 0, 0),
        SD_BUS_PROPERTY("Free", "t", prop_memory, 0, 0),
        SD_BUS_PROPERTY("Committed", "t", prop_memory, 0, 0),
        SD_BUS_PROPERTY("KsmdCpuPercent", "d", prop_state, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("GetStatistics", SD_BUS_NO_ARGS, SD_BUS_RESULT("a{sv}", statistics),
                                method_get_statistics, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Retune", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_retune,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetTunables", SD_BUS_ARGS("a{sv}", tunables), SD_BUS_NO_RESULT,
                                method_set_tunables, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(
                "NotifyBalloon",
                SD_BUS_ARGS("s", guest, "t", target_bytes, "t", actual_bytes, "u", flags),
                SD_BUS_NO_RESULT, method_notify_balloon, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Assess", SD_BUS_ARGS("t", bytes_needed, "a{sv}", options),
                                SD_BUS_RESULT("a{sv}", advice), method_assess,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Inhibit", SD_BUS_ARGS("s", what, "s", who, "s", why),
                                SD_BUS_RESULT("h", fd), method_inhibit, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListInhibitors", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(sssuut)", inhibitors), method_list_inhibitors,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("BalloonAdvised",
                                SD_BUS_ARGS("t", deficit_bytes, "u", level, "t", since_usec), 0),
        SD_BUS_VTABLE_END,
};

/* ---- guests --------------------------------------------------------------- */

static struct guest *guest_by_path(struct manager *m, const char *path)
{
        for (size_t i = 0; i < m->n_guests; i++)
                if (m->guests[i].path && strcmp(m->guests[i].path, path) == 0)
                        return &m->guests[i];
        return NULL;
}

static int guest_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                      void **ret_found, sd_bus_error *error)
{
        struct guest *g = guest_by_path(userdata, path);

        (void)bus, (void)interface, (void)error;
        if (!g)
                return 0;
        *ret_found = g;
        return 1;
}

static int guest_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes,
                           sd_bus_error *error)
{
        struct manager *m = userdata;
        char **nodes;
        size_t n = 0;

        (void)bus, (void)path, (void)error;
        nodes = calloc(m->n_guests + 1, sizeof(char *));
        if (!nodes)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_guests; i++)
                if (m->guests[i].path) {
                        nodes[n] = strdup(m->guests[i].path);
                        if (!nodes[n]) {
                                for (size_t j = 0; j < n; j++)
                                        free(nodes[j]);
                                free(nodes);
                                return -ENOMEM;
                        }
                        n++;
                }
        *ret_nodes = nodes;
        return 0;
}

static int prop_guest(sd_bus *bus, const char *path, const char *interface, const char *property,
                      sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct guest *g = userdata;
        struct ksm_stat st = {0};

        (void)bus, (void)path, (void)interface;
        if (strcmp(property, "Id") == 0)
                return sd_bus_message_append(reply, "s", g->ident.id);
        if (strcmp(property, "Name") == 0)
                return sd_bus_message_append(reply, "s", g->ident.name);
        if (strcmp(property, "Pid") == 0)
                return sd_bus_message_append(reply, "u", (uint32_t)g->pid);
        if (strcmp(property, "RssBytes") == 0)
                return sd_bus_message_append(reply, "t", guest_rss_bytes("/proc", g->pid));
        if (strcmp(property, "BalloonTargetBytes") == 0)
                return sd_bus_message_append(reply, "t", g->balloon_target_bytes);
        if (strcmp(property, "BalloonActualBytes") == 0)
                return sd_bus_message_append(reply, "t", g->balloon_actual_bytes);
        /* Kernels before 6.1 have no ksm_stat; the figures then read 0. */
        (void)ksm_stat_read("/proc", g->pid, &st);
        if (strcmp(property, "MergingPages") == 0)
                return sd_bus_message_append(reply, "t", st.merging_pages);
        if (strcmp(property, "ZeroPages") == 0)
                return sd_bus_message_append(reply, "t", st.zero_pages);
        if (strcmp(property, "ProfitBytes") == 0)
                return sd_bus_message_append(reply, "x", st.profit_bytes);
        return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_PROPERTY, "%s", property);
}

static const sd_bus_vtable guest_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "s", prop_guest, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Name", "s", prop_guest, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Pid", "u", prop_guest, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("RssBytes", "t", prop_guest, 0, 0),
        SD_BUS_PROPERTY("MergingPages", "t", prop_guest, 0, 0),
        SD_BUS_PROPERTY("ZeroPages", "t", prop_guest, 0, 0),
        SD_BUS_PROPERTY("ProfitBytes", "x", prop_guest, 0, 0),
        SD_BUS_PROPERTY("BalloonTargetBytes", "t", prop_guest, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("BalloonActualBytes", "t", prop_guest, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END,
};

static int guest_make_path(struct manager *m, struct guest *g)
{
        char *path = NULL, unique[GUEST_ID_MAX + 16];
        int r;

        r = sd_bus_path_encode(BUS_GUEST_PATH, g->ident.id, &path);
        if (r < 0)
                return r;
        if (guest_by_path(m, path)) {
                /* Two processes with one identity (qemu's helper children):
                 * keep both visible, told apart by PID. */
                free(path);
                snprintf(unique, sizeof(unique), "%s/%d", g->ident.id, (int)g->pid);
                r = sd_bus_path_encode(BUS_GUEST_PATH, unique, &path);
                if (r < 0)
                        return r;
        }
        g->path = path;
        return 0;
}

/* Brings the guest list in line with the tracked VM processes. */
static void guests_sync(struct manager *m)
{
        const pid_t *pids;
        size_t n, i, j;

        pids = vm_tracker_pids(m->tracker, &n);
        for (i = 0; i < m->n_guests; i++)
                m->guests[i].seen = false;
        for (j = 0; j < n; j++) {
                struct guest *g = NULL, *grown;

                for (i = 0; i < m->n_guests; i++)
                        if (m->guests[i].pid == pids[j]) {
                                g = &m->guests[i];
                                break;
                        }
                if (g) {
                        g->seen = true;
                        continue;
                }
                grown = realloc(m->guests, (m->n_guests + 1) * sizeof(*grown));
                if (!grown)
                        return;
                m->guests = grown;
                g = &m->guests[m->n_guests];
                memset(g, 0, sizeof(*g));
                g->pid = pids[j];
                g->seen = true;
                if (guest_identity_read("/proc", g->pid, &g->ident) < 0)
                        continue; /* gone already */
                if (guest_make_path(m, g) < 0)
                        continue;
                m->n_guests++;
                if (m->bus)
                        (void)sd_bus_emit_object_added(m->bus, g->path);
        }
        for (i = 0; i < m->n_guests;) {
                if (m->guests[i].seen) {
                        i++;
                        continue;
                }
                if (m->bus)
                        (void)sd_bus_emit_object_removed(m->bus, m->guests[i].path);
                free(m->guests[i].path);
                m->guests[i] = m->guests[--m->n_guests];
        }
}

void bus_sync_guests(struct manager *m)
{
        if (m->bus)
                guests_sync(m);
}

/* ---- change notification ---------------------------------------------- */

void bus_emit_changes(struct manager *m)
{
        const char *changed[16];
        struct ksm_counters c;
        size_t n = 0;

        if (!m->bus)
                return;
        if (ksm_sysfs_read_knobs(&m->sysfs, &c) < 0)
                memset(&c, 0, sizeof(c));
        if (!m->emitted.valid || m->emitted.run != c.run)
                changed[n++] = "Run";
        if (!m->emitted.valid || m->emitted.pages_to_scan != c.pages_to_scan)
                changed[n++] = "PagesToScan";
        if (!m->emitted.valid || m->emitted.sleep_millisecs != c.sleep_millisecs)
                changed[n++] = "SleepMillisecs";
        if (!m->emitted.valid || m->emitted.state != (int)m->coord_result.state)
                changed[n++] = "State";
        if (!m->emitted.valid || m->emitted.pressure != (int)m->coord_result.pressure)
                changed[n++] = "Pressure";
        if (!m->emitted.valid || m->emitted.inhibited != manager_held(m))
                changed[n++] = "Inhibited";
        if (!m->emitted.valid || m->emitted.tunables_generation != m->tunables_generation) {
                changed[n++] = "Tunables";
                changed[n++] = "Mode";
                changed[n++] = "InhibitMaxUSec";
        }
        m->emitted.run = c.run;
        m->emitted.pages_to_scan = c.pages_to_scan;
        m->emitted.sleep_millisecs = c.sleep_millisecs;
        m->emitted.state = (int)m->coord_result.state;
        m->emitted.pressure = (int)m->coord_result.pressure;
        m->emitted.inhibited = manager_held(m);
        m->emitted.tunables_generation = m->tunables_generation;
        m->emitted.valid = true;
        if (n == 0)
                return;
        changed[n] = NULL;
        (void)sd_bus_emit_properties_changed_strv(m->bus, BUS_PATH, BUS_MANAGER_IF,
                                                  (char **)changed);
}

void bus_after_cycle(struct manager *m)
{
        guests_sync(m);
        if (!m->bus)
                return;
        if (m->coord_result.advise_balloon)
                (void)sd_bus_emit_signal(m->bus, BUS_PATH, BUS_MANAGER_IF, "BalloonAdvised", "tut",
                                         m->coord_result.deficit_bytes, m->coord_result.level,
                                         m->coord_result.since_usec);
        bus_emit_changes(m);
}

/* ---- connection ------------------------------------------------------------ */

static int on_bus_retry(sd_event_source *s, uint64_t usec, void *userdata);

/* 5 s, then doubling up to a minute: a bus that comes back is found soon,
 * a host without one is not polled (or logged at debug level) every 5 s. */
static void schedule_retry(struct manager *m)
{
        uint64_t delay = m->bus_retry_usec ? m->bus_retry_usec : BUS_RETRY_USEC;

        m->bus_retry_usec = delay * 2 > BUS_RETRY_MAX_USEC ? BUS_RETRY_MAX_USEC : delay * 2;
        if (m->bus_retry) {
                (void)sd_event_source_set_time_relative(m->bus_retry, delay);
                (void)sd_event_source_set_enabled(m->bus_retry, SD_EVENT_ONESHOT);
                return;
        }
        if (sd_event_add_time_relative(m->event, &m->bus_retry, CLOCK_MONOTONIC, delay,
                                       USEC_PER_SEC / 10, on_bus_retry, m) >= 0)
                (void)sd_event_source_set_description(m->bus_retry, "bus-retry");
}

static void drop_bus(struct manager *m)
{
        if (!m->bus)
                return;
        (void)sd_bus_detach_event(m->bus);
        m->bus = sd_bus_flush_close_unref(m->bus);
        m->emitted.valid = false;
}

static int on_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        struct manager *m = userdata;

        (void)msg, (void)error;
        log_warning("Lost the system bus connection; reconnecting");
        m->bus_warned = true;
        m->bus_retry_usec = 0;
        /* Not from inside the bus's own callback: the retry timer does it. */
        schedule_retry(m);
        return 0;
}

static int bus_connect(struct manager *m)
{
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        (void)sd_bus_set_description(bus, "ksmtuned");
        r = sd_bus_add_object_vtable(bus, NULL, BUS_PATH, BUS_MANAGER_IF, manager_vtable, m);
        if (r >= 0)
                r = sd_bus_add_fallback_vtable(bus, NULL, BUS_GUEST_PATH, BUS_GUEST_IF,
                                               guest_vtable, guest_find, m);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(bus, NULL, BUS_GUEST_PATH, guest_enumerate, m);
        if (r >= 0)
                r = sd_bus_add_object_manager(bus, NULL, BUS_PATH);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus.Local",
                                        "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                        "Disconnected", on_disconnected, m);
        if (r >= 0)
                r = sd_bus_request_name(bus, BUS_NAME, 0);
        if (r >= 0)
                r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                sd_bus_flush_close_unref(bus);
                return r;
        }
        m->bus = bus;
        return 0;
}

static void try_connect(struct manager *m)
{
        int r;

        drop_bus(m);
        r = bus_connect(m);
        if (r < 0) {
                /* Containers, early boot and tests have no system bus: tune
                 * anyway, say so once, and keep trying quietly. */
                if (!m->bus_warned)
                        log_warning("D-Bus interface unavailable, tuning without it and retrying: "
                                    "%s",
                                    strerror(-r));
                else
                        log_debug("Still no system bus: %s", strerror(-r));
                m->bus_warned = true;
                schedule_retry(m);
                return;
        }
        m->bus_retry_usec = 0;
        if (m->bus_warned)
                log_info("Serving %s on the system bus again", BUS_NAME);
        else
                log_debug("Serving %s on the system bus", BUS_NAME);
        m->bus_warned = false;
        bus_emit_changes(m);
}

static int on_bus_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void)s, (void)usec;
        try_connect(userdata);
        return 0;
}

void bus_start(struct manager *m)
{
        if (!m->config.dbus_enabled)
                return;
        try_connect(m);
}

void bus_stop(struct manager *m)
{
        m->bus_retry = sd_event_source_disable_unref(m->bus_retry);
        drop_bus(m);
        for (size_t i = 0; i < m->n_guests; i++)
                free(m->guests[i].path);
        free(m->guests);
        m->guests = NULL;
        m->n_guests = 0;
}
