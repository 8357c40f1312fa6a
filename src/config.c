/* Configuration options: the table of names, their values parsed into struct cfg, sections and
 * defaults. Reading files is config_load.c, validation once all is read config_check.c. */
#include "config_int.h"
#include "match.h"
#include "ocsp_client.h"
#include "sockopt.h"
#include "sslopt.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum opt_kind { K_BOOL, K_LEVEL, K_STR, K_ACCEPT, K_CONNECT, K_TLSVER, K_SECONDS, K_SSLVERSION, K_VERIFY,
		K_LIST_NAME, K_LIST_IP, K_LIST_EMAIL, K_LIST_ANY, K_LIST_PIN, K_COUNT, K_LOGFORMAT, K_STATUS, K_PROTOCOL,
		K_PROTOHOST, K_PROXYVER, K_AUTH, K_FOREGROUND, K_LOGMODE, K_FIPS, K_SOCKOPT, K_SSLOPT, K_FAILOVER,
		K_RENEG, K_HEXKEY, K_CURVES, K_HOST, K_LOGID, K_SECLEVEL, K_NOOP_COUNT, K_NOOP_BOOL, K_NOOP_STR, K_OPTPATH, K_SNI, K_WORKERS,
		K_PATH, K_DRAIN, K_LIMIT, K_OCSPURL };
enum opt_scope { S_GLOBAL, S_SERVICE };

struct opt {
	const char *name;
	enum opt_scope scope;
	enum opt_kind kind;
	size_t off; /* offset into struct cfg_global or struct cfg_service */
};

#define G(n, k, f) { n, S_GLOBAL, k, offsetof(struct cfg_global, f) }
#define S(n, k, f) { n, S_SERVICE, k, offsetof(struct cfg_service, f) }

/* An option may appear twice, once per scope (setuid: the process's user as a global, the owner of a
 * Unix accept socket in a section); opt_find picks by where the line is. */
static const struct opt opts[] = {
	G("foreground", K_FOREGROUND, foreground),
	G("pid", K_OPTPATH, pid),
	G("debug", K_LEVEL, debug),
	G("output", K_STR, output),
	G("log", K_LOGMODE, log_overwrite),
	G("syslog", K_BOOL, syslog),
	G("setuid", K_STR, setuid),
	G("setgid", K_STR, setgid),
	G("chroot", K_STR, chroot),
	G("fips", K_FIPS, debug),
	G("logFormat", K_LOGFORMAT, log_json),
	G("status", K_STATUS, status),
	G("service", K_STR, service),
	G("workers", K_WORKERS, workers),
	G("reloadOnChange", K_BOOL, reload_on_change),
	G("sandbox", K_BOOL, sandbox),
	G("drainDelay", K_DRAIN, drain_delay),
	G("maxConnections", K_LIMIT, max_connections), /* before the first section: all services together */
	G("maxHandshakes", K_LIMIT, max_handshakes),
	/* stunnel seeds OpenSSL's generator from these only when it is not seeded already, which OpenSSL
	 * 1.1.1 and later always are; tlswrap's comes from the kernel: accepted, checked, and unused */
	G("RNDbytes", K_NOOP_COUNT, debug),
	G("RNDfile", K_NOOP_STR, debug),
	G("RNDoverwrite", K_NOOP_BOOL, debug),
	G("EGD", K_NOOP_STR, debug),
	S("debug", K_LEVEL, debug), /* in a section: that service's connection lines */
	S("setuid", K_STR, sock_user),
	S("setgid", K_STR, sock_group),
	S("client", K_BOOL, client),
	S("accept", K_ACCEPT, accept),
	S("connect", K_CONNECT, connect),
	S("delay", K_BOOL, delay),
	S("failover", K_FAILOVER, failover_rr),
	S("local", K_HOST, local),
	S("socket", K_SOCKOPT, sockopts),
	S("cert", K_STR, cert),
	S("key", K_STR, key),
	S("keyPasswordFile", K_PATH, key_password_file),
	S("CAfile", K_STR, cafile),
	S("CApath", K_STR, capath),
	S("verifyChain", K_BOOL, verify_chain),
	S("verifyPeer", K_BOOL, verify_peer),
	S("requireCert", K_BOOL, require_cert),
	S("CRLfile", K_STR, crlfile),
	S("CRLpath", K_STR, crlpath),
	S("verify", K_VERIFY, verify_chain),
	S("checkHost", K_LIST_NAME, check_host),
	S("checkIP", K_LIST_IP, check_ip),
	S("checkEmail", K_LIST_EMAIL, check_email),
	S("allowCN", K_LIST_ANY, allow_cn),
	S("allowOU", K_LIST_ANY, allow_ou),
	S("allowDNS", K_LIST_NAME, allow_dns),
	S("allowURI", K_LIST_ANY, allow_uri),
	S("allowIP", K_LIST_IP, allow_ip),
	S("pinSHA256", K_LIST_PIN, pin_sha256),
	S("alpn", K_STR, alpn),
	S("options", K_SSLOPT, ssl_option_lines),
	S("renegotiation", K_RENEG, ssl_options),
	S("sessionResume", K_BOOL, session_resume),
	S("sessionCacheSize", K_COUNT, session_cache_size),
	S("sessionCacheTimeout", K_SECONDS, session_cache_timeout),
	S("ticketKeyFile", K_STR, ticket_key_file),
	S("ticketKeySecret", K_HEXKEY, ticket_key_secret),
	S("ticketMacSecret", K_HEXKEY, ticket_mac_secret),
	S("PSKsecrets", K_STR, psk_secrets),
	S("PSKidentity", K_STR, psk_identity),
	S("protocol", K_PROTOCOL, protocol),
	S("protocolHost", K_PROTOHOST, protocol_host),
	S("protocolUsername", K_STR, protocol_username),
	S("protocolPassword", K_STR, protocol_password),
	S("protocolAuthentication", K_AUTH, protocol_auth),
	S("protocolHeader", K_LIST_ANY, protocol_header),
	S("proxyProtocol", K_PROXYVER, proxy_version),
	S("acceptProxy", K_BOOL, accept_proxy),
	S("exec", K_STR, exec),
	S("execArgs", K_STR, exec_args),
	S("retry", K_BOOL, retry),
	S("pty", K_BOOL, pty),
	S("sni", K_SNI, sni),
	S("sslVersionMin", K_TLSVER, tls_min),
	S("sslVersionMax", K_TLSVER, tls_max),
	S("sslVersion", K_SSLVERSION, tls_min),
	S("ciphers", K_STR, ciphers),
	S("ciphersuites", K_STR, ciphersuites),
	S("curves", K_CURVES, curves),
	S("curve", K_CURVES, curves), /* stunnel's older name */
	S("reset", K_BOOL, reset),
	S("logId", K_LOGID, timeout_busy),
	S("securityLevel", K_SECLEVEL, security_level),
	S("stack", K_NOOP_COUNT, timeout_busy), /* a thread's stack: tlswrap starts no thread per connection */
	S("TIMEOUTbusy", K_SECONDS, timeout_busy),
	S("TIMEOUTconnect", K_SECONDS, timeout_connect),
	S("TIMEOUTidle", K_SECONDS, timeout_idle),
	S("TIMEOUTclose", K_SECONDS, timeout_close),
	S("maxConnections", K_LIMIT, max_connections),
	S("OCSP", K_OCSPURL, ocsp_url),
	S("OCSPrequire", K_BOOL, ocsp_require),
	S("OCSPnonce", K_BOOL, ocsp_nonce),
	S("OCSPaia", K_BOOL, ocsp_aia),
	S("TIMEOUTocsp", K_SECONDS, timeout_ocsp),
};

