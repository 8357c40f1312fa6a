/* Configuration: stunnel-style INI (via inih) or command-line flags -> plain structs.
 * Nothing here opens sockets or loads certificates; service.c does that from these structs. */
#ifndef TLSWRAP_CONFIG_H
#define TLSWRAP_CONFIG_H

#include <stddef.h>

#include "sslopt.h"

#define CFG_MAX_CONNECT 16
#define CFG_MAX_SNI 16 /* patterns of one SNI secondary */
#define CFG_MAX_DRAIN_DELAY 3600
#define CFG_MAX_WORKERS 256
#define CFG_MAX_LIMIT 10000000 /* maxConnections, maxHandshakes */
#define CFG_DEFAULT_MAX_HANDSHAKES 1000
#define CFG_ERRLEN 512

/* An unresolved "[host:]port" (host is "" when only a port was given), or a Unix socket path. */
struct cfg_addr {
	char host[256];
	char port[6];
	char path[108]; /* "/path": a Unix domain socket (host and port are then empty) */
};

/* TLS protocol versions as mbedTLS numbers them (0x0303 = TLS 1.2, 0x0304 = TLS 1.3). */
enum { CFG_TLS12 = 0x0303, CFG_TLS13 = 0x0304 };

/* Key exchange groups for `curves`, by their IANA numbers (which mbedTLS uses too). */
enum {
	CFG_GROUP_SECP256R1 = 0x17, CFG_GROUP_SECP384R1 = 0x18, CFG_GROUP_SECP521R1 = 0x19,
	CFG_GROUP_BP256R1 = 0x1A, CFG_GROUP_BP384R1 = 0x1B, CFG_GROUP_BP512R1 = 0x1C,
	CFG_GROUP_X25519 = 0x1D, CFG_GROUP_X448 = 0x1E,
	CFG_GROUP_FFDHE2048 = 0x100, CFG_GROUP_FFDHE3072, CFG_GROUP_FFDHE4096, CFG_GROUP_FFDHE6144, CFG_GROUP_FFDHE8192,
};
#define CFG_MAX_GROUPS 16

/* A repeatable option's values, in the order given. */
struct cfg_list {
	char **v;
	int n;
};

enum { CFG_PROTO_NONE, CFG_PROTO_CONNECT, CFG_PROTO_PROXY, CFG_PROTO_SMTP, CFG_PROTO_IMAP, CFG_PROTO_POP3 };

/* Tri-state booleans: options never set stay CFG_UNSET so defaults can depend on mode. */
enum { CFG_UNSET = -1 };

/* Where an option was set: one per line, for errors found once the value is used. */
struct cfg_line {
	int opt;          /* the option (its place in config.c's table) */
	int line;
	const char *file; /* the file, main or included (points into struct cfg) */
};

