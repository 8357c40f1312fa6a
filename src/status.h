/* The status endpoint: a tiny HTTP/1.x server on the event loop that answers GET /metrics with the
 * services' counters in the Prometheus text format and GET /healthz with "ok" (503 "stopping" while
 * tlswrap drains its connections after SIGTERM). One request per
 * connection; the response is written and the connection closed. */
#ifndef TLSWRAP_STATUS_H
#define TLSWRAP_STATUS_H

#include <stddef.h>

#include "config.h"

struct runtime;
struct status_server;

/* status_open: listen on ADDR (host "" means 127.0.0.1; a host given is used as given) and serve
 * status requests on RT->loop, reading RT's current generation at each request. Other paths get 404,
 * other methods 405, malformed or oversized (4 KiB) requests 400; at most 64 clients are served at
 * once (more are closed on accept), each for at most 5 seconds. On success *OUT is the server and 0
 * is returned; on failure -1, with "status HOST:PORT: reason" in ERR and nothing left open. */
int status_open(struct status_server **out, struct runtime *rt, const struct cfg_addr *addr, char *err,
		size_t errlen);

/* status_close: stop listening, drop every client connection and free S. S may be NULL. */
void status_close(struct status_server *s);

/* status_render: the metrics of RT's current generation (none when RT->cur is NULL) in the
 * Prometheus text exposition format, into BUF of LEN bytes. Output that does not fit is cut at a line
 * boundary, so BUF always holds whole lines; when LEN > 0 it is NUL-terminated. Returns the number of
 * bytes written, not counting the NUL. */
size_t status_render(const struct runtime *rt, char *buf, size_t len);

/* status_route: the status code (200, 400, 404 or 405) for REQ, a complete request (NUL-terminated;
 * headers are ignored); for 200, *METRICS says whether /metrics (rather than /healthz) was asked for.
 * Cuts the request line up in place. Called by the server on each request; public for the fuzz target. */
int status_route(char *req, int *metrics);

#endif