/* stunnel options tlswrap does not take, each with its reason (an unknown name says only "unknown"). */
static const struct {
	const char *name, *why;
} refused[] = {
	{ "compression", "TLS compression is insecure (CRIME) and mbedTLS has none" },
	{ "engine", "OpenSSL engines are not supported (keys are read from files)" },
	{ "engineCtrl", "OpenSSL engines are not supported (keys are read from files)" },
	{ "engineDefault", "OpenSSL engines are not supported (keys are read from files)" },
	{ "engineId", "OpenSSL engines are not supported (keys are read from files)" },
	{ "engineNum", "OpenSSL engines are not supported (keys are read from files)" },
	{ "CAengine", "OpenSSL engines are not supported (CA certificates are read from files)" },
	{ "iconActive", "a Windows GUI option" },
	{ "iconError", "a Windows GUI option" },
	{ "iconIdle", "a Windows GUI option" },
	{ "taskbar", "a Windows GUI option" },
	{ "OCSPflag", "OpenSSL's OCSP verification flags each loosen a check (signer, chain, times) that tlswrap always "
		      "makes; none is taken" },
	{ "protocolDomain", "NTLM proxy authentication is not supported (protocolAuthentication = basic is)" },
	{ "redirect", "a client that fails the certificate checks is refused, never redirected" },
	{ "ident", "IDENT (RFC 1413) checks are not supported" },
	{ "sessiond", "the sessiond cache server is not supported; share a ticketKeyFile between instances" },
	{ "config", "OpenSSL configuration commands do not apply to mbedTLS" },
};

static const struct opt *opt_find_in(const char *name, int in_section)
{
	const struct opt *found = NULL;
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (strcasecmp(opts[i].name, name) != 0)
			continue;
		if (!found || (opts[i].scope == S_SERVICE) == (in_section != 0))
			found = &opts[i];
	}
	return found;
}

int cfg_option_known(const char *name)
{
	return opt_find_in(name, 0) != NULL;
}

int cfg_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}
#define fail cfg_fail

static void service_defaults(struct cfg_service *s)
{
	memset(s, 0, sizeof(*s));
	s->client = 0;
	s->verify_chain = s->verify_peer = s->require_cert = CFG_UNSET;
	s->session_resume = CFG_UNSET;
	s->debug = CFG_UNSET;
	s->security_level = 2; /* stunnel's */
	s->tls_min = CFG_TLS12;
	s->tls_max = CFG_TLS13;
	/* stunnel's defaults */
	s->timeout_busy = 300;
	s->timeout_connect = 10;
	s->timeout_idle = 43200;
	s->timeout_close = 60;
	s->timeout_ocsp = 5;
	s->ocsp_require = s->ocsp_nonce = s->ocsp_aia = CFG_UNSET;
	s->session_cache_size = 1000;
	s->session_cache_timeout = 300;
}

void cfg_init(struct cfg *c, const char *file)
{
	memset(c, 0, sizeof(*c));
	c->file = strdup(file);
	c->g.foreground = CFG_UNSET;
	c->g.syslog = CFG_UNSET;
	c->g.sandbox = CFG_UNSET;
	c->g.debug = 5; /* notice */
	c->g.max_handshakes = CFG_DEFAULT_MAX_HANDSHAKES;
	service_defaults(&c->defaults);
	c->defaults.file = c->file;
}

