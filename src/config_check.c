/* Validation once the whole configuration is read: what each service needs, what its options
 * imply together, mode-dependent defaults, SNI secondaries linked to their primaries. */
#include "config_int.h"
#include "proto/connect.h"
#include "sslopt.h"
#include "suites.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define fail cfg_fail

static int finish_service(struct cfg_service *s, char *why, size_t len)
{
	int secondary = !s->client && s->sni;
	if (secondary && s->has_accept)
		return fail(why, len, "service [%s]: a secondary service (sni = PRIMARY:PATTERN) takes its primary's "
			    "connections: remove 'accept'", s->name);
	/* stunnel's exec+connect: the program is started at start-up (and again with retry) and is the
	 * plaintext side of one TLS connection to `connect`, as pppd in a VPN over TLS */
	int exec_connect = s->exec && s->n_connect;
	if (!s->has_accept && !secondary && !s->inetd && !exec_connect)
		return fail(why, len, "service [%s] has no 'accept'", s->name);
	if (s->max_connections && (secondary || exec_connect || s->inetd))
		return fail(why, len, "service [%s]: maxConnections counts the connections accepted on the service's own "
			    "'accept': %s", s->name, secondary ? "a secondary's count against its primary's" : "it has none");
	if (exec_connect && !s->client)
		return fail(why, len, "service [%s]: exec with connect runs the program as the plaintext side of a TLS "
			    "client connection: set client = yes (a server service takes either exec or connect)", s->name);
	if (exec_connect && s->has_accept)
		return fail(why, len, "service [%s]: exec with connect starts its one connection itself: remove "
			    "'accept' (or 'exec', to serve accepted clients)", s->name);
	if (s->exec && s->client && !s->n_connect)
		return fail(why, len, "service [%s]: exec in client mode needs connect (the TLS server the program's "
			    "connection goes to)", s->name);
	/* retry without exec+connect and pty without exec change nothing, in stunnel as here (documented) */
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
	if (s->key && !s->cert)
		return fail(why, len, "service [%s] has 'key' without 'cert'", s->name);
	s->ssl_options = sslopt_effect(&s->ssl_option_lines);
	/* @SECLEVEL=n in ciphers sets the level too, and wins: OpenSSL reads the cipher string after securityLevel */
	int level = suites_seclevel(s->ciphers);
	if (level >= 0)
		s->security_level = level;
	if (s->security_level >= 3) /* OpenSSL's level 3 and above issue and ask for no session tickets */
		s->ssl_options |= SSLOPT_NO_TICKET;
	if (s->ssl_options & SSLOPT_NO_TLS12 && s->tls_min < CFG_TLS13)
		s->tls_min = CFG_TLS13;
	if (s->ssl_options & SSLOPT_NO_TLS13 && s->tls_max > CFG_TLS12)
		s->tls_max = CFG_TLS12;
	if (s->tls_min > s->tls_max)
		return fail(why, len, "service [%s]: %s", s->name,
			    s->ssl_options & (SSLOPT_NO_TLS12 | SSLOPT_NO_TLS13)
				    ? "options NO_TLSv1_2/NO_TLSv1_3 and sslVersionMin/Max leave no TLS version"
				    : "sslVersionMin is above sslVersionMax");
	if (s->session_resume == CFG_UNSET)
		s->session_resume = 1;
	if (!s->ticket_key_secret != !s->ticket_mac_secret && !s->client)
		return fail(why, len, "service [%s]: ticketKeySecret and ticketMacSecret go together", s->name);
	if (s->ticket_key_secret && s->ticket_key_file && !s->client)
		return fail(why, len, "service [%s]: give either ticketKeyFile or ticketKeySecret/ticketMacSecret",
			    s->name);
	if ((s->sock_user || s->sock_group) && !s->accept.path[0])
		return fail(why, len, "service [%s]: setuid/setgid in a section set the owner of a Unix accept socket "
			    "(accept = /path); the process's user is a global option, before the first section", s->name);
	if (s->client) {
		/* secure default, unlike stunnel: verify the server unless told not to; a pin without a CA
		 * is a trust decision of its own */
		if (s->verify_chain == CFG_UNSET)
			s->verify_by_default = s->verify_chain = !((s->pin_sha256.n || s->psk_secrets) && !s->cafile && !s->capath);
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
	int pinned = s->pin_sha256.n > 0, unix_connect = 0;
	for (int i = 0; i < s->n_connect; i++)
		unix_connect |= s->connect[i].path[0] != 0;
	if (s->client && s->verify_chain && unix_connect && s->protocol != CFG_PROTO_CONNECT && !(s->sni && *s->sni) &&
	    !s->check_host.n && !s->check_ip.n && !s->check_email.n)
		/* a socket path is no name a certificate carries: say which name to check, as verifying the chain
		 * alone would let any certificate of the CA in */
		return fail(why, len, "service [%s]: connect to a Unix socket: set sni (or checkHost/checkIP) to the name "
			    "the server's certificate must carry, or verifyChain = no", s->name);
	if ((s->check_host.n || s->check_ip.n || s->check_email.n) && !s->verify_chain && !s->verify_peer && !pinned)
		return fail(why, len, "service [%s]: checkHost/checkIP/checkEmail need verifyChain, verifyPeer or pinSHA256",
			    s->name);
	if ((s->allow_cn.n || s->allow_ou.n || s->allow_dns.n || s->allow_uri.n || s->allow_ip.n) && !s->verify_chain &&
	    !s->verify_peer)
		return fail(why, len, "service [%s]: allow rules apply to a verified certificate: set verifyChain or verifyPeer",
			    s->name);
	if ((s->crlfile || s->crlpath) && !s->verify_chain)
		return fail(why, len, "service [%s]: %s needs verifyChain", s->name, s->crlfile ? "CRLfile" : "CRLpath");
	int ocsp = s->ocsp_url || s->ocsp_aia == 1;
	if (ocsp && !s->verify_chain)
		return fail(why, len, "service [%s]: %s needs verifyChain (the peer's issuer must be known to check the "
			    "responder's answer)", s->name, s->ocsp_url ? "OCSP" : "OCSPaia = yes");
	if (ocsp && s->timeout_ocsp < 1)
		return fail(why, len, "service [%s]: TIMEOUTocsp: at least 1 second", s->name);
	if (!ocsp && (s->ocsp_require == 1 || s->ocsp_nonce == 1))
		return fail(why, len, "service [%s]: %s = yes needs OCSP = URL or OCSPaia = yes (no responder is asked "
			    "without them)", s->name, s->ocsp_nonce == 1 ? "OCSPnonce" : "OCSPrequire");
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

/* Server-mode "sni = PRIMARY:PATTERN" (one line per pattern, all naming the same primary): find the primary,
 * check the patterns. */
static int link_secondary(struct cfg *c, struct cfg_service *s, char *why, size_t len)
{
	s->n_sni_pattern = 0;
	for (int k = 0; k < s->sni_all.n; k++) {
		const char *v = s->sni_all.v[k], *colon = strchr(v, ':');
		if (!colon || colon == v || !colon[1])
			return fail(why, len, "service [%s]: sni: expected PRIMARY:PATTERN in server mode, got '%s'", s->name, v);
		const char *pat = colon + 1;
		size_t plen = (size_t)(colon - v);
		if (strchr(pat, '*') && (pat[0] != '*' || pat[1] != '.' || strchr(pat + 1, '*')))
			return fail(why, len, "service [%s]: sni: '%s': only a leading '*.' wildcard is allowed", s->name, pat);
		size_t i = 0;
		while (i < c->nsvc && (strlen(c->svc[i].name) != plen || strncmp(c->svc[i].name, v, plen) != 0))
			i++;
		if (i == c->nsvc)
			return fail(why, len, "service [%s]: sni: no service named [%.*s]", s->name, (int)plen, v);
		const struct cfg_service *p = &c->svc[i];
		if (p == s || p->client || p->sni)
			return fail(why, len, "service [%s]: sni: [%s] is not a server service with its own 'accept'", s->name,
				    p->name);
		if (k > 0 && s->primary != (int)i)
			return fail(why, len, "service [%s]: sni: every pattern of a secondary names the same primary ([%s], "
				    "not [%s])", s->name, c->svc[s->primary].name, p->name);
		s->primary = (int)i;
		s->sni_pattern[s->n_sni_pattern++] = pat;
	}
	return 0;
}

/* The address an accept host binds (a bare port: none, it listens on every address of both families). */
static int accept_addr(const struct cfg_addr *a, struct sockaddr_storage *ss)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res;
	if (!a->host[0] || getaddrinfo(a->host, a->port, &hints, &res) != 0)
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

static int is_any(const struct sockaddr_storage *ss)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return memcmp(&((const struct sockaddr_in6 *)ss)->sin6_addr, &any6, sizeof(any6)) == 0;
}

/* Would A and B's listeners collide (EADDRINUSE at start)? Ports are compared first, so names are looked
 * up only for the rare pair on one port. */
static int accepts_clash(const struct cfg_addr *a, const struct cfg_addr *b)
{
	if (a->path[0] || b->path[0])
		return strcmp(a->path, b->path) == 0;
	if (strcmp(a->port, b->port) != 0)
		return 0;
	if (!a->host[0] || !b->host[0] || strcasecmp(a->host, b->host) == 0)
		return 1;
	struct sockaddr_storage x, y;
	if (accept_addr(a, &x) < 0 || accept_addr(b, &y) < 0)
		return 0; /* a name that does not resolve is reported when the listener is opened */
	if (x.ss_family != y.ss_family)
		return 0;
	if (is_any(&x) || is_any(&y))
		return 1;
	if (x.ss_family == AF_INET)
		return ((struct sockaddr_in *)&x)->sin_addr.s_addr == ((struct sockaddr_in *)&y)->sin_addr.s_addr;
	return memcmp(&((struct sockaddr_in6 *)&x)->sin6_addr, &((struct sockaddr_in6 *)&y)->sin6_addr,
		      sizeof(struct in6_addr)) == 0;
}

static const char *accept_key(const struct cfg_service *s)
{
	return s->accept.path[0] ? s->accept.path : s->accept.port;
}

static int by_accept_key(const void *x, const void *y)
{
	const struct cfg_service *a = *(const struct cfg_service *const *)x, *b = *(const struct cfg_service *const *)y;
	int d = strcmp(accept_key(a), accept_key(b));
	return d ? d : (a > b) - (a < b);
}

/* Two listeners can only collide on one port (or one socket path): the services are sorted by it and
 * compared within each group, so thousands of services cost n log n, not n^2. Reported is the pair a
 * scan in file order meets first: the earliest service that clashes, with the first one before it. */
static int check_accept_clashes(const struct cfg *c, char *err, size_t errlen)
{
	const struct cfg_service **v = malloc((c->nsvc ? c->nsvc : 1) * sizeof(*v)), *a = NULL, *b = NULL;
	size_t n = 0;
	if (!v)
		return fail(err, errlen, "out of memory");
	for (size_t i = 0; i < c->nsvc; i++)
		if (c->svc[i].has_accept)
			v[n++] = &c->svc[i];
	qsort(v, n, sizeof(*v), by_accept_key);
	for (size_t g = 0, end; g < n; g = end) {
		for (end = g + 1; end < n && strcmp(accept_key(v[end]), accept_key(v[g])) == 0; end++)
			;
		for (size_t j = g + 1; j < end && (!b || v[j] < b); j++)
			for (size_t i = g; i < j && b != v[j]; i++)
				if (accepts_clash(&v[i]->accept, &v[j]->accept)) {
					a = v[i];
					b = v[j];
				}
	}
	free(v);
	if (!b)
		return 0;
	char wa[300], wb[300], as[300], bs[300];
	return fail(err, errlen, "%s: [%s] accept %s: [%s] listens there already (%s: accept %s); to share a listener "
		    "between services, use sni = %s:PATTERN", cfg_where_option(b, "accept", wb, sizeof(wb)), b->name,
		    cfg_addr_str(&b->accept, bs, sizeof(bs)), a->name, cfg_where_option(a, "accept", wa, sizeof(wa)),
		    cfg_addr_str(&a->accept, as, sizeof(as)), a->name);
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
		return fail(err, errlen, "%s: no services defined: add a [section] with accept and connect (or, for "
			    "inetd mode, connect or exec without any section)", c->file);
	for (size_t i = 0; i < c->nsvc; i++) {
		char why[CFG_ERRLEN];
		c->svc[i].inetd |= c->inetd;
		if (finish_service(&c->svc[i], why, sizeof(why)) < 0) {
			if (c->svc[i].line == 0) /* from command-line flags */
				return fail(err, errlen, "%s: %s", c->file, why);
			return fail(err, errlen, "%s:%d: %s", c->svc[i].file, c->svc[i].line, why);
		}
	}
	if (check_accept_clashes(c, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < c->nsvc; i++) {
		char why[CFG_ERRLEN];
		struct cfg_service *s = &c->svc[i];
		s->primary = -1;
		if (!s->client && s->sni && link_secondary(c, s, why, sizeof(why)) < 0)
			return fail(err, errlen, "%s:%d: %s", s->file, s->line, why);
	}
	if (c->g.foreground == CFG_UNSET)
		c->g.foreground = 0; /* stunnel daemonizes by default */
	return 0;
}


const char *cfg_notes(const struct cfg_service *s, char *buf, size_t len)
{
	char words[512];
	size_t used;
	if (len)
		buf[0] = '\0';
	if (s->client && s->verify_by_default)
		/* a stunnel client configuration aimed at a self-signed server would fail every handshake */
		snprintf(buf, len, "[%s] verifies the server's certificate chain against %s and its name (tlswrap's "
			 "default; stunnel verifies nothing unless told): a self-signed or private-CA server needs its CA "
			 "in CAfile, or verifyChain = no\n", s->name, s->cafile || s->capath ? "CAfile/CApath" : "the system trust store");
	if (suites_skipped(s->ciphers, words, sizeof(words)) && (used = strlen(buf)) < len)
		/* harmless in !DES-CBC3-SHA, a typo elsewhere: shown, as OpenSSL says nothing */
		snprintf(buf + used, len - used, "[%s] ciphers: skipped %s (no suite mbedTLS has, nor a keyword: they select "
			 "nothing, as OpenSSL skips what it does not have)\n", s->name, words);
	return buf;
}
