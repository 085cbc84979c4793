#!/usr/bin/env bash
# A short run of every fuzz target (libFuzzer through rustc's sanitizer
# coverage; nightly toolchain, no cargo-fuzz needed), seeded with the
# recorded traffic. Any crash fails. Usage: fuzz-smoke.sh [SECONDS per target]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
secs=${1:-20}
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzz-smoke: SKIP: no nightly toolchain on this machine (libFuzzer needs it)"
  exit 0
fi
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
triple=$(rustc -vV | sed -n 's/^host: //p')
# One target folder for both fuzz workspaces: libFuzzer and the shared
# dependencies are built once.
export CARGO_TARGET_DIR="$root/target/fuzz"

seed() { # seed DIR FILES...
  local dir=$1; shift
  mkdir -p "$dir"
  [ -n "$(ls -A "$dir" 2>/dev/null)" ] && return 0
  local i=0
  for f in "$@"; do i=$((i + 1)); cp "$f" "$dir/seed-$i"; done
}

run() { # run CRATE_FUZZ_DIR TARGET
  local dir=$1 target=$2
  local bin="$CARGO_TARGET_DIR/$triple/release/$target"
  local corpus="$dir/corpus/$target"
  echo "fuzz-smoke: $target for ${secs}s"
  mkdir -p "$dir/artifacts/$target"
  "$bin" "$corpus" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$dir/artifacts/$target/" -print_final_stats=1 2>&1 | tail -n 4
}

for dir in wsman/fuzz psrp/fuzz; do
  echo "fuzz-smoke: building $dir"
  (cd "$dir" && cargo +nightly build -q --release --target "$triple")
done

seed wsman/fuzz/corpus/soap_response fixtures/recordings/pywinrm_pr162/tests/test_xmls/*/*-response.xml \
  fixtures/recordings/masterzen_winrm/extracted/*.xml
seed psrp/fuzz/corpus/clixml fixtures/recordings/pypsrp/tests/tests_pypsrp/data/*.xml
mkdir -p psrp/fuzz/corpus/fragments

run "$root/wsman/fuzz" soap_response
mkdir -p wsman/fuzz/corpus/credssp
run "$root/wsman/fuzz" credssp
run "$root/psrp/fuzz" clixml
run "$root/psrp/fuzz" fragments
echo "fuzz-smoke: no crash"
