"""Drives `wsman enter` in a pseudo-terminal for its input features: a
string left open continues at a `>> ` prompt and runs as one command once
closed; a block left open (`{`) continues too and Ctrl+C drops it; the
history of one run is there in the next (Up arrow), kept under
WSMAN_STATE_DIR.

Usage: enter_input.py WSMAN_BINARY [wsman options...]
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
send("'first line\r")
expect(r">> ")
send("second line'\r")
expect(r"first line\r?\nsecond line\r?\n")
expect(PROMPT)
print("ok: an open string continues at >> and runs once closed")
send("if ($true) {\r")
expect(r">> ")
send("\x03")
expect(PROMPT)
send("'after the dropped block'\r")
expect(r"\r\nafter the dropped block\r?\n")
expect(PROMPT)
print("ok: an open block continues at >>, Ctrl+C drops it")
leave()

start()
expect(PROMPT, 60)
# Up twice: past `exit`, to the last command of the previous run.
send("\x1b[A")
time.sleep(0.3)
send("\x1b[A")
time.sleep(0.3)
send("\r")
expect(r"\r\nafter the dropped block\r?\n")
expect(PROMPT)
print("ok: history from the previous run")
leave()
print("3 passed, 0 failed")
