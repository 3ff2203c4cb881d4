/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

struct manager;

#define BUS_NAME       "org.ksmtuned1"
#define BUS_PATH       "/org/ksmtuned1"
#define BUS_GUEST_PATH "/org/ksmtuned1/guest"
#define BUS_MANAGER_IF "org.ksmtuned1.Manager"
#define BUS_GUEST_IF   "org.ksmtuned1.Guest"

#include "config.h"

/* The D-Bus name of a tunable (e.g. "npages-max"), NULL if key is none. */
const char *bus_tunable_name(enum config_key key);

/* Connects to the system bus and claims org.ksmtuned1. Without a bus the
 * daemon keeps tuning: one warning, then quiet retries until it appears. */
void bus_start(struct manager *m);
void bus_stop(struct manager *m);
/* After every cycle: guest objects, PropertiesChanged, BalloonAdvised. */
void bus_after_cycle(struct manager *m);
/* Guest objects for the VM processes tracked now (also between cycles,
 * after process events). */
void bus_sync_guests(struct manager *m);
/* Properties that may have changed outside a cycle (holds, tunables). */
void bus_emit_changes(struct manager *m);
/* Drops every hold (at exit). */
void bus_release_all_inhibitors(struct manager *m);
