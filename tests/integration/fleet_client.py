#!/usr/bin/env python3
"""TLS clients for test_fleet.sh, each request one line echoed back through tlswrap:
  fleet_client.py resume CA VERSION PORT1 PORT2   a session from PORT1 offered to PORT2; prints
                                                  "me1=ADDR me2=ADDR reused=yes|no" (VERSION 1.2 or 1.3)
  fleet_client.py hold CA PORT GOFILE             one request sent in two halves: prints "me=ADDR" after
                                                  the first, sends the second once GOFILE exists, then
                                                  prints "held: ok" or "held: failed: WHY"
  fleet_client.py loop CA PORT STOPFILE           one request after another until STOPFILE exists;
                                                  prints "requests=N errors=M", then the errors
"""
import os
import socket
import ssl
import sys
import time


def context(ca, version="1.3"):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False
    if version == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def exchange(s, line):
    """Send LINE and read until it has come back whole."""
    s.sendall(line)
    got = b""
    while len(got) < len(line):
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("closed after %d of %d bytes" % (len(got), len(line)))
        got += chunk
    if got != line:
        raise ConnectionError("echo differs: %r" % got)


def request(ctx, port, session=None):
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    me = "127.0.0.1:%d" % raw.getsockname()[1]
    with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
        # the TLS 1.3 ticket arrives after the handshake: it has been read once the echo is back
        exchange(s, b"hello fleet\n")
        return me, s.session, s.session_reused


def cmd_resume(ca, version, port1, port2):
    ctx = context(ca, version)
    me1, session, _ = request(ctx, int(port1))
    me2, _, reused = request(ctx, int(port2), session)
    print("me1=%s me2=%s reused=%s" % (me1, me2, "yes" if reused else "no"))


def cmd_hold(ca, port, gofile):
    ctx = context(ca)
    raw = socket.create_connection(("127.0.0.1", int(port)), timeout=30)
    print("me=127.0.0.1:%d" % raw.getsockname()[1], flush=True)
    try:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            exchange(s, b"first half\n")
            print("first half: ok", flush=True)
            while not os.path.exists(gofile):
                time.sleep(0.05)
            exchange(s, b"second half\n")
        print("held: ok")
    except (OSError, ssl.SSLError) as e:
        print("held: failed: %s" % e)


def cmd_loop(ca, port, stopfile):
    ctx = context(ca)
    n, errors = 0, []
    while not os.path.exists(stopfile):
        n += 1
        try:
            request(ctx, int(port))
        except (OSError, ssl.SSLError) as e:
            errors.append("request %d: %s" % (n, e))
    print("requests=%d errors=%d" % (n, len(errors)))
    for e in errors[:20]:
        print(e)


if __name__ == "__main__":
    {"resume": cmd_resume, "hold": cmd_hold, "loop": cmd_loop}[sys.argv[1]](*sys.argv[2:])
