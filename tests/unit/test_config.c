/* Unit tests for src/config.c: the stunnel-style file, command-line flags and value parsers. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "cfg_helpers.h"

/* ---- a complete file ------------------------------------------------------------------------- */

static const char good_conf[] =
	"; tlswrap test configuration\n"
	"# both comment styles\n"
	"foreground = yes\n"
	"pid = /run/tlswrap.pid\n"
	"debug = info\n"
	"output = /var/log/tlswrap.log\n"
	"syslog = no\n"
	"TIMEOUTidle = 600\n"
	"CAFILE = /etc/ssl/ca.pem\n"
	"\n"
	"[web]\n"
	"accept = 443\n"
	"connect = 127.0.0.1:8080\n"
	"connect = [::1]:8081\n"
	"connect = 8082\n"
	"cert = /etc/tlswrap/web.pem\n"
	"key = /etc/tlswrap/web.key\n"
	"\n"
	"[mail]\n"
	"client = yes\n"
	"accept = 127.0.0.1:8025\n"
	"connect = mail.example.com:465\n"
	"timeoutBUSY = 30\n"
	"sni = mail.example.com\n"
	"ciphersuites = TLS_AES_128_GCM_SHA256\n";

static struct cfg good;

static void good_setup(void)
{
	load_ok(good_conf, &good);
}

static void good_teardown(void)
{
	cfg_free(&good);
}

START_TEST(file_globals)
{
	ck_assert_int_eq(good.g.foreground, 1);
	ck_assert_str_eq(good.g.pid, "/run/tlswrap.pid");
	ck_assert_int_eq(good.g.debug, 6);
	ck_assert_str_eq(good.g.output, "/var/log/tlswrap.log");
	ck_assert_int_eq(good.g.syslog, 0);
}
END_TEST

/* workers = auto (0: one per CPU, decided at start), 1-256; anything else refused naming the line */
START_TEST(workers_values)
{
	struct cfg c;
	load_ok("[a]\n" SERVER, &c);
	ck_assert_int_eq(c.g.workers, 0); /* the default: auto */
	cfg_free(&c);
	load_ok("workers = AUTO\n[a]\n" SERVER, &c);
	ck_assert_int_eq(c.g.workers, 0);
	cfg_free(&c);
	load_ok("workers = 1\n[a]\n" SERVER, &c);
	ck_assert_int_eq(c.g.workers, 1);
	cfg_free(&c);
	load_ok("workers = 256\n[a]\n" SERVER, &c);
	ck_assert_int_eq(c.g.workers, 256);
	cfg_free(&c);
	expect_error_at("workers = 0\n[a]\n" SERVER, "workers", "expected auto or 1-256, got '0'");
	expect_error_at("workers = 257\n[a]\n" SERVER, "workers", "got '257'");
	expect_error_at("workers = two\n[a]\n" SERVER, "workers", "got 'two'");
	expect_error_at("workers = -1\n[a]\n" SERVER, "workers", "got '-1'");
	expect_error_at("[a]\n" SERVER "workers = 2\n", "workers", "");
}
END_TEST

/* sandbox = yes|no, a global: unset means yes (start-up applies it where the kernel has Landlock) */
START_TEST(sandbox_values)
{
	struct cfg c;
	load_ok("[a]\n" SERVER, &c);
	ck_assert_int_eq(c.g.sandbox, CFG_UNSET);
	cfg_free(&c);
	load_ok("sandbox = no\n[a]\n" SERVER, &c);
	ck_assert_int_eq(c.g.sandbox, 0);
	cfg_free(&c);
	load_ok("Sandbox = YES\n[a]\n" SERVER, &c);
	ck_assert_int_eq(c.g.sandbox, 1);
	cfg_free(&c);
	expect_error_at("sandbox = maybe\n[a]\n" SERVER, "sandbox", "expected yes or no, got 'maybe'");
	expect_error_at("sandbox =\n[a]\n" SERVER, "sandbox", "expected yes or no");
	expect_error_at("sandbox = landlock\n[a]\n" SERVER, "sandbox", "got 'landlock'");
	expect_error_at("[a]\n" SERVER "sandbox = no\n", "sandbox", "");
}
END_TEST

/* drainDelay = 0-3600 seconds (0, the default: stop accepting at SIGTERM); a global option */
START_TEST(drain_delay_values)
{
	struct cfg c;
	load_ok("[a]\n" SERVER, &c);
	ck_assert_int_eq(c.g.drain_delay, 0);
	cfg_free(&c);
	load_ok("drainDelay = 5\n[a]\n" SERVER, &c);
	ck_assert_int_eq(c.g.drain_delay, 5);
	cfg_free(&c);
	load_ok("drainDelay = 3600\n[a]\n" SERVER, &c);
	ck_assert_int_eq(c.g.drain_delay, 3600);
	cfg_free(&c);
	expect_error_at("drainDelay = 3601\n[a]\n" SERVER, "drainDelay", "expected 0-3600 seconds, got '3601'");
	expect_error_at("drainDelay = -1\n[a]\n" SERVER, "drainDelay", "got '-1'");
	expect_error_at("drainDelay = 5s\n[a]\n" SERVER, "drainDelay", "got '5s'");
	expect_error_at("drainDelay =\n[a]\n" SERVER, "drainDelay", "");
	expect_error_at("[a]\n" SERVER "drainDelay = 5\n", "drainDelay", "");
}
END_TEST

/* maxConnections: before the first section the process's limit, in a section the service's (never copied
 * into the sections as other options given before them are); maxHandshakes is global, 1000 by default;
 * 0 is no limit; anything else refused naming the line */
START_TEST(limits_values)
{
	struct cfg c;
	load_ok("[a]\n" SERVER, &c);
	ck_assert_int_eq(c.g.max_connections, 0);
	ck_assert_int_eq(c.svc[0].max_connections, 0);
	ck_assert_int_eq(c.g.max_handshakes, 1000);
	cfg_free(&c);
	load_ok("maxConnections = 500\nMAXHANDSHAKES = 0\n[a]\n" SERVER "maxconnections = 20\n[b]\n" CLIENT, &c);
	ck_assert_int_eq(c.g.max_connections, 500);
	ck_assert_int_eq(c.g.max_handshakes, 0);
	ck_assert_int_eq(c.svc[0].max_connections, 20);
	ck_assert_int_eq(c.svc[1].max_connections, 0); /* the global one is not a default for the sections */
	cfg_free(&c);
	load_ok("maxConnections = 10000000\nmaxHandshakes = 1\n[a]\n" SERVER "maxConnections = 0\n", &c);
	ck_assert_int_eq(c.g.max_connections, 10000000);
	ck_assert_int_eq(c.g.max_handshakes, 1);
	ck_assert_int_eq(c.svc[0].max_connections, 0);
	cfg_free(&c);
	expect_error_at("maxConnections = -1\n[a]\n" SERVER, "maxConnections",
			"maxConnections: expected 0 (no limit) or a number up to 10000000, got '-1'");
	expect_error_at("maxConnections = 10000001\n[a]\n" SERVER, "maxConnections", "got '10000001'");
	expect_error_at("[a]\n" SERVER "maxConnections = ten\n", "maxConnections", "got 'ten'");
	expect_error_at("[a]\n" SERVER "maxConnections =\n", "maxConnections", "got ''");
	expect_error_at("[a]\n" SERVER "maxConnections = 1e3\n", "maxConnections", "got '1e3'");
	expect_error_at("maxHandshakes = many\n[a]\n" SERVER, "maxHandshakes", "maxHandshakes: expected 0 (no limit)");
	expect_error_at("maxHandshakes = 99999999999\n[a]\n" SERVER, "maxHandshakes", "got '99999999999'");
	expect_error_at("[a]\n" SERVER "maxHandshakes = 5\n", "maxHandshakes", "'maxHandshakes' is a global option");
	/* a secondary's connections arrive on its primary's listener; exec+connect accepts nothing */
	expect_error_at("[a]\n" SERVER "[b]\nsni = a:b.example\nconnect = 81\ncert = /etc/tlswrap/server.pem\n"
			"maxConnections = 2\n", "[b]", "a secondary's count against its primary's");
	expect_error_at("[x]\nclient = yes\nexec = /bin/cat\nconnect = 127.0.0.1:443\nmaxConnections = 2\n", "[x]",
			"maxConnections counts the connections accepted on the service's own 'accept'");
}
END_TEST

START_TEST(file_services_in_order)
{
	ck_assert_str_eq(good.file, path);
	ck_assert_uint_eq(good.nsvc, 2);
	ck_assert_str_eq(good.svc[0].name, "web");
	ck_assert_str_eq(good.svc[1].name, "mail");
	ck_assert_str_eq(good.svc[0].file, path);
	ck_assert_int_eq(good.svc[0].client, 0);
	ck_assert_int_eq(good.svc[1].client, 1);
}
END_TEST

START_TEST(file_accept)
{
	ck_assert_int_eq(good.svc[0].has_accept, 1);
	ck_assert_str_eq(good.svc[0].accept.host, "");
	ck_assert_str_eq(good.svc[0].accept.port, "443");
	ck_assert_str_eq(good.svc[1].accept.host, "127.0.0.1");
	ck_assert_str_eq(good.svc[1].accept.port, "8025");
}
END_TEST

START_TEST(file_connect_repeated_in_order)
{
	const struct cfg_service *s = &good.svc[0];
	ck_assert_int_eq(s->n_connect, 3);
	ck_assert_str_eq(s->connect[0].host, "127.0.0.1");
	ck_assert_str_eq(s->connect[0].port, "8080");
	ck_assert_str_eq(s->connect[1].host, "::1");
	ck_assert_str_eq(s->connect[1].port, "8081");
	/* a bare port connects to localhost, as in stunnel */
	ck_assert_str_eq(s->connect[2].host, "localhost");
	ck_assert_str_eq(s->connect[2].port, "8082");
}
END_TEST

START_TEST(file_defaults_apply_to_every_service)
{
	for (size_t i = 0; i < good.nsvc; i++) {
		ck_assert_int_eq(good.svc[i].timeout_idle, 600);
		ck_assert_ptr_nonnull(good.svc[i].cafile);
		ck_assert_str_eq(good.svc[i].cafile, "/etc/ssl/ca.pem");
	}
	/* each service owns its copy */
	ck_assert_ptr_ne(good.svc[0].cafile, good.svc[1].cafile);
}
END_TEST

START_TEST(file_option_names_ignore_case)
{
	/* "CAFILE" and "timeoutBUSY" in the file */
	ck_assert_str_eq(good.svc[1].cafile, "/etc/ssl/ca.pem");
	ck_assert_int_eq(good.svc[1].timeout_busy, 30);
	ck_assert_int_eq(good.svc[0].timeout_busy, 300);
}
END_TEST

