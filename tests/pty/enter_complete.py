"""Drives `wsman enter` in a pseudo-terminal for remote Tab completion: Tab
sends the line to the host as TabExpansion2 and completes from its
CommandCompletion: a command name (`Get-Se` to `Get-Service`), a command
then run with the completed name, a variable of the session, a Tab
without matches that leaves the line and the session as they were, a
parameter (`Get-ChildItem -Pa` to `-Path`) and a path on the host's disk
(C:\\wsman-complete-me.txt, made by the test under the host's --fs-root).
Then Get-History lists the lines run, as typed, and none of the
TabExpansion2 pipelines the Tab presses ran.

Usage: enter_complete.py WSMAN_BINARY [wsman options...]
Prints each step; exits non-zero (with the screen so far) on the first step
that does not show what it should.
"""
import re
import time

from enter_driver import PROMPT, expect, fail, leave, send, start

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
send("Get-ChildItem -Pa\t")
expect(r"-Path")
send("\x03")
expect(PROMPT)
print("ok: Get-ChildItem -Pa<Tab> completes the parameter to -Path")
send("Get-Content C:\\wsman-compl\t")
expect(r"C:\\wsman-complete-me\.txt")
send("\x03")
expect(PROMPT)
print("ok: a path on the host's disk completes")
send("Get-History\r")
expect(r"  Id CommandLine\r?\n  -- -----------\r?\n   1 Write-Output 'completed and run'\r?\n"
       r"   2 \$zebra = 42\r?\n   3 Write-Output \$zebra\r?\n   4 'still here'\r?\n")
rest = expect(PROMPT)
if re.search(rb"\n *\d+ ", rest):
    fail(f"Get-History lists more than the lines typed: {rest!r}")
print("ok: Get-History lists the lines typed, not the TabExpansion2 pipelines")
leave()
print("7 passed, 0 failed")
