#!/usr/bin/env python3
"""bench/resume_load.py: resumed TLS handshakes with a client certificate, from P processes at once.

    python3 bench/resume_load.py --port PORT --tls 1.2|1.3 --ca CA --cert CERT --key KEY [--procs 8] [--secs 10]

Each process is one thread with one connection at a time, in a loop: connect, handshake offering the session the
previous connection left (none the first time) with the client certificate, send a GET for /small with
"Connection: close", read to EOF, then keep the session for the next round. The session is taken after the read,
so a TLS 1.3 ticket (sent after the handshake) has arrived by then. The server's certificate is verified against
CA with the host name "localhost", as a real client would.

All processes start together at one instant and stop starting connections SECS later. Prints one line:
    connections=N secs=S rate=R resumed=N resumed_fraction=F errors=N
and, on stderr, the first few errors. Exits 1 if no connection completed, else 0: it measures, it does not judge.
"""
import argparse
import multiprocessing
import socket
import ssl
import sys
import time

REQUEST = b"GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
MAX_ERRORS_KEPT = 5


def client_context(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    version = ssl.TLSVersion.TLSv1_2 if args.tls == "1.2" else ssl.TLSVersion.TLSv1_3
    ctx.minimum_version = ctx.maximum_version = version
    ctx.load_verify_locations(args.ca)
    ctx.load_cert_chain(args.cert, args.key)
    return ctx


def one_connection(ctx, port, session):
    """One round: returns (session to offer next, whether this one resumed, response bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        # as a browser or curl does: without it, the request written right after a TLS 1.2 abbreviated
        # handshake's Finished waits (Nagle) for the server's delayed ACK, ~40 ms, and every tool looks alike
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as tls:
            tls.sendall(REQUEST)
            got = 0
            while True:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                got += len(chunk)
            return tls.session, tls.session_reused, got


def worker(args, start_at, results):
    """One process's loop; puts (connections, resumed, errors, first error texts) on results."""
    ctx = client_context(args)
    session = None
    done = resumed = errors = 0
    texts = []
    time.sleep(max(0.0, start_at - time.time()))
    stop_at = start_at + args.secs
    while time.time() < stop_at:
        try:
            session, reused, got = one_connection(ctx, args.port, session)
            if got == 0:
                raise OSError("empty response")
            done += 1
            resumed += bool(reused)
        except (OSError, ssl.SSLError) as e:
            # a failed round offers no session next time: the next handshake is a full one
            errors += 1
            session = None
            if len(texts) < MAX_ERRORS_KEPT:
                texts.append("%s: %s" % (type(e).__name__, e))
    results.put((done, resumed, errors, texts))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls", choices=("1.2", "1.3"), required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--procs", type=int, default=8)
    ap.add_argument("--secs", type=float, default=10.0)
    args = ap.parse_args()
    client_context(args)  # a bad path or key fails here, once, not in every process

    results = multiprocessing.Queue()
    # time for every process to start and load its certificates before the common start
    start_at = time.time() + 0.5 + 0.05 * args.procs
    procs = [multiprocessing.Process(target=worker, args=(args, start_at, results)) for _ in range(args.procs)]
    for p in procs:
        p.start()
    done = resumed = errors = 0
    texts = []
    for _ in procs:
        d, r, e, t = results.get()
        done, resumed, errors = done + d, resumed + r, errors + e
        texts += t
    wall = time.time() - start_at
    for p in procs:
        p.join()
    for t in texts[:MAX_ERRORS_KEPT]:
        print("resume_load: %s" % t, file=sys.stderr)
    print("connections=%d secs=%.2f rate=%.0f resumed=%d resumed_fraction=%.3f errors=%d"
          % (done, wall, done / wall, resumed, resumed / done if done else 0.0, errors))
    return 0 if done > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