START_TEST(file_strings)
{
	ck_assert_str_eq(good.svc[0].cert, "/etc/tlswrap/web.pem");
	ck_assert_str_eq(good.svc[0].key, "/etc/tlswrap/web.key");
	ck_assert_ptr_null(good.svc[0].sni);
	ck_assert_ptr_null(good.svc[0].ciphersuites);
	ck_assert_ptr_null(good.svc[1].cert);
	ck_assert_str_eq(good.svc[1].sni, "mail.example.com");
	ck_assert_str_eq(good.svc[1].ciphersuites, "TLS_AES_128_GCM_SHA256");
}
END_TEST

/* keyPasswordFile: a service option (before the first section: every service's default) naming a file */
START_TEST(trust_key_password_file)
{
	struct cfg c;
	load_ok("keyPasswordFile = /etc/tlswrap/all.pass\n[a]\n" SERVER
		"[b]\naccept = 8444\nconnect = 80\ncert = /b.pem\nkeyPasswordFile = b-key\n", &c);
	ck_assert_str_eq(c.svc[0].key_password_file, "/etc/tlswrap/all.pass");
	ck_assert_str_eq(c.svc[1].key_password_file, "b-key");
	cfg_free(&c);
	load_ok("[a]\n" SERVER, &c);
	ck_assert_ptr_null(c.svc[0].key_password_file);
	cfg_free(&c);
	expect_error_at("[a]\n" SERVER "keyPasswordFile =\n", "keyPasswordFile", "keyPasswordFile: expected a file name");
	expect_error_at("keyPasswordFile =\n[a]\n" SERVER, "keyPasswordFile", "keyPasswordFile: expected a file name");
}
END_TEST

/* reloadOnChange: a global yes/no, off unless set */
START_TEST(trust_reload_on_change)
{
	struct cfg c;
	load_ok("reloadOnChange = yes\n[a]\n" SERVER, &c);
	ck_assert_int_eq(c.g.reload_on_change, 1);
	cfg_free(&c);
	load_ok("[a]\n" SERVER, &c);
	ck_assert_int_eq(c.g.reload_on_change, 0);
	cfg_free(&c);
	expect_error_at("reloadOnChange = sometimes\n[a]\n" SERVER, "reloadOnChange",
			"reloadOnChange: expected yes or no, got 'sometimes'");
	expect_error_at("reloadOnChange =\n[a]\n" SERVER, "reloadOnChange", "reloadOnChange: expected yes or no, got ''");
	expect_error_at("[a]\n" SERVER "reloadOnChange = yes\n", "reloadOnChange",
			"'reloadOnChange' is a global option: put it before the first [section]");
}
END_TEST

/* ---- defaults -------------------------------------------------------------------------------- */

START_TEST(defaults_stunnel_timeouts)
{
	struct cfg c;
	load_ok("[a]\n" SERVER, &c);
	ck_assert_int_eq(c.svc[0].timeout_busy, 300);
	ck_assert_int_eq(c.svc[0].timeout_connect, 10);
	ck_assert_int_eq(c.svc[0].timeout_idle, 43200);
	ck_assert_int_eq(c.svc[0].timeout_close, 60);
	cfg_free(&c);
}
END_TEST

START_TEST(defaults_timeouts_settable)
{
	struct cfg c;
	load_ok("[a]\n" SERVER "TIMEOUTbusy = 1\nTIMEOUTconnect = 2\nTIMEOUTidle = 0\nTIMEOUTclose = 4\n", &c);
	ck_assert_int_eq(c.svc[0].timeout_busy, 1);
	ck_assert_int_eq(c.svc[0].timeout_connect, 2);
	ck_assert_int_eq(c.svc[0].timeout_idle, 0);
	ck_assert_int_eq(c.svc[0].timeout_close, 4);
	cfg_free(&c);
}
END_TEST

START_TEST(defaults_globals)
{
	struct cfg c;
	load_ok("[a]\n" SERVER, &c);
	ck_assert_int_eq(c.g.foreground, 0); /* stunnel daemonizes */
	ck_assert_int_eq(c.g.syslog, CFG_UNSET);
	ck_assert_int_eq(c.g.debug, 5);
	ck_assert_ptr_null(c.g.pid);
	ck_assert_ptr_null(c.g.output);
	cfg_free(&c);
}
END_TEST

START_TEST(defaults_tls_versions)
{
	struct cfg c;
	load_ok("[a]\n" SERVER, &c);
	ck_assert_int_eq(c.svc[0].tls_min, CFG_TLS12);
	ck_assert_int_eq(c.svc[0].tls_max, CFG_TLS13);
	cfg_free(&c);
}
END_TEST

START_TEST(defaults_client_verifies)
{
	struct cfg c;
	load_ok("[a]\n" CLIENT, &c);
	ck_assert_int_eq(c.svc[0].verify_chain, 1);
	ck_assert_int_eq(c.svc[0].verify_peer, 0);
	ck_assert_int_eq(c.svc[0].require_cert, 0);
	cfg_free(&c);
}
END_TEST

START_TEST(defaults_client_verify_off)
{
	struct cfg c;
	load_ok("[a]\n" CLIENT "verifyChain = no\n", &c);
	ck_assert_int_eq(c.svc[0].verify_chain, 0);
	cfg_free(&c);
}
END_TEST

START_TEST(defaults_server_does_not_verify)
{
	struct cfg c;
	load_ok("[a]\n" SERVER, &c);
	ck_assert_int_eq(c.svc[0].verify_chain, 0);
	ck_assert_int_eq(c.svc[0].verify_peer, 0);
	ck_assert_int_eq(c.svc[0].require_cert, 0);
	cfg_free(&c);
}
END_TEST

START_TEST(defaults_server_require_cert_follows_verify)
{
	struct cfg c;
	load_ok("[a]\n" SERVER "verifyChain = yes\nCAfile = /ca.pem\n"
		"[b]\n" SERVER "accept = 8444\nverifyPeer = yes\nCAfile = /ca.pem\n"
		"[c]\n" SERVER "accept = 8445\nverifyChain = yes\nrequireCert = no\n",
		&c);
	ck_assert_int_eq(c.svc[0].require_cert, 1);
	ck_assert_int_eq(c.svc[1].require_cert, 1);
	ck_assert_int_eq(c.svc[1].verify_chain, 0);
	ck_assert_int_eq(c.svc[2].verify_chain, 1);
	ck_assert_int_eq(c.svc[2].require_cert, 0);
	cfg_free(&c);
}
END_TEST

START_TEST(ssl_version_sets_both)
{
	struct cfg c;
	load_ok("[a]\n" SERVER "sslVersion = TLSv1.3\n[b]\n" SERVER "accept = 8444\nsslversion = tlsv1.2\n", &c);
	ck_assert_int_eq(c.svc[0].tls_min, CFG_TLS13);
	ck_assert_int_eq(c.svc[0].tls_max, CFG_TLS13);
	ck_assert_int_eq(c.svc[1].tls_min, CFG_TLS12);
	ck_assert_int_eq(c.svc[1].tls_max, CFG_TLS12);
	cfg_free(&c);
}
END_TEST

START_TEST(ssl_version_min_max)
{
	struct cfg c;
	load_ok("[a]\n" SERVER "sslVersionMin = TLSv1.3\n"
		"[b]\n" SERVER "accept = 8444\nsslVersionMax = 1.2\n"
		"[c]\n" SERVER "accept = 8445\nsslVersionMin = TLSv1.2\nsslVersionMax = TLSv1.2\n",
		&c);
	ck_assert_int_eq(c.svc[0].tls_min, CFG_TLS13);
	ck_assert_int_eq(c.svc[0].tls_max, CFG_TLS13);
	ck_assert_int_eq(c.svc[1].tls_min, CFG_TLS12);
	ck_assert_int_eq(c.svc[1].tls_max, CFG_TLS12);
	ck_assert_int_eq(c.svc[2].tls_min, CFG_TLS12);
	ck_assert_int_eq(c.svc[2].tls_max, CFG_TLS12);
	cfg_free(&c);
}
END_TEST

START_TEST(section_overrides_default)
{
	struct cfg c;
	load_ok("cert = /default.pem\nTIMEOUTclose = 5\n[a]\n" SERVER "[b]\naccept = 1\nconnect = 2\n", &c);
	ck_assert_str_eq(c.svc[0].cert, "/etc/tlswrap/server.pem");
	ck_assert_str_eq(c.svc[1].cert, "/default.pem");
	ck_assert_int_eq(c.svc[0].timeout_close, 5);
	ck_assert_int_eq(c.svc[1].timeout_close, 5);
	cfg_free(&c);
}
END_TEST

START_TEST(section_lines)
{
	struct cfg c;
	const char *t = "; [old] commented out\n# [a]\nforeground = no\n[a]\n" SERVER "\n  [b]\n\n" CLIENT;
	load_ok(t, &c);
	ck_assert_uint_eq(c.nsvc, 2);
	ck_assert_int_eq(c.svc[0].line, line_of(t, "[a]\naccept"));
	ck_assert_int_eq(c.svc[1].line, line_of(t, "[b]"));
	cfg_free(&c);
}
END_TEST

START_TEST(section_name_49_chars)
{
	/* the longest name inih passes on whole */
	char t[512], name[50];
	memset(name, 'n', 49);
	name[49] = '\0';
	snprintf(t, sizeof(t), "[%s]\n" SERVER, name);
	struct cfg c;
	load_ok(t, &c);
	ck_assert_str_eq(c.svc[0].name, name);
	ck_assert_int_eq(c.svc[0].line, 1);
	cfg_free(&c);
}
END_TEST

START_TEST(max_connect_accepted)
{
	char text[2048] = "[a]\naccept = 1\ncert = /c.pem\n";
	for (int i = 0; i < CFG_MAX_CONNECT; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "connect = 10.0.0.%d:80\n", i + 1);
	struct cfg c;
	load_ok(text, &c);
	ck_assert_int_eq(c.svc[0].n_connect, CFG_MAX_CONNECT);
	ck_assert_str_eq(c.svc[0].connect[CFG_MAX_CONNECT - 1].host, "10.0.0.16");
	cfg_free(&c);
}
END_TEST

/* ---- file errors ----------------------------------------------------------------------------- */

START_TEST(err_unknown_option)
{
	const char *t = "[a]\n" SERVER "bogus = 1\n";
	expect_error_at(t, "bogus", "unknown option 'bogus'");
}
END_TEST

START_TEST(err_missing_equals)
{
	const char *t = "debug = 5\nforeground yes\n[a]\n" SERVER;
	expect_error_at(t, "foreground", "syntax error");
}
END_TEST

START_TEST(err_bad_bool)
{
	const char *t = "[a]\n" SERVER "client = maybe\n";
	expect_error_at(t, "client", "client: expected yes or no, got 'maybe'");
}
END_TEST

