#!/usr/bin/env python3
"""Exercise tlswrap's status endpoint over plain TCP, run as: status_client.py PORT [HOST]

Sends GET /metrics, GET /healthz, GET of an unknown path, a POST and a garbage request, prints the
status line of each answer and the metrics body, and checks the codes (200, 200, 404, 405, 400), the
headers, and the body against the Prometheus text exposition format (version 0.0.4): every
non-comment line is `name value` or `name{labels} value`, every metric family has its HELP and TYPE
before its samples, and its samples are together. Exits 1 on any violation, 2 on usage errors.
"""
import re
import socket
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE_RE = re.compile(r"^(" + NAME + r")(?:\{(.*)\})? (\S+)(?: (-?[0-9]+))?$")
LABEL_RE = re.compile(LABEL)
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}

errors = []


def fail(msg):
    errors.append(msg)
    print("FAIL: " + msg)


def exchange(host, port, request):
    """Send REQUEST, read until the server closes; return (status line, headers dict, body bytes)."""
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        fail("response without end of headers: %r" % data[:200])
        return "", {}, b""
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            fail("malformed header line %r" % line)
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers, body


def parse_value(text):
    if text in ("NaN", "+Inf", "-Inf"):
        return float(text.replace("Inf", "inf"))
    if not re.fullmatch(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?", text):
        raise ValueError(text)
    return float(text)


def parse_labels(text, where):
    """The label pairs of TEXT (between the braces) as a tuple, or None after reporting a violation."""
    pairs, pos = [], 0
    while pos < len(text):
        m = LABEL_RE.match(text, pos)
        if not m:
            fail("%s: bad label syntax at %r" % (where, text[pos:]))
            return None
        pairs.append((m.group(1), m.group(2)))
        pos = m.end()
        if pos < len(text):
            if text[pos] != ",":
                fail("%s: expected ',' between labels at %r" % (where, text[pos:]))
                return None
            pos += 1
    names = [n for n, _ in pairs]
    if len(set(names)) != len(names):
        fail("%s: a label given twice" % where)
    return tuple(sorted(pairs))


def family_of(sample, types):
    """The family a sample name belongs to: itself, or for histograms and summaries its base name."""
    if sample in types:
        return sample
    for fam, typ in types.items():
        if any(sample == fam + suffix for suffix in SUFFIXES.get(typ, ())):
            return fam
    return sample


def validate(body):
    """Check BODY against the text format; return the samples as {(name, labels): value}."""
    helps, types, samples = {}, {}, {}
    done, current = set(), None  # families whose samples have ended, the one being read
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        fail("metrics body is not UTF-8: %s" % e)
        return samples
    if text and not text.endswith("\n"):
        fail("metrics body does not end with a newline")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d %r" % (n, line)
        if line.startswith("#"):
            m = re.match(r"^# (HELP|TYPE) (" + NAME + r") (.*)$", line)
            if not m:
                if re.match(r"^#\s*(HELP|TYPE)\b", line):
                    fail("%s: malformed %s line" % (where, line.split()[1]))
                continue  # any other comment is allowed
            kind, name, rest = m.groups()
            seen = helps if kind == "HELP" else types
            if name in seen:
                fail("%s: second %s for %s" % (where, kind, name))
            if kind == "TYPE" and rest not in TYPES:
                fail("%s: unknown type %r" % (where, rest))
            if kind == "TYPE" and any(family_of(s, {name: rest}) == name for s, _ in samples):
                fail("%s: TYPE after samples of %s" % (where, name))
            seen[name] = rest
            continue
        if not line.strip():
            fail("%s: blank line" % where)
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            fail("%s: not 'name value' or 'name{labels} value'" % where)
            continue
        name, labeltext, value = m.group(1), m.group(2), m.group(3)
        labels = parse_labels(labeltext, where) if labeltext else ()
        try:
            number = parse_value(value)
        except ValueError:
            fail("%s: value %r is not a number" % (where, value))
            continue
        fam = family_of(name, types)
        if fam not in types:
            fail("%s: %s has no TYPE line before it" % (where, fam))
        if fam not in helps:
            fail("%s: %s has no HELP line before it" % (where, fam))
        if fam != current:
            if fam in done:
                fail("%s: samples of %s are not together" % (where, fam))
            if current:
                done.add(current)
            current = fam
        if types.get(fam) == "counter" and not number >= 0:
            fail("%s: counter is negative" % where)
        if labels is not None:
            if (name, labels) in samples:
                fail("%s: duplicate sample" % where)
            samples[(name, labels)] = number
    for fam in set(helps) ^ set(types):
        fail("%s has %s but no %s" % (fam, *(("HELP", "TYPE") if fam in helps else ("TYPE", "HELP"))))
    return samples


def main():
    if len(sys.argv) not in (2, 3) or not sys.argv[1].isdigit():
        print(__doc__.strip(), file=sys.stderr)
        return 2
    port, host = int(sys.argv[1]), sys.argv[2] if len(sys.argv) == 3 else "127.0.0.1"
    checks = [
        ("GET /metrics", b"GET /metrics HTTP/1.1\r\nHost: test\r\nAccept: text/plain\r\n\r\n", 200),
        ("GET /healthz", b"GET /healthz HTTP/1.0\r\n\r\n", 200),
        ("GET /nope", b"GET /nope HTTP/1.1\r\nHost: test\r\n\r\n", 404),
        ("POST /metrics", b"POST /metrics HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n", 405),
        ("garbage", b"\x16\x03\x01 this is not HTTP\r\n\r\n", 400),
    ]
    metrics = None
    for what, request, want in checks:
        status, headers, body = exchange(host, port, request)
        print("%-14s -> %s" % (what, status))
        m = re.match(r"^HTTP/1\.[01] ([0-9]{3}) ", status)
        if not m or int(m.group(1)) != want:
            fail("%s: expected status %d, got %r" % (what, want, status))
        if headers.get("content-length") != str(len(body)):
            fail("%s: Content-Length %r but %d body bytes" % (what, headers.get("content-length"), len(body)))
        if headers.get("connection", "").lower() != "close":
            fail("%s: no 'Connection: close'" % what)
        if what == "GET /healthz" and body != b"ok\n":
            fail("/healthz body %r, expected 'ok\\n'" % body)
        if what == "GET /metrics":
            metrics = body
            if not headers.get("content-type", "").startswith("text/plain"):
                fail("/metrics Content-Type %r" % headers.get("content-type"))
    print("--- /metrics body ---")
    sys.stdout.write(metrics.decode("utf-8", "replace") if metrics else "")
    print("--- end ---")
    samples = validate(metrics or b"")
    if not any(name == "tlswrap_connections_open_all" for name, _ in samples):
        fail("no tlswrap_connections_open_all sample")
    if errors:
        print("%d violation(s)" % len(errors))
        return 1
    print("OK: %d samples, all checks passed" % len(samples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
