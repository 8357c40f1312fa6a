/* stunnel's socket = a|l|r:OPTION=VALUE[:VALUE]: parsed once into plain structs, applied to sockets.
 * 'a' is the accepting (listening) socket, 'l' the local one (accepted from the client), 'r' the
 * remote one (connected out by tlswrap). */
#ifndef TLSWRAP_SOCKOPT_H
#define TLSWRAP_SOCKOPT_H

#include <stddef.h>

/* The options tlswrap knows: stunnel's Linux set, plus SO_REUSEPORT, TCP_MAXSEG and IP_TRANSPARENT. */
enum sockopt_id {
	SOCKOPT_SO_DEBUG,
	SOCKOPT_SO_DONTROUTE,
	SOCKOPT_SO_KEEPALIVE,
	SOCKOPT_SO_LINGER,
	SOCKOPT_SO_OOBINLINE,
	SOCKOPT_SO_RCVBUF,
	SOCKOPT_SO_SNDBUF,
	SOCKOPT_SO_RCVLOWAT,
	SOCKOPT_SO_RCVTIMEO,
	SOCKOPT_SO_SNDTIMEO,
	SOCKOPT_SO_REUSEADDR,
	SOCKOPT_SO_REUSEPORT,
	SOCKOPT_SO_BINDTODEVICE,
	SOCKOPT_TCP_KEEPCNT,
	SOCKOPT_TCP_KEEPIDLE,
	SOCKOPT_TCP_KEEPINTVL,
	SOCKOPT_TCP_MAXSEG,
	SOCKOPT_TCP_NODELAY,
	SOCKOPT_IP_TOS,
	SOCKOPT_IP_TTL,
	SOCKOPT_IP_FREEBIND,
	SOCKOPT_IP_TRANSPARENT,
	SOCKOPT_IPV6_V6ONLY,
	SOCKOPT_COUNT
};

#define SOCKOPT_IFNAMSIZ 16 /* Linux's IFNAMSIZ: 15 characters and the NUL */
#define SOCKOPT_MAXLEN 128  /* longest "socket" value accepted, in characters */

/* One parsed "socket" value. */
struct sockopt {
	enum sockopt_id id;
	char where; /* 'a', 'l' or 'r' */
	union {
		int n;                              /* yes/no (0 or 1) and integers */
		struct { int onoff, secs; } linger; /* SO_LINGER */
		struct { long sec, usec; } timeout; /* SO_RCVTIMEO, SO_SNDTIMEO */
		char ifname[SOCKOPT_IFNAMSIZ];      /* SO_BINDTODEVICE, NUL-terminated */
	} v;
};

/* sockopt_parse: parse VALUE, one "socket" option's value such as "l:SO_LINGER=1:60", into OUT.
 * The letter is a lowercase a, l or r; option names are matched without regard to case. Values are
 * yes/no (also 1/0, true/false, on/off) for flags, a decimal integer in the option's range,
 * l_onoff[:l_linger] for SO_LINGER, tv_sec[:tv_usec] for SO_RCVTIMEO/SO_SNDTIMEO (a missing second
 * part is 0, as in stunnel) and an interface name for SO_BINDTODEVICE. An option is refused on a
 * socket where it cannot act (such as IPV6_V6ONLY anywhere but 'a'). Returns 0, or -1 with a reason
 * starting "socket: " (no file or line) in ERR; OUT is then unspecified. */
int sockopt_parse(const char *value, struct sockopt *out, char *err, size_t errlen);

/* sockopt_apply: set on FD, a socket of address family FAMILY (AF_INET, AF_INET6 or AF_UNIX), those
 * of the N options in OPTS whose where is WHERE ('a', 'l' or 'r'), in order, so a later value of an
 * option replaces an earlier one. Call it after tlswrap's own defaults (SO_REUSEADDR on 'a',
 * TCP_NODELAY on 'l' and 'r') so the user's values win, and for 'a' before bind(). On AF_UNIX the
 * TCP and IP options are skipped; on AF_INET IPV6_V6ONLY is. Returns 0, or -1 at the first option
 * the kernel refuses, with "socket OPTION: reason" in ERR; the options before it stay set. */
int sockopt_apply(int fd, int family, char where, const struct sockopt *opts, size_t n, char *err, size_t errlen);

/* sockopt_find: the option among the N in OPTS that sockopt_apply would leave in force for ID on
 * WHERE (the last one given), or NULL when none sets it. Lets a caller see whether the user overrode
 * one of tlswrap's defaults, e.g. sockopt_find(o, n, 'a', SOCKOPT_SO_REUSEADDR). */
const struct sockopt *sockopt_find(const struct sockopt *opts, size_t n, char where, enum sockopt_id id);

/* sockopt_name: the name of ID ("SO_KEEPALIVE"), or "?" when ID is out of range. */
const char *sockopt_name(enum sockopt_id id);

#endif