START_TEST(err_bad_debug_level)
{
	expect_error_at("debug = 8\n[a]\n" SERVER, "debug", "debug: expected 0-7 or emerg..debug, got '8'");
	expect_error_at("foreground = no\ndebug = loud\n[a]\n" SERVER, "debug", "got 'loud'");
}
END_TEST

START_TEST(err_bad_port_zero)
{
	expect_error_at("[a]\naccept = 0\nconnect = 80\ncert = /c\n", "accept", "accept: bad port '0'");
}
END_TEST

START_TEST(err_bad_port_too_big)
{
	expect_error_at("[a]\naccept = 1\nconnect = h:65536\ncert = /c\n", "connect", "connect: bad port '65536'");
}
END_TEST

START_TEST(err_bad_port_name)
{
	expect_error_at("[a]\naccept = abc\nconnect = 80\ncert = /c\n", "accept", "accept: bad port 'abc'");
}
END_TEST

START_TEST(err_bad_port_empty)
{
	expect_error_at("[a]\naccept = 1\nconnect = host:\ncert = /c\n", "connect", "connect: missing port");
	expect_error_at("[a]\ncert = /c\naccept =\nconnect = 2\n", "accept", "accept: empty address");
}
END_TEST

START_TEST(err_bad_host)
{
	expect_error_at("[a]\naccept = 1\nconnect = a b:80\ncert = /c\n", "connect", "bad character ' '");
	expect_error_at("[a]\naccept = exa$mple:1\nconnect = 2\ncert = /c\n", "accept", "bad character '$'");
}
END_TEST

START_TEST(err_bad_timeout)
{
	expect_error_at("[a]\n" SERVER "TIMEOUTidle = 10s\n", "TIMEOUTidle", "expected a number of seconds");
	expect_error_at("[a]\n" SERVER "TIMEOUTclose = -1\n", "TIMEOUTclose", "expected a number of seconds");
}
END_TEST

START_TEST(err_global_after_section)
{
	const char *t = "[a]\n" SERVER "pid = /run/x.pid\n";
	expect_error_at(t, "pid", "'pid' is a global option");
}
END_TEST

/* debug is global and, as in stunnel, a service option: a section's level is its connections' */
START_TEST(debug_in_a_section)
{
	struct cfg c;
	load_ok("debug = warning\n[a]\n" SERVER "debug = info\n[b]\naccept = 8444\nconnect = 81\ncert = /c\n"
		"[c]\naccept = 8445\nconnect = 82\ncert = /c\ndebug = daemon.7\n", &c);
	ck_assert_int_eq(c.g.debug, 4);
	ck_assert_int_eq(c.svc[0].debug, 6);
	ck_assert_int_eq(c.svc[1].debug, CFG_UNSET); /* the global level */
	ck_assert_int_eq(c.svc[2].debug, 7);
	cfg_free(&c);
	expect_error_at("[a]\n" SERVER "debug = loud\n", "debug", "debug: expected 0-7 or emerg..debug, got 'loud'");
}
END_TEST

START_TEST(err_missing_accept)
{
	const char *t = "[a]\n" SERVER "[b]\nconnect = 80\ncert = /c\n";
	expect_error_at(t, "[b]", "service [b] has no 'accept'");
}
END_TEST

/* --inetd: a sectioned file's service runs on stdin/stdout and needs no accept; other errors still count */
START_TEST(inetd_flag_needs_no_accept)
{
	struct cfg c;
	char err[CFG_ERRLEN] = "";
	ck_assert_msg(load_str_mode("[c]\nclient = yes\nconnect = 443\n", &c, 1, err) == 0, "cfg_load: %s", err);
	ck_assert_uint_eq(c.nsvc, 1);
	ck_assert_int_eq(c.svc[0].inetd, 1);
	cfg_free(&c);
	ck_assert_int_eq(load_str_mode("[c]\nclient = yes\n", &c, 1, err), -1);
	ck_assert_msg(strstr(err, "service [c] has no 'connect'"), "got: %s", err);
	ck_assert_int_eq(load_str_mode("[c]\nclient = yes\nconnect = 443\n", &c, 0, err), -1);
	ck_assert_msg(strstr(err, "service [c] has no 'accept'"), "got: %s", err);
}
END_TEST

/* Messages name file:line of the section, or only the file where there is no section line. */
START_TEST(where_names_file_and_line)
{
	struct cfg c;
	char w[300];
	load_ok("cert = /c\nconnect = 80\n", &c); /* inetd mode: no section */
	ck_assert_str_eq(cfg_where(&c.svc[0], w, sizeof(w)), path);
	cfg_free(&c);
	load_ok("\n[a]\naccept = 1\nconnect = 2\ncert = /c\n", &c);
	char want[80];
	snprintf(want, sizeof(want), "%s:2", path);
	ck_assert_str_eq(cfg_where(&c.svc[0], w, sizeof(w)), want);
	cfg_free(&c);
}
END_TEST

/* An error about an option's value names the line that set it: in the section, or among the defaults. */
START_TEST(where_option_names_its_line)
{
	struct cfg c;
	char w[300], want[80];
	load_ok("CAfile = /ca\n[a]\naccept = 1\nconnect = 2\ncert = /c\n", &c);
	snprintf(want, sizeof(want), "%s:5", path);
	ck_assert_str_eq(cfg_where_option(&c.svc[0], "cert /c: No such file or directory", w, sizeof(w)), want);
	snprintf(want, sizeof(want), "%s:1", path);
	ck_assert_str_eq(cfg_where_option(&c.svc[0], "cafile", w, sizeof(w)), want);
	snprintf(want, sizeof(want), "%s:2", path); /* not set at all, or not an option: the section */
	ck_assert_str_eq(cfg_where_option(&c.svc[0], "key /k: bad", w, sizeof(w)), want);
	ck_assert_str_eq(cfg_where_option(&c.svc[0], "out of memory", w, sizeof(w)), want);
	ck_assert_str_eq(cfg_where_option(&c.svc[0], "alpn: no protocol given", w, sizeof(w)), want);
	cfg_free(&c);
}
END_TEST

/* A repeatable option: an error about one of its values names that value's line, not the option's last line. */
START_TEST(where_names_the_line_of_each_value)
{
	struct cfg c;
	char w[300], want[80];
	const char *t = "socket = l:SO_KEEPALIVE=yes\n"
			"[a]\nclient = yes\naccept = 1\n"
			"connect = 127.0.0.1:2\nconnect = nosuch.example:3\nconnect = /run/x.sock\n"
			"socket = a:SO_RCVBUF=32768\nsocket = a:SO_BINDTODEVICE=nosuchdev0\nsocket = r:SO_KEEPALIVE=yes\n"
			"checkHost = a.example\ncheckHost = b.example\n";
	load_ok(t, &c);
	const struct cfg_service *s = &c.svc[0];
	const char *connects[] = { "127.0.0.1:2", "nosuch.example:3", "/run/x.sock" };
	for (int k = 0; k < 3; k++) {
		snprintf(want, sizeof(want), "%s:%d", path, line_of(t, connects[k]));
		ck_assert_str_eq(cfg_where_nth(s, "connect", k, w, sizeof(w)), want);
	}
	snprintf(want, sizeof(want), "%s:2", path); /* no such line: the section */
	ck_assert_str_eq(cfg_where_nth(s, "connect", 3, w, sizeof(w)), want);
	snprintf(want, sizeof(want), "%s:%d", path, line_of(t, "nosuchdev0"));
	ck_assert_str_eq(cfg_where_option(s, "socket a:SO_BINDTODEVICE=nosuchdev0: No such device", w, sizeof(w)), want);
	snprintf(want, sizeof(want), "%s:1", path); /* among the defaults */
	ck_assert_str_eq(cfg_where_option(s, "socket l:SO_KEEPALIVE=yes: Bad file descriptor", w, sizeof(w)), want);
	snprintf(want, sizeof(want), "%s:%d", path, line_of(t, "a:SO_RCVBUF"));
	ck_assert_str_eq(cfg_where_option(s, "socket a:SO_RCVBUF=32768: x", w, sizeof(w)), want);
	snprintf(want, sizeof(want), "%s:%d", path, line_of(t, "r:SO_KEEPALIVE")); /* no value named: the last line */
	ck_assert_str_eq(cfg_where_option(s, "socket", w, sizeof(w)), want);
	ck_assert_str_eq(cfg_where_option(s, "socket a:SO_RCVBUF=3: x", w, sizeof(w)), want); /* only a prefix */
	snprintf(want, sizeof(want), "%s:%d", path, line_of(t, "a.example"));
	ck_assert_str_eq(cfg_where_option(s, "checkHost a.example", w, sizeof(w)), want);
	cfg_free(&c);
}
END_TEST

START_TEST(err_missing_connect)
{
	const char *t = "[a]\naccept = 1\ncert = /c\n";
	expect_error_at(t, "[a]", "service [a] has no 'connect'");
}
END_TEST

START_TEST(err_server_without_cert)
{
	const char *t = "[a]\n" CLIENT "[srv]\naccept = 9001\nconnect = 2\n";
	expect_error_at(t, "[srv]", "server service [srv] needs 'cert'");
}
END_TEST

START_TEST(err_key_without_cert)
{
	const char *t = "[a]\n" CLIENT "key = /k.pem\n";
	expect_error_at(t, "[a]", "has 'key' without 'cert'");
}
END_TEST

START_TEST(err_verify_peer_without_ca)
{
	const char *t = "[a]\n" SERVER "verifyPeer = yes\n";
	expect_error_at(t, "[a]", "verifyPeer needs CAfile or CApath");
}
END_TEST

START_TEST(err_check_host_without_verify)
{
	const char *t = "[a]\n" SERVER "checkHost = client.example.com\n";
	expect_error_at(t, "[a]", "checkHost/checkIP/checkEmail need verifyChain, verifyPeer or pinSHA256");
}
END_TEST

START_TEST(err_ssl_version_unsupported)
{
	expect_error_at("[a]\n" SERVER "sslVersion = TLSv1\n", "sslVersion", "sslVersion: TLSv1 is not supported");
	expect_error_at("[a]\n" SERVER "sslVersionMin = SSLv3\n", "sslVersionMin", "SSLv3 is not supported");
}
END_TEST

START_TEST(err_ssl_version_unknown)
{
	expect_error_at("[a]\n" SERVER "sslVersionMax = TLSv9\n", "sslVersionMax",
			"expected TLSv1.2, TLSv1.3 or all, got 'TLSv9'");
}
END_TEST

START_TEST(err_ssl_version_min_above_max)
{
	const char *t = "[a]\n" SERVER "sslVersionMin = TLSv1.3\nsslVersionMax = TLSv1.2\n";
	expect_error_at(t, "[a]", "sslVersionMin is above sslVersionMax");
}
END_TEST

START_TEST(err_duplicate_section)
{
	const char *t = "[a]\n" SERVER "[b]\n" SERVER "[a]\nTIMEOUTidle = 5\n";
	expect_error_at(t, "[a]\nTIMEOUTidle", "duplicate section [a] (first at line 1)");
}
END_TEST

