/* Configuration parsing and validation: inih handler -> struct cfg. */
#include "config.h"
#include "match.h"
#include "proto/connect.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define INI_HANDLER_LINENO 1
#include <ini.h>

enum opt_kind { K_BOOL, K_LEVEL, K_STR, K_ACCEPT, K_CONNECT, K_TLSVER, K_SECONDS, K_SSLVERSION, K_VERIFY,
		K_LIST_NAME, K_LIST_IP, K_LIST_EMAIL, K_LIST_ANY, K_LIST_PIN, K_COUNT, K_LOGFORMAT, K_STATUS, K_PROTOCOL, K_PROTOHOST, K_PROXYVER, K_AUTH };
enum opt_scope { S_GLOBAL, S_SERVICE };

struct opt {
	const char *name;
	enum opt_scope scope;
	enum opt_kind kind;
	size_t off; /* offset into struct cfg_global or struct cfg_service */
};

#define G(n, k, f) { n, S_GLOBAL, k, offsetof(struct cfg_global, f) }
#define S(n, k, f) { n, S_SERVICE, k, offsetof(struct cfg_service, f) }

static const struct opt opts[] = {
	G("foreground", K_BOOL, foreground),
	G("pid", K_STR, pid),
	G("debug", K_LEVEL, debug),
	G("output", K_STR, output),
	G("syslog", K_BOOL, syslog),
	G("setuid", K_STR, setuid),
	G("setgid", K_STR, setgid),
	G("chroot", K_STR, chroot),
	G("logFormat", K_LOGFORMAT, log_json),
	G("status", K_STATUS, status),
	S("client", K_BOOL, client),
	S("accept", K_ACCEPT, accept),
	S("connect", K_CONNECT, connect),
	S("cert", K_STR, cert),
	S("key", K_STR, key),
	S("CAfile", K_STR, cafile),
	S("CApath", K_STR, capath),
	S("verifyChain", K_BOOL, verify_chain),
	S("verifyPeer", K_BOOL, verify_peer),
	S("requireCert", K_BOOL, require_cert),
	S("CRLfile", K_STR, crlfile),
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
	S("sessionCacheSize", K_COUNT, session_cache_size),
	S("sessionCacheTimeout", K_SECONDS, session_cache_timeout),
	S("ticketKeyFile", K_STR, ticket_key_file),
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
	S("sni", K_STR, sni),
	S("sslVersionMin", K_TLSVER, tls_min),
	S("sslVersionMax", K_TLSVER, tls_max),
	S("sslVersion", K_SSLVERSION, tls_min),
	S("ciphers", K_STR, ciphers),
	S("ciphersuites", K_STR, ciphersuites),
	S("TIMEOUTbusy", K_SECONDS, timeout_busy),
	S("TIMEOUTconnect", K_SECONDS, timeout_connect),
	S("TIMEOUTidle", K_SECONDS, timeout_idle),
	S("TIMEOUTclose", K_SECONDS, timeout_close),
};

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

_Static_assert(sizeof(opts) / sizeof(opts[0]) <= CFG_MAX_OPTIONS, "raise CFG_MAX_OPTIONS");

static const struct opt *opt_find(const char *name)
{
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (strcasecmp(opts[i].name, name) == 0)
			return &opts[i];
	return NULL;
}

int cfg_option_known(const char *name)
{
	return opt_find(name) != NULL;
}

static void service_defaults(struct cfg_service *s)
{
	memset(s, 0, sizeof(*s));
	s->client = 0;
	s->verify_chain = s->verify_peer = s->require_cert = CFG_UNSET;
	s->tls_min = CFG_TLS12;
	s->tls_max = CFG_TLS13;
	/* stunnel's defaults */
	s->timeout_busy = 300;
	s->timeout_connect = 10;
	s->timeout_idle = 43200;
	s->timeout_close = 60;
	s->session_cache_size = 1000;
	s->session_cache_timeout = 300;
}

void cfg_init(struct cfg *c, const char *file)
{
	memset(c, 0, sizeof(*c));
	c->file = strdup(file);
	c->g.foreground = CFG_UNSET;
	c->g.syslog = CFG_UNSET;
	c->g.debug = 5; /* notice */
	service_defaults(&c->defaults);
}


