#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for SECONDS each (default 20) and fails if any finds a
# crash, a timeout (non-linear parsing) or a memory blow-up.
#
#   scripts/fuzz.sh [SECONDS]
#
# Stable toolchain recipe: cargo-fuzz passes nightly-only flags (`-Z sanitizer=address`,
# `-Cpasses=sancov-module`, …) to rustc. Setting RUSTC_BOOTSTRAP=1 lets the stable compiler accept
# them; the AddressSanitizer runtime ships with stable's x86_64-unknown-linux-gnu std, so ASan
# works as well. If a platform lacks it, the build falls back to `--sanitizer none`
# (libFuzzer's coverage guidance still works; only out-of-bounds detection in unsafe code is
# lost). Force a choice with FUZZ_SANITIZER=address|none.
#
# cargo-fuzz is installed into ~/.cargo/bin with `cargo install cargo-fuzz --locked` when missing
# (once per machine; ~2 minutes). Builds go to fuzz/target, apart from the workspace's target/.
# Seeds: when ../shared/corpus exists beside the repository, its audit, syslog, history and hook
# lines are copied into fuzz/corpus/<target>/ (gitignored) before the run; the fuzzers' own
# finds stay there between runs. Crashes land in fuzz/artifacts/<target>/.
set -euo pipefail