START_TEST(err_service_line_is_header)
{
	/* struct cfg_service.line is where the section starts: the [b] header, not its first option */
	const char *t = "[a]\n" SERVER "\n[b]\n\n; comment\nconnect = 80\ncert = /c\n";
	expect_error_at(t, "[b]", "service [b] has no 'accept'");
}
END_TEST

START_TEST(sni_secondary_links_to_primary)
{
	struct cfg c;
	char err[CFG_ERRLEN] = "";
	const char *t = "[web]\n" SERVER "[alpha]\nsni = web:*.alpha.example\nconnect = 81\ncert = /a\n"
			"[beta]\nsni = web:beta.example\nsni = web:gamma.example\nconnect = 82\ncert = /b\n";
	ck_assert_msg(load_str(t, &c, err) == 0, "%s", err);
	ck_assert_int_eq(c.svc[0].primary, -1);
	ck_assert_int_eq(c.svc[1].primary, 0);
	ck_assert_int_eq(c.svc[1].n_sni_pattern, 1);
	ck_assert_str_eq(c.svc[1].sni_pattern[0], "*.alpha.example");
	ck_assert_int_eq(c.svc[2].primary, 0);
	ck_assert_int_eq(c.svc[2].n_sni_pattern, 2); /* repeated, as in stunnel: one more pattern each */
	ck_assert_str_eq(c.svc[2].sni_pattern[0], "beta.example");
	ck_assert_str_eq(c.svc[2].sni_pattern[1], "gamma.example");
	ck_assert_int_eq(c.svc[1].has_accept, 0);
	cfg_free(&c);
}
END_TEST

START_TEST(sni_secondary_errors)
{
	expect_error_at("[web]\n" SERVER "[a]\nsni = nope:x.example\nconnect = 81\ncert = /a\n", "[a]",
			"sni: no service named [nope]");
	expect_error_at("[web]\n" SERVER "[a]\nsni = web:x.example\naccept = 9\nconnect = 81\ncert = /a\n", "[a]",
			"a secondary service (sni = PRIMARY:PATTERN) takes its primary's connections");
	expect_error_at("[web]\n" SERVER "[a]\nsni = web:a*.example\nconnect = 81\ncert = /a\n", "[a]",
			"only a leading '*.' wildcard");
	expect_error_at("[web]\n" SERVER "[a]\nsni = web\nconnect = 81\ncert = /a\n", "[a]",
			"expected PRIMARY:PATTERN");
	expect_error_at("[c]\n" CLIENT "[a]\nsni = c:x.example\nconnect = 81\ncert = /a\n", "[a]",
			"[c] is not a server service with its own 'accept'");
	expect_error_at("[web]\n" SERVER "[a]\nsni = web:x.example\nconnect = 81\ncert = /a\n"
			"[b]\nsni = a:y.example\nconnect = 82\ncert = /b\n",
			"[b]", "[a] is not a server service with its own 'accept'");
	expect_error_at("[web]\n" SERVER "[web2]\naccept = 8444\nconnect = 80\ncert = /c\n"
			"[a]\nsni = web:x.example\nsni = web2:y.example\nconnect = 81\ncert = /a\n",
			"[a]", "every pattern of a secondary names the same primary ([web], not [web2])");
}
END_TEST

START_TEST(err_duplicate_adjacent_section)
{
	const char *t = "[a]\naccept = 1\ncert = /c\n[a]\nconnect = 2\n";
	expect_error_at(t, "[a]\nconnect", "duplicate section [a] (first at line 1)");
}
END_TEST

START_TEST(err_empty_section)
{
	const char *t = "[a]\n" SERVER "[empty]\n; nothing here\n";
	expect_error_at(t, "[empty]", "section [empty] has no options");
}
END_TEST

START_TEST(err_too_many_connect)
{
	char text[2048] = "[a]\naccept = 1\ncert = /c.pem\n";
	for (int i = 0; i <= CFG_MAX_CONNECT; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "connect = 10.0.0.%d:80\n", i + 1);
	expect_error_at(text, "10.0.0.17", "connect: at most 16 per service");
}
END_TEST

START_TEST(err_no_services)
{
	struct cfg c;
	char err[CFG_ERRLEN] = "";
	ck_assert_int_eq(load_str("foreground = yes\n", &c, err), -1);
	ck_assert_msg(strncmp(err, path, strlen(path)) == 0 && strstr(err, "no services defined"), "got '%s'", err);
}
END_TEST

START_TEST(err_nonexistent_file)
{
	struct cfg c;
	char err[CFG_ERRLEN] = "";
	const char *missing = "/nonexistent-tlswrap-dir/tlswrap.conf";
	ck_assert_int_eq(cfg_load(missing, &c, 0, err, sizeof(err)), -1);
	ck_assert_msg(strncmp(err, missing, strlen(missing)) == 0 && err[strlen(missing)] == ':',
		      "message should start with the path: '%s'", err);
	ck_assert_msg(strstr(err, strerror(ENOENT)) != NULL, "message should give the reason: '%s'", err);
	ck_assert_ptr_null(c.file);
}
END_TEST

START_TEST(err_frees_everything)
{
	/* strings in the globals, the defaults and two services, then a late error: cfg_load must free
	 * them all (LeakSanitizer reports otherwise) and leave the struct reusable */
	const char *t = "pid = /p\noutput = /o\nCAfile = /ca\nciphers = X\n"
			"[a]\n" SERVER "key = /k\nsni = s\ncheckHost = h\n"
			"[b]\n" SERVER "CApath = /d\nciphersuites = Y\nnope = 1\n";
	expect_error_at(t, "nope", "unknown option 'nope'");
}
END_TEST

START_TEST(err_finish_frees_everything)
{
	const char *t = "pid = /p\nCAfile = /ca\n[a]\n" SERVER "key = /k\n[b]\naccept = 1\ncert = /c\n";
	expect_error_at(t, "[b]", "no 'connect'");
}
END_TEST

/* ---- cfg_parse_addr -------------------------------------------------------------------------- */

/* Parse S, which must be valid, and compare with HOST and PORT. */
static void addr_ok(const char *s, const char *host, const char *port)
{
	struct cfg_addr a;
	char err[CFG_ERRLEN] = "";
	ck_assert_msg(cfg_parse_addr(s, &a, err, sizeof(err)) == 0, "'%s' rejected: %s", s, err);
	ck_assert_msg(strcmp(a.host, host) == 0 && strcmp(a.port, port) == 0, "'%s' gave host '%s' port '%s'", s,
		      a.host, a.port);
}

/* Parse S expecting failure with REASON in the message. */
static void addr_bad(const char *s, const char *reason)
{
	struct cfg_addr a;
	char err[CFG_ERRLEN] = "";
	ck_assert_msg(cfg_parse_addr(s, &a, err, sizeof(err)) == -1, "'%s' accepted (host '%s' port '%s')", s, a.host,
		      a.port);
	ck_assert_msg(strstr(err, reason) != NULL, "'%s': expected '%s' in '%s'", s, reason, err);
}

START_TEST(addr_port_only)
{
	addr_ok("443", "", "443");
	addr_ok("1", "", "1");
	addr_ok("65535", "", "65535");
}
END_TEST

START_TEST(addr_ipv4)
{
	addr_ok("127.0.0.1:443", "127.0.0.1", "443");
}
END_TEST

START_TEST(addr_name)
{
	addr_ok("localhost:8080", "localhost", "8080");
	addr_ok("my-host_1.example.com:25", "my-host_1.example.com", "25");
}
END_TEST

START_TEST(addr_ipv6_bracketed)
{
	addr_ok("[::1]:443", "::1", "443");
	addr_ok("[fe80::1%eth0]:22", "fe80::1%eth0", "22");
}
END_TEST

START_TEST(addr_ipv6_stunnel_form)
{
	addr_ok("::1:443", "::1", "443");
	addr_ok("2001:db8::1:8443", "2001:db8::1", "8443");
}
END_TEST

START_TEST(addr_bracket_without_colon)
{
	addr_bad("[::1]443", "expected [IPv6]:port");
	addr_bad("[::1:443", "expected [IPv6]:port");
}
END_TEST

START_TEST(addr_empty_host)
{
	addr_bad(":443", "empty host");
	addr_bad("[]:443", "empty host");
}
END_TEST

START_TEST(addr_missing_port)
{
	addr_bad("host:", "missing port");
	addr_bad("[::1]:", "missing port");
}
END_TEST

START_TEST(addr_bad_ports)
{
	addr_bad("host:0", "bad port '0'");
	addr_bad("host:99999", "bad port '99999'");
	addr_bad("65536", "bad port '65536'");
	addr_bad("0", "bad port");
	addr_bad("abc", "bad port 'abc'");
	addr_bad("host:-1", "bad port '-1'");
	addr_bad("host:+80", "bad port '+80'");
	addr_bad("host:80x", "bad port '80x'");
	addr_bad("host: 80", "bad port");
	addr_bad("host:no-such-service", "bad port 'no-such-service' (1-65535, or a service name in /etc/services)");
	addr_bad("host:", "missing port");
}
END_TEST

/* A service name from /etc/services stands for its port, as in stunnel: kept as the number. */
START_TEST(addr_named_ports)
{
	addr_ok("127.0.0.1:imaps", "127.0.0.1", "993");
	addr_ok("mail.example.com:https", "mail.example.com", "443");
	addr_ok("[::1]:ssh", "::1", "22");
	addr_ok("::1:smtp", "::1", "25");
	struct cfg_addr a;
	char err[CFG_ERRLEN];
	ck_assert_int_eq(cfg_parse_addr("https", &a, err, sizeof(err)), 0); /* a bare port */
	ck_assert_str_eq(a.host, "");
	ck_assert_str_eq(a.port, "443");
}
END_TEST

START_TEST(addr_bad_host_characters)
{
	addr_bad("a b:1", "bad character ' '");
	addr_bad("a/b:1", "bad character '/'");
	addr_bad("host;rm:1", "bad character ';'");
	/* a host with ':' must be IPv6: "::1" alone is not host ":" and port 1 */
	addr_bad("::1", "bad IPv6 address ':'");
	addr_bad("[1:2]:443", "bad IPv6 address '1:2'");
	addr_bad("fe80::1::2:443", "bad IPv6 address");
}
END_TEST

START_TEST(addr_host_length)
{
	char s[300];
	memset(s, 'a', 255);
	strcpy(s + 255, ":1");
	struct cfg_addr a;
	char err[CFG_ERRLEN] = "";
	ck_assert_msg(cfg_parse_addr(s, &a, err, sizeof(err)) == 0, "255-byte host rejected: %s", err);
	ck_assert_uint_eq(strlen(a.host), 255);

	memset(s, 'a', 256);
	strcpy(s + 256, ":1");
	addr_bad(s, "host name too long");
}
END_TEST

