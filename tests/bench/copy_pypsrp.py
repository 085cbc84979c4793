"""pypsrp 0.9.1's Client.copy / Client.fetch against a test host, for tests/bench/copy.sh.

Usage: copy_pypsrp.py URL AUTH USER PASSWORD up|down LOCAL REMOTE
"""
import sys
import urllib.parse

from pypsrp.client import Client


def main() -> None:
    url, auth, user, password, mode, local, remote = sys.argv[1:8]
    u = urllib.parse.urlparse(url)
    client = Client(u.hostname, port=u.port, ssl=u.scheme == "https", auth=auth, username=user,
                    password=password, cert_validation=False,
                    encryption="never" if auth == "basic" else "auto")
    if mode == "up":
        client.copy(local, remote)
    else:
        client.fetch(remote, local)


if __name__ == "__main__":
    main()
