#!/usr/bin/env python3
"""Test backend for many connections: an asyncio echo server on 127.0.0.1:PORT."""
import asyncio
import sys


async def handle(r, w):
    try:
        while data := await r.read(65536):
            w.write(data)
            await w.drain()
    except ConnectionError:
        pass
    w.close()


async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=4096)
    async with srv:
        await srv.serve_forever()


asyncio.run(main())
