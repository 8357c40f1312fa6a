/* Unit tests for src/status.c: the metrics text (status_render) and the HTTP exchange on a real loop. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gen.h"
#include "loop.h"
#include "service.h"
#include "status.h"

/* A runtime of 2 workers with up to 3 hand-built services: zeroed, so no certificate unless a test sets one.
 * Each service's counters are kept per worker (SW) and summed when rendered. */
static struct runtime RT;
static struct worker W[2];
static struct svc_worker SW[3][2];
static struct generation G;
static struct service SV[3];
static struct cfg_service CS[3];
static struct conn_limit LIM[3];
static char buf[65536];

static void setup(void)
{
	memset(&RT, 0, sizeof(RT));
	memset(&G, 0, sizeof(G));
	memset(SV, 0, sizeof(SV));
	memset(CS, 0, sizeof(CS));
	memset(W, 0, sizeof(W));
	memset(SW, 0, sizeof(SW));
	for (int i = 0; i < 3; i++) {
		SV[i].cfg = &CS[i];
		SV[i].w = SW[i];
		SV[i].nw = 2;
		limit_init(&LIM[i], "", 0);
		SV[i].lim = &LIM[i];
	}
	limit_init(&RT.total, "", 0);
	RT.workers = W;
	RT.nworkers = 2;
	G.svc = SV;
	RT.cur = &G;
}

static void add_service(const char *name)
{
	snprintf(CS[G.nsvc].name, sizeof(CS[0].name), "%s", name);
	G.nsvc++;
}

