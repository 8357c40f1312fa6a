#!/usr/bin/env python3
"""A tiny systemd-socket-activate: activate.py [--name NAME] ADDR:PORT ... -- COMMAND ARGS...

Binds and listens on each address, then becomes COMMAND (exec, same pid) with the sockets as fds 3..
and LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES set as systemd sets them."""
import os
import socket
import sys


def main():
    args = sys.argv[1:]
    split = args.index("--")
    specs, command = args[:split], args[split + 1:]
    socks, names, name = [], [], "unknown"
    i = 0
    while i < len(specs):
        if specs[i] == "--name":
            name = specs[i + 1]
            i += 2
            continue
        host, port = specs[i].rsplit(":", 1)
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, int(port)))
        s.listen(128)
        socks.append(s)
        names.append(name)
        name = "unknown"
        i += 1
    # exec in place (as systemd-socket-activate does): LISTEN_PID is then our own pid, and whoever
    # started us can stop the command with our pid
    # out of the way first, so placing one socket never overwrites another not yet placed
    high = [os.dup2(s.fileno(), 100 + n) for n, s in enumerate(socks)]
    for n, fd in enumerate(high):
        os.dup2(fd, 3 + n, inheritable=True)
        os.close(fd)
    os.environ["LISTEN_FDS"] = str(len(socks))
    os.environ["LISTEN_PID"] = str(os.getpid())
    os.environ["LISTEN_FDNAMES"] = ":".join(names)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