START_TEST(addr_empty)
{
	addr_bad("", "empty address");
}
END_TEST

/* ---- small parsers --------------------------------------------------------------------------- */

START_TEST(parse_bool_values)
{
	const char *yes[] = { "yes", "YES", "true", "True", "on", "1" }, *no[] = { "no", "No", "false", "off", "OFF", "0" };
	for (size_t i = 0; i < 6; i++) {
		ck_assert_msg(cfg_parse_bool(yes[i]) == 1, "'%s' should be 1", yes[i]);
		ck_assert_msg(cfg_parse_bool(no[i]) == 0, "'%s' should be 0", no[i]);
	}
}
END_TEST

START_TEST(parse_bool_garbage)
{
	const char *bad[] = { "", "2", "y", "n", "yes ", "enable", "-1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(cfg_parse_bool(bad[i]) == -1, "'%s' should be -1", bad[i]);
}
END_TEST

START_TEST(parse_level_numbers)
{
	for (int i = 0; i <= 7; i++) {
		char s[2] = { (char)('0' + i), '\0' };
		ck_assert_int_eq(cfg_parse_level(s), i);
	}
}
END_TEST

START_TEST(parse_level_names)
{
	ck_assert_int_eq(cfg_parse_level("emerg"), 0);
	ck_assert_int_eq(cfg_parse_level("alert"), 1);
	ck_assert_int_eq(cfg_parse_level("crit"), 2);
	ck_assert_int_eq(cfg_parse_level("err"), 3);
	ck_assert_int_eq(cfg_parse_level("error"), 3);
	ck_assert_int_eq(cfg_parse_level("warning"), 4);
	ck_assert_int_eq(cfg_parse_level("notice"), 5);
	ck_assert_int_eq(cfg_parse_level("info"), 6);
	ck_assert_int_eq(cfg_parse_level("debug"), 7);
	ck_assert_int_eq(cfg_parse_level("DEBUG"), 7);
}
END_TEST

START_TEST(parse_level_facility)
{
	ck_assert_int_eq(cfg_parse_level("daemon.debug"), 7);
	ck_assert_int_eq(cfg_parse_level("daemon.3"), 3);
	ck_assert_int_eq(cfg_parse_level("daemon."), -1);
}
END_TEST

START_TEST(parse_level_garbage)
{
	const char *bad[] = { "", "8", "-1", "10", "07", "loud", "debug2", "1.5", "daemon1.debug", ".debug" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(cfg_parse_level(bad[i]) == -1, "'%s' should be -1, got %d", bad[i], cfg_parse_level(bad[i]));
}
END_TEST

START_TEST(parse_tls_version_supported)
{
	ck_assert_int_eq(cfg_parse_tls_version("TLSv1.2"), CFG_TLS12);
	ck_assert_int_eq(cfg_parse_tls_version("TLSv1.3"), CFG_TLS13);
	ck_assert_int_eq(cfg_parse_tls_version("tlsv1.3"), CFG_TLS13);
	ck_assert_int_eq(cfg_parse_tls_version("1.2"), CFG_TLS12);
	ck_assert_int_eq(cfg_parse_tls_version("1.3"), CFG_TLS13);
}
END_TEST

START_TEST(parse_tls_version_unsupported)
{
	const char *old[] = { "SSLv2", "SSLv3", "TLSv1", "TLSv1.0", "TLSv1.1", "tlsv1.1" };
	for (size_t i = 0; i < sizeof(old) / sizeof(old[0]); i++)
		ck_assert_msg(cfg_parse_tls_version(old[i]) == -2, "'%s' should be -2", old[i]);
}
END_TEST

START_TEST(parse_tls_version_garbage)
{
	const char *bad[] = { "", "TLSv1.4", "TLS1.2", "v1.2", "1.1", "TLSv1.2 ", "garbage" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(cfg_parse_tls_version(bad[i]) == -1, "'%s' should be -1", bad[i]);
}
END_TEST

START_TEST(option_known)
{
	ck_assert_int_eq(cfg_option_known("CAfile"), 1);
	ck_assert_int_eq(cfg_option_known("cafile"), 1);
	ck_assert_int_eq(cfg_option_known("foreground"), 1);
	ck_assert_int_eq(cfg_option_known("bogus"), 0);
	ck_assert_int_eq(cfg_option_known(""), 0);
}
END_TEST

/* ---- command-line flags, the way src/main.c builds them ----------------------------------------- */

static struct cfg flags;
static char flags_err[CFG_ERRLEN];

/* main.c: cfg_init(..., "command line"), then a section "tunnel" at the first --option. */
static void flags_setup(void)
{
	cfg_init(&flags, "command line");
	memset(flags_err, 0, sizeof(flags_err));
	ck_assert_msg(cfg_section(&flags, "tunnel", 0, flags_err, sizeof(flags_err)) == 0, "%s", flags_err);
}

static void flags_teardown(void)
{
	cfg_free(&flags);
}

static void flag(const char *name, const char *value)
{
	ck_assert_msg(cfg_set_flag(&flags, name, value, flags_err, sizeof(flags_err)) == 0, "--%s %s: %s", name, value,
		      flags_err);
}

START_TEST(flags_client_tunnel)
{
	flag("client", "yes");
	flag("accept", "127.0.0.1:8025");
	flag("connect", "mail.example.com:465");
	ck_assert_msg(cfg_finish(&flags, flags_err, sizeof(flags_err)) == 0, "%s", flags_err);
	ck_assert_uint_eq(flags.nsvc, 1);
	const struct cfg_service *s = &flags.svc[0];
	ck_assert_str_eq(s->name, "tunnel");
	ck_assert_int_eq(s->client, 1);
	ck_assert_int_eq(s->verify_chain, 1);
	ck_assert_str_eq(s->accept.host, "127.0.0.1");
	ck_assert_str_eq(s->connect[0].host, "mail.example.com");
	ck_assert_str_eq(s->connect[0].port, "465");
}
END_TEST

START_TEST(flags_global_after_section)
{
	flag("client", "yes");
	flag("foreground", "yes");
	flag("DEBUG", "debug");
	flag("pid", "/run/t.pid");
	ck_assert_int_eq(flags.g.foreground, 1);
	ck_assert_int_eq(flags.g.debug, 7);
	ck_assert_str_eq(flags.g.pid, "/run/t.pid");
}
END_TEST

START_TEST(flags_cfg_set_global_after_section_fails)
{
	ck_assert_int_eq(cfg_set(&flags, "foreground", "yes", flags_err, sizeof(flags_err)), -1);
	ck_assert_msg(strstr(flags_err, "'foreground' is a global option"), "got '%s'", flags_err);
	ck_assert_int_eq(flags.g.foreground, CFG_UNSET);
}
END_TEST

START_TEST(flags_bad_value)
{
	ck_assert_int_eq(cfg_set_flag(&flags, "accept", "host:0", flags_err, sizeof(flags_err)), -1);
	ck_assert_msg(strstr(flags_err, "accept: bad port '0'"), "got '%s'", flags_err);
	ck_assert_int_eq(cfg_set_flag(&flags, "syslog", "perhaps", flags_err, sizeof(flags_err)), -1);
	ck_assert_msg(strstr(flags_err, "syslog: expected yes or no"), "got '%s'", flags_err);
}
END_TEST

START_TEST(flags_unknown_option)
{
	ck_assert_int_eq(cfg_set_flag(&flags, "bogus", "1", flags_err, sizeof(flags_err)), -1);
	ck_assert_msg(strstr(flags_err, "unknown option 'bogus'"), "got '%s'", flags_err);
}
END_TEST

START_TEST(flags_finish_reports_command_line)
{
	flag("accept", "8443");
	flag("cert", "/c.pem");
	ck_assert_int_eq(cfg_finish(&flags, flags_err, sizeof(flags_err)), -1);
	ck_assert_str_eq(flags_err, "command line: service [tunnel] has no 'connect'");
}
END_TEST

START_TEST(flags_duplicate_section)
{
	ck_assert_int_eq(cfg_section(&flags, "tunnel", 0, flags_err, sizeof(flags_err)), -1);
	ck_assert_msg(strstr(flags_err, "duplicate section [tunnel]"), "got '%s'", flags_err);
	ck_assert_uint_eq(flags.nsvc, 1);
}
END_TEST

START_TEST(section_names_checked)
{
	struct cfg c;
	char err[CFG_ERRLEN] = "", name[80];
	cfg_init(&c, "t");
	ck_assert_int_eq(cfg_section(&c, "", 1, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "empty section name"), "got '%s'", err);
	memset(name, 'n', 64);
	name[64] = '\0';
	ck_assert_int_eq(cfg_section(&c, name, 1, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "section name too long"), "got '%s'", err);
	name[63] = '\0';
	ck_assert_msg(cfg_section(&c, name, 1, err, sizeof(err)) == 0, "63 chars rejected: %s", err);
	ck_assert_uint_eq(c.nsvc, 1);
	cfg_free(&c);
}
END_TEST

START_TEST(set_before_section_is_default)
{
	struct cfg c;
	char err[CFG_ERRLEN] = "";
	cfg_init(&c, "t");
	ck_assert_int_eq(cfg_set(&c, "cert", "/d.pem", err, sizeof(err)), 0);
	ck_assert_int_eq(cfg_set(&c, "connect", "9", err, sizeof(err)), 0);
	ck_assert_int_eq(cfg_section(&c, "x", 3, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg_set(&c, "accept", "1", err, sizeof(err)), 0);
	ck_assert_msg(cfg_finish(&c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c.svc[0].cert, "/d.pem");
	ck_assert_str_eq(c.svc[0].connect[0].port, "9");
	ck_assert_str_eq(c.svc[0].file, "t");
	ck_assert_int_eq(c.svc[0].line, 3);
	cfg_free(&c);

	/* cfg_free leaves C ready for cfg_init */
	cfg_init(&c, "again");
	ck_assert_str_eq(c.file, "again");
	ck_assert_uint_eq(c.nsvc, 0);
	cfg_free(&c);
}
END_TEST

START_TEST(finish_without_services)
{
	struct cfg c;
	char err[CFG_ERRLEN] = "";
	cfg_init(&c, "t.conf");
	ck_assert_int_eq(cfg_finish(&c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "t.conf: no services defined: add a [section]") == err, "got '%s'", err);
	cfg_free(&c);
}
END_TEST

/* ---- trust options: verify levels, name checks, allow rules, pins, CRLs ------------------------ */

#define PIN_A "sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
#define PIN_B "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
/* a server that verifies its clients, so that name checks and allow rules are allowed */
#define VSERVER SERVER "verifyChain = yes\nCAfile = /ca.pem\n"

static void assert_list(const struct cfg_list *l, int n, const char *const *want, const char *what)
{
	ck_assert_msg(l->n == n, "%s: %d values, expected %d", what, l->n, n);
	for (int i = 0; i < n; i++)
		ck_assert_msg(strcmp(l->v[i], want[i]) == 0, "%s[%d] is '%s', expected '%s'", what, i, l->v[i], want[i]);
}

START_TEST(trust_lists_keep_order)
{
	struct cfg c;
	load_ok("[a]\n" VSERVER "checkHost = b.example\ncheckHost = a.example\ncheckHost = c.example\n"
		"allowCN = zed\nallowCN = alpha\ncheckIP = 10.0.0.2\ncheckIP = ::1\n"
		"checkEmail = x@example.org\nallowOU = ops\nallowDNS = *.example.org\nallowURI = spiffe://e.org/a\n"
		"allowIP = 192.0.2.1\npinSHA256 = " PIN_B "\npinSHA256 = " PIN_A "\n",
		&c);
	const struct cfg_service *s = &c.svc[0];
	assert_list(&s->check_host, 3, (const char *[]){ "b.example", "a.example", "c.example" }, "checkHost");
	assert_list(&s->allow_cn, 2, (const char *[]){ "zed", "alpha" }, "allowCN");
	assert_list(&s->check_ip, 2, (const char *[]){ "10.0.0.2", "::1" }, "checkIP");
	assert_list(&s->check_email, 1, (const char *[]){ "x@example.org" }, "checkEmail");
	assert_list(&s->allow_ou, 1, (const char *[]){ "ops" }, "allowOU");
	assert_list(&s->allow_dns, 1, (const char *[]){ "*.example.org" }, "allowDNS");
	assert_list(&s->allow_uri, 1, (const char *[]){ "spiffe://e.org/a" }, "allowURI");
	assert_list(&s->allow_ip, 1, (const char *[]){ "192.0.2.1" }, "allowIP");
	assert_list(&s->pin_sha256, 2, (const char *[]){ PIN_B, PIN_A }, "pinSHA256");
	cfg_free(&c);
}
END_TEST

START_TEST(trust_lists_defaults_copied_into_sections)
{
	struct cfg c;
	/* before the first section the lists are defaults: each service starts with its own copy and a
	 * section's values come after them */
	load_ok("checkHost = one.example\ncheckHost = two.example\nallowCN = dflt\nverifyChain = yes\nCAfile = /ca.pem\n"
		"[a]\n" SERVER "allowCN = mine\ncheckHost = three.example\n"
		"[b]\n" SERVER "accept = 8444\n",
		&c);
	assert_list(&c.svc[0].check_host, 3, (const char *[]){ "one.example", "two.example", "three.example" },
		    "[a] checkHost");
	assert_list(&c.svc[0].allow_cn, 2, (const char *[]){ "dflt", "mine" }, "[a] allowCN");
	assert_list(&c.svc[1].check_host, 2, (const char *[]){ "one.example", "two.example" }, "[b] checkHost");
	assert_list(&c.svc[1].allow_cn, 1, (const char *[]){ "dflt" }, "[b] allowCN");
	assert_list(&c.defaults.check_host, 2, (const char *[]){ "one.example", "two.example" }, "defaults checkHost");
	/* copies, not shared storage */
	ck_assert_ptr_ne(c.svc[0].check_host.v, c.svc[1].check_host.v);
	ck_assert_ptr_ne(c.svc[0].check_host.v[0], c.svc[1].check_host.v[0]);
	ck_assert_ptr_ne(c.svc[1].check_host.v[0], c.defaults.check_host.v[0]);
	ck_assert_ptr_ne(c.svc[1].allow_cn.v[0], c.defaults.allow_cn.v[0]);
	cfg_free(&c);
}
END_TEST

START_TEST(trust_empty_list_values_refused)
{
	const char *names[] = { "checkHost", "checkIP", "checkEmail", "allowCN", "allowOU", "allowDNS", "allowURI", "allowIP",
				"pinSHA256" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char t[512], why[64];
		snprintf(t, sizeof(t), "[a]\n" VSERVER "%s =\n", names[i]);
		snprintf(why, sizeof(why), "%s: empty value", names[i]);
		expect_error_at(t, names[i], why);
	}
}
END_TEST

START_TEST(trust_check_ip_not_an_ip)
{
	expect_error_at("[a]\n" VSERVER "checkIP = host.example\n", "checkIP",
			"checkIP: 'host.example' is not an IP address");
	expect_error_at("[a]\n" VSERVER "checkIP = 10.0.0.1\ncheckIP = 10.0.0.256\n", "checkIP = 10.0.0.256",
			"'10.0.0.256' is not an IP address");
	expect_error_at("[a]\n" VSERVER "allowIP = [::1]\n", "allowIP", "allowIP: '[::1]' is not an IP address");
	expect_error_at("[a]\n" VSERVER "allowIP = 10.0.0.0/8\n", "allowIP", "'10.0.0.0/8' is not an IP address");
}
END_TEST

START_TEST(trust_check_email_without_at)
{
	expect_error_at("[a]\n" VSERVER "checkEmail = ops.example.org\n", "checkEmail",
			"checkEmail: 'ops.example.org' is not an e-mail address");
}
END_TEST

START_TEST(trust_bad_wildcards_refused)
{
	const char *bad[] = { "a*.example.com", "*.*.x", "www.*.example.com", "*example.com", "*", "**.example.com",
			      "*.example.*" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char t[512], why[160];
		snprintf(t, sizeof(t), "[a]\n" VSERVER "allowDNS = %s\n", bad[i]);
		snprintf(why, sizeof(why), "allowDNS: '%s': only a leading '*.' wildcard is allowed", bad[i]);
		expect_error_at(t, "allowDNS", why);
		snprintf(t, sizeof(t), "[a]\n" VSERVER "checkHost = %s\n", bad[i]);
		snprintf(why, sizeof(why), "checkHost: '%s': only a leading '*.' wildcard is allowed", bad[i]);
		expect_error_at(t, "checkHost", why);
	}
	struct cfg c;
	load_ok("[a]\n" VSERVER "allowDNS = *.example.com\n", &c);
	ck_assert_str_eq(c.svc[0].allow_dns.v[0], "*.example.com");
	cfg_free(&c);
}
END_TEST

START_TEST(trust_pin_malformed)
{
	const char *t = "[a]\n" SERVER "pinSHA256 = " PIN_A "\npinSHA256 = sha256//tooshort\n";
	expect_error_at(t, "pinSHA256 = sha256//tooshort", "pinSHA256: 'sha256//tooshort': not the base64 of a 32-byte");
	expect_error_at("[a]\n" SERVER "pinSHA256 = 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", "pinSHA256",
			"pinSHA256: '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=': expected sha256//BASE64");
	/* in the defaults too, reported at its own line */
	expect_error_at("pinSHA256 = sha256//!!!!\n[a]\n" SERVER, "pinSHA256", "not the base64");
}
END_TEST

START_TEST(trust_verify_levels)
{
	/* stunnel's levels -> verifyChain, verifyPeer, requireCert */
	static const int want[5][3] = { { 0, 0, 0 }, { 1, 0, 0 }, { 1, 0, 1 }, { 1, 1, 1 }, { 0, 1, 1 } };
	for (int level = 0; level <= 4; level++) {
		for (int client = 0; client <= 1; client++) {
			struct cfg c;
			char t[512];
			snprintf(t, sizeof(t), "[a]\n%sCAfile = /ca.pem\nverify = %d\n", client ? CLIENT : SERVER, level);
			load_ok(t, &c);
			const struct cfg_service *s = &c.svc[0];
			ck_assert_msg(s->verify_chain == want[level][0] && s->verify_peer == want[level][1] &&
					      s->require_cert == want[level][2],
				      "%s verify = %d: verifyChain %d verifyPeer %d requireCert %d, expected %d %d %d",
				      client ? "client" : "server", level, s->verify_chain, s->verify_peer, s->require_cert,
				      want[level][0], want[level][1], want[level][2]);
			cfg_free(&c);
		}
	}
}
END_TEST

START_TEST(trust_verify_level_out_of_range)
{
	const char *bad[] = { "5", "-1", "10", "2x", "yes", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char t[512], why[80];
		snprintf(t, sizeof(t), "[a]\n" SERVER "CAfile = /ca.pem\nverify = %s\n", bad[i]);
		snprintf(why, sizeof(why), "verify: expected 0-4, got '%s'", bad[i]);
		expect_error_at(t, "verify", why);
	}
}
END_TEST

START_TEST(trust_allow_rules_need_verification)
{
	const char *rules[] = { "allowCN = client", "allowOU = ops", "allowDNS = *.example.org",
				"allowURI = spiffe://example.org/a", "allowIP = 10.0.0.1" };
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		char t[512];
		snprintf(t, sizeof(t), "[a]\n" SERVER "%s\n", rules[i]);
		expect_error_at(t, "[a]", "allow rules apply to a verified certificate: set verifyChain or verifyPeer");
		snprintf(t, sizeof(t), "[a]\n" CLIENT "verifyChain = no\n%s\n", rules[i]);
		expect_error_at(t, "[a]", "allow rules apply to a verified certificate");
		/* verify = 4 verifies (the peer is listed): allowed */
		struct cfg c;
		snprintf(t, sizeof(t), "[a]\n" SERVER "CAfile = /ca.pem\nverify = 4\n%s\n", rules[i]);
		load_ok(t, &c);
		cfg_free(&c);
	}
	/* a pin is a verification of its own */
	struct cfg c;
	load_ok("[a]\n" SERVER "pinSHA256 = " PIN_A "\n", &c);
	ck_assert_int_eq(c.svc[0].pin_sha256.n, 1);
	cfg_free(&c);
}
END_TEST

START_TEST(trust_check_names_with_pin_only)
{
	/* checkHost/checkIP/checkEmail need some verification; a pin is enough */
	struct cfg c;
	load_ok("[a]\n" CLIENT "pinSHA256 = " PIN_A "\ncheckHost = mail.example.com\n", &c);
	ck_assert_int_eq(c.svc[0].verify_chain, 0);
	cfg_free(&c);
	expect_error_at("[a]\n" CLIENT "verifyChain = no\ncheckEmail = a@example.org\n", "[a]",
			"checkHost/checkIP/checkEmail need verifyChain, verifyPeer or pinSHA256");
	expect_error_at("[a]\n" SERVER "checkIP = 10.0.0.1\n", "[a]", "need verifyChain, verifyPeer or pinSHA256");
}
END_TEST

START_TEST(trust_crlfile_needs_verify_chain)
{
	expect_error_at("[a]\n" SERVER "CRLfile = /crl.pem\n", "[a]", "CRLfile needs verifyChain");
	expect_error_at("[a]\n" CLIENT "verifyChain = no\nCRLfile = /crl.pem\n", "[a]", "CRLfile needs verifyChain");
	/* verify = 4 ignores the chain, so a CRL would never be looked at */
	expect_error_at("[a]\n" SERVER "CAfile = /ca.pem\nverify = 4\nCRLfile = /crl.pem\n", "[a]",
			"CRLfile needs verifyChain");
	struct cfg c;
	load_ok("[a]\n" VSERVER "CRLfile = /crl.pem\n[b]\n" CLIENT "CRLfile = /crl.pem\n", &c);
	ck_assert_str_eq(c.svc[0].crlfile, "/crl.pem");
	ck_assert_str_eq(c.svc[1].crlfile, "/crl.pem");
	cfg_free(&c);
}
END_TEST

START_TEST(ocsp_options)
{
	struct cfg c;
#define CL(port) "client = yes\naccept = 127.0.0.1:" port "\nconnect = mail.example.com:465\n"
	load_ok("[a]\n" CL("1") "OCSP = http://ocsp.example.org/\n[b]\n" CL("2") "OCSP = http://[::1]:8888/ocsp\n"
		"OCSPrequire = no\nOCSPnonce = yes\nTIMEOUTocsp = 2\n[c]\n" CL("3") "OCSPrequire = no\nOCSPnonce = no\n", &c);
#undef CL
	ck_assert_str_eq(c.svc[0].ocsp_url, "http://ocsp.example.org/");
	ck_assert_int_eq(c.svc[0].ocsp_require, CFG_UNSET);
	ck_assert_int_eq(c.svc[0].ocsp_nonce, CFG_UNSET);
	ck_assert_int_eq(c.svc[0].timeout_ocsp, 5);
	ck_assert_int_eq(c.svc[1].ocsp_require, 0);
	ck_assert_int_eq(c.svc[1].ocsp_nonce, 1);
	ck_assert_int_eq(c.svc[1].timeout_ocsp, 2);
	ck_assert_ptr_null(c.svc[2].ocsp_url);
	cfg_free(&c);
	load_ok("[a]\n" CLIENT "OCSPaia = yes\nOCSPnonce = yes\n", &c);
	ck_assert_int_eq(c.svc[0].ocsp_aia, 1);
	ck_assert_ptr_null(c.svc[0].ocsp_url);
	cfg_free(&c);
	expect_error_at("[a]\n" CLIENT "OCSPaia = perhaps\n", "OCSPaia", "OCSPaia: expected yes or no");
	expect_error_at("[a]\n" CLIENT "verifyChain = no\nOCSPaia = yes\n", "[a]", "OCSPaia = yes needs verifyChain");
	expect_error_at("[a]\n" CLIENT "OCSP = https://ocsp.example.org/\n", "OCSP", "OCSP: 'https://ocsp.example.org/': "
			"only http:// responders are supported");
	expect_error_at("[a]\n" CLIENT "OCSP = ocsp.example.org\n", "OCSP", "OCSP: 'ocsp.example.org': expected an http:// URL");
	expect_error_at("[a]\n" CLIENT "OCSP = http://ocsp.example.org:99999/\n", "OCSP", "bad port");
	expect_error_at("[a]\n" CLIENT "OCSP = http://user@ocsp.example.org/\n", "OCSP", "user information");
	expect_error_at("[a]\n" CLIENT "OCSP = http:///x\n", "OCSP", "no host");
	expect_error_at("[a]\n" CLIENT "OCSPrequire = maybe\n", "OCSPrequire", "OCSPrequire: expected yes or no");
	expect_error_at("[a]\n" CLIENT "OCSPnonce = 2\n", "OCSPnonce", "OCSPnonce: expected yes or no");
	expect_error_at("[a]\n" CLIENT "TIMEOUTocsp = soon\n", "TIMEOUTocsp", "TIMEOUTocsp: expected a number of seconds");
	expect_error_at("[a]\n" CLIENT "OCSP = http://h/\nTIMEOUTocsp = 0\n", "[a]", "TIMEOUTocsp: at least 1 second");
	expect_error_at("[a]\n" SERVER "OCSP = http://h/\n", "[a]", "OCSP needs verifyChain");
	expect_error_at("[a]\n" CLIENT "verifyChain = no\nOCSP = http://h/\n", "[a]", "OCSP needs verifyChain");
	expect_error_at("[a]\n" CLIENT "OCSPnonce = yes\n", "[a]", "OCSPnonce = yes needs OCSP = URL or OCSPaia = yes");
	expect_error_at("[a]\n" CLIENT "OCSPrequire = yes\n", "[a]", "OCSPrequire = yes needs OCSP = URL");
}
END_TEST

START_TEST(trust_client_pin_without_ca)
{
	struct cfg c;
	load_ok("[pin]\n" CLIENT "pinSHA256 = " PIN_A "\n"
		"[pin-cafile]\n" CLIENT "accept = 8026\npinSHA256 = " PIN_A "\nCAfile = /ca.pem\n"
		"[pin-capath]\n" CLIENT "accept = 8027\npinSHA256 = " PIN_A "\nCApath = /etc/ssl/certs\n"
		"[pin-forced]\n" CLIENT "accept = 8028\npinSHA256 = " PIN_A "\nverifyChain = yes\n"
		"[no-pin]\n" CLIENT "accept = 8029\n",
		&c);
	ck_assert_int_eq(c.svc[0].verify_chain, 0); /* the pin is the trust decision */
	ck_assert_int_eq(c.svc[1].verify_chain, 1); /* with a CA, the chain is verified too */
	ck_assert_int_eq(c.svc[2].verify_chain, 1);
	ck_assert_int_eq(c.svc[3].verify_chain, 1); /* said explicitly: the system store */
	ck_assert_int_eq(c.svc[4].verify_chain, 1);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(c.svc[i].require_cert, 0);
	cfg_free(&c);
}
END_TEST

START_TEST(trust_server_pin_requires_cert)
{
	struct cfg c;
	load_ok("[a]\n" SERVER "pinSHA256 = " PIN_A "\n[b]\n" SERVER "accept = 8444\npinSHA256 = " PIN_A "\nrequireCert = no\n", &c);
	ck_assert_int_eq(c.svc[0].verify_chain, 0);
	ck_assert_int_eq(c.svc[0].require_cert, 1);
	ck_assert_int_eq(c.svc[1].require_cert, 0);
	cfg_free(&c);
}
END_TEST

/* ---- regressions: bugs found in src/config.c by these tests ---- */

START_TEST(bug_long_section_name)
{
	/* inih keeps 49 characters of a section name; a longer one is today reported as "has no options"
	 * although it has some. It should be refused for its length. */
	char t[512], name[51];
	memset(name, 'n', 50);
	name[50] = '\0';
	snprintf(t, sizeof(t), "[%s]\n" SERVER, name);
	expect_error_at(t, name, "too long");
}
END_TEST


/* ---- stunnel options taken for drop-in use ------------------------------------------------------- */

START_TEST(compat_values_accepted)
{
	struct cfg c;
	load_ok("foreground = quiet\nlog = overwrite\nfips = no\nservice = imapd-tls\nRNDfile = /dev/urandom\n"
		"RNDbytes = 1024\nRNDoverwrite = yes\nEGD = /var/run/egd\n"
		"[a]\n" SERVER "sslVersion = all\noptions = NO_SSLv2\noptions = NO_SSLv3\noptions = NO_TICKET\n"
		"renegotiation = no\nsocket = l:TCP_NODELAY=1\nsocket = r:SO_KEEPALIVE=yes\nfailover = rr\ndelay = yes\n"
		"sessionResume = no\ncurves = prime256v1:X25519\nlocal = 127.0.0.1\nlibwrap = no\ntransparent = none\n"
		"stack = 65536\nlogId = sequential\nsecurityLevel = 2\nreset = yes\nconnect = /run/app.sock\n"
		"[b]\n" SERVER "accept = 8444\nsslVersionMin = all\nsslVersionMax = all\n",
		&c);
	ck_assert_int_eq(c.g.foreground, 1);
	ck_assert_int_eq(c.g.quiet, 1);
	ck_assert_int_eq(c.g.log_overwrite, 1);
	ck_assert_str_eq(c.g.service, "imapd-tls");
	const struct cfg_service *a = &c.svc[0];
	ck_assert_int_eq(a->tls_min, CFG_TLS12);
	ck_assert_int_eq(a->tls_max, CFG_TLS13);
	ck_assert_uint_eq(a->ssl_options, SSLOPT_NO_TICKET);
	ck_assert_int_eq(a->sockopts.n, 2);
	ck_assert_int_eq(a->failover_rr, 1);
	ck_assert_int_eq(a->delay, 1);
	ck_assert_int_eq(a->session_resume, 0);
	ck_assert_str_eq(a->curves, "prime256v1:X25519");
	ck_assert_str_eq(a->local, "127.0.0.1");
	ck_assert_int_eq(a->reset, 1);
	ck_assert_int_eq(a->n_connect, 2);
	ck_assert_str_eq(a->connect[1].path, "/run/app.sock");
	ck_assert_str_eq(a->connect[1].host, "");
	ck_assert_int_eq(c.svc[1].tls_min, CFG_TLS12);
	ck_assert_int_eq(c.svc[1].tls_max, CFG_TLS13);
	cfg_free(&c);
}
END_TEST

START_TEST(compat_values_refused_with_reasons)
{
	expect_error_at("[a]\n" SERVER "sslVersion = TLSv1.1\n", "sslVersion", "TLSv1.1 is not supported (TLSv1.2 is the minimum");
	expect_error_at("[a]\n" SERVER "sslVersionMin = SSLv3\n", "sslVersionMin", "SSLv3 is not supported");
	expect_error_at("fips = yes\n[a]\n" SERVER, "fips", "fips = yes is not supported: mbedTLS has no FIPS 140 mode");
	expect_error_at("[a]\n" SERVER "renegotiation = yes\n", "renegotiation", "renegotiation = yes is not supported");
	expect_error_at("log = rotate\n[a]\n" SERVER, "log", "log: expected append or overwrite");
	expect_error_at("foreground = loud\n[a]\n" SERVER, "foreground", "foreground: expected yes, quiet or no");
	expect_error_at("[a]\n" SERVER "failover = random\n", "failover", "failover: expected rr or prio");
	expect_error_at("[a]\n" SERVER "options = -NO_SSLv3\n", "options", "options: -NO_SSLv3 is refused");
	expect_error_at("[a]\n" SERVER "socket = x:SO_KEEPALIVE=yes\n", "socket", "socket: expected a, l or r");
	expect_error_at("[a]\n" SERVER "socket = l:SO_NOPE=1\n", "socket", "socket: unknown option 'SO_NOPE'");
	expect_error_at("[a]\n" SERVER "ticketKeySecret = 0011\n", "ticketKeySecret", "expected 32 or 64 hexadecimal digits");
	expect_error_at("[a]\n" SERVER "ticketMacSecret = zz112233445566778899aabbccddeeff\n", "ticketMacSecret",
			"expected 32 or 64 hexadecimal digits");
	expect_error_at("[a]\n" SERVER "curves = P-256:P-999\n", "curves", "curves: unknown curve 'P-999'");
	expect_error_at("[a]\n" SERVER "local = bad host\n", "local", "local: bad character ' '");
	expect_error_at("[a]\n" SERVER "connect = /x/" "0123456789012345678901234567890123456789012345678901234567890123456789"
			"0123456789012345678901234567890123456789\n", "connect = /x/", "Unix socket path longer than 107 bytes");
	expect_error_at("compression = zlib\n[a]\n" SERVER, "compression",
			"option 'compression' is not supported: TLS compression is insecure (CRIME)");
	expect_error_at("[a]\n" SERVER "OCSPaia = yes\n", "[a]", "OCSPaia = yes needs verifyChain");
	expect_error_at("[a]\n" SERVER "ocspaia = sometimes\n", "ocspaia", "OCSPaia: expected yes or no, got 'sometimes'");
	expect_error_at("[a]\n" SERVER "OCSPflag = NOCERTS\n", "OCSPflag", "option 'OCSPflag' is not supported: OpenSSL's "
			"OCSP verification flags each loosen a check");
	expect_error_at("engine = pkcs11\n[a]\n" SERVER, "engine", "OpenSSL engines are not supported");
	expect_error_at("[a]\n" SERVER "libwrap = yes\n", "libwrap", "libwrap = yes is not supported");
	expect_error_at("[a]\n" SERVER "transparent = source\n", "transparent", "transparent = source is not supported");
	expect_error_at("[a]\n" SERVER "logId = unique\n", "logId", "logId = unique is not supported");
	expect_error_at("[a]\n" SERVER "securityLevel = 6\n", "securityLevel", "securityLevel: expected 0-5, got '6'");
	expect_error_at("[a]\n" SERVER "securityLevel = high\n", "securityLevel", "securityLevel: expected 0-5");
	expect_error_at("[a]\n" SERVER "stack = big\n", "stack", "stack: expected a number");
	expect_error_at("RNDoverwrite = maybe\n[a]\n" SERVER, "RNDoverwrite", "RNDoverwrite: expected yes or no");
	expect_error_at("[a]\n" SERVER "service = x\n", "service", "'service' is a global option");
	expect_error_at("[a]\n" SERVER "frobnicate = 1\n", "frobnicate", "unknown option 'frobnicate'");
}
END_TEST

START_TEST(compat_unix_addresses)
{
	addr_ok("8443", "", "8443");
	struct cfg_addr a;
	char err[CFG_ERRLEN], buf[300];
	ck_assert_int_eq(cfg_parse_addr("/run/app.sock", &a, err, sizeof(err)), 0);
	ck_assert_str_eq(a.path, "/run/app.sock");
	ck_assert_str_eq(cfg_addr_str(&a, buf, sizeof(buf)), "/run/app.sock");
	ck_assert_int_eq(cfg_parse_addr("[::1]:443", &a, err, sizeof(err)), 0);
	ck_assert_str_eq(cfg_addr_str(&a, buf, sizeof(buf)), "[::1]:443");
	ck_assert_int_eq(cfg_parse_addr("443", &a, err, sizeof(err)), 0);
	ck_assert_str_eq(cfg_addr_str(&a, buf, sizeof(buf)), "*:443");
	ck_assert_int_eq(cfg_parse_curve("P-384"), CFG_GROUP_SECP384R1);
	ck_assert_int_eq(cfg_parse_curve("x25519"), CFG_GROUP_X25519);
	ck_assert_int_eq(cfg_parse_curve("secp256k1"), 0);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");

	TCase *tc = tcase_create("file");
	tcase_add_checked_fixture(tc, good_setup, good_teardown);
	tcase_add_test(tc, file_globals);
	tcase_add_test(tc, workers_values);
	tcase_add_test(tc, sandbox_values);
	tcase_add_test(tc, drain_delay_values);
	tcase_add_test(tc, limits_values);
	tcase_add_test(tc, file_services_in_order);
	tcase_add_test(tc, file_accept);
	tcase_add_test(tc, file_connect_repeated_in_order);
	tcase_add_test(tc, file_defaults_apply_to_every_service);
	tcase_add_test(tc, file_option_names_ignore_case);
	tcase_add_test(tc, file_strings);
	suite_add_tcase(s, tc);

	tc = tcase_create("defaults");
	tcase_add_test(tc, defaults_stunnel_timeouts);
	tcase_add_test(tc, defaults_timeouts_settable);
	tcase_add_test(tc, defaults_globals);
	tcase_add_test(tc, defaults_tls_versions);
	tcase_add_test(tc, defaults_client_verifies);
	tcase_add_test(tc, defaults_client_verify_off);
	tcase_add_test(tc, defaults_server_does_not_verify);
	tcase_add_test(tc, defaults_server_require_cert_follows_verify);
	tcase_add_test(tc, ssl_version_sets_both);
	tcase_add_test(tc, ssl_version_min_max);
	tcase_add_test(tc, section_overrides_default);
	tcase_add_test(tc, section_lines);
	tcase_add_test(tc, section_name_49_chars);
	tcase_add_test(tc, max_connect_accepted);
	suite_add_tcase(s, tc);

	tc = tcase_create("file_errors");
	tcase_add_test(tc, err_unknown_option);
	tcase_add_test(tc, err_missing_equals);
	tcase_add_test(tc, err_bad_bool);
	tcase_add_test(tc, err_bad_debug_level);
	tcase_add_test(tc, err_bad_port_zero);
	tcase_add_test(tc, err_bad_port_too_big);
	tcase_add_test(tc, err_bad_port_name);
	tcase_add_test(tc, err_bad_port_empty);
	tcase_add_test(tc, err_bad_host);
	tcase_add_test(tc, err_bad_timeout);
	tcase_add_test(tc, err_global_after_section);
	tcase_add_test(tc, debug_in_a_section);
	tcase_add_test(tc, err_missing_accept);
	tcase_add_test(tc, inetd_flag_needs_no_accept);
	tcase_add_test(tc, where_names_file_and_line);
	tcase_add_test(tc, where_option_names_its_line);
	tcase_add_test(tc, where_names_the_line_of_each_value);
	tcase_add_test(tc, err_missing_connect);
	tcase_add_test(tc, err_server_without_cert);
	tcase_add_test(tc, err_key_without_cert);
	tcase_add_test(tc, err_verify_peer_without_ca);
	tcase_add_test(tc, err_check_host_without_verify);
	tcase_add_test(tc, err_ssl_version_unsupported);
	tcase_add_test(tc, err_ssl_version_unknown);
	tcase_add_test(tc, err_ssl_version_min_above_max);
	tcase_add_test(tc, err_service_line_is_header);
	tcase_add_test(tc, err_duplicate_section);
	tcase_add_test(tc, err_duplicate_adjacent_section);
	tcase_add_test(tc, sni_secondary_links_to_primary);
	tcase_add_test(tc, sni_secondary_errors);
	tcase_add_test(tc, err_empty_section);
	tcase_add_test(tc, err_too_many_connect);
	tcase_add_test(tc, err_no_services);
	tcase_add_test(tc, err_nonexistent_file);
	tcase_add_test(tc, err_frees_everything);
	tcase_add_test(tc, err_finish_frees_everything);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse_addr");
	tcase_add_test(tc, addr_port_only);
	tcase_add_test(tc, addr_ipv4);
	tcase_add_test(tc, addr_name);
	tcase_add_test(tc, addr_ipv6_bracketed);
	tcase_add_test(tc, addr_ipv6_stunnel_form);
	tcase_add_test(tc, addr_bracket_without_colon);
	tcase_add_test(tc, addr_empty_host);
	tcase_add_test(tc, addr_missing_port);
	tcase_add_test(tc, addr_bad_ports);
	tcase_add_test(tc, addr_named_ports);
	tcase_add_test(tc, addr_bad_host_characters);
	tcase_add_test(tc, addr_host_length);
	tcase_add_test(tc, addr_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("parsers");
	tcase_add_test(tc, parse_bool_values);
	tcase_add_test(tc, parse_bool_garbage);
	tcase_add_test(tc, parse_level_numbers);
	tcase_add_test(tc, parse_level_names);
	tcase_add_test(tc, parse_level_facility);
	tcase_add_test(tc, parse_level_garbage);
	tcase_add_test(tc, parse_tls_version_supported);
	tcase_add_test(tc, parse_tls_version_unsupported);
	tcase_add_test(tc, parse_tls_version_garbage);
	tcase_add_test(tc, option_known);
	suite_add_tcase(s, tc);

	tc = tcase_create("flags");
	tcase_add_checked_fixture(tc, flags_setup, flags_teardown);
	tcase_add_test(tc, flags_client_tunnel);
	tcase_add_test(tc, flags_global_after_section);
	tcase_add_test(tc, flags_cfg_set_global_after_section_fails);
	tcase_add_test(tc, flags_bad_value);
	tcase_add_test(tc, flags_unknown_option);
	tcase_add_test(tc, flags_finish_reports_command_line);
	tcase_add_test(tc, flags_duplicate_section);
	suite_add_tcase(s, tc);

	tc = tcase_create("trust");
	tcase_add_test(tc, trust_lists_keep_order);
	tcase_add_test(tc, trust_lists_defaults_copied_into_sections);
	tcase_add_test(tc, trust_empty_list_values_refused);
	tcase_add_test(tc, trust_check_ip_not_an_ip);
	tcase_add_test(tc, trust_check_email_without_at);
	tcase_add_test(tc, trust_bad_wildcards_refused);
	tcase_add_test(tc, trust_pin_malformed);
	tcase_add_test(tc, trust_verify_levels);
	tcase_add_test(tc, trust_verify_level_out_of_range);
	tcase_add_test(tc, trust_allow_rules_need_verification);
	tcase_add_test(tc, trust_check_names_with_pin_only);
	tcase_add_test(tc, trust_crlfile_needs_verify_chain);
	tcase_add_test(tc, ocsp_options);
	tcase_add_test(tc, trust_client_pin_without_ca);
	tcase_add_test(tc, trust_server_pin_requires_cert);
	tcase_add_test(tc, trust_key_password_file);
	tcase_add_test(tc, trust_reload_on_change);
	suite_add_tcase(s, tc);

	tc = tcase_create("api");
	tcase_add_test(tc, section_names_checked);
	tcase_add_test(tc, set_before_section_is_default);
	tcase_add_test(tc, finish_without_services);
	suite_add_tcase(s, tc);

	tc = tcase_create("compat");
	tcase_add_test(tc, compat_values_accepted);
	tcase_add_test(tc, compat_values_refused_with_reasons);
	tcase_add_test(tc, compat_unix_addresses);
	suite_add_tcase(s, tc);

	tc = tcase_create("fixed_bugs");
	tcase_add_test(tc, bug_long_section_name);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
