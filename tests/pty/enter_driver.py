"""The pseudo-terminal harness the `wsman enter` drivers share: start
`WSMAN_BINARY [wsman options...] enter` (from the driver's command line),
read the screen until a pattern, type, leave; on the first step that does not
show what it should, print the screen so far and exit non-zero.
"""
import os
import pty
import re
import select
import sys
import time

binary, *options = sys.argv[1:]
pid = fd = None
screen = b""  # what the terminal showed after the last match
seen = b""    # everything the terminal showed since start()


def start() -> None:
    global pid, fd, screen, seen
    screen = seen = b""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(binary, [binary, *options, "enter"])


def expect(pattern: str, timeout: float = 20.0) -> bytes:
    """Reads the terminal until `pattern` (a regex) appears after the last
    match; returns what came before it."""
    global screen, seen
    deadline = time.monotonic() + timeout
    rx = re.compile(pattern.encode())
    while True:
        m = rx.search(screen)
        if m:
            before, screen = screen[: m.start()], screen[m.end():]
            return before
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
            seen += chunk


def fail(why: str) -> None:
    print(f"FAIL: {why}\n--- screen since the last match ---\n{screen.decode(errors='replace')}")
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
    sys.exit(1)


def send(text: str) -> None:
    os.write(fd, text.encode())


def shown() -> bytes:
    """Everything the terminal showed since start()."""
    return seen


def unread() -> bytes:
    """What the terminal showed after the last match."""
    return screen


def drain(timeout: float = 20.0) -> None:
    """Reads the terminal until it closes (the program ended)."""
    global screen, seen
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            return
        screen += chunk
        seen += chunk
    fail("the terminal stayed open after exit")


def leave() -> None:
    """Types `exit`, reads the terminal to its end and checks the exit code."""
    send("exit\r")
    drain()
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        fail(f"wsman enter exited {code}")



PROMPT = r"PS> "
