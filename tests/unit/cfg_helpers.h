/* Shared by the configuration unit tests (test_config.c, test_config_load.c, test_config_check.c):
 * load a configuration text through a real file, and check errors for their file:line. */
#ifndef TLSWRAP_TEST_CFG_HELPERS_H
#define TLSWRAP_TEST_CFG_HELPERS_H

#include "config.h"

/* A server service that passes validation, to build on. */
#define SERVER "accept = 8443\nconnect = 127.0.0.1:80\ncert = /etc/tlswrap/server.pem\n"
/* A client service that passes validation. */
#define CLIENT "client = yes\naccept = 127.0.0.1:8025\nconnect = mail.example.com:465\n"

/* Path of the last temporary config, for the "path:line:" part of messages. */
extern char path[64];

/* Write TEXT to a new file in /tmp and cfg_load it into C (INETD as --inetd); the file is gone on
 * return. Returns what cfg_load did, with its message in ERR (CFG_ERRLEN bytes). */
int load_str_mode(const char *text, struct cfg *c, int inetd, char *err);
int load_str(const char *text, struct cfg *c, char *err);

/* Load TEXT, which must be valid, into C. */
void load_ok(const char *text, struct cfg *c);

/* The 1-based line of TEXT on which NEEDLE first appears. */
int line_of(const char *text, const char *needle);

/* Load TEXT expecting failure reported as "path:N: ...REASON..." where N is the line holding AT.
 * Also checks that cfg_load left the struct freed. */
void expect_error_at(const char *text, const char *at, const char *reason);

#endif
