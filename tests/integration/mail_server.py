#!/usr/bin/env python3
"""A mail server that upgrades to TLS, for STARTTLS tests: mail_server.py PROTO PORT CERT KEY LOG [MODE]

PROTO is smtp, imap or pop3. MODE: ok (default), nostarttls (never offers it), refuse (offers it, then
says no), plain (a backend without TLS: greets and echoes lines as "plain: LINE"), long (replies of
thousands of lines: a 10,001-line SMTP greeting, a 1,203-line EHLO reply, 10,002 lines for IMAP's
CAPABILITY). After the upgrade every line is echoed back as "tls: LINE". LOG records what happened,
including any byte received in plaintext after a refusal."""
import socket
import ssl
import sys
import threading

proto, port, cert, key, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
mode = sys.argv[6] if len(sys.argv) > 6 else "ok"
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)


def note(text):
    with open(log, "a") as f:
        f.write(text + "\n")


def lines(f):
    while True:
        line = f.readline()
        if not line:
            return
        yield line.rstrip(b"\r\n").decode(errors="replace")


def upgrade(conn):
    tls = ctx.wrap_socket(conn, server_side=True)
    note("tls up " + tls.version())
    f = tls.makefile("rb")
    for line in lines(f):
        tls.sendall(b"tls: " + line.encode() + b"\r\n")
    tls.close()


def refused(conn):
    conn.settimeout(2)
    try:
        extra = conn.recv(100)
    except OSError:
        extra = b""
    note("after refusal: %r" % extra)


def plain(conn):
    """A backend behind a STARTTLS server service: greets, then echoes lines as "plain: LINE"."""
    conn.sendall({"smtp": b"220 backend ESMTP\r\n", "imap": b"* OK backend ready\r\n",
                  "pop3": b"+OK backend ready\r\n"}[proto])
    f = conn.makefile("rb")
    for line in lines(f):
        note("backend got: " + line)
        # SMTP clients such as swaks wait for a reply code
        conn.sendall((b"250 " if proto == "smtp" else b"") + b"plain: " + line.encode() + b"\r\n")
    conn.close()


def handle(conn):
    if mode == "plain":
        return plain(conn)
    f = conn.makefile("rb")
    many = 10000 if mode == "long" else 0
    if proto == "smtp":
        conn.sendall(b"".join(b"220-greeting line %d\r\n" % i for i in range(many)) + b"220-mail.test ESMTP\r\n220 ready\r\n")
        for line in lines(f):
            if line.upper().startswith("EHLO"):
                ext = b"" if mode == "nostarttls" else b"250-STARTTLS\r\n"
                ext += b"".join(b"250-X-EXTENSION-%d\r\n" % i for i in range(1200 if many else 0))
                conn.sendall(b"250-mail.test\r\n250-PIPELINING\r\n" + ext + b"250 8BITMIME\r\n")
            elif line.upper() == "STARTTLS":
                if mode == "refuse":
                    conn.sendall(b"454 4.7.0 TLS not available\r\n")
                    return refused(conn)
                conn.sendall(b"220 2.0.0 go ahead\r\n")
                return upgrade(conn)
            else:
                conn.sendall(b"530 5.7.0 STARTTLS first\r\n")
    elif proto == "imap":
        conn.sendall(b"* OK IMAP4rev1 test ready\r\n")
        for line in lines(f):
            tag, _, cmd = line.partition(" ")
            if cmd.upper() == "CAPABILITY":
                caps = b"IMAP4rev1" if mode == "nostarttls" else b"IMAP4rev1 STARTTLS LOGINDISABLED"
                more = b"".join(b"* CAPABILITY X-EXTENSION-%d\r\n" % i for i in range(many))
                conn.sendall(more + b"* CAPABILITY " + caps + b"\r\n" + more + tag.encode() + b" OK done\r\n")
            elif cmd.upper() == "STARTTLS":
                if mode == "refuse":
                    conn.sendall(tag.encode() + b" NO TLS not available\r\n")
                    return refused(conn)
                conn.sendall(tag.encode() + b" OK begin TLS\r\n")
                return upgrade(conn)
            else:
                conn.sendall(tag.encode() + b" BAD\r\n")
    else:
        conn.sendall(b"+OK POP3 test ready\r\n")
        for line in lines(f):
            if line.upper() == "STLS":
                if mode == "refuse":
                    conn.sendall(b"-ERR TLS not available\r\n")
                    return refused(conn)
                conn.sendall(b"+OK begin TLS\r\n")
                return upgrade(conn)
            conn.sendall(b"-ERR\r\n")


srv = socket.create_server(("127.0.0.1", port))
while True:
    c, _ = srv.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
