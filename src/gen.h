/* A generation: one configuration's services, built whole beside the running one, swapped in whole
 * on reload, and freed when the last connection that started under it ends. */
#ifndef TLSWRAP_GEN_H
#define TLSWRAP_GEN_H

#include <stdatomic.h>
#include <stddef.h>

#include "config.h"

struct runtime;
struct service;

struct generation {
	struct cfg cfg;
	struct service *svc;
	size_t nsvc;
	atomic_ulong refs;       /* live connections that started under it, plus one while it is current */
	int retired;             /* replaced by a reload (the control thread's) */
	struct generation *next; /* the runtime's list of retired generations (the control thread's) */
};

/* gen_build: build every service of CFG (taken over: freed with the generation, or here on failure):
 * addresses resolved, certificates and keys loaded, SNI routes linked; nothing bound yet.
 * Returns the generation, or NULL with "file:line: reason" in ERR. */
struct generation *gen_build(struct runtime *rt, struct cfg *cfg, char *err, size_t errlen);

/* gen_listen: give G's services their listeners: those whose accept address OLD (may be NULL)
 * already listens on are carried over, so no connection is refused in between; the others are bound.
 * Services named as in OLD also take over its store of client certificates kept beside sessions.
 * All or nothing: on failure nothing of OLD has changed. Returns 0, or -1 with the reason in ERR. */
int gen_listen(struct generation *g, struct generation *old, char *err, size_t errlen);

/* gen_retire: G is replaced and no worker watches its listeners any more: close them; G is freed once its
 * last connection ends. Control thread. */
void gen_retire(struct runtime *rt, struct generation *g);

/* gen_hold: a connection starts under G (any thread). */
void gen_hold(struct generation *g);

/* gen_release: a connection of G ended (any thread): the last reference hands G to the control thread,
 * which frees it (gen_unused). */
void gen_release(struct runtime *rt, struct generation *g);

/* gen_unused: G's last reference is gone: take it off the retired list and free it. Control thread. */
void gen_unused(struct runtime *rt, struct generation *g);

/* gen_free: release G, its services and configuration. Its connections must be gone. */
void gen_free(struct generation *g);

/* gen_log_services: one start-up line per service. */
void gen_log_services(const struct generation *g);

#endif
