#!/usr/bin/env python3
"""A PSRP server made of psrpcore's ServerRunspacePool and ServerPipeline,
speaking PowerShell's out-of-process framing on stdin/stdout, one packet per
line:

    <Data Stream='Default|PromptResponse' PSGuid='GUID'>BASE64</Data>
    <DataAck PSGuid='GUID' />
    <Command PSGuid='GUID' />        <CommandAck PSGuid='GUID' />
    <Signal PSGuid='GUID' />         <SignalAck PSGuid='GUID' />
    <Close PSGuid='GUID' />          <CloseAck PSGuid='GUID' />

PSGuid is the pipeline id, or the nil GUID for the RunspacePool. One test
extension: <Disconnect PSGuid='nil' /> marks the pool disconnected (what a
WS-Man Disconnect does), answered by <DisconnectAck PSGuid='nil' />; the next
client then connects with SESSION_CAPABILITY + CONNECT_RUNSPACEPOOL.

The pipelines are scripted by the name of their first command, so the Rust
tests (psrp/tests/psrpcore.rs) can ask for what they check:

    Write-Streams   output, then one record of every stream, then Completed
    Echo-Arguments  one output string per parameter: "Name=Value" ("=V" when
                    positional), and "is_script" for a script
    Echo-Input      each input object back as output, after the end of input
    Read-Host       a ReadLine host call; the answer is written as output
    Write-Host      a WriteLine2 host call that returns nothing (ci -100)
    Decrypt-Secure  the -Secret SecureString parameter decrypted, as output
    Wait-Stop       runs until a Signal stops it
    Fail            Failed with an error record
    Request-Key     a PUBLIC_KEY_REQUEST (the server asks for the key)
    Pool-Events     a USER_EVENT (id 7, source "MySource") and a GetName
                    RUNSPACEPOOL_HOST_CALL; the client's answer comes back
                    as a second USER_EVENT (id 8, source "HostResponse")

GET_COMMAND_METADATA is answered with a count and one CommandMetadata per
requested name (CommandType Cmdlet, Namespace "Bridge", one parameter
"Path" of type System.String).

Standard error gets a line per unexpected problem; the process exits when
stdin closes or the pool is closed.
"""

import base64
import re
import sys
import traceback
import uuid

import psrpcore
from psrpcore import ServerPipeline, ServerRunspacePool, StreamType
from psrpcore.types import (
    CommandTypes,
    ErrorCategory,
    ErrorCategoryInfo,
    HostMethodIdentifier,
    NETException,
    ProgressRecordType,
    PSCustomObject,
    PSInvocationState,
    PSSecureString,
    RunspacePoolState,
)

NIL = uuid.UUID(int=0)
PACKET = re.compile(r"^<(\w+)(?: Stream='(\w+)')? PSGuid='([0-9a-fA-F-]+)'\s*(?:/>|>(.*)</\1>)$")


