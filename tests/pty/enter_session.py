"""Drives `wsman enter` in a pseudo-terminal as a person would: two commands
that share a variable, a Read-Host answered at the terminal, a long command
interrupted with Ctrl+C after which the session keeps working, then `exit`.

Usage: enter_session.py WSMAN_BINARY [wsman options...]
Prints each step; exits non-zero (with the screen so far) on the first
step that does not show what it should.
"""
import time

from enter_driver import PROMPT, expect, fail, leave, send, start, unread

start()
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
leave()
if b"should not appear" in unread():
    fail("the interrupted command kept running")
print("ok: exit left the session")
print("5 passed, 0 failed")