struct cfg_service {
	char name[64];
	const char *file; /* where the section starts (points into struct cfg) */
	int line;
	struct cfg_line *lines; /* every option line of the section, in order, those of the defaults first */
	int nlines;
	int client;                 /* yes: accept plain, connect TLS */
	struct cfg_addr accept;
	int has_accept;
	struct cfg_addr connect[CFG_MAX_CONNECT];
	int n_connect;
	char *cert, *key, *cafile, *capath;
	char *key_password_file;    /* keyPasswordFile: the encrypted key's passphrase (a file, or a systemd
				     * credential's name) */
	int verify_chain, verify_peer, require_cert; /* CFG_UNSET, 0 or 1 */
	int verify_by_default;      /* client: verify_chain is on because nothing said otherwise (stunnel's is off) */
	char *crlfile;
	struct cfg_list check_host, check_ip, check_email; /* any match passes */
	/* access rules on the peer certificate: a peer passes if any rule of any kind matches */
	struct cfg_list allow_cn, allow_ou, allow_dns, allow_uri, allow_ip, pin_sha256;
	int session_cache_size, session_cache_timeout; /* server: entries, seconds (also ticket lifetime) */
	char *ticket_key_file;
	char *psk_secrets, *psk_identity;
	/* negotiations: protocol = connect (client mode, through an HTTP proxy) or proxy (server mode,
	 * PROXY header to the backend) */
	int protocol;             /* CFG_PROTO_* */
	struct cfg_addr protocol_host; /* connect: the origin to ask the proxy for */
	int has_protocol_host;
	char *protocol_username, *protocol_password;
	struct cfg_list protocol_header;
	int proxy_version;        /* 0 unset, -1 no, 1 or 2: PROXY header sent to the backend */
	int protocol_auth;        /* protocolAuthentication given */
	int accept_proxy;         /* a PROXY header is expected from a load balancer in front */
	char *exec, *exec_args;   /* server mode: the plaintext side is this program (stunnel's exec) */
	char *alpn;     /* comma-separated protocols offered (client) or accepted (server) */
	char *sni;      /* client: SNI name; "" disables SNI; NULL = default. Server: "PRIMARY:PATTERN" */
	int inetd;      /* the service of a file without sections: one connection on stdin/stdout */
	int primary;    /* server with sni: index of the service whose listener it shares, else -1 */
	struct cfg_list sni_all; /* every sni value given (server mode: one PRIMARY:PATTERN each; client: the last counts) */
	const char *sni_pattern[CFG_MAX_SNI]; /* server with sni: the names it takes (point into sni_all) */
	int n_sni_pattern;
	int tls_min, tls_max;
	char *ciphers;      /* TLS 1.2 suites, colon-separated */
	char *ciphersuites; /* TLS 1.3 suites, colon-separated */
	int timeout_busy, timeout_connect, timeout_idle, timeout_close; /* seconds */
	struct cfg_list sockopts;    /* socket = a|l|r:OPTION=VALUE, each checked when set */
	struct sslopt_lines ssl_option_lines; /* options = NAME / -NAME, as given */
	unsigned ssl_options;        /* ... the SSLOPT_* bits in effect, after cfg_finish */
	int delay;                   /* delay = yes: connect names are resolved per connection */
	int failover_rr;             /* failover = rr: each connection starts at the next address */
	int retry, pty;              /* client mode exec: restart the program; give it a terminal */
	int session_resume;          /* sessionResume (CFG_UNSET: yes) */
	char *ticket_key_secret, *ticket_mac_secret; /* stunnel's shared ticket keys (hex) */
	char *crlpath;               /* CRLpath: every CRL file in the directory */
	char *curves;                /* curves = NAME:NAME...: key exchange groups in order */
	char *local;                 /* local = HOST: source address of outgoing connections */
	char *sock_user, *sock_group; /* setuid/setgid in a section: owner of a Unix accept socket */
	int reset;                   /* reset = yes: a connection that ends in an error is reset (TCP RST) */
	int debug;                   /* debug in the section: the level of its connections' lines (CFG_UNSET: the
				      * global one) */
	int security_level;          /* securityLevel 0-5 (2), or the cipher string's @SECLEVEL, after cfg_finish */
	int max_connections;         /* maxConnections: connections of this service at once (0: no limit) */
	char *ocsp_url;              /* OCSP = URL: the responder asked about the peer's certificate */
	int ocsp_require, ocsp_nonce; /* OCSPrequire (CFG_UNSET: yes), OCSPnonce (CFG_UNSET: no) */
	int ocsp_aia;                /* OCSPaia: without OCSP = URL, ask the responder the certificate names */
	int timeout_ocsp;            /* TIMEOUTocsp, seconds */
};

struct cfg_global {
	int foreground; /* CFG_UNSET, 0 or 1 */
	char *pid;
	int debug;      /* syslog level 0..7 */
	char *output;
	int syslog;     /* CFG_UNSET, 0 or 1 */
	char *setuid, *setgid, *chroot; /* user and group (names or numbers) to run as, directory to confine to */
	int log_json;   /* logFormat = json */
	struct cfg_addr status; /* the metrics endpoint (host "" = 127.0.0.1) */
	int status_line;        /* where `status` was set, for its bind error */
	const char *status_file; /* ... in this file */
	int has_status;
	int quiet;      /* foreground = quiet: no log on stderr */
	char *service;  /* the syslog ident (stunnel's `service`), or NULL: "tlswrap" */
	int workers;    /* event loops (threads) serving connections; 0: one per CPU (auto) */
	int log_overwrite; /* log = overwrite: truncate the output file when it is opened */
	int reload_on_change; /* reloadOnChange = yes: a change to a file the configuration names reloads it */
	int sandbox;    /* CFG_UNSET (yes), 0 or 1: confine the serving phase with Landlock (sandbox.h) */
	int drain_delay; /* seconds between SIGTERM and no longer accepting, /healthz failing meanwhile */
	int max_connections; /* maxConnections: accepted connections of all services at once (0: no limit) */
	int max_handshakes;  /* maxHandshakes: accepted connections not yet relaying (0: no limit) */
};

struct cfg {
	char *file;                 /* path the config came from ("command line" for flags) */
	struct cfg_global g;
	struct cfg_service defaults; /* service options given before the first section */
	struct cfg_service *svc;
	size_t nsvc, svc_cap;
	struct cfg_list files;      /* every file read (the main one, then included ones): owns the names */
	struct cfg_list include_dirs; /* every directory an `include` named */
	const char *cur_file;       /* parser state: the file being read (points into files) */
	int in_section;             /* parser state: a section has started */
	int inetd;                  /* every service runs on stdin/stdout (--inetd): none needs 'accept' */
};

/* cfg_init: an empty configuration with stunnel's defaults, named FILE for error messages. */
void cfg_init(struct cfg *c, const char *file);

/* cfg_addr_str: A as text for messages: "host:port", "[v6]:port", "*:port" (a bare port) or the
 * Unix socket path. Returns BUF. */
