#!/usr/bin/env python3
"""Hold the status endpoint down with slow clients while asking /healthz, run as:
status_slow.py PORT [SLOW [ASKS]]

Opens SLOW connections (200 by default) that each send half a request line and then nothing,
reopening any the server closes, and between rounds asks GET /healthz ASKS times (20 by default),
each with a 2 s deadline. Prints how many of the asks got "200 OK"; exits 0 only when all did.
"""
import select
import socket
import sys
import time


def slow(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /healthz HT")
    s.setblocking(False)
    return s


def healthz(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"\r\n\r\nok\n")
    except OSError:
        return False


def main():
    port = int(sys.argv[1])
    nslow = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    asks = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    held = [slow(port) for _ in range(nslow)]
    answered = 0
    for _ in range(asks):
        # the server may have closed some: reopen them, so the pressure stays at SLOW connections
        readable, _, _ = select.select(held, [], [], 0.05)
        for s in readable:
            try:
                gone = s.recv(4096) == b""
            except OSError:
                gone = True
            if gone:
                held.remove(s)
                s.close()
                held.append(slow(port))
        answered += healthz(port)
    print("healthz answered %d of %d with %d slow clients held" % (answered, asks, nslow))
    for s in held:
        s.close()
    return 0 if answered == asks else 1


if __name__ == "__main__":
    sys.exit(main())