/* The service's owned strings, so copying and freeing treat them alike. */
#define SERVICE_STRINGS(s) \
	{ &(s)->cert, &(s)->key, &(s)->cafile, &(s)->capath, &(s)->crlfile, &(s)->sni, &(s)->ciphers, \
	  &(s)->ciphersuites, &(s)->alpn, &(s)->ticket_key_file, &(s)->psk_secrets, &(s)->psk_identity, \
	  &(s)->protocol_username, &(s)->protocol_password, &(s)->exec, &(s)->exec_args, &(s)->ticket_key_secret, \
	  &(s)->ticket_mac_secret, &(s)->crlpath, &(s)->curves, &(s)->local, &(s)->sock_user, &(s)->sock_group, \
	  &(s)->key_password_file, &(s)->ocsp_url }
#define SERVICE_LISTS(s) \
	{ &(s)->check_host, &(s)->check_ip, &(s)->check_email, &(s)->allow_cn, &(s)->allow_ou, &(s)->allow_dns, \
	  &(s)->allow_uri, &(s)->allow_ip, &(s)->pin_sha256, &(s)->protocol_header, &(s)->sockopts, &(s)->sni_all }

static void list_free(struct cfg_list *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int cfg_list_add(struct cfg_list *l, const char *value)
{
	char **v = realloc(l->v, (size_t)(l->n + 1) * sizeof(*v));
	if (!v)
		return -1;
	l->v = v;
	if (!(v[l->n] = strdup(value)))
		return -1;
	l->n++;
	return 0;
}

/* Deep copy of SRC into DST (DST's old contents are not freed: it is a fresh copy of a struct). */
static int list_copy(struct cfg_list *dst, const struct cfg_list *src)
{
	dst->v = NULL;
	dst->n = 0;
	for (int i = 0; i < src->n; i++)
		if (cfg_list_add(dst, src->v[i]) < 0)
			return -1;
	return 0;
}

static void service_free(struct cfg_service *s)
{
	char **fields[] = SERVICE_STRINGS(s);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		free(*fields[i]);
		*fields[i] = NULL;
	}
	struct cfg_list *lists[] = SERVICE_LISTS(s);
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		list_free(lists[i]);
	free(s->lines);
	s->lines = NULL;
	s->nlines = 0;
}

static int service_copy(struct cfg_service *dst, const struct cfg_service *src)
{
	*dst = *src;
	char **fields[] = SERVICE_STRINGS(dst);
	int ok = 1;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (*fields[i] && !(*fields[i] = strdup(*fields[i])))
			ok = 0;
	struct cfg_list *lists[] = SERVICE_LISTS(dst);
	const struct cfg_list *from[] = SERVICE_LISTS(src);
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (list_copy(lists[i], from[i]) < 0)
			ok = 0;
	dst->lines = NULL;
	if (src->nlines && (dst->lines = malloc((size_t)src->nlines * sizeof(*dst->lines))))
		memcpy(dst->lines, src->lines, (size_t)src->nlines * sizeof(*dst->lines));
	else
		dst->nlines = 0;
	ok = ok && dst->nlines == src->nlines;
	if (!ok)
		service_free(dst);
	return ok ? 0 : -1;
}

void cfg_free(struct cfg *c)
{
	for (size_t i = 0; i < c->nsvc; i++)
		service_free(&c->svc[i]);
	free(c->svc);
	service_free(&c->defaults);
	free(c->g.pid);
	free(c->g.output);
	free(c->g.setuid);
	free(c->g.setgid);
	free(c->g.chroot);
	free(c->g.service);
	free(c->file);
	list_free(&c->files);
	list_free(&c->include_dirs);
	memset(c, 0, sizeof(*c));
}