static const char ONE_SERVICE[] =
	"# HELP tlswrap_connections_open Connections now open.\n"
	"# TYPE tlswrap_connections_open gauge\n"
	"tlswrap_connections_open{service=\"web\"} 2\n"
	"# HELP tlswrap_connections_total Connections accepted.\n"
	"# TYPE tlswrap_connections_total counter\n"
	"tlswrap_connections_total{service=\"web\"} 7\n"
	"# HELP tlswrap_handshake_failures_total Connections that failed before relaying, by reason.\n"
	"# TYPE tlswrap_handshake_failures_total counter\n"
	"tlswrap_handshake_failures_total{service=\"web\",reason=\"handshake\"} 1\n"
	"tlswrap_handshake_failures_total{service=\"web\",reason=\"verify\"} 2\n"
	"tlswrap_handshake_failures_total{service=\"web\",reason=\"timeout\"} 3\n"
	"tlswrap_handshake_failures_total{service=\"web\",reason=\"connect\"} 4\n"
	"tlswrap_handshake_failures_total{service=\"web\",reason=\"pushed_out\"} 5\n"
	"# HELP tlswrap_bytes_total Bytes relayed by connections that have closed, by direction.\n"
	"# TYPE tlswrap_bytes_total counter\n"
	"tlswrap_bytes_total{service=\"web\",direction=\"to_tls\"} 100\n"
	"tlswrap_bytes_total{service=\"web\",direction=\"to_plain\"} 18446744073709551615\n"
	"# HELP tlswrap_sessions_resumed_total TLS handshakes that resumed a session.\n"
	"# TYPE tlswrap_sessions_resumed_total counter\n"
	"tlswrap_sessions_resumed_total{service=\"web\"} 3\n"
	"# HELP tlswrap_ocsp_answers_total OCSP checks of peer certificates, by answer (none: no answer could be had).\n"
	"# TYPE tlswrap_ocsp_answers_total counter\n"
	"tlswrap_ocsp_answers_total{service=\"web\",status=\"good\"} 5\n"
	"tlswrap_ocsp_answers_total{service=\"web\",status=\"revoked\"} 1\n"
	"tlswrap_ocsp_answers_total{service=\"web\",status=\"unknown\"} 0\n"
	"tlswrap_ocsp_answers_total{service=\"web\",status=\"none\"} 2\n"
	"# HELP tlswrap_ocsp_cache_hits_total OCSP answers taken from the cache rather than the responder.\n"
	"# TYPE tlswrap_ocsp_cache_hits_total counter\n"
	"tlswrap_ocsp_cache_hits_total{service=\"web\"} 4\n"
	"# HELP tlswrap_certificate_not_after_seconds When the service's own certificate expires, in Unix time.\n"
	"# TYPE tlswrap_certificate_not_after_seconds gauge\n"
	"# HELP tlswrap_crl_next_update_seconds When each CRL of the service (CRLfile, CRLpath) is due to be replaced "
	"(its nextUpdate), in Unix time.\n"
	"# TYPE tlswrap_crl_next_update_seconds gauge\n"
	"# HELP tlswrap_max_connections The service's maxConnections (0: no limit).\n"
	"# TYPE tlswrap_max_connections gauge\n"
	"tlswrap_max_connections{service=\"web\"} 10\n"
	"# HELP tlswrap_limited_connections Connections counted against the service's maxConnections, those of "
	"replaced configurations included.\n"
	"# TYPE tlswrap_limited_connections gauge\n"
	"tlswrap_limited_connections{service=\"web\"} 4\n"
	"# HELP tlswrap_max_connections_reached_seconds_total Time the service has spent at its maxConnections, not "
	"accepting.\n"
	"# TYPE tlswrap_max_connections_reached_seconds_total counter\n"
	"tlswrap_max_connections_reached_seconds_total{service=\"web\"} 2.500\n"
	"# HELP tlswrap_max_connections_all The global maxConnections (0: no limit).\n"
	"# TYPE tlswrap_max_connections_all gauge\n"
	"tlswrap_max_connections_all 20\n"
	"# HELP tlswrap_limited_connections_all Connections counted against the global maxConnections.\n"
	"# TYPE tlswrap_limited_connections_all gauge\n"
	"tlswrap_limited_connections_all 5\n"
	"# HELP tlswrap_max_connections_all_reached_seconds_total Time spent at the global maxConnections, no service "
	"accepting.\n"
	"# TYPE tlswrap_max_connections_all_reached_seconds_total counter\n"
	"tlswrap_max_connections_all_reached_seconds_total 0.000\n"
	"# HELP tlswrap_max_handshakes maxHandshakes: connections not yet relaying, over all workers (0: no limit).\n"
	"# TYPE tlswrap_max_handshakes gauge\n"
	"tlswrap_max_handshakes 1000\n"
	"# HELP tlswrap_handshakes_pending Accepted connections not relaying yet (handshake, negotiation).\n"
	"# TYPE tlswrap_handshakes_pending gauge\n"
	"tlswrap_handshakes_pending 3\n"
	"# HELP tlswrap_connections_open_all Connections now open, including those of configurations replaced by a "
	"reload.\n"
	"# TYPE tlswrap_connections_open_all gauge\n"
	"tlswrap_connections_open_all 5\n"
	"# HELP tlswrap_worker_connections_open Connections now open on each worker thread.\n"
	"# TYPE tlswrap_worker_connections_open gauge\n"
	"tlswrap_worker_connections_open{worker=\"0\"} 3\n"
	"tlswrap_worker_connections_open{worker=\"1\"} 2\n";

