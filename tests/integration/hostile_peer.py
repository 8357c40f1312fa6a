#!/usr/bin/env python3
"""Hostile and broken TLS peers, for test_hostile.sh. Each round is one connection that misbehaves in a
randomly chosen way; the point is what tlswrap does afterwards (still serving, nothing leaked, no
sanitizer report), so every round accepts any outcome short of a hang.

  client PORT ROUNDS SEED         attack a server-mode port as a TLS client
  server PORT CERT KEY SEED       be a TLS server that answers each client (tlswrap in client mode)
                                  with a broken or mutated flight, forever
  plain PORT ROUNDS               connect to a client-mode port, send a line, read until closed
"""
import os
import random
import socket
import ssl
import struct
import sys
import time


def client_hello(version):
    """A real ClientHello from python's ssl, as bytes, without any network."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ctx.maximum_version = version
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def mutate(rng, data):
    data = bytearray(data)
    how = rng.randrange(5)
    if how == 0:  # flip a few bytes anywhere, the record header included
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif how == 1:  # truncate
        data = data[: rng.randrange(1, len(data))]
    elif how == 2:  # a length field that lies
        if len(data) > 9:
            struct.pack_into(">H", data, 3, rng.choice([0, 1, 0x4000, 0x4800, 0xFFFF]))
    elif how == 3:  # repeat a slice
        i = rng.randrange(len(data))
        data[i:i] = data[i : i + rng.randint(1, 64)] * rng.randint(1, 20)
    else:  # random bytes after a valid start
        cut = rng.randrange(5, len(data))
        data = data[:cut] + os.urandom(rng.randint(1, 2000))
    return bytes(data)


def rst_close(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def drain(s, seconds):
    s.settimeout(seconds)
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass


def attack_server(port, rounds, seed):
    rng = random.Random(seed)
    hellos = [client_hello(ssl.TLSVersion.TLSv1_2), client_hello(ssl.TLSVersion.TLSv1_3)]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for _ in range(rounds):
        kind = rng.randrange(7)
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            if kind == 0:  # noise
                s.sendall(os.urandom(rng.randint(1, 5000)))
                drain(s, 2)
            elif kind == 1:  # a mutated ClientHello
                s.sendall(mutate(rng, rng.choice(hellos)))
                drain(s, 2)
            elif kind == 2:  # a ClientHello, then a reset before the server's flight is read
                s.sendall(rng.choice(hellos))
                rst_close(s)
                continue
            elif kind == 3:  # half a ClientHello, then half-close
                h = rng.choice(hellos)
                s.sendall(h[: rng.randrange(1, len(h))])
                s.shutdown(socket.SHUT_WR)
                drain(s, 2)
            elif kind == 4:  # a full handshake, then a forged record inside the session
                t = ctx.wrap_socket(s, server_hostname="localhost")
                t.sendall(b"hello\n")
                s = t
                raw = socket.socket(fileno=os.dup(t.fileno()))
                raw.sendall(bytes([23, 3, 3]) + struct.pack(">H", 64) + os.urandom(64))
                drain(raw, 2)
                raw.close()
            elif kind == 5:  # a full handshake, then a reset in the middle of a transfer
                t = ctx.wrap_socket(s, server_hostname="localhost")
                t.sendall(os.urandom(rng.randint(1, 200000)))
                s = t
                rst_close(t)
                continue
            else:  # many tiny records: a ClientHello one byte per TCP segment
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                for b in rng.choice(hellos)[:300]:
                    s.send(bytes([b]))
                rst_close(s)
                continue
        except (OSError, ssl.SSLError):
            pass
        try:
            s.close()
        except OSError:
            pass
    print("rounds", rounds)


def hostile_server(port, cert, key, seed):
    rng = random.Random(seed)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert, key)
    srv = socket.create_server(("127.0.0.1", port))
    while True:
        c, _ = srv.accept()
        c.settimeout(5)
        try:
            hello = c.recv(65536)
            kind = rng.randrange(4)
            if kind == 0:  # noise instead of a ServerHello
                c.sendall(os.urandom(rng.randint(1, 5000)))
            elif kind == 1:  # close at once, or reset
                if rng.random() < 0.5:
                    rst_close(c)
                    continue
            else:  # the real first flight for this hello, mutated (or cut and reset)
                inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
                obj = sctx.wrap_bio(inc, out, server_side=True)
                inc.write(hello)
                try:
                    obj.do_handshake()
                except ssl.SSLError:
                    pass
                flight = out.read() or os.urandom(100)
                if kind == 2:
                    c.sendall(mutate(rng, flight))
                else:
                    c.sendall(flight[: rng.randrange(1, len(flight) + 1)])
                    rst_close(c)
                    continue
            drain(c, 1)
        except OSError:
            pass
        c.close()


def plain_rounds(port, rounds):
    for _ in range(rounds):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"hello through a hostile server\n")
            drain(s, 5)
            s.close()
        except OSError:
            pass
    print("rounds", rounds)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "client":
        attack_server(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "server":
        hostile_server(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif mode == "plain":
        plain_rounds(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit(__doc__)
