/* PROXY protocol (HAProxy's proxy-protocol.txt), versions 1 (text) and 2 (binary): building the
 * header that tells a backend who the client really was, and parsing one sent to us.
 * Pure functions: no I/O, no allocation, no state. */
#ifndef TLSWRAP_PROTO_PROXY_H
#define TLSWRAP_PROTO_PROXY_H

#include <stddef.h>
#include <sys/socket.h>

/* The longest v1 line, CRLF included ("PROXY UNKNOWN" with two full IPv6 addresses). */
#define PROXY_V1_MAX 107
/* The fixed part of a v2 header; its last two bytes give the length of what follows. */
#define PROXY_V2_HEADER 16
/* The longest v2 header, and so the most proxy_decode can ever ask for. */
#define PROXY_MAX (PROXY_V2_HEADER + 65535)

/* v2 TLV types and the fields of PP2_TYPE_SSL, as the specification names them. */
#define PP2_TYPE_ALPN 0x01
#define PP2_TYPE_AUTHORITY 0x02
#define PP2_TYPE_NOOP 0x04
#define PP2_TYPE_SSL 0x20
#define PP2_SUBTYPE_SSL_VERSION 0x21
#define PP2_SUBTYPE_SSL_CN 0x22
#define PP2_CLIENT_SSL 0x01
#define PP2_CLIENT_CERT_CONN 0x02
#define PP2_CLIENT_CERT_SESS 0x04

/* What a v2 header says about the client's TLS session. A NULL or empty string is left out. */
struct proxy_tlv_info {
	const char *alpn;      /* negotiated ALPN protocol */
	const char *authority; /* SNI server name the client asked for */
	int ssl;               /* client used TLS: adds PP2_TYPE_SSL; version and cn only go inside it */
	int verified;          /* client certificate verified */
	const char *version;   /* e.g. "TLSv1.3" */
	const char *cn;        /* verified client certificate's CN, or NULL */
};

/* proxy_encode_v1: the v1 line for a connection from SRC to DST into BUF (LEN bytes):
 * "PROXY TCP4 src dst sport dport\r\n", TCP6 for IPv6. An IPv4-mapped IPv6 address counts as
 * IPv4, so a dual-stack listener still sends TCP4 for IPv4 clients (an IPv4 address paired with
 * a real IPv6 one is written mapped, under TCP6). Any other family, or a NULL address, gives
 * "PROXY UNKNOWN\r\n". BUF is not NUL-terminated. Returns the length written (at most 104), or
 * -1 when LEN is too small, BUF then untouched. */
int proxy_encode_v1(const struct sockaddr *src, const struct sockaddr *dst, char *buf, size_t len);

/* proxy_encode_v2: the binary v2 header for a connection from SRC to DST into BUF (LEN bytes):
 * signature, version 2 command PROXY, TCP over IPv4 (0x11) or IPv6 (0x21) with addresses and
 * ports (IPv4-mapped addresses as for proxy_encode_v1). Another family or a NULL address gives
 * command LOCAL with family UNSPEC (0x00) and no address block, as HAProxy sends it (HAProxy
 * rejects PROXY with UNSPEC), so the receiver uses the connection's own ends. Then TLVs from
 * TLV (may be NULL), whatever the family:
 * PP2_TYPE_ALPN, PP2_TYPE_AUTHORITY, and when TLV->ssl PP2_TYPE_SSL with client flags
 * PP2_CLIENT_SSL, plus PP2_CLIENT_CERT_CONN|PP2_CLIENT_CERT_SESS when TLV->verified, verify 0
 * when verified else 1, and sub-TLVs PP2_SUBTYPE_SSL_VERSION and PP2_SUBTYPE_SSL_CN.
 * Returns the total length, or -1 when LEN is too small or the TLVs would pass the 64 KiB the
 * length fields can say; BUF is then untouched. */
int proxy_encode_v2(const struct sockaddr *src, const struct sockaddr *dst, const struct proxy_tlv_info *tlv,
		    unsigned char *buf, size_t len);

/* proxy_decode: parse the v1 or v2 header at the start of BUF, of which LEN bytes have arrived.
 * Returns the header's length (> 0; the caller's data starts after it) with the client's address
 * in SRC and ours in DST (port included; family AF_UNSPEC for v1 UNKNOWN, the v2 LOCAL command,
 * and v2 families the specification lets a receiver treat as unspecified: UNSPEC, UDP, UNIX).
 * Returns 0 when the bytes so far are a valid beginning and more are needed: never past
 * PROXY_V1_MAX bytes for v1, nor 16 + the declared length (at most PROXY_MAX) for v2.
 * Returns -1 with a short reason in *WHY (a static string) when BUF does not start a valid header:
 * no signature, a v1 line with no CRLF in 107 bytes or a lone CR or LF, a bad address or port,
 * an unknown v2 version, command or family, an address block shorter than its family needs, or a
 * TLV running past the header. SRC, DST (either may be NULL) and *WHY are written only on these
 * outcomes: SRC and DST on success, *WHY (WHY may be NULL) on failure. */
int proxy_decode(const unsigned char *buf, size_t len, struct sockaddr_storage *src, struct sockaddr_storage *dst,
		 const char **why);

#endif
