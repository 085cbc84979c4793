#!/usr/bin/env bash
# The whole test suite: installs what it needs (scripts/setup.sh), then
#   1. the reference client (pypsrp) against the independent test host, for
#      every auth mode: the host must behave like Windows before it judges us;
#   2. the test host's own tests;
#   3. formatting and lints;
#   4. every Rust test in the workspace (unit, recordings, replay, interop,
#      and the client against the test host);
#   5. a short run of every fuzz target (when a nightly toolchain is there).
# Exits non-zero if anything failed; every background process a test starts
# is stopped by pid, pass or fail.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bash scripts/setup.sh || exit 1
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

# Test hosts write their pid here; whatever is left at exit is stopped.
export TESTHOST_PID_DIR="$root/.testhost/pids"
mkdir -p "$TESTHOST_PID_DIR"
cleanup() {
  for f in "$TESTHOST_PID_DIR"/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null) && kill "$pid" 2>/dev/null && echo "test.sh: stopped leftover test host pid $pid"
    rm -f "$f"
  done
}
trap cleanup EXIT

failed=()
step() {
  local name=$1; shift
  echo
  echo "=== $name"
  local t0=$SECONDS
  if "$@"; then
    echo "=== $name: ok ($((SECONDS - t0)) s)"
  else
    echo "=== $name: FAILED ($((SECONDS - t0)) s)"
    failed+=("$name")
  fi
}

PY="$root/.venv/bin/python"
if [ -f fixtures/testhost/selfcheck.py ]; then
  step "pypsrp self-check against the test host" "$PY" fixtures/testhost/selfcheck.py
fi
if [ -d fixtures/testhost/tests ]; then
  step "test host tests" "$PY" -m pytest -q fixtures/testhost/tests
fi
step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy" cargo clippy --workspace --all-targets --quiet -- -D warnings
step "cargo test" cargo test --workspace --no-fail-fast
step "fuzz targets, a short run each" bash scripts/fuzz-smoke.sh 15

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "test.sh: FAILED: ${failed[*]}"
  exit 1
fi
echo "test.sh: all steps passed"
