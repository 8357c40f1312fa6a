/* Generations of services: build beside, swap, retire, free when unused. */
#include "gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activation.h"
#include "control.h"
#include "log.h"
#include "service.h"

struct generation *gen_build(struct runtime *rt, struct cfg *cfg, char *err, size_t errlen)
{
	struct generation *g = calloc(1, sizeof(*g));
	if (!g || !(g->svc = calloc(cfg->nsvc ? cfg->nsvc : 1, sizeof(*g->svc)))) {
		snprintf(err, errlen, "out of memory");
		free(g);
		cfg_free(cfg);
		return NULL;
	}
	atomic_init(&g->refs, 1); /* the runtime's, while it is current */
	g->cfg = *cfg; /* the services point into g->cfg from here on */
	memset(cfg, 0, sizeof(*cfg));
	for (; g->nsvc < g->cfg.nsvc; g->nsvc++) {
		if (service_build(&g->svc[g->nsvc], rt, &g->cfg.svc[g->nsvc], &g->cfg.g, err, errlen) < 0)
			goto err0;
		g->svc[g->nsvc].gen = g;
	}
	for (size_t i = 0; i < g->nsvc; i++) {
		const struct cfg_service *s = g->svc[i].cfg;
		for (int k = 0; s->primary >= 0 && k < s->n_sni_pattern; k++)
			if (tls_svc_add_route(&g->svc[s->primary].tls, s->sni_pattern[k], &g->svc[i].tls, &g->svc[i]) < 0) {
				snprintf(err, errlen, "out of memory");
				goto err0;
			}
	}
	return g;
err0:
	gen_free(g);
	return NULL;
}

/* Has one of the first N new services already claimed listener OLD? (Two accepts for one address bind
 * only once: the second then fails with EADDRINUSE, as at start.) */
static int taken(struct service *const *from, size_t n, const struct service *old)
{
	for (size_t k = 0; k < n; k++)
		if (from[k] == old)
			return 1;
	return 0;
}

int gen_listen(struct generation *g, struct generation *old, char *err, size_t errlen)
{
	struct service **from = calloc(g->nsvc ? g->nsvc : 1, sizeof(*from));
	if (!from) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* first what can fail: binding the new addresses */
	for (size_t i = 0; i < g->nsvc; i++) {
		if (g->svc[i].cfg->primary >= 0 || !g->svc[i].cfg->has_accept) /* SNI secondaries, exec+connect */
			continue;
		for (size_t j = 0; old && j < old->nsvc && !from[i]; j++)
			if (service_listens_for(&old->svc[j], g->svc[i].cfg) && !taken(from, i, &old->svc[j]))
				from[i] = &old->svc[j];
		if (from[i])
			continue;
		struct activation *inh = g->svc[i].rt->inherited;
		int fd = inh ? activation_take(inh, &g->svc[i]) : -1;
		if (fd >= 0)
			service_listen_fd(&g->svc[i], fd);
		else if (service_listen(&g->svc[i], err, errlen) < 0)
			goto err0;
	}
	/* then what cannot: carrying the unchanged listeners over */
	for (size_t i = 0; i < g->nsvc; i++)
		if (from[i])
			service_adopt_listener(&g->svc[i], from[i]);
	/* ... and the client certificates kept beside sessions, by service name: sessions that survive the
	 * reload (ticketKeyFile) resume, judged by the new configuration; and the maxConnections count */
	for (size_t i = 0; old && i < g->nsvc; i++)
		for (size_t j = 0; j < old->nsvc; j++)
			if (strcmp(g->svc[i].cfg->name, old->svc[j].cfg->name) == 0) {
				tls_svc_share_idents(&g->svc[i].tls, &old->svc[j].tls);
				service_share_limit(&g->svc[i], &old->svc[j]); /* the old one's connections count on */
			}
	free(from);
	return 0;
err0:
	for (size_t i = 0; i < g->nsvc; i++)
		if (!from[i])
			service_stop_listening(&g->svc[i]);
	free(from);
	return -1;
}

void gen_hold(struct generation *g)
{
	atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
}

void gen_release(struct runtime *rt, struct generation *g)
{
	/* the last reference may be dropped on any thread: the generation is freed on the control thread */
	if (atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) == 1)
		control_gen_unused(rt, g);
}

void gen_retire(struct runtime *rt, struct generation *g)
{
	for (size_t i = 0; i < g->nsvc; i++)
		service_stop_listening(&g->svc[i]);
	g->retired = 1;
	g->next = rt->retired;
	rt->retired = g;
	gen_release(rt, g); /* the runtime's own reference */
}

void gen_unused(struct runtime *rt, struct generation *g)
{
	for (struct generation **p = &rt->retired; *p; p = &(*p)->next)
		if (*p == g) {
			*p = g->next;
			break;
		}
	gen_free(g);
}

void gen_free(struct generation *g)
{
	if (!g)
		return;
	while (g->nsvc > 0)
		service_free(&g->svc[--g->nsvc]);
	free(g->svc);
	cfg_free(&g->cfg);
	free(g);
}

void gen_log_services(const struct generation *g)
{
	for (size_t i = 0; i < g->nsvc; i++) {
		const struct cfg_service *s = g->svc[i].cfg;
		char acc[300], con[400], first[300];
		cfg_addr_str(&s->accept, acc, sizeof(acc));
		if (s->exec && !s->n_connect)
			snprintf(con, sizeof(con), "running %s", s->exec);
		else
			snprintf(con, sizeof(con), "connecting to %s%s%s", cfg_addr_str(&s->connect[0], first, sizeof(first)),
				 s->n_connect > 1 ? " (and more)" : "", g->svc[i].delayed ? " (looked up per connection)" : "");
		if (s->primary >= 0) {
			char names[1024] = "";
			for (int k = 0; k < s->n_sni_pattern; k++)
				snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", k ? " or " : "",
					 s->sni_pattern[k]);
			log_notice("[%s] server mode: clients of [%s] asking for %s, %s", s->name, g->svc[s->primary].cfg->name,
				   names, con);
		}
		else if (s->exec && s->n_connect)
			log_notice("[%s] client mode: running %s%s, %s", s->name, s->exec, s->retry ? " (again when it ends)" : "",
				   con);
		else
			log_notice("[%s] %s mode: accepting on %s, %s", s->name, s->client ? "client" : "server", acc, con);
	}
}