int cfg_parse_bool(const char *s)
{
	static const char *yes[] = { "yes", "true", "on", "1" }, *no[] = { "no", "false", "off", "0" };
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

int cfg_parse_level(const char *s)
{
	static const char *names[] = { "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug" };
	const char *dot = strrchr(s, '.');
	if (dot) { /* stunnel's "facility.level": the facility is the syslog one, which is always daemon */
		if (dot == s)
			return -1;
		for (const char *p = s; p < dot; p++)
			if (!isalpha((unsigned char)*p))
				return -1;
		s = dot + 1;
	}
	if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
		return s[0] - '0';
	for (int i = 0; i < 8; i++)
		if (strcasecmp(s, names[i]) == 0)
			return i;
	if (strcasecmp(s, "error") == 0)
		return 3;
	if (strcasecmp(s, "warn") == 0)
		return 4;
	return -1;
}

int cfg_parse_tls_version(const char *s)
{
	if (strcasecmp(s, "TLSv1.2") == 0 || strcmp(s, "1.2") == 0)
		return CFG_TLS12;
	if (strcasecmp(s, "TLSv1.3") == 0 || strcmp(s, "1.3") == 0)
		return CFG_TLS13;
	if (strcasecmp(s, "all") == 0)
		return -3;
	if (strcasecmp(s, "SSLv3") == 0 || strcasecmp(s, "TLSv1") == 0 || strcasecmp(s, "TLSv1.0") == 0 ||
	    strcasecmp(s, "TLSv1.1") == 0 || strcasecmp(s, "SSLv2") == 0)
		return -2;
	return -1;
}

/* A port number, or a service name from /etc/services (imaps, https), as stunnel takes; kept as the number. */
static int parse_port(const char *p, char out[6], char *err, size_t errlen)
{
	char *end;
	if (!*p)
		return fail(err, errlen, "missing port");
	if (!isdigit((unsigned char)p[0])) {
		const struct servent *se = getservbyname(p, "tcp");
		if (!se)
			return fail(err, errlen, "bad port '%s' (1-65535, or a service name in /etc/services)", p);
		snprintf(out, 6, "%u", (unsigned)ntohs((uint16_t)se->s_port));
		return 0;
	}
	errno = 0;
	long v = strtol(p, &end, 10);
	if (*end || errno || v < 1 || v > 65535)
		return fail(err, errlen, "bad port '%s' (1-65535, or a service name in /etc/services)", p);
	snprintf(out, 6, "%ld", v);
	return 0;
}

/* A host name or IP address as it may appear before ":port" (or alone, for `local`). */
static int parse_host(const char *host, size_t hlen, const char *whole, char out[256], char *err, size_t errlen)
{
	if (hlen == 0)
		return fail(err, errlen, "bad address '%s' (empty host)", whole);
	if (hlen >= 256)
		return fail(err, errlen, "host name too long in '%s'", whole);
	for (size_t i = 0; i < hlen; i++) {
		unsigned char ch = (unsigned char)host[i];
		if (!(isalnum(ch) || ch == '.' || ch == '-' || ch == '_' || ch == ':' || ch == '%'))
			return fail(err, errlen, "bad character '%c' in host of '%s'", ch, whole);
	}
	memcpy(out, host, hlen);
	out[hlen] = '\0';
	if (strchr(out, ':')) { /* IPv6, bracketed or stunnel's "v6:port" form */
		struct in6_addr a6;
		char bare[256];
		snprintf(bare, sizeof(bare), "%s", out);
		char *zone = strchr(bare, '%');
		if (zone)
			*zone = '\0';
		if (inet_pton(AF_INET6, bare, &a6) != 1)
			return fail(err, errlen, "bad IPv6 address '%s' in '%s'", out, whole);
	}
	return 0;
}

int cfg_parse_addr(const char *s, struct cfg_addr *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(out[0]));
	const char *colon = strrchr(s, ':');
	if (!*s)
		return fail(err, errlen, "empty address");
	if (s[0] == '/') { /* a Unix socket, as in stunnel */
		if (strlen(s) >= sizeof(out->path))
			return fail(err, errlen, "Unix socket path longer than %zu bytes: '%s'", sizeof(out->path) - 1, s);
		snprintf(out->path, sizeof(out->path), "%s", s);
		return 0;
	}
	if (!colon)
		return parse_port(s, out->port, err, errlen);
	const char *host = s;
	size_t hlen = (size_t)(colon - s);
	if (s[0] == '[') { /* [v6]:port */
		const char *close = strchr(s, ']');
		if (!close || close + 1 != colon)
			return fail(err, errlen, "bad address '%s' (expected [IPv6]:port)", s);
		host = s + 1;
		hlen = (size_t)(close - host);
	}
	if (parse_host(host, hlen, s, out->host, err, errlen) < 0)
		return -1;
	return parse_port(colon + 1, out->port, err, errlen);
}

const char *cfg_addr_str(const struct cfg_addr *a, char *buf, size_t len)
{
	if (a->path[0])
		snprintf(buf, len, "%s", a->path);
	else if (strchr(a->host, ':'))
		snprintf(buf, len, "[%s]:%s", a->host, a->port);
	else
		snprintf(buf, len, "%s:%s", a->host[0] ? a->host : "*", a->port);
	return buf;
}

static int parse_seconds(const char *v, int *out)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (!isdigit((unsigned char)*v) || *end || errno || n < 0 || n > 31536000)
		return -1;
	*out = (int)n;
	return 0;
}

/* stunnel's ticketKeySecret/ticketMacSecret: 16 or 32 bytes as hex, with any ':' between bytes (OpenSSL's
 * OPENSSL_hexstr2buf, which stunnel uses, takes leading, trailing and doubled ones too). */
static int check_hex_key(const char *name, const char *v, char *err, size_t errlen)
{
	size_t digits = 0;
	for (const char *p = v; *p; p++) {
		if (isxdigit((unsigned char)*p))
			digits++;
		else if (*p != ':' || digits % 2)
			return fail(err, errlen, "%s: expected 32 or 64 hexadecimal digits (colons allowed between bytes)",
				    name);
	}
	if (digits != 32 && digits != 64)
		return fail(err, errlen, "%s: expected 32 or 64 hexadecimal digits (16 or 32 bytes), got %zu", name,
			    digits);
	return 0;
}

int cfg_parse_curve(const char *name)
{
	static const struct {
		const char *name;
		int id;
	} curves[] = {
		{ "X25519", CFG_GROUP_X25519 },       { "P-256", CFG_GROUP_SECP256R1 },
		{ "prime256v1", CFG_GROUP_SECP256R1 }, { "secp256r1", CFG_GROUP_SECP256R1 },
		{ "P-384", CFG_GROUP_SECP384R1 },      { "secp384r1", CFG_GROUP_SECP384R1 },
		{ "P-521", CFG_GROUP_SECP521R1 },      { "secp521r1", CFG_GROUP_SECP521R1 },
		{ "X448", CFG_GROUP_X448 },            { "brainpoolP256r1", CFG_GROUP_BP256R1 },
		{ "brainpoolP384r1", CFG_GROUP_BP384R1 }, { "brainpoolP512r1", CFG_GROUP_BP512R1 },
		{ "ffdhe2048", CFG_GROUP_FFDHE2048 },  { "ffdhe3072", CFG_GROUP_FFDHE3072 },
		{ "ffdhe4096", CFG_GROUP_FFDHE4096 },  { "ffdhe6144", CFG_GROUP_FFDHE6144 },
		{ "ffdhe8192", CFG_GROUP_FFDHE8192 },
	};
	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (strcasecmp(name, curves[i].name) == 0)
			return curves[i].id;
	return 0;
}

