"""An independent acceptor (server side) for the wsman crate's auth tests.

Backends:
  pyspnego    spnego.server(protocol=ntlm|kerberos|negotiate): pyspnego's pure
              Python NTLM, or Kerberos/SPNEGO through MIT GSSAPI.
  gssntlmssp  python-gssapi with the NTLM mech OID 1.3.6.1.4.1.311.2.2.10,
              which MIT GSSAPI routes to gss-ntlmssp (C).

NTLM users come from NTLM_USER_FILE (DOMAIN:user:password lines); Kerberos
keys from KRB5_KTNAME. Line protocol on stdin/stdout, binary values base64
("-" for none):
  step TOKEN          -> token TOKEN|- COMPLETE(0|1)
  unwrap HEADER DATA  -> plain DATA
  wrap DATA           -> wrapped HEADER DATA
  user                -> user NAME
  delegated           -> delegated 0|1 (the client forwarded its TGT: GSS_C_DELEG_FLAG)
Any failure -> "error MESSAGE", and the script keeps reading.
"""
import argparse
import base64
import sys


def b64(b):
    return base64.b64encode(b).decode() if b else "-"


def unb64(s):
    return b"" if s == "-" else base64.b64decode(s)


class PySpnego:
    def __init__(self, args):
        import spnego
        from spnego.channel_bindings import GssChannelBindings

        cb = None
        if args.cb is not None:
            cb = GssChannelBindings(application_data=bytes.fromhex(args.cb))
        self.ctx = spnego.server(
            protocol=args.protocol,
            service=args.service,
            hostname=args.hostname,
            channel_bindings=cb,
        )

    def step(self, token):
        out = self.ctx.step(token)
        return out, self.ctx.complete

    def unwrap(self, header, data):
        return self.ctx.unwrap_winrm(header, data)

    def wrap(self, data):
        res = self.ctx.wrap_winrm(data)
        return res.header, res.data

    def user(self):
        return str(self.ctx.client_principal)

    def delegated(self):
        # The python-gssapi context inside pyspnego's proxy (Negotiate -> Kerberos -> gssapi).
        import gssapi

        ctx = self.ctx
        for _ in range(3):
            if isinstance(ctx, gssapi.SecurityContext):
                break
            ctx = getattr(ctx, "_context", None)
        return isinstance(ctx, gssapi.SecurityContext) and ctx.delegated_creds is not None


class GssNtlmssp:
    NTLM_OID = "1.3.6.1.4.1.311.2.2.10"

    def __init__(self, args):
        import gssapi
        import gssapi.raw

        self.gssapi = gssapi
        mech = gssapi.OID.from_int_seq(self.NTLM_OID)
        creds = gssapi.Credentials(usage="accept", mechs=[mech])
        cb = None
        if args.cb is not None:
            cb = gssapi.raw.ChannelBindings(application_data=bytes.fromhex(args.cb))
        self.ctx = gssapi.SecurityContext(creds=creds, usage="accept", channel_bindings=cb)

    def step(self, token):
        out = self.ctx.step(token)
        return out, self.ctx.complete

    def unwrap(self, header, data):
        # gss-ntlmssp's wrap token is the 16-byte NTLMSSP_MESSAGE_SIGNATURE
        # followed by the sealed message: exactly WinRM's header + data.
        return self.ctx.unwrap(header + data).message

    def wrap(self, data):
        token = self.ctx.wrap(data, True).message
        return token[:16], token[16:]

    def user(self):
        return str(self.ctx.initiator_name)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--backend", choices=["pyspnego", "gssntlmssp"], default="pyspnego")
    p.add_argument("--protocol", default="ntlm")
    p.add_argument("--service", default="HTTP")
    p.add_argument("--hostname", default="localhost")
    p.add_argument("--cb", help="channel bindings application data, hex")
    args = p.parse_args()
    peer = (PySpnego if args.backend == "pyspnego" else GssNtlmssp)(args)
    print("ready", flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        try:
            if parts[0] == "step":
                out, done = peer.step(unb64(parts[1]))
                reply = f"token {b64(out)} {int(bool(done))}"
            elif parts[0] == "unwrap":
                reply = f"plain {b64(peer.unwrap(unb64(parts[1]), unb64(parts[2])))}"
            elif parts[0] == "wrap":
                h, d = peer.wrap(unb64(parts[1]))
                reply = f"wrapped {b64(h)} {b64(d)}"
            elif parts[0] == "user":
                reply = f"user {peer.user()}"
            elif parts[0] == "delegated":
                reply = f"delegated {int(bool(peer.delegated()))}"
            else:
                reply = f"error unknown command {parts[0]}"
        except Exception as e:  # report to the test, keep serving
            import traceback

            traceback.print_exc(file=sys.stderr)
            cause = e.__cause__ or e.__context__
            msg = f"{type(e).__name__}: {e}" + (f" (from {type(cause).__name__}: {cause})" if cause else "")
            msg = msg.replace("\n", " ")
            reply = f"error {msg}"
        print(reply, flush=True)


if __name__ == "__main__":
    main()
