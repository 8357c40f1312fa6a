/* HTTP CONNECT, client side (RFC 9110 9.3.6): the request that asks a proxy for a tunnel, and the
 * reading of its answer. Pure: no I/O, no state; the caller owns the socket and the buffers. */
#ifndef TLSWRAP_PROTO_CONNECT_H
#define TLSWRAP_PROTO_CONNECT_H

#include <stddef.h>

/* The largest response head (status line, headers and blank line) a proxy may send. */
#define CONNECT_MAX_HEAD 8192

/* connect_request: write into BUF (LEN bytes) the request for a tunnel to HOST:PORT:
 *   "CONNECT HOST:PORT HTTP/1.1\r\nHost: HOST:PORT\r\n"
 *   + "Proxy-Authorization: Basic base64(USER:PASS)\r\n" when USER is not NULL (PASS NULL is "")
 *   + each of the NHEADERS lines of HEADERS (NULL when NHEADERS is 0), given as "Name: value"
 *     without line end
 *   + "\r\n".
 * HOST is a name or an address; an IPv6 address is bracketed ("::1" -> "[::1]", "[::1]" is kept).
 * PORT is a decimal number from 1 to 65535. BUF is NUL-terminated, so LEN must exceed the length.
 * Returns the length, or -1 with a reason in ERR (ERRLEN bytes, may be 0) when HOST is empty or
 * holds a space or control character, PORT is not a port, USER holds ':' or a control character,
 * a header holds CR, LF or another control character than tab, has no "Name: " with Name an
 * HTTP token, or repeats Host (or Proxy-Authorization when USER is given), or the request does not
 * fit; BUF is then wiped. Neither PASS nor a header's value
 * ever appears in ERR. */
int connect_request(const char *host, const char *port, const char *user, const char *pass,
		    const char *const *headers, int nheaders, char *buf, size_t len, char *err, size_t errlen);

/* connect_response: examine BUF, the LEN bytes received so far from the proxy (LEN may be 0).
 * Returns the length of the complete response head (status line and headers up to and including
 * the blank line; lines may end in CRLF or a bare LF) when its status is 2xx: the bytes after it
 * belong to the tunnel and are the caller's to forward. Returns 0 while more bytes are needed.
 * Returns -1 with a reason in WHY (WHYLEN bytes, may be 0) when the answer is
 *   - a refusal (any status but 2xx, decided as soon as the status line is whole): WHY is that
 *     status line, e.g. "HTTP/1.1 407 Proxy Authentication Required";
 *   - not HTTP ("proxy sent a non-HTTP response"), a status line not of the form
 *     "HTTP/1.x NNN reason" with exactly three digits ("proxy sent a malformed status line: ..."),
 *     or a head holding a NUL byte;
 *   - a head larger than CONNECT_MAX_HEAD ("proxy response head larger than 8192 bytes").
 * Text taken from the proxy is cut to WHYLEN and every byte outside printable ASCII becomes '?'. */
int connect_response(const char *buf, size_t len, char *why, size_t whylen);

#endif