static int check_curves(const char *v, char *err, size_t errlen)
{
	char buf[512], *save = NULL;
	int n = 0;
	if (snprintf(buf, sizeof(buf), "%s", v) >= (int)sizeof(buf))
		return fail(err, errlen, "curves: list too long");
	for (char *tok = strtok_r(buf, ":", &save); tok; tok = strtok_r(NULL, ":", &save), n++) {
		if (!cfg_parse_curve(tok))
			return fail(err, errlen, "curves: unknown curve '%s' (X25519, P-256, P-384, P-521, X448, "
						 "brainpoolP256r1/384r1/512r1, ffdhe2048..8192)", tok);
		if (n == CFG_MAX_GROUPS)
			return fail(err, errlen, "curves: at most %d", CFG_MAX_GROUPS);
	}
	if (n == 0)
		return fail(err, errlen, "curves: empty list");
	return 0;
}

static int set_value(struct cfg *c, const struct opt *o, void *base, const char *v, char *err, size_t errlen)
{
	void *field = (char *)base + o->off;
	int n;
	switch (o->kind) {
	case K_BOOL:
		if ((n = cfg_parse_bool(v)) < 0)
			return fail(err, errlen, "%s: expected yes or no, got '%s'", o->name, v);
		*(int *)field = n;
		return 0;
	case K_FOREGROUND: {
		struct cfg_global *g = base;
		g->quiet = strcasecmp(v, "quiet") == 0;
		if ((n = g->quiet ? 1 : cfg_parse_bool(v)) < 0)
			return fail(err, errlen, "foreground: expected yes, quiet or no, got '%s'", v);
		g->foreground = n;
		return 0;
	}
	case K_LOGMODE:
		if (strcasecmp(v, "append") != 0 && strcasecmp(v, "overwrite") != 0)
			return fail(err, errlen, "log: expected append or overwrite, got '%s'", v);
		*(int *)field = strcasecmp(v, "overwrite") == 0;
		return 0;
	case K_FIPS:
		if ((n = cfg_parse_bool(v)) < 0)
			return fail(err, errlen, "fips: expected yes or no, got '%s'", v);
		if (n)
			return fail(err, errlen, "fips = yes is not supported: mbedTLS has no FIPS 140 mode");
		return 0;
	case K_RENEG:
		if ((n = cfg_parse_bool(v)) < 0)
			return fail(err, errlen, "renegotiation: expected yes or no, got '%s'", v);
		if (n)
			return fail(err, errlen, "renegotiation = yes is not supported: tlswrap never renegotiates "
						 "(renegotiation = no is what it does)");
		return 0;
	case K_FAILOVER:
		if (strcasecmp(v, "rr") != 0 && strcasecmp(v, "prio") != 0)
			return fail(err, errlen, "failover: expected rr or prio, got '%s'", v);
		*(int *)field = strcasecmp(v, "rr") == 0;
		return 0;
	case K_SSLOPT:
		return sslopt_add(v, (struct sslopt_lines *)field, err, errlen);
	case K_SOCKOPT: {
		struct sockopt so;
		if (sockopt_parse(v, &so, err, errlen) < 0)
			return -1;
		if (cfg_list_add((struct cfg_list *)field, v) < 0)
			return fail(err, errlen, "out of memory");
		return 0;
	}
	case K_HEXKEY:
		if (check_hex_key(o->name, v, err, errlen) < 0)
			return -1;
		goto string;
	case K_CURVES:
		if (check_curves(v, err, errlen) < 0)
			return -1;
		goto string;
	case K_OCSPURL: {
		char host[256], port[8], path[256], why[CFG_ERRLEN];
		if (ocsp_parse_url(v, host, port, path, why, sizeof(why)) < 0)
			return fail(err, errlen, "OCSP: %s", why);
		goto string;
	}
	case K_HOST: {
		char host[256];
		if (parse_host(v, strlen(v), v, host, err, errlen) < 0) {
			char why[CFG_ERRLEN];
			snprintf(why, sizeof(why), "%s", err);
			return fail(err, errlen, "%s: %s", o->name, why);
		}
		goto string;
	}
	case K_LEVEL:
		if ((n = cfg_parse_level(v)) < 0)
			return fail(err, errlen, "%s: expected 0-7 or emerg..debug, got '%s'", o->name, v);
		*(int *)field = n;
		return 0;
	case K_PROTOCOL: {
		static const char *const later[] = { "socks", "ldap", "nntp", "pgsql", "cifs", "capwin", "capwinctrl",
						     "websocket", "proxy-v2" };
		if (strcasecmp(v, "connect") == 0)
			*(int *)field = CFG_PROTO_CONNECT;
		else if (strcasecmp(v, "proxy") == 0)
			*(int *)field = CFG_PROTO_PROXY;
		else if (strcasecmp(v, "smtp") == 0)
			*(int *)field = CFG_PROTO_SMTP;
		else if (strcasecmp(v, "imap") == 0)
			*(int *)field = CFG_PROTO_IMAP;
		else if (strcasecmp(v, "pop3") == 0)
			*(int *)field = CFG_PROTO_POP3;
		else {
			for (size_t i = 0; i < sizeof(later) / sizeof(later[0]); i++)
				if (strcasecmp(v, later[i]) == 0)
					return fail(err, errlen, "protocol = %s is not implemented yet (connect, proxy, smtp, imap "
								 "and pop3 are)", v);
			return fail(err, errlen, "protocol: expected connect, proxy, smtp, imap or pop3, got '%s'", v);
		}
		return 0;
	}
	case K_PROTOHOST: {
		struct cfg_service *s = base;
		char why[CFG_ERRLEN];
		if (cfg_parse_addr(v, &s->protocol_host, why, sizeof(why)) < 0)
			return fail(err, errlen, "protocolHost: %s", why);
		if (!s->protocol_host.host[0])
			return fail(err, errlen, "protocolHost: expected HOST:PORT, got '%s'", v);
		s->has_protocol_host = 1;
		return 0;
	}
	case K_PROXYVER:
		if (strcasecmp(v, "v1") == 0 || strcmp(v, "1") == 0)
			*(int *)field = 1;
		else if (strcasecmp(v, "v2") == 0 || strcmp(v, "2") == 0)
			*(int *)field = 2;
		else if (cfg_parse_bool(v) == 0)
			*(int *)field = -1;
		else
			return fail(err, errlen, "proxyProtocol: expected v1, v2 or no, got '%s'", v);
		return 0;
	case K_AUTH:
		if (strcasecmp(v, "basic") != 0)
			return fail(err, errlen, "protocolAuthentication: only basic is supported, got '%s'", v);
		*(int *)field = 1;
		return 0;
	case K_LOGFORMAT:
		if (strcasecmp(v, "json") != 0 && strcasecmp(v, "text") != 0)
			return fail(err, errlen, "%s: expected text or json, got '%s'", o->name, v);
		*(int *)field = strcasecmp(v, "json") == 0;
		return 0;
	case K_STATUS: {
		struct cfg_global *g = base;
		if (cfg_parse_addr(v, &g->status, err, errlen) < 0 || g->status.path[0]) {
			char why[CFG_ERRLEN];
			snprintf(why, sizeof(why), "%s", g->status.path[0] ? "expected [host:]port" : err);
			return fail(err, errlen, "status: %s", why);
		}
		g->has_status = 1;
		return 0;
	}
	case K_COUNT:
		if (parse_seconds(v, &n) < 0)
			return fail(err, errlen, "%s: expected a number, got '%s'", o->name, v);
		*(int *)field = n;
		return 0;
	case K_SECONDS:
		if (parse_seconds(v, &n) < 0)
			return fail(err, errlen, "%s: expected a number of seconds, got '%s'", o->name, v);
		*(int *)field = n;
		return 0;
	case K_TLSVER:
	case K_SSLVERSION: {
		struct cfg_service *s = base;
		n = cfg_parse_tls_version(v);
		if (n == -2)
			return fail(err, errlen, "%s: %s is not supported (TLSv1.2 is the minimum; TLSv1.3 and all are "
						 "accepted)", o->name, v);
		if (n == -1)
			return fail(err, errlen, "%s: expected TLSv1.2, TLSv1.3 or all, got '%s'", o->name, v);
		if (o->kind == K_SSLVERSION) {
			s->tls_min = n == -3 ? CFG_TLS12 : n;
			s->tls_max = n == -3 ? CFG_TLS13 : n;
		} else {
			/* all: every version tlswrap allows, from the lowest (Min) or to the highest (Max) */
			*(int *)field = n != -3 ? n : field == (void *)&s->tls_min ? CFG_TLS12 : CFG_TLS13;
		}
		return 0;
	}
	case K_VERIFY: {
		/* stunnel's legacy levels: 0 request and ignore, 1 verify if present, 2 verify, 3 verify and
		 * the peer must be listed, 4 only the listed peer, chain ignored */
		static const signed char chain[] = { 0, 1, 1, 1, 0 }, peer[] = { 0, 0, 0, 1, 1 }, req[] = { 0, 0, 1, 1, 1 };
		struct cfg_service *s = base;
		if (v[0] < '0' || v[0] > '4' || v[1])
			return fail(err, errlen, "verify: expected 0-4, got '%s'", v);
		n = v[0] - '0';
		s->verify_chain = chain[n];
		s->verify_peer = peer[n];
		s->require_cert = req[n];
		return 0;
	}
	case K_LIST_NAME:
	case K_LIST_IP:
	case K_LIST_EMAIL:
	case K_LIST_ANY:
	case K_LIST_PIN: {
		if (!*v)
			return fail(err, errlen, "%s: empty value", o->name);
		if (o->kind == K_LIST_IP && !match_is_ip(v))
			return fail(err, errlen, "%s: '%s' is not an IP address", o->name, v);
		if (o->kind == K_LIST_EMAIL && !strchr(v, '@'))
			return fail(err, errlen, "%s: '%s' is not an e-mail address", o->name, v);
		if (o->kind == K_LIST_NAME && strchr(v, '*') && (v[0] != '*' || v[1] != '.' || strchr(v + 1, '*')))
			return fail(err, errlen, "%s: '%s': only a leading '*.' wildcard is allowed", o->name, v);
		if (o->kind == K_LIST_PIN) {
			unsigned char pin[MATCH_PIN_LEN];
			char why[160];
			if (match_pin_parse(v, pin, why, sizeof(why)) < 0)
				return fail(err, errlen, "%s: %s", o->name, why);
		}
		if (cfg_list_add((struct cfg_list *)field, v) < 0)
			return fail(err, errlen, "out of memory");
		return 0;
	}
	case K_SNI: { /* repeatable in a secondary (stunnel adds a pattern each time); one value in client mode */
		struct cfg_service *s = base;
		if (s->sni_all.n == CFG_MAX_SNI)
			return fail(err, errlen, "sni: at most %d per service", CFG_MAX_SNI);
		if (cfg_list_add(&s->sni_all, v) < 0)
			return fail(err, errlen, "out of memory");
		goto string;
	}
	case K_WORKERS:
		if (strcasecmp(v, "auto") == 0) {
			*(int *)field = 0;
			return 0;
		}
		if (parse_seconds(v, &n) < 0 || n < 1 || n > CFG_MAX_WORKERS)
			return fail(err, errlen, "workers: expected auto or 1-%d, got '%s'", CFG_MAX_WORKERS, v);
		*(int *)field = n;
		return 0;
	case K_PATH:
		if (!*v)
			return fail(err, errlen, "%s: expected a file name", o->name);
		goto string;
	case K_DRAIN:
		if (parse_seconds(v, &n) < 0 || n > CFG_MAX_DRAIN_DELAY)
			return fail(err, errlen, "drainDelay: expected 0-%d seconds, got '%s'", CFG_MAX_DRAIN_DELAY, v);
		*(int *)field = n;
		return 0;
	case K_LIMIT:
		if (parse_seconds(v, &n) < 0 || n > CFG_MAX_LIMIT)
			return fail(err, errlen, "%s: expected 0 (no limit) or a number up to %d, got '%s'", o->name,
				    CFG_MAX_LIMIT, v);
		*(int *)field = n;
		return 0;
	case K_OPTPATH: /* stunnel's `pid =` with nothing: none */
		if (!*v) {
			free(*(char **)field);
			*(char **)field = NULL;
			return 0;
		}
		/* fall through */
	case K_STR:
	string: {
		char *dup = strdup(v);
		if (!dup)
			return fail(err, errlen, "out of memory");
		free(*(char **)field);
		*(char **)field = dup;
		return 0;
	}
	case K_NOOP_COUNT:
		if (parse_seconds(v, &n) < 0)
			return fail(err, errlen, "%s: expected a number, got '%s'", o->name, v);
		return 0;
	case K_NOOP_BOOL:
		if (cfg_parse_bool(v) < 0)
			return fail(err, errlen, "%s: expected yes or no, got '%s'", o->name, v);
		return 0;
	case K_NOOP_STR:
		return 0;
	case K_LOGID:
		if (strcasecmp(v, "sequential") == 0)
			return 0; /* #1, #2 ...: what tlswrap's log lines carry */
		if (strcasecmp(v, "unique") == 0 || strcasecmp(v, "thread") == 0 || strcasecmp(v, "process") == 0)
			return fail(err, errlen, "logId = %s is not supported: connections are numbered in sequence "
						 "(logId = sequential)", v);
		return fail(err, errlen, "logId: expected sequential, unique, thread or process, got '%s'", v);
	case K_SECLEVEL: /* OpenSSL's levels, applied by seclevel.c */
		if (strlen(v) != 1 || v[0] < '0' || v[0] > '5')
			return fail(err, errlen, "securityLevel: expected 0-5, got '%s'", v);
		*(int *)field = v[0] - '0';
		return 0;
	case K_ACCEPT: {
		struct cfg_service *s = base;
		if (cfg_parse_addr(v, &s->accept, err, errlen) < 0) {
			char why[CFG_ERRLEN];
			snprintf(why, sizeof(why), "%s", err);
			return fail(err, errlen, "accept: %s", why);
		}
		s->has_accept = 1;
		return 0;
	}
	case K_CONNECT: {
		struct cfg_service *s = base;
		if (s->n_connect >= CFG_MAX_CONNECT)
			return fail(err, errlen, "connect: at most %d per service", CFG_MAX_CONNECT);
		if (cfg_parse_addr(v, &s->connect[s->n_connect], err, errlen) < 0) {
			char why[CFG_ERRLEN];
			snprintf(why, sizeof(why), "%s", err);
			return fail(err, errlen, "connect: %s", why);
		}
		/* a bare port connects to localhost, as in stunnel */
		if (!s->connect[s->n_connect].host[0] && !s->connect[s->n_connect].path[0])
			strcpy(s->connect[s->n_connect].host, "localhost");
		s->n_connect++;
		return 0;
	}
	}
	(void)c;
	return fail(err, errlen, "internal: unhandled option kind");
}