/* The service's owned strings, so copying and freeing treat them alike. */
#define SERVICE_STRINGS(s) \
	{ &(s)->cert, &(s)->key, &(s)->cafile, &(s)->capath, &(s)->crlfile, &(s)->sni, &(s)->ciphers, \
	  &(s)->ciphersuites, &(s)->alpn, &(s)->ticket_key_file, &(s)->psk_secrets, &(s)->psk_identity, \
	  &(s)->protocol_username, &(s)->protocol_password, &(s)->exec, &(s)->exec_args }
#define SERVICE_LISTS(s) \
	{ &(s)->check_host, &(s)->check_ip, &(s)->check_email, &(s)->allow_cn, &(s)->allow_ou, &(s)->allow_dns, \
	  &(s)->allow_uri, &(s)->allow_ip, &(s)->pin_sha256, &(s)->protocol_header }

static void list_free(struct cfg_list *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int list_add(struct cfg_list *l, const char *value)
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
		if (list_add(dst, src->v[i]) < 0)
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
	free(c->file);
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
	if (strcasecmp(s, "SSLv3") == 0 || strcasecmp(s, "TLSv1") == 0 || strcasecmp(s, "TLSv1.0") == 0 ||
	    strcasecmp(s, "TLSv1.1") == 0 || strcasecmp(s, "SSLv2") == 0)
		return -2;
	return -1;
}

static int parse_port(const char *p, char out[6], char *err, size_t errlen)
{
	char *end;
	if (!*p)
		return fail(err, errlen, "missing port");
	errno = 0;
	long v = strtol(p, &end, 10);
	if (*end || errno || v < 1 || v > 65535 || !isdigit((unsigned char)p[0]))
		return fail(err, errlen, "bad port '%s' (1-65535)", p);
	snprintf(out, 6, "%ld", v);
	return 0;
}

int cfg_parse_addr(const char *s, struct cfg_addr *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	const char *colon = strrchr(s, ':');
	if (!*s)
		return fail(err, errlen, "empty address");
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
	if (hlen == 0)
		return fail(err, errlen, "bad address '%s' (empty host)", s);
	if (hlen >= sizeof(out->host))
		return fail(err, errlen, "host name too long in '%s'", s);
	for (size_t i = 0; i < hlen; i++) {
		unsigned char ch = (unsigned char)host[i];
		if (!(isalnum(ch) || ch == '.' || ch == '-' || ch == '_' || ch == ':' || ch == '%'))
			return fail(err, errlen, "bad character '%c' in host of '%s'", ch, s);
	}
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	if (strchr(out->host, ':')) { /* IPv6, bracketed or stunnel's "v6:port" form */
		struct in6_addr a6;
		char bare[sizeof(out->host)];
		snprintf(bare, sizeof(bare), "%s", out->host);
		char *zone = strchr(bare, '%');
		if (zone)
			*zone = '\0';
		if (inet_pton(AF_INET6, bare, &a6) != 1)
			return fail(err, errlen, "bad IPv6 address '%s' in '%s'", out->host, s);
	}
	return parse_port(colon + 1, out->port, err, errlen);
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
		if (cfg_parse_addr(v, &g->status, err, errlen) < 0) {
			char why[CFG_ERRLEN];
			snprintf(why, sizeof(why), "%s", err);
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
	case K_SSLVERSION:
		n = cfg_parse_tls_version(v);
		if (n == -2)
			return fail(err, errlen, "%s: %s is not supported (mbedTLS 3.6 implements TLSv1.2 and TLSv1.3)",
				    o->name, v);
		if (n < 0)
			return fail(err, errlen, "%s: expected TLSv1.2 or TLSv1.3, got '%s'", o->name, v);
		if (o->kind == K_SSLVERSION) {
			struct cfg_service *s = base;
			s->tls_min = s->tls_max = n;
		} else {
			*(int *)field = n;
		}
		return 0;
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
		if (list_add((struct cfg_list *)field, v) < 0)
			return fail(err, errlen, "out of memory");
		return 0;
	}
	case K_STR: {
		char *dup = strdup(v);
		if (!dup)
			return fail(err, errlen, "out of memory");
		free(*(char **)field);
		*(char **)field = dup;
		return 0;
	}
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
		if (!s->connect[s->n_connect].host[0]) /* a bare port connects to localhost, as in stunnel */
			strcpy(s->connect[s->n_connect].host, "localhost");
		s->n_connect++;
		return 0;
	}
	}
	(void)c;
	return fail(err, errlen, "internal: unhandled option kind");
}

