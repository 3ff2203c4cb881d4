/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "config.h"

/* /etc/ksmtuned/ksmtuned.cfg, libconfig syntax: what the legacy file cannot
 * say (policy, VM matching, tracking) plus any legacy key, which then wins
 * over /etc/ksmtuned.conf. */
int settings_parse(const char *text, const char *filename, struct ksm_config *c,
                   struct config_error *err, config_warn_fn warn, void *userdata);

/* A missing file leaves *c untouched and returns 0. */
int settings_load_file(const char *path, struct ksm_config *c, struct config_error *err,
                       config_warn_fn warn, void *userdata);