static void fill_web(void)
{
	add_service("web");
	/* the two workers' halves add up to the figures in ONE_SERVICE */
	struct svc_stats *a = &SW[0][0].stats, *b = &SW[0][1].stats;
	a->open = 1; b->open = 1;
	a->total = 4; b->total = 3;
	a->resumed = 1; b->resumed = 2;
	a->bytes_to_tls = 60; b->bytes_to_tls = 40;
	a->bytes_to_plain = 18446744073709551610ULL; b->bytes_to_plain = 5;
	a->failures[0] = 1; a->failures[1] = 0; a->failures[2] = 3; a->failures[3] = 1;
	b->failures[0] = 0; b->failures[1] = 2; b->failures[2] = 0; b->failures[3] = 3;
	a->failures[FAIL_PUSHED_OUT] = 5;
	/* maxConnections: 4 of 10 (an old generation's among them), 2.5 s spent full; the global one 5 of 20 */
	LIM[0].max = 10;
	LIM[0].count = 4;
	LIM[0].full_ms = 2500;
	RT.total.max = 20;
	RT.total.count = 5;
	G.cfg.g.max_handshakes = 1000;
	RT.pending = 3;
	a->ocsp[OCSP_ANSWER_GOOD] = 2; b->ocsp[OCSP_ANSWER_GOOD] = 3;
	a->ocsp[OCSP_ANSWER_REVOKED] = 1;
	b->ocsp[OCSP_ANSWER_NONE] = 2;
	a->ocsp[OCSP_ANSWER_CACHED] = 4;
	W[0].open = 3;
	W[1].open = 2;
}

START_TEST(render_one_service)
{
	fill_web();
	size_t n = status_render(&RT, buf, sizeof(buf));
	ck_assert_str_eq(buf, ONE_SERVICE);
	ck_assert_uint_eq(n, strlen(ONE_SERVICE));
}
END_TEST

START_TEST(render_families_stay_together)
{
	add_service("a");
	add_service("b");
	SW[1][1].stats.failures[FAIL_VERIFY] = 9;
	status_render(&RT, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "tlswrap_connections_total{service=\"a\"} 0\n"
					  "tlswrap_connections_total{service=\"b\"} 0\n# HELP"));
	ck_assert_ptr_nonnull(strstr(buf, "tlswrap_handshake_failures_total{service=\"b\",reason=\"handshake\"} 0\n"
					  "tlswrap_handshake_failures_total{service=\"a\",reason=\"verify\"} 0\n"
					  "tlswrap_handshake_failures_total{service=\"b\",reason=\"verify\"} 9\n"));
	/* each family's HELP and TYPE appear once */
	ck_assert_ptr_null(strstr(strstr(buf, "# TYPE tlswrap_bytes_total") + 1, "# TYPE tlswrap_bytes_total"));
}
END_TEST

START_TEST(render_escapes_labels)
{
	add_service("a\"b\\c\nd");
	status_render(&RT, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "\ntlswrap_connections_open{service=\"a\\\"b\\\\c\\nd\"} 0\n"));
}
END_TEST

START_TEST(render_escapes_longest_name)
{
	char name[64];
	memset(name, '"', 63);
	name[63] = '\0';
	add_service(name);
	status_render(&RT, buf, sizeof(buf));
	char want[200] = "\ntlswrap_sessions_resumed_total{service=\"";
	for (int i = 0; i < 63; i++)
		strcat(want, "\\\"");
	strcat(want, "\"} 0\n");
	ck_assert_ptr_nonnull(strstr(buf, want));
}
END_TEST

START_TEST(render_certificate_expiry)
{
	add_service("plain");
	add_service("cert");
	SV[1].tls.own_cert.version = 3;
	SV[1].tls.own_cert.valid_to = (mbedtls_x509_time){ .year = 2030, .mon = 1, .day = 2, .hour = 3, .min = 4,
							    .sec = 5 };
	status_render(&RT, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "# TYPE tlswrap_certificate_not_after_seconds gauge\n"
					  "tlswrap_certificate_not_after_seconds{service=\"cert\"} 1893553445\n# HELP"));
	ck_assert_ptr_null(strstr(buf, "not_after_seconds{service=\"plain\"}"));
}
END_TEST