int cfg_set(struct cfg *c, const char *name, const char *value, char *err, size_t errlen)
{
	const struct opt *o = opt_find(name);
	if (!o)
		return fail(err, errlen, "unknown option '%s'", name);
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
	const struct opt *o = opt_find(name);
	if (o && o->scope == S_GLOBAL)
		return set_value(c, o, &c->g, value, err, errlen);
	return cfg_set(c, name, value, err, errlen);
}

int cfg_section(struct cfg *c, const char *name, int line, char *err, size_t errlen)
{
	if (!*name)
		return fail(err, errlen, "empty section name");
	if (strlen(name) >= sizeof(c->svc[0].name))
		return fail(err, errlen, "section name too long: '%s'", name);
	for (size_t i = 0; i < c->nsvc; i++)
		if (strcmp(c->svc[i].name, name) == 0)
			return fail(err, errlen, "duplicate section [%s] (first at line %d)", name, c->svc[i].line);
	struct cfg_service *n = realloc(c->svc, (c->nsvc + 1) * sizeof(*n));
	if (!n)
		return fail(err, errlen, "out of memory");
	c->svc = n;
	if (service_copy(&c->svc[c->nsvc], &c->defaults) < 0)
		return fail(err, errlen, "out of memory");
	struct cfg_service *s = &c->svc[c->nsvc++];
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->file = c->file;
	s->line = line;
	c->in_section = 1;
	return 0;
}