/* stunnel options whose one harmless value is what tlswrap does anyway: accepted with that value. */
static int accept_default(const char *name, const char *v, char *err, size_t errlen, int *handled)
{
	*handled = 1;
	if (strcasecmp(name, "libwrap") == 0) {
		if (cfg_parse_bool(v) == 0)
			return 0;
		return fail(err, errlen, "libwrap = %s is not supported: TCP wrappers (hosts.allow) are not used; use "
					 "a firewall or the allow rules", v);
	}
	if (strcasecmp(name, "transparent") == 0) {
		if (strcasecmp(v, "none") == 0 || strcasecmp(v, "no") == 0)
			return 0;
		return fail(err, errlen, "transparent = %s is not supported: tlswrap connects from its own address "
					 "(use acceptProxy/proxyProtocol to pass the client's address on)", v);
	}
	*handled = 0;
	return 0;
}

int cfg_set(struct cfg *c, const char *name, const char *value, char *err, size_t errlen)
{
	const struct opt *o = opt_find_in(name, c->in_section);
	if (!o) {
		int handled;
		int rc = accept_default(name, value, err, errlen, &handled);
		if (handled)
			return rc;
		for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
			if (strcasecmp(name, refused[i].name) == 0)
				return fail(err, errlen, "option '%s' is not supported: %s", refused[i].name, refused[i].why);
		return fail(err, errlen, "unknown option '%s'", name);
	}
	if (o->scope == S_GLOBAL) {
		if (c->in_section)
			return fail(err, errlen, "'%s' is a global option: put it before the first [section]", o->name);
		return set_value(c, o, &c->g, value, err, errlen);
	}
	struct cfg_service *s = c->in_section ? &c->svc[c->nsvc - 1] : &c->defaults;
	return set_value(c, o, s, value, err, errlen);
}

