/* Socket activation: listening sockets inherited from systemd (LISTEN_FDS, LISTEN_FDNAMES). */
#ifndef TLSWRAP_ACTIVATION_H
#define TLSWRAP_ACTIVATION_H

#include <stddef.h>
#include <sys/socket.h>

struct service;

struct inherited {
	int fd; /* -1 once taken by a service */
	char name[64];
	struct sockaddr_storage addr;
	socklen_t len;
};

struct activation {
	struct inherited *v;
	size_t n;
};

/* activation_collect: the sockets passed to this process (LISTEN_PID is ours), from fd 3 on, with their
 * names and bound addresses; the variables are then removed from the environment. None passed: 0 with
 * A->n = 0. Returns 0, or -1 with the reason in ERR (a passed fd that is not a listening TCP socket). */
int activation_collect(struct activation *a, char *err, size_t errlen);

/* activation_take: the inherited socket for SV, matched by name (FileDescriptorName = the service's
 * section name) or else by its accept address, or -1. The socket becomes the caller's. */
int activation_take(struct activation *a, const struct service *sv);

/* activation_done: close the sockets no service took, logging each, and release A. */
void activation_done(struct activation *a);

#endif
