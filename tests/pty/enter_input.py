"""Drives `wsman enter` in a pseudo-terminal for its input features: a
string left open continues at a `>> ` prompt and runs as one command once
closed; a block left open (`{`) continues too and Ctrl+C drops it; the
history of one run is there in the next (Up arrow), kept under
WSMAN_STATE_DIR.

Usage: enter_input.py WSMAN_BINARY [wsman options...]
Prints each step; exits non-zero (with the screen so far) on the first step
that does not show what it should.
"""
import time

from enter_driver import PROMPT, expect, leave, send, start

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
