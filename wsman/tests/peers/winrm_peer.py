#!/usr/bin/env python3
"""A tiny WinRM-like HTTP(S) peer for the transport tests of the `wsman` crate.

It authenticates the way a Windows host does (empty POST, 401 +
`WWW-Authenticate: Negotiate <token>` legs, one security context per TCP
connection) and echoes every SOAP body back, sealed as
`multipart/encrypted` when the request was sealed. NTLM is pyspnego's
acceptor (`spnego.server(protocol="ntlm")`, users from `NTLM_USER_FILE`), so
the client's NTLM and sealing are judged by an independent implementation;
Kerberos and Negotiate are pyspnego over MIT GSSAPI with the keytab of
KRB5_KTNAME (see krb_realm.py). A sealed request must name the protocol of
the scheme it authenticated with (HTTP-Kerberos- or HTTP-SPNEGO-session-encrypted).

It prints `PORT <n>` on stdout once listening and appends events to --log:
`CONN`, `AUTH_OK <mech>`, `REQ sealed|plain <bytes>`, `DROP`, `CB <hex>`.

Usage: winrm_peer.py --log FILE [--auth basic|ntlm|kerberos|negotiate|fake|cert] [--basic USER:PASS]
       [--gen-cert DIR --key rsa|ec --sig-hash sha256|sha384|sha512|sha1]
       [--cbt] [--drop-request N] [--close-after N] [--require-encryption] [--bind ::1]

`--auth cert` (needs --gen-cert) also writes client.pem/client-key.pem, a
client certificate the TLS server requires, and expects the WS-Man
`https/mutual` Authorization profile. A body containing STATUS413 is
answered with HTTP 413; a sealed body containing SLOW is answered after 1 s.
"""
import argparse
import base64
import datetime
import hashlib
import http.server
import os
import socket
import ssl
import struct
import sys
import threading
import time
import warnings

warnings.filterwarnings("ignore", message=".*SHA1.*")  # the sha1 certificate is on purpose

BOUNDARY = b"--Encrypted Boundary"
SPNEGO_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
CERT_PROFILE = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"

args = None
log_lock = threading.Lock()
counter_lock = threading.Lock()
body_requests = 0


def log(line):
    with log_lock:
        with open(args.log, "a") as f:
            f.write(line + "\n")


class FakeContext:
    """Mirror of the Rust tests' fake context: tokens fake-1, fake-2:<challenge>;
    sealing XORs with 0x5A behind a FAKESIG<seq> header."""

    def __init__(self):
        self.complete = False
        self.seq_in = 0
        self.seq_out = 0

    def step(self, token):
        if token == b"fake-1":
            return b"fake-challenge"
        if token == b"fake-2:fake-challenge":
            self.complete = True
            return b"fake-done"
        raise ValueError("unexpected fake token %r" % token)

    def wrap_winrm(self, data):
        header = b"FAKESIG" + struct.pack("<I", self.seq_out)
        self.seq_out += 1
        return header, bytes(b ^ 0x5A for b in data)

    def user(self):
        return "fake"

    def unwrap_winrm(self, header, data):
        expected = b"FAKESIG" + struct.pack("<I", self.seq_in)
        if header != expected:
            raise ValueError("bad fake signature %r, expected %r" % (header, expected))
        self.seq_in += 1
        return bytes(b ^ 0x5A for b in data)


class SpnegoContext:
    """pyspnego's acceptor: NTLM (NTLM_USER_FILE), Kerberos or Negotiate
    (keytab from KRB5_KTNAME)."""

    def __init__(self, protocol, bindings):
        import spnego

        self.ctx = spnego.server(hostname="localhost", service="http", protocol=protocol, channel_bindings=bindings)

    def user(self):
        return str(self.ctx.client_principal)

    @property
    def complete(self):
        return self.ctx.complete

    def step(self, token):
        return self.ctx.step(token)

    def wrap_winrm(self, data):
        r = self.ctx.wrap_winrm(data)
        return r.header, r.data

    def unwrap_winrm(self, header, data):
        return self.ctx.unwrap_winrm(header, data)