int cfg_set_flag(struct cfg *c, const char *name, const char *value, char *err, size_t errlen)
{
	const struct opt *o = opt_find_in(name, 0);
	if (o && o->scope == S_GLOBAL)
		return set_value(c, o, &c->g, value, err, errlen);
	return cfg_set(c, name, value, err, errlen);
}

int cfg_note_line(struct cfg *c, const char *name, int line)
{
	const struct opt *o = opt_find_in(name, c->in_section);
	if (!o)
		return 0;
	if (o->scope != S_GLOBAL) {
		struct cfg_service *s = c->in_section ? &c->svc[c->nsvc - 1] : &c->defaults;
		struct cfg_line *n = realloc(s->lines, (size_t)(s->nlines + 1) * sizeof(*n));
		if (!n)
			return -1;
		s->lines = n;
		n[s->nlines++] = (struct cfg_line){ (int)(o - opts), line, c->cur_file };
	} else if (strcasecmp(o->name, "status") == 0) {
		c->g.status_line = line;
		c->g.status_file = c->cur_file;
	}
	return 0;
}

int cfg_section(struct cfg *c, const char *name, int line, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->nsvc; i++)
		if (strcmp(c->svc[i].name, name) == 0)
			return fail(err, errlen, "duplicate section [%s] (first at line %d)", name, c->svc[i].line);
	return cfg_section_new(c, name, line, err, errlen);
}

