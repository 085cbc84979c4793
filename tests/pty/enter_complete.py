"""Drives `wsman enter` in a pseudo-terminal for remote Tab completion: Tab
sends the line to the host as TabExpansion2 and completes from its
CommandCompletion: a command name (`Get-Se` to `Get-Service`), a command
then run with the completed name, a variable of the session, and a Tab
without matches that leaves the line and the session as they were.

Usage: enter_complete.py WSMAN_BINARY [wsman options...]
Prints each step; exits non-zero (with the screen so far) on the first step
that does not show what it should.
"""
import os
import pty
import re
import select
import sys
import time

binary, *options = sys.argv[1:]
pid = fd = None
screen = b""


def start() -> None:
    global pid, fd, screen
    screen = b""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(binary, [binary, *options, "enter"])


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


def leave() -> None:
    send("exit\r")
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        fail(f"wsman enter exited {code}")


PROMPT = r"PS> "
start()
expect(PROMPT, 60)
send("Get-Se\t")
expect(r"Get-Service")
send("\x03")
expect(PROMPT)
print("ok: Get-Se<Tab> completes to Get-Service")
send("Write-Out\t")
expect(r"Write-Output")
send(" 'completed and run'\r")
expect(r"\r\ncompleted and run\r?\n")
expect(PROMPT)
print("ok: the completed command runs")
send("$zebra = 42\r")
expect(PROMPT)
send("Write-Output $zeb\t")
expect(r"\$zebra")
send("\r")
expect(r"\r\n42\r?\n")
expect(PROMPT)
print("ok: a variable of the session completes")
send("Zzz-Nothing\t 'still here'\x01\x0b")
time.sleep(0.5)
send("'still here'\r")
expect(r"\r\nstill here\r?\n")
expect(PROMPT)
print("ok: a Tab without matches leaves the session working")
leave()
print("4 passed, 0 failed")