def unseal(ctx, body):
    length_at = body.index(b"Length=") + len(b"Length=")
    length = int(body[length_at : body.index(b"\r\n", length_at)])
    marker = b"\tContent-Type: application/octet-stream\r\n"
    start = body.index(marker) + len(marker)
    end = body.rindex(BOUNDARY + b"--\r\n")
    frame = body[start:end]
    (sig_len,) = struct.unpack("<I", frame[:4])
    plain = ctx.unwrap_winrm(frame[4 : 4 + sig_len], frame[4 + sig_len :])
    if len(plain) != length:
        raise ValueError("length mismatch %d != %d" % (len(plain), length))
    return plain


def seal(ctx, plain, protocol):
    header, data = ctx.wrap_winrm(plain)
    return (
        BOUNDARY
        + b"\r\n\tContent-Type: "
        + protocol.encode()
        + b"\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
        + str(len(plain)).encode()
        + b"\r\n"
        + BOUNDARY
        + b"\r\n\tContent-Type: application/octet-stream\r\n"
        + struct.pack("<I", len(header))
        + header
        + data
        + BOUNDARY
        + b"--\r\n"
    )


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.ctx = None
        self.protocol = SPNEGO_PROTOCOL
        self.authenticated = False
        self.answered = 0
        log("CONN")

    def log_message(self, fmt, *a):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def challenge(self):
        if args.auth == "basic":
            return [("WWW-Authenticate", 'Basic realm="WSMAN"')]
        if args.auth == "cert":
            return []
        if args.auth == "kerberos":
            return [("WWW-Authenticate", "Kerberos")]
        return [("WWW-Authenticate", "Negotiate")]

    def do_POST(self):
        global body_requests
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        auth = self.headers.get("Authorization", "")

        if args.auth == "basic":
            expected = "Basic " + base64.b64encode(args.basic.encode()).decode()
            if auth != expected:
                return self.reply(401, headers=self.challenge())
            self.authenticated = True
        elif args.auth == "cert":
            if auth != CERT_PROFILE or not self.connection.getpeercert(binary_form=True):
                return self.reply(401, headers=self.challenge())
            if not self.authenticated:
                log("AUTH_OK cert")
            self.authenticated = True
        elif auth.split(" ")[0] in ("Negotiate", "Kerberos") and " " in auth:
            scheme, _, b64 = auth.partition(" ")
            token = base64.b64decode(b64)
            if self.ctx is None or self.ctx.complete:
                if args.auth == "fake":
                    self.ctx = FakeContext()
                else:
                    self.ctx = SpnegoContext(args.auth, self.bindings())
                self.authenticated = False
            try:
                out = self.ctx.step(token)
            except Exception as e:  # refused: wrong password, bad bindings
                log("AUTH_FAIL %s %s" % (type(e).__name__, e))
                return self.reply(401, headers=self.challenge())
            hdr = [("WWW-Authenticate", scheme + " " + base64.b64encode(out).decode())] if out else []
            if not self.ctx.complete:
                return self.reply(401, headers=hdr)
            self.authenticated = True
            self.protocol = "application/HTTP-%s-session-encrypted" % ("Kerberos" if scheme == "Kerberos" else "SPNEGO")
            log("AUTH_OK %s %s" % (args.auth, self.ctx.user()))
            if not body:
                return self.reply(200, headers=hdr)
        if not self.authenticated:
            return self.reply(401, headers=self.challenge())
        if not body:
            return self.reply(200)

        with counter_lock:
            body_requests += 1
            n = body_requests
        if args.drop_request and n == args.drop_request:
            log("DROP")
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return

        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("multipart/encrypted"):
            if 'protocol="%s"' % self.protocol not in ctype:
                log("BAD_PROTOCOL %s" % ctype)
                return self.reply(400)
            plain = unseal(self.ctx, body)
            log("REQ sealed %d" % len(plain))
            if b"SLOW" in plain:
                time.sleep(1.0)
            status = 500 if b"FAULT" in plain else 200
            answer = seal(self.ctx, plain, self.protocol)
            self.reply(
                status,
                answer,
                [("Content-Type", 'multipart/encrypted;protocol="%s";boundary="Encrypted Boundary"' % self.protocol)],
            )
        else:
            log("REQ plain %d" % len(body))
            if b"STATUS413" in body:
                return self.reply(413, b"<html>Request Entity Too Large</html>")
            if args.require_encryption and args.auth != "basic" and not args.tls:
                return self.reply(500)
            status = 500 if b"FAULT" in body else 200
            self.reply(status, body, [("Content-Type", "application/soap+xml;charset=UTF-8")])
        self.answered += 1
        if args.close_after and self.answered >= args.close_after:
            self.close_connection = True

    def bindings(self):
        if not args.cbt:
            return None
        from spnego.channel_bindings import GssChannelBindings

        return GssChannelBindings(application_data=b"tls-server-end-point:" + bytes.fromhex(args.cb_hash))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client refusing our certificate is expected in some tests: log, don't print a traceback.
        log("ERROR %s" % sys.exc_info()[1])


