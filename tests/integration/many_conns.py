#!/usr/bin/env python3
"""Open N TLS connections to PORT, prove each carries data, hold them all open at once, then
report and close them. Usage: many_conns.py PORT CAFILE N READY_FILE RELEASE_FILE

Writes "open N" to READY_FILE once all N are established and echoed, then waits until
RELEASE_FILE exists, checks every connection still echoes, closes them all and exits 0."""
import asyncio
import os
import ssl
import sys


async def main():
    port, cafile, n, ready, release = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    ctx = ssl.create_default_context(cafile=cafile)
    gate = asyncio.Semaphore(64)  # handshakes in flight at once

    async def one(i):
        async with gate:
            for attempt in range(5):
                try:
                    r, w = await asyncio.wait_for(
                        asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="localhost"), 30)
                    break
                except (OSError, asyncio.TimeoutError):
                    if attempt == 4:
                        raise
                    await asyncio.sleep(0.2)
            msg = b"conn %d\n" % i
            w.write(msg)
            got = await asyncio.wait_for(r.readexactly(len(msg)), 30)
            assert got == msg, (got, msg)
            return r, w

    conns = await asyncio.gather(*(one(i) for i in range(n)))
    with open(ready, "w") as f:
        f.write(f"open {len(conns)}\n")
    while not os.path.exists(release):
        await asyncio.sleep(0.1)

    async def again(i, rw):
        r, w = rw
        msg = b"again %d\n" % i
        w.write(msg)
        got = await asyncio.wait_for(r.readexactly(len(msg)), 60)
        assert got == msg
        w.close()

    await asyncio.gather(*(again(i, c) for i, c in enumerate(conns)))
    print(f"{n} connections held and closed")


asyncio.run(main())
