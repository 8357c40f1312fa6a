/* Logging destinations. The only state is the destination, set once at start (and on re-open), the level
 * and the format. Worker threads log too: every line goes out in one write(), the level and format are
 * atomics, and a reopened file replaces the old one under the same descriptor (dup2), so a line goes to
 * one file or the other, whole. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct {
	atomic_int level;
	int fd;        /* the output file, or -1: stderr */
	atomic_int use_syslog; /* atomics: a reopen (SIGUSR1) sets them again while workers log */
	atomic_int to_stream;  /* write to file/stderr as well as (or instead of) syslog */
	atomic_int json; /* per-connection records as JSON */
	int opened;    /* log_open has run */
	int stderr_was_client; /* inetd gave us the client's socket as stderr (log_keep_off_client) */
} L = { LOG_NOTICE, -1, 0, 1, 0, 0, 0 };

static char ident[64] = "tlswrap";

void log_set_ident(const char *name)
{
	snprintf(ident, sizeof(ident), "%s", name ? name : "tlswrap");
}

#define LOG_LINE_MAX 4096

static const char *const level_names[] = { "EMERG", "ALERT", "CRIT", "ERROR", "WARN", "NOTICE", "INFO", "DEBUG" };

int log_open(int level, const char *file, int use_syslog, int flags)
{
	if (file) { /* a new log file is 0640, as stunnel makes it; O_APPEND even when truncated, for whole lines */
		int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC | O_APPEND | (flags & LOG_OPEN_OVERWRITE ? O_TRUNC : 0), 0640);
		if (fd < 0)
			return -1;
		if (L.fd < 0) {
			L.fd = fd;
		} else { /* threads writing now go on to one file or the other */
			int rc = dup3(fd, L.fd, O_CLOEXEC);
			int e = errno;
			close(fd);
			if (rc < 0) {
				errno = e;
				return -1;
			}
		}
	} else if (L.fd >= 0) {
		close(L.fd);
		L.fd = -1;
	}
	atomic_store(&L.level, level);
	if (use_syslog && !L.use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	L.use_syslog = use_syslog;
	/* with syslog only, stderr is not written (it is /dev/null once daemonized) */
	L.to_stream = file != NULL || (!use_syslog && !(flags & LOG_OPEN_QUIET));
	L.opened = 1;
	return 0;
}

int log_keep_off_client(void)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(STDERR_FILENO, (struct sockaddr *)&ss, &len) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return 0;
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null < 0)
		return -1;
	int rc = dup2(null, STDERR_FILENO);
	close(null);
	if (rc < 0)
		return -1;
	L.stderr_was_client = 1;
	return 1;
}

void log_startup_error(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!L.stderr_was_client) {
		fprintf(stderr, "tlswrap: %s\n", msg);
		return;
	}
	if (L.opened && (L.fd >= 0 || L.use_syslog)) {
		log_msg(LOG_ERR, "%s", msg);
		return;
	}
	openlog(ident, LOG_PID, LOG_DAEMON);
	syslog(LOG_DAEMON | LOG_ERR, "%s", msg);
	closelog();
}

int log_level(void)
{
	return atomic_load_explicit(&L.level, memory_order_relaxed);
}

void log_set_level(int level)
{
	atomic_store(&L.level, level);
}

void log_set_json(int on)
{
	atomic_store(&L.json, on);
}

int log_json_on(void)
{
	return atomic_load_explicit(&L.json, memory_order_relaxed);
}

static const char *const json_levels[] = { "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug" };

/* The time stamp, formatted once a second (per thread). */
static const char *stamp_now(int *ms)
{
	static __thread time_t last;
	static __thread char stamp[32];
	struct timeval tv;
	gettimeofday(&tv, NULL);
	if (tv.tv_sec != last) {
		struct tm tm;
		gmtime_r(&tv.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		last = tv.tv_sec;
	}
	*ms = (int)(tv.tv_usec / 1000);
	return stamp;
}

/* One line to the file (or stderr), in one write. */
static void put_line(char *line, int len)
{
	if (len < 0)
		return;
	if ((size_t)len >= LOG_LINE_MAX) { /* cut, but still a line */
		len = LOG_LINE_MAX - 1;
		line[len - 1] = '\n';
	}
	ssize_t w = write(L.fd >= 0 ? L.fd : STDERR_FILENO, line, (size_t)len);
	(void)w; /* nowhere to report a failure to log */
}

void log_record(int level, const char *fields)
{
	log_record_as(log_level(), level, fields);
}

void log_record_as(int threshold, int level, const char *fields)
{
	if (level > threshold)
		return;
	int saved = errno, ms;
	if (L.use_syslog)
		syslog(LOG_DAEMON | level, "{%s}", fields);
	if (L.to_stream) {
		char line[LOG_LINE_MAX];
		const char *stamp = stamp_now(&ms);
		put_line(line, snprintf(line, sizeof(line), "{\"time\":\"%s.%03dZ\",\"level\":\"%s\",%s}\n", stamp, ms,
					json_levels[level & 7], fields));
	}
	errno = saved;
}

void log_json_add(char *buf, size_t len, const char *key, const char *value, int num_ok, unsigned long long num)
{
	size_t n = strlen(buf), start = n;
	char tmp[32];
	if (!value && !num_ok)
		return;
	if (num_ok) {
		snprintf(tmp, sizeof(tmp), "%llu", num);
		value = tmp;
	}
	int w = snprintf(buf + n, len - n, "%s\"%s\":%s", n ? "," : "", key, num_ok ? "" : "\"");
	if (w < 0 || (size_t)w >= len - n)
		goto drop;
	n += (size_t)w;
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		char esc[8];
		size_t el = 1;
		esc[0] = (char)*p;
		if (!num_ok && (*p == '"' || *p == '\\'))
			esc[0] = '\\', esc[1] = (char)*p, el = 2;
		else if (!num_ok && *p < 0x20)
			el = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", *p);
		if (n + el + 2 > len)
			goto drop;
		memcpy(buf + n, esc, el);
		n += el;
	}
	if (!num_ok)
		buf[n++] = '"';
	buf[n] = '\0';
	return;
drop:
	buf[start] = '\0';
}

