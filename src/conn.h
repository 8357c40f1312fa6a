/* One connection's life: connect out, TLS handshake, relay with backpressure, orderly close. */
#ifndef TLSWRAP_CONN_H
#define TLSWRAP_CONN_H

#include <sys/socket.h>

struct service;
struct conn;
struct worker;

/* conn_accept: take over FD, just accepted on SV's listener by worker W from PEER, and start the connection
 * on W. With COUNTED the accept took places in the maxConnections (service_on_accept): they are given back
 * when the connection ends, and it counts against maxHandshakes until it relays (the oldest such
 * connection of W is pushed out when W has its share of maxHandshakes already). inetd mode counts nothing.
 * Never fails to the caller: a connection that cannot start is logged and closed here. */
void conn_accept(struct service *sv, struct worker *w, int fd, const struct sockaddr *peer, int counted);

/* conn_exec_connect: start SV's exec+connect connection (client mode, exec with connect and no accept) on W:
 * the program runs with the plaintext side of a TLS connection to SV's connect addresses. Never fails
 * to the caller: a failure is logged and ends the connection (control_exec_ended then runs). */
void conn_exec_connect(struct service *sv, struct worker *w);

/* conn_close_exec_links: close the exec+connect connections (tlswrap's own links, which no client ends), logging
 * each with REASON: a stop does not wait for them. */
void conn_close_exec_links(struct worker *w, const char *reason);

/* conn_close_all: close every live connection of W (at exit), logging each. */
void conn_close_all(struct worker *w, const char *reason);

/* conn_log_all: one line per live connection of W (SIGUSR2). */
void conn_log_all(struct worker *w);

#endif