/* each CRL's nextUpdate, labelled with its issuer and file (escaped); one without nextUpdate has no sample */
START_TEST(render_crl_next_update)
{
	static mbedtls_x509_crl crl[2];
	static struct tls_crl_src src[2] = { { &crl[0], "/etc/tlswrap/a\"b.crl" }, { &crl[1], "/etc/tlswrap/none.crl" } };
	add_service("crls");
	crl[0].next_update = (mbedtls_x509_time){ .year = 2030, .mon = 1, .day = 2, .hour = 3, .min = 4, .sec = 5 };
	SV[0].tls.crl_src = src;
	SV[0].tls.ncrl_src = 2;
	status_render(&RT, buf, sizeof(buf));
	SV[0].tls.crl_src = NULL;
	SV[0].tls.ncrl_src = 0;
	ck_assert_ptr_nonnull(strstr(buf, "# TYPE tlswrap_crl_next_update_seconds gauge\n"
					  "tlswrap_crl_next_update_seconds{service=\"crls\",issuer=\"\",file=\"/etc/tlswrap/a\\\"b.crl\"} "
					  "1893553445\n# HELP"));
	ck_assert_ptr_null(strstr(buf, "none.crl"));
}
END_TEST

START_TEST(render_without_generation)
{
	RT.cur = NULL;
	W[1].open = 1;
	status_render(&RT, buf, sizeof(buf));
	ck_assert_ptr_null(strstr(buf, "{service="));
	ck_assert_ptr_nonnull(strstr(buf, "# TYPE tlswrap_connections_open gauge\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\ntlswrap_connections_open_all 1\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\ntlswrap_worker_connections_open{worker=\"1\"} 1\n"));
}
END_TEST

/* Every buffer size: nothing written past LEN, NUL-terminated, and a prefix of whole lines. */
START_TEST(render_truncates_safely)
{
	fill_web();
	size_t full = strlen(ONE_SERVICE);
	for (size_t len = 0; len <= full + 2; len++) {
		char *b = malloc(len + 16);
		memset(b, 'X', len + 16);
		size_t n = status_render(&RT, b, len);
		for (size_t i = len; i < len + 16; i++)
			ck_assert_msg(b[i] == 'X', "len %zu: byte %zu overwritten", len, i);
		if (len == 0) {
			ck_assert_uint_eq(n, 0);
		} else {
			ck_assert_uint_lt(n, len);
			ck_assert_uint_eq(strlen(b), n);
			ck_assert(memcmp(b, ONE_SERVICE, n) == 0);
			ck_assert(n == 0 || b[n - 1] == '\n');
		}
		ck_assert_uint_eq(n, len > full ? full : n);
		free(b);
	}
}
END_TEST

/* ---- the HTTP side, on a real loop ---- */

static struct loop_timer stop_timer;

static void stop_loop(void *ctx)
{
	loop_stop(ctx);
}

/* Run the loop for MS milliseconds. */
static void run_for(uint64_t ms)
{
	loop_timer_arm(RT.loop, &stop_timer, loop_tq_get(RT.loop, ms), stop_loop, RT.loop);
	ck_assert_int_eq(loop_run(RT.loop), 0);
}

static struct status_server *S;
static struct cfg_addr A;

static void http_setup(void)
{
	char err[256];
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(in);
	int probe = socket(AF_INET, SOCK_STREAM, 0);

	setup();
	fill_web();
	/* a port free a moment ago */
	ck_assert_int_eq(bind(probe, (struct sockaddr *)&in, sizeof(in)), 0);
	ck_assert_int_eq(getsockname(probe, (struct sockaddr *)&in, &sl), 0);
	close(probe);
	snprintf(A.port, sizeof(A.port), "%u", ntohs(in.sin_port));
	ck_assert_ptr_nonnull(RT.loop = loop_new());
	ck_assert_msg(status_open(&S, &RT, &A, err, sizeof(err)) == 0, "%s", err);
}

static void http_teardown(void)
{
	status_close(S);
	S = NULL;
	loop_free(RT.loop);
}

static int client_connect(void)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				  .sin_port = htons((uint16_t)atoi(A.port)) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&in, sizeof(in)), 0);
	return fd;
}

static void send_str(int fd, const char *s)
{
	ck_assert_int_eq(send(fd, s, strlen(s), 0), (ssize_t)strlen(s));
}

/* Send the LEN bytes of REQ, let the server answer, and return the whole response (until it closes)
 * from buf. */
