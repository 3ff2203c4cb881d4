/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

#include "config.h"

/* /etc/ksmtuned.conf: the stock file is shell code that the stock script
 * sourced as root. We read the subset real files use (KEY=v, quotes, export,
 * comments, CRLF) without executing anything, and reject the rest by line. */
int legacy_conf_parse(const char *text, size_t len, const char *filename, struct ksm_config *c,
                      struct config_error *err, config_warn_fn warn, void *userdata);

/* A missing file leaves *c untouched and returns 0. */
int legacy_conf_load_file(const char *path, struct ksm_config *c, struct config_error *err,
                          config_warn_fn warn, void *userdata);
