#!/usr/bin/env bash
# Installs everything the demo and the tests need on a fresh Debian 12 machine
# (run as root). Idempotent: a second run only checks.
#   - Debian packages: MIT Kerberos (KDC, client, headers), GSSAPI for Python,
#     gss-ntlmssp, openssl
#   - a Python venv in .venv (with Debian's python3-gssapi visible) holding
#     the independent peers: psrpcore, pyspnego, krb5, pypsrp (+ requests-credssp for its CredSSP)
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(krb5-kdc krb5-admin-server krb5-user libkrb5-dev libclang-dev python3-gssapi
  python3-venv gss-ntlmssp openssl tmux)
PIP_PACKAGES=(psrpcore==0.3.1 pyspnego==0.12.4 krb5==0.10.0 pypsrp==0.9.1 requests-credssp==2.0.0 pytest==8.3.4)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

stamp=".venv/.installed-$(printf '%s ' "${PIP_PACKAGES[@]}" | md5sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "setup: creating the Python venv .venv (pyspnego's krb5 compiles: about 2 minutes)"
  /usr/bin/python3 -m venv --system-site-packages .venv
  .venv/bin/pip install -q --disable-pip-version-check "${PIP_PACKAGES[@]}"
  touch "$stamp"
fi
echo "setup: ok"