static int finish_service(struct cfg_service *s, char *why, size_t len)
{
	int secondary = !s->client && s->sni;
	if (secondary && s->has_accept)
		return fail(why, len, "service [%s]: a secondary service (sni = PRIMARY:PATTERN) takes its primary's "
			    "connections: remove 'accept'", s->name);
	if (!s->has_accept && !secondary && !s->inetd)
		return fail(why, len, "service [%s] has no 'accept'", s->name);
	if (s->exec && s->client)
		return fail(why, len, "service [%s]: exec in client mode is not implemented yet (server mode runs it)",
			    s->name);
	if (s->exec && s->n_connect)
		return fail(why, len, "service [%s]: give either 'exec' or 'connect', not both", s->name);
	if (s->exec_args && !s->exec)
		return fail(why, len, "service [%s]: execArgs needs exec", s->name);
	if (s->exec_args) { /* as conn_start_exec splits them */
		int words = 0;
		for (const char *p = s->exec_args; *p;) {
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p)
				words++;
			while (*p && *p != ' ' && *p != '\t')
				p++;
		}
		if (words > 63 || strlen(s->exec_args) >= 1024)
			return fail(why, len, "service [%s]: execArgs: at most 63 words and 1023 characters", s->name);
	}
	if (s->exec && s->exec[0] != '/')
		return fail(why, len, "service [%s]: exec needs an absolute path, got '%s'", s->name, s->exec);
	if (s->n_connect == 0 && !s->exec)
		return fail(why, len, "service [%s] has no 'connect'", s->name);
	if (!s->client && !s->cert && !s->psk_secrets)
		return fail(why, len, "server service [%s] needs 'cert' or 'PSKsecrets' (client = no)", s->name);
	if (s->psk_identity && !s->psk_secrets)
		return fail(why, len, "service [%s]: PSKidentity needs PSKsecrets", s->name);
	if (s->psk_identity && !s->client)
		return fail(why, len, "service [%s]: PSKidentity is for client mode", s->name);
	if (s->key && !s->cert)
		return fail(why, len, "service [%s] has 'key' without 'cert'", s->name);
	if (s->tls_min > s->tls_max)
		return fail(why, len, "service [%s]: sslVersionMin is above sslVersionMax", s->name);
	if (s->client) {
		/* secure default, unlike stunnel: verify the server unless told not to; a pin without a CA
		 * is a trust decision of its own */
		if (s->verify_chain == CFG_UNSET)
			s->verify_chain = !((s->pin_sha256.n || s->psk_secrets) && !s->cafile && !s->capath);
	} else {
		if (s->verify_chain == CFG_UNSET)
			s->verify_chain = 0;
		/* stunnel: verifying a client means requiring its certificate unless said otherwise */
		if (s->require_cert == CFG_UNSET)
			s->require_cert = (s->verify_chain || s->verify_peer == 1 || s->pin_sha256.n > 0);
	}
	if (s->verify_peer == CFG_UNSET)
		s->verify_peer = 0;
	if (s->require_cert == CFG_UNSET)
		s->require_cert = 0;
	if (s->verify_peer && !s->cafile && !s->capath)
		return fail(why, len, "service [%s]: verifyPeer needs CAfile or CApath holding the peer certificates",
			    s->name);
	int pinned = s->pin_sha256.n > 0;
	if ((s->check_host.n || s->check_ip.n || s->check_email.n) && !s->verify_chain && !s->verify_peer && !pinned)
		return fail(why, len, "service [%s]: checkHost/checkIP/checkEmail need verifyChain, verifyPeer or pinSHA256",
			    s->name);
	if ((s->allow_cn.n || s->allow_ou.n || s->allow_dns.n || s->allow_uri.n || s->allow_ip.n) && !s->verify_chain &&
	    !s->verify_peer)
		return fail(why, len, "service [%s]: allow rules apply to a verified certificate: set verifyChain or verifyPeer",
			    s->name);
	if (s->crlfile && !s->verify_chain)
		return fail(why, len, "service [%s]: CRLfile needs verifyChain", s->name);
	if (s->session_cache_timeout > 604800)
		return fail(why, len, "service [%s]: sessionCacheTimeout: at most 604800 seconds (7 days, TLS 1.3's limit)",
			    s->name);
	if (!s->client && s->sni && !s->cert)
		return fail(why, len, "service [%s]: a secondary service (sni = PRIMARY:PATTERN) needs 'cert'", s->name);
	if (s->protocol == CFG_PROTO_CONNECT && !s->client)
		return fail(why, len, "service [%s]: protocol = connect is for client mode", s->name);
	if (s->protocol == CFG_PROTO_CONNECT && !s->has_protocol_host)
		return fail(why, len, "service [%s]: protocol = connect needs protocolHost (the origin HOST:PORT)", s->name);
	if (s->protocol != CFG_PROTO_CONNECT && (s->has_protocol_host || s->protocol_username || s->protocol_password ||
						 s->protocol_header.n || s->protocol_auth))
		return fail(why, len, "service [%s]: protocolHost/protocolUsername/protocolPassword/protocolHeader/"
			    "protocolAuthentication need protocol = connect", s->name);
	if (s->protocol == CFG_PROTO_CONNECT) { /* the request is built per connection: find its faults now */
		char req[4096], e[160];
		int ok = connect_request(s->protocol_host.host, s->protocol_host.port, s->protocol_username,
					 s->protocol_password, (const char *const *)s->protocol_header.v, s->protocol_header.n,
					 req, sizeof(req), e, sizeof(e)) >= 0;
		memset(req, 0, sizeof(req));
		if (!ok)
			return fail(why, len, "service [%s]: protocol = connect: %s", s->name, e);
	}
	if (!s->protocol_username != !s->protocol_password)
		return fail(why, len, "service [%s]: protocolUsername and protocolPassword go together", s->name);
	if (s->protocol == CFG_PROTO_PROXY && !s->proxy_version)
		s->proxy_version = 1;
	if (s->proxy_version < 0) /* proxyProtocol = no */
		s->proxy_version = 0;
	if (s->proxy_version && s->client)
		return fail(why, len, "service [%s]: the PROXY header (protocol = proxy, proxyProtocol) is for server mode",
			    s->name);
	if (s->client && s->ticket_key_file)
		return fail(why, len, "service [%s]: ticketKeyFile is for server mode", s->name);
	return 0;
}

