"""Drives `wsman enter` in a pseudo-terminal as a person would: two commands
that share a variable, a Read-Host answered at the terminal, a long command
interrupted with Ctrl+C after which the session keeps working, then `exit`.

Usage: enter_session.py WSMAN_BINARY [wsman options...]
Prints each step; exits non-zero (with the screen so far) on the first
step that does not show what it should.
"""
import os
import pty
import re
import select
import sys
import time

binary, *options = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(binary, [binary, *options, "enter"])

screen = b""


def expect(pattern: str, timeout: float = 20.0) -> None:
    """Reads the terminal until `pattern` (a regex) appears after the last match."""
    global screen
    deadline = time.monotonic() + timeout
    rx = re.compile(pattern.encode())
    while True:
        m = rx.search(screen)
        if m:
            screen = screen[m.end():]
            return
        left = deadline - time.monotonic()
        if left <= 0:
            fail(f"timed out waiting for {pattern!r}")
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                fail(f"the terminal closed while waiting for {pattern!r}")
            screen += chunk


def fail(why: str) -> None:
    print(f"FAIL: {why}\n--- screen since the last match ---\n{screen.decode(errors='replace')}")
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
    sys.exit(1)


def send(text: str) -> None:
    os.write(fd, text.encode())


PROMPT = r"PS> "
expect(PROMPT, 60)
print("ok: prompt shown")
send("$y = 7\r")
expect(PROMPT)
send("$y\r")
expect(r"\b7\r?\n")
expect(PROMPT)
print("ok: two commands share a variable")
send("Read-Host 'Your name'\r")
time.sleep(1.0)
send("Alice\r")
expect(r"Alice\r?\n(.|\n)*Alice|Alice\r?\n")
expect(PROMPT)
print("ok: Read-Host answered at the terminal")
send("Start-Sleep 60; 'should not appear'\r")
time.sleep(1.5)
send("\x03")
expect(r"stopp", 20)
expect(PROMPT)
print("ok: Ctrl+C stopped the running command")
send("$y\r")
expect(r"\b7\r?\n")
expect(PROMPT)
print("ok: the session survived the interrupt")
send("exit\r")
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
if code != 0:
    fail(f"wsman enter exited {code}")
if b"should not appear" in screen:
    fail("the interrupted command kept running")
print("ok: exit left the session")
print("5 passed, 0 failed")