def send(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Bridge:
    def __init__(self) -> None:
        self.pool = ServerRunspacePool()
        self.pipelines = {}
        self.kind = {}
        self.inputs = {}

    def flush(self) -> None:
        while True:
            payload = self.pool.data_to_send()
            if payload is None:
                return
            guid = payload.pipeline_id or NIL
            stream = "PromptResponse" if payload.stream_type == StreamType.prompt_response else "Default"
            data = base64.b64encode(payload.data).decode()
            send(f"<Data Stream='{stream}' PSGuid='{guid}'>{data}</Data>")

    def events(self) -> None:
        while True:
            event = self.pool.next_event()
            if event is None:
                return
            handler = getattr(self, "on_" + type(event).__name__, None)
            if handler:
                handler(event)

    # ----- RunspacePool events --------------------------------------
    def on_SetMaxRunspacesEvent(self, event) -> None:
        self.pool.runspace_availability_response(event.ci, True)

    def on_SetMinRunspacesEvent(self, event) -> None:
        self.pool.runspace_availability_response(event.ci, True)

    def on_GetAvailableRunspacesEvent(self, event) -> None:
        self.pool.runspace_availability_response(event.ci, self.pool.max_runspaces)

    def on_ResetRunspaceStateEvent(self, event) -> None:
        self.pool.runspace_availability_response(event.ci, True)

    # ----- pipelines --------------------------------------------------
    def on_CreatePipelineEvent(self, event) -> None:
        pid = event.pipeline_id
        pipe = self.pipelines[pid]
        ps = event.pipeline
        commands = ps.commands
        first = commands[0]
        kind = "script" if first.is_script else first.command_text
        self.kind[pid] = kind
        self.inputs[pid] = []
        pipe.start()

        if kind == "Write-Streams":
            pipe.write_output("output")
            pipe.write_error(
                NETException(Message="error message"),
                category_info=ErrorCategoryInfo(Category=ErrorCategory.InvalidData, Reason="Test"),
                fully_qualified_error_id="Bridge.Error",
            )
            pipe.write_warning("warning message")
            pipe.write_verbose("verbose message")
            pipe.write_debug("debug message")
            pipe.write_information("information message", "Write-Information")
            pipe.write_progress("activity", 7, "status", percent_complete=50, record_type=ProgressRecordType.Processing)
            pipe.complete()
        elif kind == "script" or kind == "Echo-Arguments":
            for c in commands:
                if c.is_script:
                    pipe.write_output("is_script:" + c.command_text)
                else:
                    pipe.write_output("command:" + c.command_text)
                for name, value in c.parameters:
                    pipe.write_output(f"{name or ''}={value}")
            pipe.complete()
        elif kind == "Read-Host":
            pipe.host_call(HostMethodIdentifier.ReadLine)
        elif kind == "Write-Host":
            self.pool.host_call(HostMethodIdentifier.WriteLine2, ["from the server"], pid)
            pipe.complete()
        elif kind == "Decrypt-Secure":
            for name, value in first.parameters:
                if name == "Secret":
                    if not isinstance(value, PSSecureString):
                        raise TypeError(f"Secret is a {type(value).__name__}, not a SecureString")
                    pipe.write_output(str(value.decrypt()))
            pipe.complete()
        elif kind == "Fail":
            pipe._change_state(
                PSInvocationState.Failed,
                psrpcore.types.ErrorRecord(
                    Exception=NETException(Message="it failed"),
                    CategoryInfo=ErrorCategoryInfo(Category=ErrorCategory.NotSpecified),
                    FullyQualifiedErrorId="Bridge.Failed",
                ),
            )
        elif kind == "Request-Key":
            self.pool.request_key()
            pipe.complete()
        elif kind == "Pool-Events":
            self.pool.send_event(7, "MySource", source_args=["a"], message_data="event data")
            self.pool.host_call(HostMethodIdentifier.GetName)
            pipe.write_output("sent")
            pipe.complete()
        elif kind in ("Echo-Input", "Wait-Stop"):
            pass
        else:
            pipe.write_output(f"unknown command {kind}")
            pipe.complete()

    def on_GetCommandMetadataEvent(self, event) -> None:
        pid = event.pipeline_id
        pipe = self.pipelines[pid]
        names = event.pipeline.name
        if isinstance(names, str):
            names = [names]
        pipe.start()
        pipe.write_output(PSCustomObject(Count=len(names)))
        for name in names:
            parameter = PSCustomObject(Name="Path", ParameterType="System.String", IsDynamic=False,
                                       SwitchParameter=False, Aliases=["PSPath"])
            pipe.write_output(
                PSCustomObject(
                    Name=name,
                    Namespace="Bridge",
                    HelpUri="",
                    CommandType=CommandTypes.Cmdlet,
                    OutputType=["System.String"],
                    Parameters={"Path": parameter},
                )
            )
        pipe.complete()

    def on_RunspacePoolHostResponseEvent(self, event) -> None:
        self.pool.send_event(8, "HostResponse", message_data=event.result)

    def on_PipelineInputEvent(self, event) -> None:
        self.inputs[event.pipeline_id].append(event.data)

    def on_EndOfPipelineInputEvent(self, event) -> None:
        pid = event.pipeline_id
        pipe = self.pipelines[pid]
        for value in self.inputs[pid]:
            pipe.write_output(value)
        pipe.complete()

    def on_PipelineHostResponseEvent(self, event) -> None:
        pipe = self.pipelines[event.pipeline_id]
        pipe.write_output(event.result)
        pipe.complete()

    # ----- packets ----------------------------------------------------
    def packet(self, line: str) -> bool:
        m = PACKET.match(line.strip())
        if not m:
            sys.stderr.write(f"bridge: unknown packet {line!r}\n")
            return True
        kind, stream, guid, body = m.group(1), m.group(2), uuid.UUID(m.group(3)), m.group(4)
        pid = None if guid == NIL else guid
        if kind == "Data":
            if self.pool.state == RunspacePoolState.Disconnected:
                self.pool.connect()
            stream_type = StreamType.prompt_response if stream == "PromptResponse" else StreamType.default
            self.pool.receive_data(psrpcore.PSRPPayload(base64.b64decode(body or ""), stream_type, pid))
            self.events()
            self.flush()
            send(f"<DataAck PSGuid='{guid}' />")
        elif kind == "Command":
            # The server side of a pipeline exists from the transport's
            # command on; CREATE_PIPELINE then says what it runs.
            self.pipelines[pid] = ServerPipeline(self.pool, pid)
            send(f"<CommandAck PSGuid='{guid}' />")
        elif kind == "Signal":
            pipe = self.pipelines.get(pid)
            if pipe is not None and pipe.state == PSInvocationState.Running:
                pipe.stop()
            self.flush()
            send(f"<SignalAck PSGuid='{guid}' />")
        elif kind == "Disconnect":
            self.pool.disconnect()
            send(f"<DisconnectAck PSGuid='{guid}' />")
        elif kind == "Close":
            if pid is None:
                send(f"<CloseAck PSGuid='{guid}' />")
                return False
            pipe = self.pipelines.pop(pid, None)
            if pipe is not None:
                pipe.close()
            send(f"<CloseAck PSGuid='{guid}' />")
        else:
            sys.stderr.write(f"bridge: unexpected packet {kind}\n")
        return True


def main() -> int:
    bridge = Bridge()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            if not bridge.packet(line):
                break
        except Exception:
            traceback.print_exc(file=sys.stderr)
            send(f"<Error PSGuid='{NIL}'>{base64.b64encode(traceback.format_exc().encode()).decode()}</Error>")
    return 0


if __name__ == "__main__":
    sys.exit(main())
