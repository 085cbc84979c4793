#!/usr/bin/env python3
"""A tiny HTTP CONNECT proxy for the transport tests of the `wsman` crate.

Only 127.0.0.1 targets are tunnelled; `--map NAME` makes CONNECT NAME:port
go to 127.0.0.1:port (a host name only the proxy knows). Prints `PORT <n>` once listening and
appends `CONNECT <target>` or `DENIED <target>` to --log. With --auth
USER:PASS it answers 407 unless `Proxy-Authorization: Basic` matches.
"""
import argparse
import base64
import select
import socket
import sys
import threading


def pump(a, b):
    socks = [a, b]
    try:
        while True:
            readable, _, _ = select.select(socks, [], [], 30)
            if not readable:
                return
            for s in readable:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    except OSError:
        return
    finally:
        a.close()
        b.close()


def handle(client, args):
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = client.recv(1)
        if not chunk:
            client.close()
            return
        head += chunk
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    if method != "CONNECT":
        client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
        client.close()
        return
    if args.auth:
        expected = "Basic " + base64.b64encode(args.auth.encode()).decode()
        if headers.get("proxy-authorization") != expected:
            with open(args.log, "a") as f:
                f.write("DENIED %s\n" % target)
            client.sendall(
                b'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="p"\r\n'
                b"Content-Length: 0\r\n\r\n"
            )
            client.close()
            return
    host, port = target.rsplit(":", 1)
    if args.map and host == args.map:
        host = "127.0.0.1"
    if host not in ("127.0.0.1", "localhost"):
        client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        client.close()
        return
    with open(args.log, "a") as f:
        f.write("CONNECT %s\n" % target)
    upstream = socket.create_connection((host, int(port)), timeout=10)
    upstream.settimeout(None)
    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    pump(client, upstream)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--log", required=True)
    p.add_argument("--auth")
    p.add_argument("--map")
    args = p.parse_args()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    print("PORT %d" % srv.getsockname()[1], flush=True)
    while True:
        client, _ = srv.accept()
        threading.Thread(target=handle, args=(client, args), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
