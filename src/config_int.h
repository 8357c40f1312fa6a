/* Internal to the configuration modules: config.c (options and their values), config_load.c (reading
 * files: sections, include, line numbers) and config_check.c (validation once everything is read). */
#ifndef TLSWRAP_CONFIG_INT_H
#define TLSWRAP_CONFIG_INT_H

#include "config.h"

/* cfg_fail: printf FMT into ERR; returns -1. */
int cfg_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* cfg_list_add: append a copy of VALUE to L. 0, or -1 when out of memory. */
int cfg_list_add(struct cfg_list *l, const char *value);

/* cfg_note_line: option NAME (already accepted by cfg_set) was set on LINE of the file: remember it for
 * errors found later (cfg_where_option). 0, or -1 when out of memory. */
int cfg_note_line(struct cfg *c, const char *name, int line);

#endif
