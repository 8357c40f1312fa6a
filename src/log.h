/* Logging: levels as syslog numbers them, to stderr, a file (`output`) or syslog. */
#ifndef TLSWRAP_LOG_H
#define TLSWRAP_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

/* log_open flags */
enum {
	LOG_OPEN_OVERWRITE = 1, /* log = overwrite: FILE is truncated when opened (and reopened) */
	LOG_OPEN_QUIET = 2,     /* foreground = quiet: never stderr */
};

/* log_open: send messages at LEVEL or more urgent to FILE (appended, or truncated with
 * LOG_OPEN_OVERWRITE; NULL = stderr unless LOG_OPEN_QUIET) and, when USE_SYSLOG, to syslog (facility
 * daemon, ident tlswrap). Returns 0, or -1 with errno set when FILE cannot be opened (the previous
 * destination stays). */
int log_open(int level, const char *file, int use_syslog, int flags);

/* log_set_ident: the syslog ident from the next log_open on (stunnel's `service`; NULL: "tlswrap").
 * At most 63 characters are kept. */
void log_set_ident(const char *ident);

/* log_keep_off_client: when stderr is a TCP socket (inetd hands tlswrap the client's connection as
 * stdin, stdout and stderr), point stderr at /dev/null, so nothing meant for an administrator reaches
 * the client; log_startup_error then logs instead. Returns 1 when it did, 0 when stderr is something
 * else, -1 with errno on failure. */
int log_keep_off_client(void);

/* log_startup_error: an error that stops tlswrap before it serves: "tlswrap: MSG" on stderr, or, after
 * log_keep_off_client, to the log when it has a file or syslog, else to syslog. */
void log_startup_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* log_level: the current threshold, so callers can skip building expensive messages. */
int log_level(void);

/* log_set_level: change the threshold (a reload's `debug`), keeping the destination. */
void log_set_level(int level);

/* log_set_json: per-connection records as JSON objects (logFormat = json) or text lines. */
void log_set_json(int on);
int log_json_on(void);

/* log_record: one JSON object per line: {"time":...,"level":...,FIELDS} where FIELDS is the inside of
 * an object ("\"key\":value,..."), built with log_json_add. */
void log_record(int level, const char *fields);

/* log_record_as, log_msg_as: as log_record and log_msg, written when LEVEL is within THRESHOLD instead of the
 * global level (a connection's line, against its service's own `debug`). */
void log_record_as(int threshold, int level, const char *fields);

/* log_json_add: append ,"KEY":"VALUE" (VALUE escaped; NULL appends nothing) or, when NUM_OK,
 * ,"KEY":NUM to the fields in BUF (length LEN, NUL-terminated); the leading comma is left out of the
 * first field. Never overflows: a field that does not fit is dropped. */
void log_json_add(char *buf, size_t len, const char *key, const char *value, int num_ok, unsigned long long num);

/* log_msg: one line "TIME LEVEL message". */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_msg_as(int threshold, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Rate limiting of repeated messages, so a flood (a port scanner, a health check that speaks plain TCP, bad
 * handshakes by the thousand) cannot fill the disk. Messages are grouped by KIND, a short text that names
 * the cause and the service ("[web] connections failed (handshake)"), never the client, so a scan from
 * many addresses is one kind. In each window of LOG_LIMIT_WINDOW_MS, the first LOG_LIMIT_BURST messages of
 * a kind go out at their own level; the others go out at LOG_INFO instead, so they are still written, one
 * each, when the level is info or debug, and are otherwise counted. When the window ends, a summary at the
 * kind's level gives the count: "KIND: 412 more like this in the last 10 s". Any thread. */
#define LOG_LIMIT_WINDOW_MS 10000
#define LOG_LIMIT_BURST 10

/* log_limit_level: the level to write a message of KIND at, LEVEL being its own (see above). Messages at
 * LOG_INFO or less urgent are never limited: LEVEL is returned. */
int log_limit_level(const char *kind, int level);

/* log_limit_flush: write the summaries of windows that have ended (every window with FORCE, at exit).
 * Returns 1 while some window still holds messages not summarised, so the caller calls again later. */
int log_limit_flush(int force);

/* log_limit_set_wake: call FN(ARG) (from any thread, with no lock held) when a window starts holding back
 * messages, so someone calls log_limit_flush when it ends even if no message of its kind comes. NULL: none. */
void log_limit_set_wake(void (*fn)(void *), void *arg);

/* log_limit_level_at, log_limit_flush_at: the same on the clock NOW_MS (ms, monotonic), for tests. */
int log_limit_level_at(const char *kind, int level, uint64_t now_ms);
int log_limit_flush_at(uint64_t now_ms, int force);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) \
	do { \
		if (log_level() >= LOG_DEBUG) \
			log_msg(LOG_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
