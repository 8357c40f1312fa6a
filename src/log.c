/* Logging destinations. The only state is the destination, set once at start (and on re-open). */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct {
	int level;
	FILE *file; /* NULL: stderr */
	int use_syslog;
	int to_stream; /* write to file/stderr as well as (or instead of) syslog */
} L = { LOG_NOTICE, NULL, 0, 1 };

static const char *const level_names[] = { "EMERG", "ALERT", "CRIT", "ERROR", "WARN", "NOTICE", "INFO", "DEBUG" };

int log_open(int level, const char *file, int use_syslog)
{
	FILE *f = NULL;
	if (file) {
		f = fopen(file, "ae");
		if (!f)
			return -1;
		setvbuf(f, NULL, _IOLBF, 0);
	}
	if (L.file)
		fclose(L.file);
	L.file = f;
	L.level = level;
	if (use_syslog && !L.use_syslog)
		openlog("tlswrap", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	L.use_syslog = use_syslog;
	/* with syslog only, stderr is not written (it is /dev/null once daemonized) */
	L.to_stream = file != NULL || !use_syslog;
	return 0;
}

int log_level(void)
{
	return L.level;
}

void log_msg(int level, const char *fmt, ...)
{
	if (level > L.level)
		return;
	int saved = errno;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (L.use_syslog)
		syslog(LOG_DAEMON | level, "%s", msg);
	if (L.to_stream) {
		/* the formatted time is cached: it changes once a second */
		static time_t last;
		static char stamp[32];
		struct timeval tv;
		gettimeofday(&tv, NULL);
		if (tv.tv_sec != last) {
			struct tm tm;
			gmtime_r(&tv.tv_sec, &tm);
			strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
			last = tv.tv_sec;
		}
		fprintf(L.file ? L.file : stderr, "%s.%03dZ %s %s\n", stamp, (int)(tv.tv_usec / 1000),
			level_names[level & 7], msg);
	}
	errno = saved;
}
