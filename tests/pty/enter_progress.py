"""Drives `wsman enter` in a pseudo-terminal for progress: Write-Progress
shows one line updated in place (carriage return, erase line), never a
new line per record, and the line is erased before the output and when
the command ends.

Usage: enter_progress.py WSMAN_BINARY [wsman options...]
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


ERASE = r"\r\x1b\[2K"
PROMPT = r"PS> "
start()
expect(PROMPT, 60)
send("Write-Progress -Activity Copying -Status half -PercentComplete 50; Start-Sleep -Milliseconds 300; "
     "Write-Progress -Activity Copying -Status most -PercentComplete 90; Start-Sleep -Milliseconds 300; "
     "'copied'\r")
expect(ERASE + r"Copying \[==========          \] 50% half")
# The second record redraws the same line: erase, no line end in between.
between = b""
deadline = time.monotonic() + 20
rx = re.compile((ERASE + r"Copying \[==================  \] 90% most").encode())
while not rx.search(screen):
    if time.monotonic() > deadline:
        fail("timed out waiting for the 90% line")
    r, _, _ = select.select([fd], [], [], 1)
    if r:
        screen += os.read(fd, 4096)
m = rx.search(screen)
between, screen = screen[: m.start()], screen[m.end():]
if b"\n" in between:
    fail(f"a line end between two progress records: {between!r}")
print("ok: the progress line is updated in place")
expect(ERASE + r"copied\r?\n")
expect(PROMPT)
print("ok: the progress line is erased before the output")
send("Write-Progress -Activity Waiting -Status on -PercentComplete 10; Start-Sleep -Milliseconds 200\r")
expect(r"Waiting \[==")
expect(ERASE + r"(\x1b\[[0-9;?]*[A-Za-z]|\r)*[^\r\n]*" + PROMPT)
print("ok: the progress line is erased when the command ends")
leave()
print("3 passed, 0 failed")