/* Server-mode "sni = PRIMARY:PATTERN": find the primary, check the pattern. */
static int link_secondary(struct cfg *c, struct cfg_service *s, char *why, size_t len)
{
	char *colon = strchr(s->sni, ':');
	if (!colon || colon == s->sni || !colon[1])
		return fail(why, len, "service [%s]: sni: expected PRIMARY:PATTERN in server mode, got '%s'", s->name, s->sni);
	const char *pat = colon + 1;
	if (strchr(pat, '*') && (pat[0] != '*' || pat[1] != '.' || strchr(pat + 1, '*')))
		return fail(why, len, "service [%s]: sni: '%s': only a leading '*.' wildcard is allowed", s->name, pat);
	for (size_t i = 0; i < c->nsvc; i++) {
		struct cfg_service *p = &c->svc[i];
		if (strlen(p->name) != (size_t)(colon - s->sni) || strncmp(p->name, s->sni, (size_t)(colon - s->sni)) != 0)
			continue;
		if (p == s || p->client || p->sni)
			return fail(why, len, "service [%s]: sni: [%s] is not a server service with its own 'accept'", s->name,
				    p->name);
		s->primary = (int)i;
		s->sni_pattern = pat;
		return 0;
	}
	return fail(why, len, "service [%s]: sni: no service named [%.*s]", s->name, (int)(colon - s->sni), s->sni);
}

const char *cfg_where(const struct cfg_service *s, char *buf, size_t len)
{
	if (s->line > 0)
		snprintf(buf, len, "%s:%d", s->file, s->line);
	else
		snprintf(buf, len, "%s", s->file);
	return buf;
}

const char *cfg_where_option(const struct cfg_service *s, const char *option, char *buf, size_t len)
{
	char word[32];
	size_t n = strcspn(option, " :");
	snprintf(word, sizeof(word), "%.*s", (int)(n < sizeof(word) ? n : sizeof(word) - 1), option);
	const struct opt *o = opt_find(word);
	if (!o || o->scope == S_GLOBAL || s->opt_line[o - opts] <= 0)
		return cfg_where(s, buf, len);
	snprintf(buf, len, "%s:%d", s->file, s->opt_line[o - opts]);
	return buf;
}

int cfg_finish(struct cfg *c, char *err, size_t errlen)
{
	if (c->nsvc == 0 && (c->defaults.n_connect || c->defaults.exec)) {
		/* stunnel's inetd mode: options without a section are the one service, run on stdin/stdout */
		char why[CFG_ERRLEN];
		c->in_section = 0;
		if (cfg_section(c, "inetd", 0, why, sizeof(why)) < 0)
			return fail(err, errlen, "%s: %s", c->file, why);
		c->svc[0].inetd = 1;
	}
	if (c->nsvc == 0)
		return fail(err, errlen, "%s: no services defined", c->file);
	for (size_t i = 0; i < c->nsvc; i++) {
		char why[CFG_ERRLEN];
		c->svc[i].inetd |= c->inetd;
		if (finish_service(&c->svc[i], why, sizeof(why)) < 0) {
			if (c->svc[i].line == 0) /* from command-line flags */
				return fail(err, errlen, "%s: %s", c->file, why);
			return fail(err, errlen, "%s:%d: %s", c->file, c->svc[i].line, why);
		}
	}
	for (size_t i = 0; i < c->nsvc; i++) {
		char why[CFG_ERRLEN];
		struct cfg_service *s = &c->svc[i];
		s->primary = -1;
		if (!s->client && s->sni && link_secondary(c, s, why, sizeof(why)) < 0)
			return fail(err, errlen, "%s:%d: %s", c->file, s->line, why);
	}
	if (c->g.foreground == CFG_UNSET)
		c->g.foreground = 0; /* stunnel daemonizes by default */
	return 0;
}

/* inih reports the line of a section's first option, never the "[name]" line itself, and merges
 * repeated sections silently: a first pass over the file finds the header lines. */
struct section_line {
	char name[64];
	int line;
};

struct load_ctx {
	struct cfg *c;
	char *err;
	size_t errlen;
	int failed;
	char cur_section[64];
	struct section_line *headers;
	size_t nheaders;
};