def generate_cert(directory, key_kind, sig_hash, stem="", client=False):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID
    import ipaddress

    key = ec.generate_private_key(ec.SECP384R1()) if key_kind == "ec" else rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client" if client else "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.CLIENT_AUTH if client else x509.ExtendedKeyUsageOID.SERVER_AUTH]),
            critical=False,
        )
        .sign(key, getattr(hashes, sig_hash.upper())())
    )
    cert_path = os.path.join(directory, stem + "cert.pem")
    key_path = os.path.join(directory, stem + "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return cert_path, key_path


def end_point_hash(cert_path, sig_hash):
    """RFC 5929 4.1 with the standard library only: the DER certificate
    hashed with its signature hash, SHA-256 for MD5 and SHA-1."""
    der = ssl.PEM_cert_to_DER_cert(open(cert_path).read())
    name = "sha256" if sig_hash in ("md5", "sha1") else sig_hash
    return hashlib.new(name, der).hexdigest()


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--log", required=True)
    p.add_argument("--auth", choices=["basic", "ntlm", "fake", "cert", "kerberos", "negotiate"], default="fake")
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--basic", default="alice:secret")
    p.add_argument("--gen-cert")
    p.add_argument("--key", choices=["rsa", "ec"], default="rsa")
    p.add_argument("--sig-hash", default="sha256")
    p.add_argument("--cbt", action="store_true", help="NTLM: require channel bindings of our certificate")
    p.add_argument("--wrong-cbt", action="store_true", help="with --cbt: expect a different certificate hash")
    p.add_argument("--drop-request", type=int, default=0)
    p.add_argument("--close-after", type=int, default=0)
    p.add_argument("--require-encryption", action="store_true")
    args = p.parse_args()
    args.tls = bool(args.gen_cert)

    if ":" in args.bind:
        Server.address_family = socket.AF_INET6
    server = Server((args.bind, 0), Handler)
    if args.gen_cert:
        cert, key = generate_cert(args.gen_cert, args.key, args.sig_hash)
        args.cb_hash = end_point_hash(cert, args.sig_hash)
        if args.wrong_cbt:
            args.cb_hash = hashlib.sha256(b"another certificate").hexdigest()
        log("CB " + end_point_hash(cert, args.sig_hash))
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
        if args.auth == "cert":
            client_cert, _ = generate_cert(args.gen_cert, "ec", "sha256", stem="client-", client=True)
            tls.verify_mode = ssl.CERT_REQUIRED
            tls.load_verify_locations(client_cert)
        server.socket = tls.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
