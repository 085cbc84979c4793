"""Runs a command in a pseudo-terminal (stdin, stdout and stderr all the
terminal) and prints everything it wrote to the terminal, as a JSON string,
then its exit code on a second line.

Usage: run_in_pty.py COMMAND [ARGS...]
With PTY_COLUMNS set, the terminal is that many columns wide (24 rows).
"""
import fcntl
import json
import os
import pty
import struct
import sys
import termios

pid, fd = pty.fork()
if pid == 0:
    if os.environ.get("PTY_COLUMNS"):
        fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 24, int(os.environ["PTY_COLUMNS"]), 0, 0))
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