static int scan_sections(FILE *f, struct load_ctx *L)
{
	char buf[16384];
	for (int line = 1; fgets(buf, sizeof(buf), f); line++) {
		char *p = buf, *end;
		if (line == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
			p += 3; /* a UTF-8 byte order mark, which inih skips too */
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '[' || !(end = strchr(p, ']')))
			continue;
		*end = '\0';
		p++;
		if (!*p)
			return fail(L->err, L->errlen, "%s:%d: empty section name", L->c->file, line);
		if (strlen(p) > 49) /* inih cuts section names there: two long names could merge */
			return fail(L->err, L->errlen, "%s:%d: section name too long (at most 49 characters)", L->c->file,
				    line);
		for (size_t i = 0; i < L->nheaders; i++)
			if (strcmp(L->headers[i].name, p) == 0)
				return fail(L->err, L->errlen, "%s:%d: duplicate section [%s] (first at line %d)", L->c->file,
					    line, p, L->headers[i].line);
		struct section_line *n = realloc(L->headers, (L->nheaders + 1) * sizeof(*n));
		if (!n)
			return fail(L->err, L->errlen, "%s: out of memory", L->c->file);
		L->headers = n;
		snprintf(n[L->nheaders].name, sizeof(n->name), "%s", p);
		n[L->nheaders++].line = line;
	}
	rewind(f);
	return 0;
}

static int header_line(const struct load_ctx *L, const char *name, int fallback)
{
	for (size_t i = 0; i < L->nheaders; i++)
		if (strcmp(L->headers[i].name, name) == 0)
			return L->headers[i].line;
	return fallback;
}

static int cfg_ini_handler(void *user, const char *section, const char *name, const char *value, int line)
{
	struct load_ctx *L = user;
	char why[CFG_ERRLEN];
	if (L->failed)
		return 0;
	if (name == NULL) /* inih with INI_CALL_HANDLER_ON_NEW_SECTION is not what Debian ships */
		return 1;
	if (*section && strcmp(section, L->cur_section) != 0) {
		if (cfg_section(L->c, section, header_line(L, section, line), why, sizeof(why)) < 0)
			goto bad;
		snprintf(L->cur_section, sizeof(L->cur_section), "%s", section);
	}
	if (!*name) {
		snprintf(why, sizeof(why), "missing option name");
		goto bad;
	}
	if (cfg_set(L->c, name, value, why, sizeof(why)) < 0)
		goto bad;
	const struct opt *o = opt_find(name); /* where it was set, for errors found later (cfg_where_option) */
	if (o->scope != S_GLOBAL)
		(L->c->in_section ? &L->c->svc[L->c->nsvc - 1] : &L->c->defaults)->opt_line[o - opts] = line;
	else if (strcasecmp(o->name, "status") == 0)
		L->c->g.status_line = line;
	return 1;
bad:
	L->failed = 1;
	fail(L->err, L->errlen, "%s:%d: %s", L->c->file, line, why);
	return 0;
}

int cfg_load(const char *path, struct cfg *c, int inetd, char *err, size_t errlen)
{
	struct load_ctx L = { .c = c, .err = err, .errlen = errlen };
	cfg_init(c, path);
	c->inetd = inetd;
	FILE *f = fopen(path, "r");
	if (!f) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
		goto err0;
	}
	if (scan_sections(f, &L) < 0) {
		fclose(f);
		goto err0;
	}
#if HAVE_DECL_INI_MAX_LINE
	ini_max_line = 16384;
	ini_allow_multiline = 0;
	ini_allow_inline_comments = 0;
	ini_stop_on_first_error = 1;
#endif
	int r = ini_parse_file(f, cfg_ini_handler, &L);
	fclose(f);
	if (L.failed)
		goto err0;
	if (r > 0) {
		fail(err, errlen, "%s:%d: syntax error (expected 'name = value' or '[section]')", path, r);
		goto err0;
	}
	if (r < 0) {
		fail(err, errlen, "%s: cannot parse (out of memory)", path);
		goto err0;
	}
	for (size_t i = 0; i < L.nheaders; i++) {
		size_t j = 0;
		while (j < c->nsvc && strcmp(c->svc[j].name, L.headers[i].name) != 0)
			j++;
		if (j == c->nsvc) {
			fail(err, errlen, "%s:%d: section [%s] has no options", path, L.headers[i].line, L.headers[i].name);
			goto err0;
		}
	}
	if (cfg_finish(c, err, errlen) < 0)
		goto err0;
	free(L.headers);
	return 0;
err0:
	free(L.headers);
	cfg_free(c);
	return -1;
}
