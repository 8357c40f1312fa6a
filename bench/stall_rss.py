#!/usr/bin/env python3
"""Memory of tlswrap under a flood of stalled handshakes (maxHandshakes).

  python3 bench/stall_rss.py [N] [MAXHANDSHAKES...]

For each maxHandshakes value (default: 0, i.e. no bound, then 1000, the default, then 100) starts
build/src/tlswrap (or $TLSWRAP) with one server service and workers = 1, opens N (default 5000) client
connections on 127.0.0.1, half of them sending nothing and half the first 60 bytes of a 512-byte
ClientHello record, waits until tlswrap has taken them all (accepted and, under the bound, pushed out the
oldest), and prints tlswrap's resident memory (VmRSS) before and under the flood and its peak (VmHWM).
Needs `ulimit -n` above 2 N + 100 (both ends' sockets count in one shell). Prints; asserts nothing.
"""
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TLSWRAP = os.environ.get("TLSWRAP", os.path.join(ROOT, "build", "src", "tlswrap"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])  # kB
    return 0


def metric(port, name):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.split()[-1])
    return 0.0


def run(d, n, bound):
    port, mport, backend = free_port(), free_port(), free_port()
    conf = os.path.join(d, f"b{bound}.conf")
    with open(conf, "w") as f:
        f.write(f"foreground = yes\nworkers = 1\nstatus = {mport}\nmaxHandshakes = {bound}\n"
                f"[s]\naccept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{backend}\n"
                f"cert = {d}/cert.pem\nkey = {d}/key.pem\nTIMEOUTbusy = 600\n")
    log = open(conf + ".log", "w")
    p = subprocess.Popen([TLSWRAP, "-f", conf], stdout=log, stderr=log)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", mport), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        before = status(p.pid, "VmRSS")
        hello = b"\x16\x03\x01\x02\x00" + b"\x01\x00\x01\xfc\x03\x03" + bytes(49)  # 60 bytes of a 512-byte record
        socks = []
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", port), 10)
            if i % 2:
                s.sendall(hello)
            socks.append(s)
        deadline = time.time() + 60
        want = min(n, bound) if bound else n
        while metric(mport, "tlswrap_connections_total") < n or metric(mport, "tlswrap_handshakes_pending") > want:
            if time.time() > deadline:
                break
            time.sleep(0.2)
        time.sleep(1)
        rss, hwm = status(p.pid, "VmRSS"), status(p.pid, "VmHWM")
        pending = metric(mport, "tlswrap_handshakes_pending")
        opened = metric(mport, "tlswrap_connections_open_all")
        print(f"| {bound if bound else 'none (0)'} | {n} | {int(pending)} | {int(opened)} | {before / 1024:.1f} | "
              f"{rss / 1024:.1f} | {hwm / 1024:.1f} | {(rss - before) / max(opened, 1):.1f} |", flush=True)
        for s in socks:
            s.close()
    finally:
        p.terminate()
        p.wait()
        log.close()


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    bounds = [int(b) for b in sys.argv[2:]] or [0, 1000, 100]
    need = 2 * n + 100
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))  # tlswrap inherits it
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", f"{d}/key.pem", "-out", f"{d}/cert.pem", "-days", "2", "-subj", "/CN=localhost"],
                       check=True, capture_output=True)
        print("| maxHandshakes | clients | pending | open | RSS before (MiB) | RSS under flood (MiB) | peak (MiB) | growth per open connection (KiB) |")
        print("|---|---|---|---|---|---|---|---|")
        for b in bounds:
            run(d, n, b)


if __name__ == "__main__":
    main()
