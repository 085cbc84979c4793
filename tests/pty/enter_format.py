"""Drives `wsman enter` in a pseudo-terminal 60 columns wide for output
formatted on the host, as Enter-PSSession's is (the line runs with
Out-Default, at the width the console announces): objects of two
properties print as one table (header, dashes, numbers aligned right), an
object of six properties as a list, a value too wide for the terminal is
cut with `...` (also after the terminal is resized), and plain values stay
plain lines.

Usage: enter_format.py WSMAN_BINARY [wsman options...]
Prints each step; exits non-zero (with the screen so far) on the first step
that does not show what it should.
"""
import fcntl
import struct
import termios

import enter_driver
from enter_driver import PROMPT, expect, fail, leave, send, start

COLUMNS = 60

start()
fcntl.ioctl(enter_driver.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, COLUMNS, 0, 0))
expect(PROMPT, 60)
send("[pscustomobject]@{Name='alpha'; Count=3}; [pscustomobject]@{Name='beta'; Count=10}\r")
expect(r"\r\n\r?\nName  Count\r?\n----  -----\r?\nalpha     3\r?\nbeta     10\r?\n\r?\n\r?\n")
expect(PROMPT)
print("ok: two objects of two properties make one table, numbers aligned right")
send("[pscustomobject]@{A=1; B='two'; C=$true; D=4; E=5; LongerName='six'}\r")
expect(r"\r\n\r?\n\r?\nA          : 1\r?\nB          : two\r?\nC          : True\r?\n"
       r"D          : 4\r?\nE          : 5\r?\nLongerName : six\r?\n")
expect(PROMPT)
print("ok: six properties make a list")
send("[pscustomobject]@{Path='" + "x" * 100 + "'; Id=7}\r")
# The column over the edge is cut to fit, the one after it left out.
expect(r"\r\nPath\r?\n----\r?\n")
before = expect(PROMPT)
rows = [line for line in before.decode(errors="replace").splitlines() if line.startswith("xxx")]
if len(rows) != 1 or not rows[0].endswith("...") or len(rows[0]) > COLUMNS:
    fail(f"a cell wider than {COLUMNS} columns is not cut: {rows!r}")
print("ok: a value wider than the terminal is cut with ...")
# The terminal shrinks: the next line is formatted at its new width.
fcntl.ioctl(enter_driver.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 30, 0, 0))
send("[pscustomobject]@{Path='" + "y" * 100 + "'}\r")
expect(r"\r\nPath\r?\n----\r?\n")
before = expect(PROMPT)
rows = [line for line in before.decode(errors="replace").splitlines() if line.startswith("yyy")]
if len(rows) != 1 or not rows[0].endswith("...") or len(rows[0]) > 30:
    fail(f"after a resize to 30 columns the cell is not cut to them: {rows!r}")
print("ok: a resized terminal's width is followed")
send("'plain'; 42\r")
expect(r"\r\nplain\r?\n42\r?\n")
expect(PROMPT)
print("ok: strings and numbers stay plain lines")
leave()
print("5 passed, 0 failed")