static void log_vmsg(int threshold, int level, const char *fmt, va_list ap)
{
	if (level > threshold)
		return;
	int saved = errno;
	char msg[2048];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (atomic_load_explicit(&L.use_syslog, memory_order_relaxed))
		syslog(LOG_DAEMON | level, "%s", msg);
	if (atomic_load_explicit(&L.to_stream, memory_order_relaxed)) {
		char line[LOG_LINE_MAX];
		int ms;
		const char *stamp = stamp_now(&ms);
		put_line(line, snprintf(line, sizeof(line), "%s.%03dZ %s %s\n", stamp, ms, level_names[level & 7], msg));
	}
	errno = saved;
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(log_level(), level, fmt, ap);
	va_end(ap);
}

void log_msg_as(int threshold, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(threshold, level, fmt, ap);
	va_end(ap);
}

/* ---- rate limiting ---------------------------------------------------------------------------------- */

#define LIMIT_SLOTS 64 /* kinds followed at once; a kind that lands on a taken slot summarises its tenant */

struct limit_slot {
	char kind[160];
	uint64_t start;           /* the window's start (ms); 0: the slot is free */
	unsigned long shown, held; /* messages at their level, and at LOG_INFO instead, in this window */
	int level;
};

static struct {
	pthread_mutex_t mu;
	struct limit_slot slot[LIMIT_SLOTS];
	void (*wake)(void *);
	void *wake_arg;
} R = { .mu = PTHREAD_MUTEX_INITIALIZER };

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + 1; /* never 0: 0 is a free slot */
}

void log_limit_set_wake(void (*fn)(void *), void *arg)
{
	pthread_mutex_lock(&R.mu);
	R.wake = fn;
	R.wake_arg = arg;
	pthread_mutex_unlock(&R.mu);
}

static unsigned kind_hash(const char *s)
{
	unsigned h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The summary of slot S's window, if it held anything back, into OUT (LEN bytes; "" when none); the slot
 * is freed. Under R.mu. */
static int slot_close(struct limit_slot *s, char *out, size_t len)
{
	int level = s->level;
	out[0] = '\0';
	if (s->held)
		snprintf(out, len, "%s: %lu more like this in the last %d s (debug = info logs each)", s->kind, s->held,
			 LOG_LIMIT_WINDOW_MS / 1000);
	s->start = 0;
	s->shown = s->held = 0;
	return level;
}

int log_limit_level_at(const char *kind, int level, uint64_t now)
{
	if (level >= LOG_INFO)
		return level;
	char summary[300];
	int sum_level = 0, woke = 0;
	void (*wake)(void *) = NULL;
	void *wake_arg = NULL;
	pthread_mutex_lock(&R.mu);
	struct limit_slot *s = &R.slot[kind_hash(kind) % LIMIT_SLOTS];
	summary[0] = '\0';
	if (s->start && (strncmp(s->kind, kind, sizeof(s->kind) - 1) != 0 || now - s->start >= LOG_LIMIT_WINDOW_MS))
		sum_level = slot_close(s, summary, sizeof(summary)); /* its window is over, or another kind needs the slot */
	if (!s->start) {
		snprintf(s->kind, sizeof(s->kind), "%s", kind);
		s->start = now;
		s->level = level;
	}
	int out = level;
	if (s->shown < LOG_LIMIT_BURST) {
		s->shown++;
	} else {
		out = LOG_INFO;
		if (s->held++ == 0 && R.wake) {
			woke = 1;
			wake = R.wake;
			wake_arg = R.wake_arg;
		}
	}
	pthread_mutex_unlock(&R.mu);
	if (summary[0])
		log_msg(sum_level, "%s", summary);
	if (woke)
		wake(wake_arg);
	return out;
}

int log_limit_level(const char *kind, int level)
{
	return level >= LOG_INFO ? level : log_limit_level_at(kind, level, mono_ms());
}

int log_limit_flush_at(uint64_t now, int force)
{
	int pending = 0;
	for (int i = 0; i < LIMIT_SLOTS; i++) {
		char summary[300] = "";
		int level = 0;
		pthread_mutex_lock(&R.mu);
		struct limit_slot *s = &R.slot[i];
		if (s->start && (force || now - s->start >= LOG_LIMIT_WINDOW_MS))
			level = slot_close(s, summary, sizeof(summary));
		else if (s->start && s->held)
			pending = 1;
		pthread_mutex_unlock(&R.mu);
		if (summary[0])
			log_msg(level, "%s", summary);
	}
	return pending;
}

int log_limit_flush(int force)
{
	return log_limit_flush_at(mono_ms(), force);
}