static const char *exchange_n(const char *req, size_t len)
{
	int fd = client_connect();
	size_t got = 0;
	ssize_t n;
	ck_assert_int_eq(send(fd, req, len, 0), (ssize_t)len);
	run_for(50);
	while ((n = recv(fd, buf + got, sizeof(buf) - 1 - got, MSG_DONTWAIT)) > 0)
		got += (size_t)n;
	ck_assert_int_eq(n, 0); /* the server closed after answering */
	buf[got] = '\0';
	close(fd);
	return buf;
}

static const char *exchange(const char *req)
{
	return exchange_n(req, strlen(req));
}

START_TEST(http_metrics)
{
	char want[8192];
	snprintf(want, sizeof(want),
		 "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n%s",
		 strlen(ONE_SERVICE), ONE_SERVICE);
	ck_assert_str_eq(exchange("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"), want);
	ck_assert_str_eq(exchange("GET /metrics?x=1 HTTP/1.0\n\n"), want);
}
END_TEST

START_TEST(http_errors)
{
	ck_assert_str_eq(exchange("GET /healthz HTTP/1.0\r\n\r\n"),
			 "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: 3\r\n"
			 "Connection: close\r\n\r\nok\n");
	ck_assert_str_eq(exchange("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
			 "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; version=0.0.4\r\n"
			 "Content-Length: 19\r\nAllow: GET\r\nConnection: close\r\n\r\nmethod not allowed\n");
	ck_assert_ptr_nonnull(strstr(exchange("GET /nope HTTP/1.1\r\n\r\n"), "HTTP/1.1 404 Not Found\r\n"));
	ck_assert_ptr_nonnull(strstr(exchange("GET /metrics/ HTTP/1.1\r\n\r\n"), "HTTP/1.1 404 "));
	ck_assert_ptr_nonnull(strstr(exchange("hello\r\n\r\n"), "HTTP/1.1 400 Bad Request\r\n"));
	ck_assert_ptr_nonnull(strstr(exchange("GET /metrics HTTP/2\r\n\r\n"), "HTTP/1.1 400 "));
	ck_assert_ptr_nonnull(strstr(exchange("GET  /metrics HTTP/1.1\r\n\r\n"), "HTTP/1.1 400 "));
	ck_assert_ptr_nonnull(strstr(exchange("get /metrics HTTP/1.1\r\n\r\n"), "HTTP/1.1 400 "));
	ck_assert_ptr_nonnull(strstr(exchange_n("GET /metrics\0 HTTP/1.1\r\n\r\n", 26), "HTTP/1.1 400 "));
}
END_TEST

/* A response larger than the socket buffers can take (tcp_wmem's usual maximum is 4 MiB) goes out in
 * pieces as the client reads. */
START_TEST(http_large_metrics)
{
	const size_t nsvc = 5000, cap = 16 << 20; /* over 8 MiB of text (about 1.7 KiB a service) */
	struct service *many = calloc(nsvc, sizeof(*many));
	struct cfg_service *cfgs = calloc(nsvc, sizeof(*cfgs));
	struct svc_worker *sw = calloc(nsvc, sizeof(*sw)); /* one worker's counters each */
	char *want = malloc(cap), *got = malloc(cap), hdr[128];
	for (size_t i = 0; i < nsvc; i++) {
		snprintf(cfgs[i].name, sizeof(cfgs[i].name), "%055zu-service", i);
		many[i].cfg = &cfgs[i];
		many[i].w = &sw[i];
		many[i].nw = 1;
		many[i].lim = &LIM[0];
		sw[i].stats.total = i;
	}
	G.svc = many;
	G.nsvc = nsvc;
	size_t wlen = status_render(&RT, want, cap), n = 0;
	ck_assert_uint_gt(wlen, 8 << 20);

	int fd = socket(AF_INET, SOCK_STREAM, 0), small = 16384;
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				  .sin_port = htons((uint16_t)atoi(A.port)) };
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&in, sizeof(in)), 0);
	send_str(fd, "GET /metrics HTTP/1.1\r\n\r\n");
	ssize_t r = -1;
	for (int round = 0; round < 400 && r != 0; round++) {
		run_for(5);
		while ((r = recv(fd, got + n, cap - 1 - n, MSG_DONTWAIT)) > 0)
			n += (size_t)r;
	}
	ck_assert_int_eq(r, 0);
	got[n] = '\0';
	close(fd);
	snprintf(hdr, sizeof(hdr), "Content-Length: %zu\r\n", wlen);
	ck_assert_ptr_nonnull(strstr(got, hdr));
	char *body = strstr(got, "\r\n\r\n") + 4;
	ck_assert_uint_eq(n - (size_t)(body - got), wlen);
	ck_assert(memcmp(body, want, wlen) == 0);
	free(many);
	free(cfgs);
	free(sw);
	free(want);
	free(got);
}
END_TEST

