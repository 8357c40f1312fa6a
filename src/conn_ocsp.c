/* The OCSP hold of a connection: after the handshake and the verdict, nothing is relayed and no backend is
 * connected until the responder (or the cache) has given the status of the peer's certificate. */
#include <stdio.h>

#include "conn_int.h"
#include "worker.h"
#include "ocsp_client.h"

/* "serial 10:00", to name the certificate in the log line. */
static void serial_str(const mbedtls_x509_crt *crt, char *buf, size_t len)
{
	char s[96];
	if (mbedtls_x509_serial_gets(s, sizeof(s), &crt->serial) < 0)
		snprintf(s, sizeof(s), "?");
	snprintf(buf, len, "serial %s", s);
}

static void conn_ocsp_refuse(struct conn *c, const char *fmt, const char *serial, const char *what)
{
	tls_idents_drop(&c->peer);
	mbedtls_ssl_send_alert_message(&c->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL, MBEDTLS_SSL_ALERT_MSG_CERT_REVOKED);
	c->alerted = 1;
	conn_fail(c, FAIL_VERIFY, LOG_WARNING, fmt, serial, what);
}

static void conn_ocsp_decide(struct conn *c, const struct ocsp_verdict *v)
{
	const struct ocsp_svc *o = &c->route->ocsp;
	struct svc_worker *rw = conn_rw(c);
	char what[700], serial[110];
	const mbedtls_x509_crt *crt = tls_peer_cert(&c->ssl, &c->peer);
	serial_str(crt, serial, sizeof(serial));
	ocsp_verdict_str(v, what, sizeof(what));
	if (v->cached)
		svc_stat_add(rw, ocsp[OCSP_ANSWER_CACHED], 1);
	if (!v->answered) {
		svc_stat_add(rw, ocsp[OCSP_ANSWER_NONE], 1);
		if (o->require) {
			conn_ocsp_refuse(c, "peer refused: OCSP: certificate %s: %s (OCSPrequire = yes)", serial, what);
			return;
		}
		conn_log(c, LOG_NOTICE, "[%s] #%lu OCSP: certificate %s: %s; let in (OCSPrequire = no)", c->sv->cfg->name,
			 c->id, serial, what);
	} else if (v->ans.status == OCSP_REVOKED) {
		svc_stat_add(rw, ocsp[OCSP_ANSWER_REVOKED], 1);
		conn_ocsp_refuse(c, "peer refused: OCSP: certificate %s %s", serial, what);
		return;
	} else if (v->ans.status == OCSP_UNKNOWN) {
		svc_stat_add(rw, ocsp[OCSP_ANSWER_UNKNOWN], 1);
		if (o->require) {
			conn_ocsp_refuse(c, "peer refused: OCSP: certificate %s %s to the responder (OCSPrequire = yes)",
					 serial, what);
			return;
		}
		conn_log(c, LOG_NOTICE, "[%s] #%lu OCSP: certificate %s %s to the responder; let in (OCSPrequire = no)",
			 c->sv->cfg->name, c->id, serial, what);
	} else {
		svc_stat_add(rw, ocsp[OCSP_ANSWER_GOOD], 1);
		conn_log(c, LOG_INFO, "[%s] #%lu OCSP: certificate %s %s", c->sv->cfg->name, c->id, serial, what);
	}
	conn_verified(c);
}

static void conn_ocsp_done(void *ctx, const struct ocsp_verdict *v)
{
	struct conn *c = ctx;
	c->ocsp = NULL;
	conn_ocsp_decide(c, v);
}

void conn_ocsp_check(struct conn *c)
{
	const mbedtls_x509_crt *crt = tls_peer_cert(&c->ssl, &c->peer);
	if (!crt) { /* no certificate (requireCert = no), or a resumed TLS 1.3 client session: its full
		     * handshake was checked before the session was kept */
		conn_verified(c);
		return;
	}
	const struct tls_svc *t = &c->route->tls;
	const mbedtls_x509_crt *issuer = ocsp_find_issuer(crt, t->has_ca ? &t->ca : NULL);
	struct ocsp_verdict v;
	c->state = C_OCSP;
	loop_io_set(conn_loop(c), &c->tls_io, 0);
	if (ocsp_query_start(&c->route->ocsp, conn_loop(c), c->w->resolver, crt, issuer, conn_ocsp_done, c, &c->ocsp, &v) == 1)
		conn_ocsp_decide(c, &v);
}
