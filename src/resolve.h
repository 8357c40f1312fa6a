/* Name lookups off the event loop (delay = yes): getaddrinfo runs on a small pool of threads, so it
 * sees the system's resolver exactly as every other program does (nsswitch.conf, /etc/hosts,
 * resolv.conf), and the loop hears of each answer through an eventfd. */
#ifndef TLSWRAP_RESOLVE_H
#define TLSWRAP_RESOLVE_H

#include <stddef.h>
#include <sys/socket.h>

struct loop;
struct resolver;
struct resolve_req;

/* One address of an answer. */
struct resolve_addr {
	struct sockaddr_storage sa;
	socklen_t len;
	int name; /* which of the request's names it came from (0-based) */
};

/* DONE(CTX, ADDRS, N, WHY): the answer, on the loop's thread. ADDRS (N entries, in the order of the
 * names, then of getaddrinfo) is the callee's to free(). WHY is the first name's error (N == 0: no name
 * resolved), or NULL when every name resolved. */
typedef void resolve_done_fn(void *ctx, struct resolve_addr *addrs, size_t n, const char *why);

/* resolve_new: a resolver delivering answers on LOOP. Threads start on the first request (a daemon
 * forks before that). NULL with errno set on failure. */
struct resolver *resolve_new(struct loop *loop);

/* resolve_free: stop the resolver. Requests still running are dropped (their callbacks never run);
 * threads finish the lookup they are in and exit. */
void resolve_free(struct resolver *r);

/* resolve_start: look up the N "host"/"port" pairs HOSTS[i]:PORTS[i] (copied) for a stream socket and
 * call DONE(CTX, ...) once all are done. Returns the request (for resolve_cancel), or NULL when out of
 * memory or the threads cannot start (DONE is then never called). */
struct resolve_req *resolve_start(struct resolver *r, const char *const *hosts, const char *const *ports, int n,
				  resolve_done_fn *done, void *ctx);

/* resolve_cancel: DONE will not be called for REQ (its owner is going away). */
void resolve_cancel(struct resolver *r, struct resolve_req *req);

#endif
