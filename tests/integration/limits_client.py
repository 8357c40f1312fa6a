#!/usr/bin/env python3
"""Clients for test_limits.sh, one thread each run (select, no ssl socket shared between threads):

  hold PORT CAFILE N DIR   N TLS clients connect and each has a line echoed, and stay; one more connects
                           (TCP) and sends its ClientHello, then DIR/waiting is written with what it got
                           so far ("nothing" or "answered"). Once DIR/go exists one of the N closes, and the
                           extra client must finish its handshake and have a line echoed: exit 0 then.
  stall PORT N DIR         N clients connect and send nothing; DIR/stalled is written; once DIR/go exists
                           print how many of them the server had closed, and exit.
  churn PORT CAFILE N CYCLES  N TLS clients hold the places; then CYCLES times: one more connects (it waits),
                           one held client ends, and the waiting one is served and holds its place. Exit 0
                           when every cycle's client was served.
  garbage PORT COUNT       COUNT plain-TCP clients, one after another, each sends an HTTP request to the
                           TLS port and waits for the close.
"""
import os
import select
import socket
import ssl
import sys
import time


def tls_client(port, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
    s.sendall(b"hello\n")
    got = b""
    while not got.endswith(b"\n"):
        chunk = s.recv(100)
        if not chunk:
            raise RuntimeError("closed before the echo")
        got += chunk
    return s


def wait_file(path, seconds=60):
    deadline = time.time() + seconds
    while not os.path.exists(path):
        if time.time() > deadline:
            raise RuntimeError(f"{path} never came")
        time.sleep(0.05)


def hold(port, cafile, n, d):
    held = [tls_client(port, cafile) for _ in range(n)]
    ctx = ssl.create_default_context(cafile=cafile)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)  # the kernel's backlog takes it
    extra = ctx.wrap_socket(raw, server_hostname="localhost", do_handshake_on_connect=False)
    extra.setblocking(False)
    try:
        extra.do_handshake()
        state = "answered"
    except ssl.SSLWantReadError:
        # the ClientHello is out; is anything coming back?
        r, _, _ = select.select([extra], [], [], 1.0)
        state = "answered" if r else "nothing"
    with open(os.path.join(d, "waiting.tmp"), "w") as f:
        f.write(state + "\n")
    os.rename(os.path.join(d, "waiting.tmp"), os.path.join(d, "waiting"))
    wait_file(os.path.join(d, "go"))
    held.pop().close()
    deadline = time.time() + 20
    while True:
        try:
            extra.do_handshake()
            break
        except ssl.SSLWantReadError:
            if time.time() > deadline:
                print("the extra client was never served")
                return 1
            select.select([extra], [], [], 0.5)
    extra.setblocking(True)
    extra.settimeout(10)
    extra.sendall(b"late\n")
    got = b""
    while not got.endswith(b"\n"):
        chunk = extra.recv(100)
        if not chunk:
            break
        got += chunk
    print(f"extra client: {got!r}")
    for s in held:
        s.close()
    extra.close()
    return 0 if got == b"late\n" else 1


def churn(port, cafile, n, cycles):
    held = [tls_client(port, cafile) for _ in range(n)]
    for _ in range(cycles):
        ctx = ssl.create_default_context(cafile=cafile)
        extra = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                                server_hostname="localhost", do_handshake_on_connect=False)
        time.sleep(0.05)  # into the backlog, so the limit is found full with a client waiting
        held.pop(0).close()
        extra.do_handshake()  # blocking, 10 s at most: served once the place is free
        held.append(extra)
    for s in held:
        s.close()
    return 0


def stall(port, n, d):
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(n)]
    with open(os.path.join(d, "stalled"), "w") as f:
        f.write("%d\n" % n)
    wait_file(os.path.join(d, "go"))
    closed = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(100) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except ConnectionResetError:
            closed += 1
    print(closed)
    return 0


def garbage(port, count):
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        try:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            while s.recv(1000):
                pass
        except OSError:
            pass
        s.close()
    return 0


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "hold":
        sys.exit(hold(int(args[0]), args[1], int(args[2]), args[3]))
    if mode == "churn":
        sys.exit(churn(int(args[0]), args[1], int(args[2]), int(args[3])))
    if mode == "stall":
        sys.exit(stall(int(args[0]), int(args[1]), args[2]))
    if mode == "garbage":
        sys.exit(garbage(int(args[0]), int(args[1])))
    sys.exit(f"unknown mode {mode}")
