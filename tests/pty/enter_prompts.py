"""Drives `wsman enter` in a pseudo-terminal through host prompts as a person
would: Get-Credential answered at the terminal (the password shown as `*`,
never echoed), a -Confirm choice, Ctrl+C at a Read-Host prompt (the prompt is
cancelled, the command fails, the next line goes to `PS>`), then `exit`.

Usage: enter_prompts.py WSMAN_BINARY [wsman options...]
Prints each step; exits non-zero (with the screen so far) on the first
step that does not show what it should.
"""
import re
import time

from enter_driver import PROMPT, expect, fail, leave, send, shown, start

SECRET = "pw-9x"
start()
expect(PROMPT, 60)
print("ok: prompt shown")

send("$c = Get-Credential; $c.UserName; $c.GetNetworkCredential().Password.Length\r")
expect(r"Windows PowerShell credential request")
expect(r"User: ")
send("bob\r")
expect(r"Password for user bob: ")
time.sleep(0.3)
for ch in SECRET:
    send(ch)
    time.sleep(0.05)
send("\r")
expect(r"bob\r?\n5\r?\n")
expect(PROMPT)
if SECRET.encode() in shown():
    fail("the password was echoed")
if b"*" * len(SECRET) not in shown():
    fail("the password was not shown as *")
print("ok: Get-Credential answered at the terminal, the password not echoed")

send("$s = Read-Host -AsSecureString; [pscredential]::new('x', $s).GetNetworkCredential().Password\r")
time.sleep(1.0)
send("tiger\r")
expect(r"tiger\r?\n")
expect(PROMPT)
print("ok: Read-Host -AsSecureString answered, the secret arrived")

send("Set-Variable -Name z -Value 9 -Confirm; \"z=$z\"\r")
expect(r"\[Y\] Yes  \[A\] Yes to All  \[N\] No  \[L\] No to All  \[S\] Suspend  \[\?\] Help \(default is \"Y\"\): ")
send("x\r")
expect(r"\[\?\] Help \(default is \"Y\"\): ")
send("y\r")
expect(r"z=9\r?\n")
expect(PROMPT)
print("ok: -Confirm asked again after a wrong answer, then Y ran the command")

send("$n = Read-Host 'name'; 'after'\r")
expect(r"name: ")
time.sleep(0.5)
send("\x03")
shown = expect(r"did not answer")
shown += expect(PROMPT)
if re.search(rb"(^|\n)after\r?\n", shown):
    fail("the command went on after its prompt was cancelled")
send("'next line'\r")
expect(r"next line\r?\n")
expect(PROMPT)
print("ok: Ctrl+C cancelled the prompt, the next line went to PS>")

leave()
print("ok: exit left the session")
print("6 passed, 0 failed")