int cfg_section_new(struct cfg *c, const char *name, int line, char *err, size_t errlen)
{
	if (!*name)
		return fail(err, errlen, "empty section name");
	if (strlen(name) >= sizeof(c->svc[0].name))
		return fail(err, errlen, "section name too long: '%s'", name);
	if (c->nsvc == c->svc_cap) { /* doubling: many sections must not cost a copy each */
		size_t cap = c->svc_cap ? c->svc_cap * 2 : 4;
		struct cfg_service *n = realloc(c->svc, cap * sizeof(*n));
		if (!n)
			return fail(err, errlen, "out of memory");
		c->svc = n;
		c->svc_cap = cap;
	}
	if (service_copy(&c->svc[c->nsvc], &c->defaults) < 0)
		return fail(err, errlen, "out of memory");
	struct cfg_service *s = &c->svc[c->nsvc++];
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->file = c->cur_file ? c->cur_file : c->file;
	s->line = line;
	c->in_section = 1;
	return 0;
}

const char *cfg_where(const struct cfg_service *s, char *buf, size_t len)
{
	if (s->line > 0)
		snprintf(buf, len, "%s:%d", s->file, s->line);
	else
		snprintf(buf, len, "%s", s->file);
	return buf;
}

/* "file:line" of the NTH line (from 0; -1: the last) that set option O in S, else where S starts. */
static const char *where_line(const struct cfg_service *s, const struct opt *o, int nth, char *buf, size_t len)
{
	const struct cfg_line *found = NULL;
	for (int i = 0, k = 0; o && o->scope != S_GLOBAL && i < s->nlines; i++)
		if (s->lines[i].opt == o - opts && (nth < 0 || k++ == nth))
			found = &s->lines[i];
	if (!found)
		return cfg_where(s, buf, len);
	snprintf(buf, len, "%s:%d", found->file ? found->file : s->file, found->line);
	return buf;
}

/* Which value of O's list MSG names after the option's name ("socket a:SO_RCVBUF=1024: reason"), or -1. */
static int named_value(const struct cfg_service *s, const struct opt *o, const char *msg)
{
	if (o->kind != K_SOCKOPT && o->kind != K_LIST_NAME && o->kind != K_LIST_IP && o->kind != K_LIST_EMAIL &&
	    o->kind != K_LIST_ANY && o->kind != K_LIST_PIN)
		return -1;
	const struct cfg_list *l = (const struct cfg_list *)((const char *)s + o->off);
	const char *v = msg + strcspn(msg, " :");
	if (*v++ != ' ')
		return -1;
	for (int i = 0; i < l->n; i++) {
		size_t n = strlen(l->v[i]);
		if (strncmp(v, l->v[i], n) == 0 && (v[n] == '\0' || v[n] == ':' || v[n] == ' '))
			return i;
	}
	return -1;
}

const char *cfg_where_option(const struct cfg_service *s, const char *option, char *buf, size_t len)
{
	char word[32];
	size_t n = strcspn(option, " :");
	snprintf(word, sizeof(word), "%.*s", (int)(n < sizeof(word) ? n : sizeof(word) - 1), option);
	const struct opt *o = opt_find_in(word, 1);
	return where_line(s, o, o ? named_value(s, o, option) : -1, buf, len);
}

const char *cfg_where_nth(const struct cfg_service *s, const char *option, int nth, char *buf, size_t len)
{
	return where_line(s, opt_find_in(option, 1), nth, buf, len);
}