START_TEST(http_oversized)
{
	char big[5000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
	ck_assert_ptr_nonnull(strstr(exchange(big), "HTTP/1.1 400 "));
}
END_TEST

/* A client that never finishes its request is dropped after 5 s; one left open is freed by
 * status_close (the leak checker of a sanitizer build sees the rest). */
START_TEST(http_stalled)
{
	int fd = client_connect(), idle = client_connect();
	send_str(fd, "GET /metrics HTTP/1.1\r\n");
	run_for(5300);
	char c;
	ck_assert_int_eq(recv(fd, &c, 1, MSG_DONTWAIT), 0);
	close(fd);
	int late = client_connect();
	run_for(50);
	ck_assert_int_eq(recv(late, &c, 1, MSG_DONTWAIT), -1); /* still waiting for its request */
	close(late);
	close(idle);
}
END_TEST

/* With all 64 slots taken, a new client pushes out the oldest, so stalled clients cannot keep a
 * scraper out. */
START_TEST(http_client_limit)
{
	int fds[66];
	char c;
	for (int i = 0; i < 65; i++)
		fds[i] = client_connect();
	run_for(50);
	ck_assert_int_eq(recv(fds[0], &c, 1, MSG_DONTWAIT), 0); /* the oldest was closed */
	ck_assert_int_eq(recv(fds[1], &c, 1, MSG_DONTWAIT), -1);
	ck_assert_int_eq(recv(fds[64], &c, 1, MSG_DONTWAIT), -1); /* the 65th waits for its request */
	send_str(fds[64], "GET /healthz HTTP/1.1\r\n\r\n");
	fds[65] = client_connect(); /* pushes out fds[1], not the one being answered */
	run_for(50);
	ck_assert_int_eq(recv(fds[1], &c, 1, MSG_DONTWAIT), 0);
	char resp[512];
	ssize_t n = recv(fds[64], resp, sizeof(resp) - 1, MSG_DONTWAIT);
	ck_assert_int_gt(n, 0);
	resp[n] = '\0';
	ck_assert_ptr_nonnull(strstr(resp, "200 OK"));
	for (int i = 65; i >= 0; i--)
		close(fds[i]);
	run_for(50);
	ck_assert_ptr_nonnull(strstr(exchange("GET /healthz HTTP/1.1\r\n\r\n"), "200 OK"));
}
END_TEST

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Out of descriptors, accepting pauses (rather than spinning on the readable listener) and resumes. */
START_TEST(http_out_of_descriptors)
{
	struct rlimit rl, low;
	int fd = client_connect(), fillers[64], nfill = 0;
	char resp[256];
	send_str(fd, "GET /healthz HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	low = rl;
	low.rlim_cur = (rlim_t)fd + 1;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (nfill < 64 && (fillers[nfill] = dup(0)) >= 0) /* any lower descriptors left free */
		nfill++;
	double before = cpu_seconds();
	run_for(300);
	ck_assert_msg(cpu_seconds() - before < 0.1, "spun for %.3f s", cpu_seconds() - before);
	ck_assert_int_eq(recv(fd, resp, sizeof(resp), MSG_DONTWAIT), -1);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	while (nfill > 0)
		close(fillers[--nfill]);
	run_for(1100);
	ssize_t n = recv(fd, resp, sizeof(resp) - 1, MSG_DONTWAIT);
	ck_assert_int_gt(n, 0);
	resp[n] = '\0';
	ck_assert_ptr_nonnull(strstr(resp, "200 OK"));
	close(fd);
}
END_TEST

START_TEST(http_open_errors)
{
	char err[256];
	struct status_server *s2 = NULL;
	ck_assert_int_eq(status_open(&s2, &RT, &A, err, sizeof(err)), -1);
	ck_assert_msg(strncmp(err, "status 127.0.0.1:", 17) == 0, "%s", err);
	ck_assert_ptr_nonnull(strstr(err, ": Address already in use"));
	struct cfg_addr bad = { .host = "no.such.host.invalid", .port = "1" };
	ck_assert_int_eq(status_open(&s2, &RT, &bad, err, sizeof(err)), -1);
	ck_assert_msg(strncmp(err, "status no.such.host.invalid:1: ", 31) == 0, "%s", err);
	struct cfg_addr v6 = { .host = "::1", .port = "" };
	snprintf(v6.port, sizeof(v6.port), "%s", A.port);
	if (status_open(&s2, &RT, &v6, err, sizeof(err)) == 0)
		status_close(s2);
	else
		ck_assert_msg(strncmp(err, "status [::1]:", 13) == 0, "%s", err);
	status_close(NULL);
}
END_TEST

/* status_route on its own, as the server calls it with each complete request */
static int route(const char *text, int *metrics)
{
	char req[256];
	snprintf(req, sizeof(req), "%s", text);
	*metrics = -1;
	return status_route(req, metrics);
}

START_TEST(route_requests)
{
	int m;
	ck_assert_int_eq(route("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &m), 200);
	ck_assert_int_eq(m, 1);
	ck_assert_int_eq(route("GET /healthz?probe=1 HTTP/1.0\n\n", &m), 200);
	ck_assert_int_eq(m, 0);
	ck_assert_int_eq(route("GET / HTTP/1.1\r\n\r\n", &m), 404);
	ck_assert_int_eq(route("POST /metrics HTTP/1.1\r\n\r\n", &m), 405);
	ck_assert_int_eq(route("get /metrics HTTP/1.1\r\n\r\n", &m), 400);
	ck_assert_int_eq(route("GET  /metrics HTTP/1.1\r\n\r\n", &m), 400);
	ck_assert_int_eq(route("GET /metrics HTTP/2\r\n\r\n", &m), 400);
	ck_assert_int_eq(route("GET /metrics HTTP/1.1 x\r\n\r\n", &m), 400);
	ck_assert_int_eq(route("GET /metrics HTTP/1.1", &m), 400); /* no line end: a NUL came first */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("status");
	TCase *tc = tcase_create("render");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, render_one_service);
	tcase_add_test(tc, render_families_stay_together);
	tcase_add_test(tc, render_escapes_labels);
	tcase_add_test(tc, render_escapes_longest_name);
	tcase_add_test(tc, render_certificate_expiry);
	tcase_add_test(tc, render_crl_next_update);
	tcase_add_test(tc, render_without_generation);
	tcase_add_test(tc, render_truncates_safely);
	tcase_add_test(tc, route_requests);
	suite_add_tcase(s, tc);
	tc = tcase_create("http");
	tcase_add_checked_fixture(tc, http_setup, http_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, http_metrics);
	tcase_add_test(tc, http_errors);
	tcase_add_test(tc, http_large_metrics);
	tcase_add_test(tc, http_oversized);
	tcase_add_test(tc, http_stalled);
	tcase_add_test(tc, http_client_limit);
	tcase_add_test(tc, http_out_of_descriptors);
	tcase_add_test(tc, http_open_errors);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
