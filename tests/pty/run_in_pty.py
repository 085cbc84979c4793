"""Runs a command in a pseudo-terminal (stdin, stdout and stderr all the
terminal) and prints everything it wrote to the terminal, as a JSON string,
then its exit code on a second line.

Usage: run_in_pty.py COMMAND [ARGS...]
"""
import json
import os
import pty
import sys

pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
screen = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    screen += chunk
_, status = os.waitpid(pid, 0)
print(json.dumps(screen.decode("utf-8", "replace")))
print(os.waitstatus_to_exitcode(status))
