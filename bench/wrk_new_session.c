/*
 * bench/wrk_new_session.c: an LD_PRELOAD shim that makes wrk do a full TLS handshake on every connection.
 *
 * wrk keeps one SSL object per connection slot. When a response says "Connection: close" it reconnects
 * through SSL_shutdown() and SSL_clear(), and OpenSSL's SSL_clear() keeps the session of a connection that
 * was shut down cleanly, so the next SSL_connect() offers it: with 32 slots, all but the first 32 handshakes
 * of a run would be resumptions (the bench saw 540 of 542 resumed). Dropping the session right after
 * SSL_clear() makes each reconnect a new, full handshake, which is what the handshake row measures.
 *
 * Built by bench.sh at run time: cc -shared -fPIC -o wrk_new_session.so wrk_new_session.c -ldl
 * Used as: env LD_PRELOAD=.../wrk_new_session.so wrk ...
 * No OpenSSL headers are needed: the two functions are declared here, and SSL_set_session() is resolved from
 * the libssl that wrk itself loads.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

typedef struct ssl_st SSL;
typedef struct ssl_session_st SSL_SESSION;
int SSL_set_session(SSL *ssl, SSL_SESSION *session);

int SSL_clear(SSL *ssl)
{
	static int (*real_clear)(SSL *);
	int rc;

	if (real_clear == NULL)
		real_clear = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_clear");
	if (real_clear == NULL)
		return 0; /* SSL_clear's own failure value: wrk then reports the connection as an error */
	rc = real_clear(ssl);
	SSL_set_session(ssl, NULL);
	return rc;
}
