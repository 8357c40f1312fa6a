#!/usr/bin/env python3
"""Run a command on a pseudo-terminal, as a person at a terminal would: answer the first prompt that
matches PROMPT with ANSWER (a line), then copy everything the terminal shows into OUT until the command
exits. The command's pid goes to OUT.pid. Usage: tty_run.py OUT PROMPT ANSWER CMD..."""
import os, pty, re, sys

out_path, prompt, answer, cmd = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode(), sys.argv[4:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
with open(out_path + ".pid", "w") as f:
    f.write(str(pid))
seen, answered = b"", False
with open(out_path, "wb", buffering=0) as out:
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: the command exited and the terminal closed
            break
        if not data:
            break
        out.write(data)
        if not answered:
            seen += data
            if re.search(prompt, seen):
                os.write(fd, answer + b"\n")
                answered = True
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
