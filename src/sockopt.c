/* Socket options: stunnel's "socket" values parsed against one table, then applied with setsockopt. */
#include "sockopt.h"

#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "config.h"

_Static_assert(SOCKOPT_IFNAMSIZ == IFNAMSIZ, "SOCKOPT_IFNAMSIZ must match the kernel's IFNAMSIZ");

enum kind { K_FLAG, K_INT, K_LINGER, K_TIMEVAL, K_IFNAME };

/* Which sockets an option may be given for: bits of 'a', 'l' and 'r'. */
enum { W_A = 1, W_L = 2, W_R = 4, W_ALL = W_A | W_L | W_R };

struct sockopt_def {
	const char *name;
	int level, optname;
	enum kind kind;
	int where;
	int min, max;        /* K_INT: the range the kernel accepts */
	int v6optname;       /* on AF_INET6, also set this IPPROTO_IPV6 equivalent (0: none) ... */
	const char *v6name;  /* ... named so */
	int inet_only;       /* meaningless on AF_UNIX although a SOL_SOCKET option */
};

#define D(opt, lvl, k, w, ...) \
	[SOCKOPT_##opt] = { .name = #opt, .level = lvl, .optname = opt, .kind = k, .where = w, __VA_ARGS__ }

/* stunnel accepts each of its options for every socket; so does tlswrap, except where the option
 * cannot act: IPV6_V6ONLY decides which addresses a socket may bind, and Linux refuses to change it
 * once a socket is connected. SO_REUSEPORT and IP_TRANSPARENT (not in stunnel's table) only matter
 * for a listener, as tlswrap never binds its outgoing sockets. */
static const struct sockopt_def defs[SOCKOPT_COUNT] = {
	D(SO_DEBUG, SOL_SOCKET, K_FLAG, W_ALL),
	D(SO_DONTROUTE, SOL_SOCKET, K_FLAG, W_ALL),
	D(SO_KEEPALIVE, SOL_SOCKET, K_FLAG, W_ALL),
	D(SO_LINGER, SOL_SOCKET, K_LINGER, W_ALL),
	D(SO_OOBINLINE, SOL_SOCKET, K_FLAG, W_ALL),
	D(SO_RCVBUF, SOL_SOCKET, K_INT, W_ALL, .min = 0, .max = INT_MAX),
	D(SO_SNDBUF, SOL_SOCKET, K_INT, W_ALL, .min = 0, .max = INT_MAX),
	D(SO_RCVLOWAT, SOL_SOCKET, K_INT, W_ALL, .min = 0, .max = INT_MAX),
	D(SO_RCVTIMEO, SOL_SOCKET, K_TIMEVAL, W_ALL),
	D(SO_SNDTIMEO, SOL_SOCKET, K_TIMEVAL, W_ALL),
	D(SO_REUSEADDR, SOL_SOCKET, K_FLAG, W_ALL),
	/* Linux (6.x) refuses SO_REUSEPORT on Unix sockets: it balances TCP and UDP listeners only */
	D(SO_REUSEPORT, SOL_SOCKET, K_FLAG, W_A, .inet_only = 1),
	D(SO_BINDTODEVICE, SOL_SOCKET, K_IFNAME, W_ALL),
	/* up to the kernel's MAX_TCP_KEEPCNT, MAX_TCP_KEEPIDLE and MAX_TCP_KEEPINTVL */
	D(TCP_KEEPCNT, IPPROTO_TCP, K_INT, W_ALL, .min = 1, .max = 127),
	D(TCP_KEEPIDLE, IPPROTO_TCP, K_INT, W_ALL, .min = 1, .max = 32767),
	D(TCP_KEEPINTVL, IPPROTO_TCP, K_INT, W_ALL, .min = 1, .max = 32767),
	/* TCP_MIN_MSS to MAX_TCP_WINDOW; on 'a' it is announced in every SYN-ACK, on 'r' in the SYN */
	D(TCP_MAXSEG, IPPROTO_TCP, K_INT, W_ALL, .min = 88, .max = 32767),
	D(TCP_NODELAY, IPPROTO_TCP, K_FLAG, W_ALL),
	D(IP_TOS, IPPROTO_IP, K_INT, W_ALL, .min = 0, .max = 255, .v6optname = IPV6_TCLASS, .v6name = "IPV6_TCLASS"),
	D(IP_TTL, IPPROTO_IP, K_INT, W_ALL, .min = 1, .max = 255, .v6optname = IPV6_UNICAST_HOPS,
	  .v6name = "IPV6_UNICAST_HOPS"),
	/* Linux keeps one freebind and one transparent flag per socket, which IPv6 binds honour too */
	D(IP_FREEBIND, IPPROTO_IP, K_FLAG, W_ALL),
	D(IP_TRANSPARENT, IPPROTO_IP, K_FLAG, W_A),
	D(IPV6_V6ONLY, IPPROTO_IPV6, K_FLAG, W_A),
};

/* Names stunnel knows that tlswrap refuses on purpose, with the reason. */
static const struct {
	const char *name, *why;
} refused[] = {
	{ "SO_SNDLOWAT", "Linux does not let it be changed (setsockopt fails with ENOPROTOOPT)" },
	{ "IP_BINDANY", "it is a FreeBSD option; use IP_FREEBIND or IP_TRANSPARENT on Linux" },
	{ "IPV6_BINDANY", "it is a FreeBSD option; use IP_FREEBIND or IP_TRANSPARENT on Linux" },
	{ "SO_EXCLUSIVEADDRUSE", "it is a Windows option; Linux sockets never share an address without "
				 "SO_REUSEADDR or SO_REUSEPORT" },
};

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int where_bit(char where)
{
	switch (where) {
	case 'a':
		return W_A;
	case 'l':
		return W_L;
	case 'r':
		return W_R;
	}
	return 0;
}

/* The letters of MASK, "a" or "a/r", for messages. BUF holds at least 6 bytes. */
static const char *where_letters(int mask, char *buf)
{
	char *p = buf;
	for (int i = 0; i < 3; i++) {
		if (!(mask & (1 << i)))
			continue;
		if (p != buf)
			*p++ = '/';
		*p++ = "alr"[i];
	}
	*p = '\0';
	return buf;
}

/* A decimal integer MIN..MAX, nothing else (no sign, no spaces, no hex). 0 or -1. */
static int parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*end || errno || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* "A[:B]" as two integers in their ranges, B being 0 when absent (stunnel's rule). 0 or -1. */
static int parse_pair(char *s, long amax, long bmax, long *a, long *b)
{
	char *colon = strchr(s, ':');
	*b = 0;
	if (colon) {
		*colon = '\0';
		if (parse_int(colon + 1, 0, bmax, b) < 0)
			return -1;
	}
	return parse_int(s, 0, amax, a);
}

/* What Linux's dev_valid_name() accepts: 1 to 15 characters, no '/', ':' or white space, not "." or "..". */
static int ifname_valid(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len >= IFNAMSIZ || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s == ' ' || (*s >= '\t' && *s <= '\r'))
			return 0;
	return 1;
}

static int parse_value(const struct sockopt_def *d, char *arg, struct sockopt *out, char *err, size_t errlen)
{
	char shown[SOCKOPT_MAXLEN + 1];
	long a, b;
	snprintf(shown, sizeof(shown), "%s", arg); /* parse_pair splits ARG in place */
	switch (d->kind) {
	case K_FLAG:
		if (strchr(arg, ':'))
			return fail(err, errlen, "socket: %s takes one value, got '%s'", d->name, shown);
		if ((out->v.n = cfg_parse_bool(arg)) < 0)
			return fail(err, errlen, "socket: %s expects yes or no, got '%s'", d->name, shown);
		return 0;
	case K_INT:
		if (strchr(arg, ':'))
			return fail(err, errlen, "socket: %s takes one value, got '%s'", d->name, shown);
		if (parse_int(arg, d->min, d->max, &a) < 0)
			return fail(err, errlen, "socket: %s expects a number %d-%d, got '%s'", d->name, d->min, d->max,
				    shown);
		out->v.n = (int)a;
		return 0;
	case K_LINGER:
		if (strchr(arg, ':') != strrchr(arg, ':') || parse_pair(arg, 1, INT_MAX, &a, &b) < 0)
			return fail(err, errlen, "socket: %s needs l_onoff:l_linger (0 or 1, then seconds), got '%s'",
				    d->name, shown);
		out->v.linger.onoff = (int)a;
		out->v.linger.secs = (int)b;
		return 0;
	case K_TIMEVAL:
		if (strchr(arg, ':') != strrchr(arg, ':') || parse_pair(arg, INT_MAX, 999999, &a, &b) < 0)
			return fail(err, errlen, "socket: %s needs tv_sec:tv_usec (seconds, then 0-999999 "
						 "microseconds), got '%s'", d->name, shown);
		out->v.timeout.sec = a;
		out->v.timeout.usec = b;
		return 0;
	case K_IFNAME:
		if (!*arg)
			return fail(err, errlen, "socket: %s needs an interface name", d->name);
		if (strlen(arg) >= IFNAMSIZ)
			return fail(err, errlen, "socket: %s: interface name '%s' is longer than %d characters", d->name,
				    shown, IFNAMSIZ - 1);
		if (!ifname_valid(arg))
			return fail(err, errlen, "socket: %s: '%s' is not an interface name", d->name, shown);
		snprintf(out->v.ifname, sizeof(out->v.ifname), "%s", arg);
		return 0;
	}
	return fail(err, errlen, "socket: internal: %s has no value kind", d->name);
}

int sockopt_parse(const char *value, struct sockopt *out, char *err, size_t errlen)
{
	char buf[SOCKOPT_MAXLEN + 1], letters[8];
	size_t len = strlen(value);
	memset(out, 0, sizeof(*out));
	if (len == 0)
		return fail(err, errlen, "socket: empty value (expected a|l|r:OPTION=VALUE)");
	if (len > SOCKOPT_MAXLEN)
		return fail(err, errlen, "socket: value too long (%zu characters, at most %d)", len, SOCKOPT_MAXLEN);
	memcpy(buf, value, len + 1);
	if (!where_bit(buf[0]) || buf[1] != ':')
		return fail(err, errlen, "socket: expected a, l or r before ':', got '%s'", value);
	out->where = buf[0];
	char *name = buf + 2, *eq = strchr(name, '=');
	if (!eq)
		return fail(err, errlen, "socket: expected OPTION=VALUE after '%c:', got '%s'", out->where, name);
	*eq = '\0';
	if (!*name)
		return fail(err, errlen, "socket: missing option name before '=' in '%s'", value);
	const struct sockopt_def *d = NULL;
	for (int i = 0; i < SOCKOPT_COUNT && !d; i++)
		if (strcasecmp(defs[i].name, name) == 0) {
			d = &defs[i];
			out->id = (enum sockopt_id)i;
		}
	if (!d) {
		for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
			if (strcasecmp(refused[i].name, name) == 0)
				return fail(err, errlen, "socket: %s is not supported: %s", refused[i].name, refused[i].why);
		return fail(err, errlen, "socket: unknown option '%s'", name);
	}
	if (!(d->where & where_bit(out->where)))
		return fail(err, errlen, "socket: %s can only be set on %s, not '%c'", d->name,
			    where_letters(d->where, letters), out->where);
	return parse_value(d, eq + 1, out, err, errlen);
}

/* One setsockopt of O's value at LEVEL/OPTNAME. */
static int set_one(int fd, int level, int optname, const struct sockopt *o)
{
	switch (defs[o->id].kind) {
	case K_FLAG:
	case K_INT:
		return setsockopt(fd, level, optname, &o->v.n, sizeof(o->v.n));
	case K_LINGER: {
		struct linger l = { .l_onoff = o->v.linger.onoff, .l_linger = o->v.linger.secs };
		return setsockopt(fd, level, optname, &l, sizeof(l));
	}
	case K_TIMEVAL: {
		struct timeval tv = { .tv_sec = o->v.timeout.sec, .tv_usec = o->v.timeout.usec };
		return setsockopt(fd, level, optname, &tv, sizeof(tv));
	}
	case K_IFNAME:
		return setsockopt(fd, level, optname, o->v.ifname, (socklen_t)strlen(o->v.ifname) + 1);
	}
	errno = EINVAL;
	return -1;
}

int sockopt_apply(int fd, int family, char where, const struct sockopt *opts, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const struct sockopt *o = &opts[i];
		if (o->where != where)
			continue;
		if ((unsigned)o->id >= SOCKOPT_COUNT)
			return fail(err, errlen, "socket: internal: option number %d out of range", (int)o->id);
		const struct sockopt_def *d = &defs[o->id];
		/* a Unix socket has no TCP or IP layer to tune (exec's socketpair, for one): the user's
		 * options are meant for the TCP sockets of the same letter */
		if (family == AF_UNIX && (d->level != SOL_SOCKET || d->inet_only))
			continue;
		/* an IPv4 socket already takes IPv4 only; the option cannot apply to it */
		if (family == AF_INET && d->level == IPPROTO_IPV6)
			continue;
		/* An AF_INET6 socket carries IPv6 and, when not IPV6_V6ONLY, IPv4 as v4-mapped addresses
		 * (a bare-port accept takes IPv4 clients this way). The IPv6 equivalent governs IPv6
		 * packets; Linux also takes the IPPROTO_IP option on an AF_INET6 socket and uses it for
		 * the v4-mapped ones, so both are set and the option holds whichever the peer uses. */
		if (family == AF_INET6 && d->v6optname && set_one(fd, IPPROTO_IPV6, d->v6optname, o) < 0)
			return fail(err, errlen, "socket %s (%s): %s", d->name, d->v6name, strerror(errno));
		if (set_one(fd, d->level, d->optname, o) < 0)
			return fail(err, errlen, "socket %s: %s", d->name, strerror(errno));
	}
	return 0;
}

const struct sockopt *sockopt_find(const struct sockopt *opts, size_t n, char where, enum sockopt_id id)
{
	const struct sockopt *found = NULL;
	for (size_t i = 0; i < n; i++)
		if (opts[i].where == where && opts[i].id == id)
			found = &opts[i];
	return found;
}

const char *sockopt_name(enum sockopt_id id)
{
	return (unsigned)id < SOCKOPT_COUNT ? defs[id].name : "?";
}
