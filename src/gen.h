/* A generation: one configuration's services, built whole beside the running one, swapped in whole
 * on reload, and freed when the last connection that started under it ends. */
#ifndef TLSWRAP_GEN_H
#define TLSWRAP_GEN_H

#include <stddef.h>

#include "config.h"

struct runtime;
struct service;

struct generation {
	struct cfg cfg;
	struct service *svc;
	size_t nsvc;
	unsigned long refs;      /* live connections that started under it */
	int retired;             /* replaced by a reload */
	struct generation *next; /* the runtime's list of retired generations */
};

/* gen_build: build every service of CFG (taken over: freed with the generation, or here on failure):
 * addresses resolved, certificates and keys loaded, SNI routes linked; nothing bound yet.
 * Returns the generation, or NULL with "file:line: reason" in ERR. */
struct generation *gen_build(struct runtime *rt, struct cfg *cfg, char *err, size_t errlen);

/* gen_listen: give G's services their listeners: those whose accept address OLD (may be NULL)
 * already listens on are carried over, so no connection is refused in between; the others are bound.
 * All or nothing: on failure nothing of OLD has changed. Returns 0, or -1 with the reason in ERR. */
int gen_listen(struct generation *g, struct generation *old, char *err, size_t errlen);

/* gen_retire: G is replaced: close its remaining listeners; it is freed once its last connection ends. */
void gen_retire(struct runtime *rt, struct generation *g);

/* gen_release: a connection of G ended (frees a retired G with no connections left). */
void gen_release(struct runtime *rt, struct generation *g);

/* gen_free: release G, its services and configuration. Its connections must be gone. */
void gen_free(struct generation *g);

/* gen_start_exec: start G's exec+connect services (see conn_exec_connect), except those of which a
 * connection of the same name still runs (from before a reload: it goes on, and is restarted under G's
 * settings when it ends). */
void gen_start_exec(struct runtime *rt, struct generation *g);

/* gen_exec_ended: the exec+connect connection of the service NAME ended: with retry = yes in the current
 * configuration, its program is started again a second later (unless tlswrap is stopping). */
void gen_exec_ended(struct runtime *rt, const char *name);

/* gen_log_services: one start-up line per service. */
void gen_log_services(const struct generation *g);

#endif
