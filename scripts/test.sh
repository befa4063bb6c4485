#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need, runs them, stops what it
# started. Usage: scripts/test.sh   (FUZZ_SECONDS=N to change the per-target fuzz time; 0 skips)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { printf '\n== %s\n' "$*"; }

# System packages the live tests use (real auditd for kernel records). Installed once; tests that
# need them skip with a printed reason when they are missing or the kernel refuses.
need=()
command -v auditd >/dev/null 2>&1 || need+=(auditd)
command -v rsyslogd >/dev/null 2>&1 || need+=(rsyslog)
# The AWS sink tests run moto (a local AWS-protocol server) from a venv: python3 -m venv needs it.
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
# tests/systemd_unit.rs: `systemd-analyze verify` and `security --offline` on the unit file. Both
# work without systemd as PID 1; installing the package starts nothing and does not replace init.
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "installing ${need[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}") \
        || echo "could not install ${need[*]}: live tests will skip"
    # The package's own service is not wanted: tests run a private auditd.
    command -v systemctl >/dev/null 2>&1 && systemctl disable --now auditd rsyslog >/dev/null 2>&1 || true
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "moto (local AWS server for tests/aws_sinks.rs), cached in target/moto-venv"
scripts/moto.sh install

step "cargo test"
cargo test --workspace --no-fail-fast 2>&1 | tee target/test-output.txt
# cargo test's own status is what counts; tee hides it without pipefail, and pipefail is set.

fuzz_seconds=${FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" != 0 ]; then
    step "fuzz (${fuzz_seconds}s per target)"
    scripts/fuzz.sh "$fuzz_seconds"
fi

step "summary"
passed=$(grep -Eo 'test result: ok\. [0-9]+ passed' target/test-output.txt | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' target/test-output.txt | awk '{s+=$1} END {print s+0}')
echo "cargo test: ${passed} passed, ${failed} failed"
