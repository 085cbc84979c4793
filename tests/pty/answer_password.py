"""Runs a command in a pseudo-terminal and answers each password prompt
("Password for ...: ") with PASSWORD once echo is off, as a person at the
terminal would.
Prints everything written to the terminal as a JSON string, then the number
of prompts answered, then the exit code, one per line.

Usage: answer_password.py PASSWORD COMMAND [ARGS...]
"""
import json
import os
import pty
import re
import sys
import termios
import time

password, *command = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(command[0], command)
screen = b""
prompts = 0
prompt = re.compile(rb"Password for [^\r\n]*: ")
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    screen += chunk
    # Answer every prompt shown since the last answer.
    while len(prompt.findall(screen)) > prompts:
        prompts += 1
        # Typed once the prompt has turned echo off, as a person would
        # (never faster than the terminal is set up).
        deadline = time.monotonic() + 5
        while termios.tcgetattr(fd)[3] & termios.ECHO and time.monotonic() < deadline:
            time.sleep(0.01)
        os.write(fd, password.encode() + b"\r")
_, status = os.waitpid(pid, 0)
print(json.dumps(screen.decode("utf-8", "replace")))
print(prompts)
print(os.waitstatus_to_exitcode(status))