const char *cfg_addr_str(const struct cfg_addr *a, char *buf, size_t len);

/* cfg_where: where S was configured, for messages: "file:line" of its section, or just "file" when it
 * has no section line (command-line flags; the one service of a file without sections). Returns BUF. */
const char *cfg_where(const struct cfg_service *s, char *buf, size_t len);

/* cfg_where_option: as cfg_where, but "file:line" of the line that set OPTION (a name in any case, or
 * the first word of a message such as "cert /x: ..." up to a space or colon) when it was set in the
 * file, so an error about a file names the line that named it: the last such line, or, for a
 * repeatable option whose values are kept as given (socket, checkHost, ...), the line of the value the
 * message names next ("socket a:SO_RCVBUF=1024: ..."). Returns BUF. */
const char *cfg_where_option(const struct cfg_service *s, const char *option, char *buf, size_t len);

/* cfg_where_nth: as cfg_where_option, for the NTH (from 0) line of repeatable OPTION in S (the NTH value of
 * its list: connect[NTH], ...). Returns BUF. */
const char *cfg_where_nth(const struct cfg_service *s, const char *option, int nth, char *buf, size_t len);

/* cfg_load: parse PATH into C (initialised here) and validate it; with INETD (--inetd) its services
 * run on stdin/stdout and need no 'accept'. Returns 0, or -1 with a one-line "file:line: reason"
 * message in ERR; C is then freed. */
int cfg_load(const char *path, struct cfg *c, int inetd, char *err, size_t errlen);

/* cfg_set: apply NAME = VALUE (case-insensitive name) to the globals or, when a section has started,
 * to the last service; before the first section service options set the defaults.
 * Returns 0, or -1 with the reason (no location) in ERR. */
int cfg_set(struct cfg *c, const char *name, const char *value, char *err, size_t errlen);

/* cfg_set_flag: as cfg_set, but a global option is taken wherever it appears (command-line flags
 * have no sections). */
int cfg_set_flag(struct cfg *c, const char *name, const char *value, char *err, size_t errlen);

/* cfg_section: start a new service named NAME (copying the defaults) at FILE:LINE. Returns 0, or -1
 * with the reason in ERR (duplicate name, too long). */
int cfg_section(struct cfg *c, const char *name, int line, char *err, size_t errlen);

/* cfg_section_new: cfg_section for a NAME the caller knows is not taken (the loader has checked every
 * "[name]" line of the files first, with a lookup that stays fast for thousands of sections; the check
 * cfg_section adds compares NAME with each service). */
int cfg_section_new(struct cfg *c, const char *name, int line, char *err, size_t errlen);

/* cfg_finish: validate every service (accept/connect present, server has cert, ...) and fill in
 * mode-dependent defaults. Returns 0, or -1 with "file:line: reason" in ERR. */
int cfg_finish(struct cfg *c, char *err, size_t errlen);

/* cfg_free: release everything C owns; C may be passed to cfg_init again. */
void cfg_free(struct cfg *c);

/* cfg_notes: what --check should tell about S beyond errors, as lines ending in '\n' ("[NAME] ..."), into BUF
 * (LEN bytes; "" when nothing): a client service that verifies its server only because that is tlswrap's
 * default, which stunnel's is not; the words of `ciphers` that select nothing (suites mbedTLS lacks, typos).
 * Returns BUF. */
const char *cfg_notes(const struct cfg_service *s, char *buf, size_t len);

/* cfg_parse_addr: parse "[host:]port", "[v6]:port", stunnel's "v6:port" or a Unix socket path
 * (starting with '/') into OUT.
 * Returns 0, or -1 with the reason in ERR. */
int cfg_parse_addr(const char *s, struct cfg_addr *out, char *err, size_t errlen);

/* cfg_parse_bool: yes/no/true/false/on/off/1/0 -> 1/0, or -1 when it is none of those. */
int cfg_parse_bool(const char *s);

/* cfg_parse_level: 0..7, a syslog level name (emerg..debug), optionally "facility.level";
 * returns the level or -1. */
int cfg_parse_level(const char *s);

/* cfg_parse_tls_version: "TLSv1.2"/"TLSv1.3" (also "1.2"/"1.3") -> CFG_TLS12/13; -1 unknown,
 * -2 a version tlswrap refuses (SSLv2, SSLv3, TLSv1, TLSv1.1), -3 "all" (every version allowed). */
int cfg_parse_tls_version(const char *s);

/* cfg_parse_curve: the CFG_GROUP_* of a `curves` name (X25519, P-256 or prime256v1 or secp256r1, ...,
 * case-insensitive), or 0 when unknown. */
int cfg_parse_curve(const char *name);

/* cfg_option_known: 1 when NAME is an option tlswrap knows (for the command line). */
int cfg_option_known(const char *name);

#endif