SECONDS_PER_TARGET="${1:-20}"
if ! [[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || [ "$SECONDS_PER_TARGET" -eq 0 ]; then
    echo "usage: $0 [SECONDS]   (a positive number of seconds per target)" >&2
    exit 2
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ="$ROOT/fuzz"
SHARED_CORPUS="$ROOT/../shared/corpus"
TARGETS=(audit_record execve proctitle syslog history hook_verdict)
CARGO_FUZZ_VERSION="0.13.2"
export RUSTC_BOOTSTRAP=1
export PATH="$HOME/.cargo/bin:$PATH"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION into ~/.cargo/bin"
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi

# --- seeds ------------------------------------------------------------------------------------
# Writes each line of stdin to its own file in directory $1 (at most $2 files).
lines_to_files() {
    local dir="$1" max="$2"
    mkdir -p "$dir"
    awk -v dir="$dir" -v max="$max" 'NF && n < max { f = sprintf("%s/seed-%05d", dir, n++); printf "%s", $0 > f; close(f) }'
}

# Writes groups of up to 8 consecutive audit lines per file (events and their neighbours).
audit_groups_to_files() {
    local dir="$1"
    mkdir -p "$dir"
    awk -v dir="$dir" '{ buf = buf $0 "\n"; if (++k == 8) { f = sprintf("%s/seed-%05d", dir, n++); printf "%s", buf > f; close(f); buf = ""; k = 0 } }
        END { if (k) { f = sprintf("%s/seed-%05d", dir, n++); printf "%s", buf > f; close(f) } }'
}

# Copies seed inputs out of the files given as arguments into fuzz/corpus/<target>/.
seed_from_files() {
    local tmp
    tmp="$(mktemp -d)"
    # Audit lines, also those indented inside YAML test files.
    cat "$@" | sed -n 's/^[[:space:]]*\(\(node=[^ ]* \)\{0,1\}type=.*\)$/\1/p' >"$tmp/audit"
    audit_groups_to_files "$FUZZ/corpus/audit_record" <"$tmp/audit"
    grep 'type=EXECVE' "$tmp/audit" | lines_to_files "$FUZZ/corpus/execve" 2000 || true
    sed -n 's/.*proctitle=\([^ ]*\).*/\1/p' "$tmp/audit" | sort -u |
        lines_to_files "$FUZZ/corpus/proctitle" 2000
    # Syslog lines: `Mmm dd hh:mm:ss …`, `<PRI>…`, or an RFC 3339 stamp first.
    cat "$@" | grep -E '^(<[0-9]{1,3}>|[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:|[0-9]{4}-[0-9]{2}-[0-9]{2}T)' \
        >"$tmp/syslog" || true
    lines_to_files "$FUZZ/corpus/syslog" 2000 <"$tmp/syslog"
    grep -E 'bash|HISTORY|history' "$tmp/syslog" | lines_to_files "$FUZZ/corpus/history" 2000 || true
    # Hook verdict lines and hook payloads (the JSON column of hook-payloads.tsv).
    { cat "$@" | grep -h '^{"v":' || true; cat "$@" | grep -o '{"session_id".*' || true; } |
        lines_to_files "$FUZZ/corpus/hook_verdict" 2000
    rm -rf "$tmp"
}

seed_corpus() {
    local sources=()
    if [ -d "$SHARED_CORPUS" ]; then
        echo "== seeding fuzz/corpus from $SHARED_CORPUS"
        while IFS= read -r f; do sources+=("$f"); done < <(
            find "$SHARED_CORPUS" -type f ! -name '*.md' ! -name 'SOURCE.txt' | sort)
    else
        echo "== no $SHARED_CORPUS: fuzzing from fuzz/corpus as it is"
    fi
    sources+=("$ROOT"/docs/*.md)
    # A generated workload too, when a built auditrail binary has the `generate` command.
    local bin generated=""
    for bin in "$ROOT/target/release/auditrail" "$ROOT/target/debug/auditrail"; do
        if [ -x "$bin" ] && "$bin" generate --help >/dev/null 2>&1; then
            generated="$(mktemp -d)"
            if "$bin" generate --seed 1 --size 2MB --out "$generated" >/dev/null 2>&1; then
                echo "== seeding fuzz/corpus from $bin generate"
                while IFS= read -r f; do sources+=("$f"); done < <(find "$generated" -type f)
            fi
            break
        fi
    done
    if [ "${#sources[@]}" -gt 0 ]; then
        seed_from_files "${sources[@]}"
    fi
    if [ -n "$generated" ]; then rm -rf "$generated"; fi
}

# --- build and run ----------------------------------------------------------------------------
cd "$FUZZ"
seed_corpus

SANITIZER="${FUZZ_SANITIZER:-address}"
echo "== building ${#TARGETS[@]} targets (sanitizer: $SANITIZER)"
if ! cargo fuzz build -O --sanitizer "$SANITIZER"; then
    if [ -n "${FUZZ_SANITIZER:-}" ] || [ "$SANITIZER" = none ]; then
        exit 1
    fi
    echo "== build with AddressSanitizer failed; retrying with --sanitizer none"
    SANITIZER=none
    cargo fuzz build -O --sanitizer "$SANITIZER"
fi

failed=()
for target in "${TARGETS[@]}"; do
    mkdir -p "corpus/$target"
    echo "== fuzzing $target for ${SECONDS_PER_TARGET}s ($(find "corpus/$target" -type f | wc -l) inputs in corpus)"
    # -timeout: one input taking 5 s is a hang (the parsers must be linear). -max_len lets
    # kernel-sized EXECVE records (7.5 KB) and a few of them in a row through.
    if ! cargo fuzz run -O --sanitizer "$SANITIZER" "$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=5 -max_len=32768 -rss_limit_mb=2048 \
        -print_final_stats=1 2>"$FUZZ/.last-run.log"; then
        tail -40 "$FUZZ/.last-run.log" >&2
        failed+=("$target")
    else
        grep -E '^(stat::number_of_executed_units|stat::new_units_added|Done)' "$FUZZ/.last-run.log" || true
    fi
done
rm -f "$FUZZ/.last-run.log"

if [ "${#failed[@]}" -gt 0 ]; then
    echo "FAILED: ${failed[*]} (inputs in fuzz/artifacts/<target>/; reproduce with" \
        "RUSTC_BOOTSTRAP=1 cargo fuzz run -O --sanitizer $SANITIZER <target> <artifact>)" >&2
    exit 1
fi
echo "fuzz: ${#TARGETS[@]} targets, ${SECONDS_PER_TARGET}s each, no crash"
