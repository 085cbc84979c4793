"""Drives `wsman enter` in a pseudo-terminal for remote Tab completion: Tab
sends the line to the host as TabExpansion2 and completes from its
CommandCompletion: a command name (`Get-Se` to `Get-Service`), a command
then run with the completed name, a variable of the session, a Tab
without matches that leaves the line and the session as they were, a
parameter (`Get-ChildItem -Pa` to `-Path`) and a path on the host's disk
(C:\\wsman-complete-me.txt, made by the test under the host's --fs-root).

Usage: enter_complete.py WSMAN_BINARY [wsman options...]
Prints each step; exits non-zero (with the screen so far) on the first step
that does not show what it should.
"""
import time

from enter_driver import PROMPT, expect, leave, send, start

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
leave()
print("6 passed, 0 failed")
