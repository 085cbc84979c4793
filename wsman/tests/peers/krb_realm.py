#!/usr/bin/env python3
"""A throwaway MIT Kerberos realm for the transport tests of the `wsman` crate.

Usage: krb_realm.py DIR REALM USER PASSWORD

Writes DIR/krb5.conf, DIR/kdc.conf, the database, the principals USER and
HTTP/localhost (key in DIR/http.keytab), starts krb5kdc on a free 127.0.0.1
port (it daemonizes; pid in DIR/kdc.pid) and prints `KDC <pid>` once the KDC
accepts connections. The caller stops the KDC by that pid.
"""
import os
import socket
import subprocess
import sys
import time


def main():
    d, realm, user, password = sys.argv[1:5]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with open(os.path.join(d, "krb5.conf"), "w") as f:
        f.write(
            f"""[libdefaults]
 default_realm = {realm}
 dns_lookup_kdc = false
 dns_lookup_realm = false
 rdns = false
 dns_canonicalize_hostname = false
 udp_preference_limit = 1
[realms]
 {realm} = {{
  kdc = 127.0.0.1:{port}
 }}
[domain_realm]
 localhost = {realm}
"""
        )
    with open(os.path.join(d, "kdc.conf"), "w") as f:
        f.write(
            f"""[kdcdefaults]
 kdc_listen = 127.0.0.1:{port}
 kdc_tcp_listen = 127.0.0.1:{port}
[realms]
 {realm} = {{
  database_name = {d}/principal
  key_stash_file = {d}/stash
  acl_file = {d}/kadm5.acl
  kdc_listen = 127.0.0.1:{port}
  kdc_tcp_listen = 127.0.0.1:{port}
 }}
[logging]
 kdc = FILE:{d}/kdc.log
"""
        )
    open(os.path.join(d, "kadm5.acl"), "w").close()
    env = dict(os.environ, KRB5_CONFIG=f"{d}/krb5.conf", KRB5_KDC_PROFILE=f"{d}/kdc.conf")

    def run(*cmd):
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    run("kdb5_util", "create", "-s", "-r", realm, "-P", "master-pw")
    run("kadmin.local", "-r", realm, "-q", f"addprinc -pw {password} {user}")
    run("kadmin.local", "-r", realm, "-q", "addprinc -randkey HTTP/localhost")
    run("kadmin.local", "-r", realm, "-q", f"ktadd -k {d}/http.keytab HTTP/localhost")
    pid_file = os.path.join(d, "kdc.pid")
    run("krb5kdc", "-P", pid_file)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            pid = open(pid_file).read().strip()
            if pid:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                print("KDC %s" % pid, flush=True)
                return 0
        except OSError:
            pass
        time.sleep(0.05)
    print("KDC did not start", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
