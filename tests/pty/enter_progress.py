"""Drives `wsman enter` in a pseudo-terminal for progress: Write-Progress
shows one line updated in place (carriage return, erase line), never a
new line per record, and the line is erased before the output and when
the command ends.

Usage: enter_progress.py WSMAN_BINARY [wsman options...]
Prints each step; exits non-zero (with the screen so far) on the first step
that does not show what it should.
"""
from enter_driver import PROMPT, expect, fail, leave, send, start

ERASE = r"\r\x1b\[2K"
start()
expect(PROMPT, 60)
send("Write-Progress -Activity Copying -Status half -PercentComplete 50; Start-Sleep -Milliseconds 300; "
     "Write-Progress -Activity Copying -Status most -PercentComplete 90; Start-Sleep -Milliseconds 300; "
     "'copied'\r")
expect(ERASE + r"Copying \[==========          \] 50% half")
# The second record redraws the same line: erase, no line end in between.
between = expect(ERASE + r"Copying \[==================  \] 90% most")
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
