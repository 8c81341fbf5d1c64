#!/usr/bin/env bash
# Runs every fuzz target for SECONDS seconds each (default 60), seeding the corpora from
# fixtures/ on first use. Crashes land in fuzz/artifacts/<target>/; see fuzz/README.md.
#
#   fuzz/run.sh            # 60 s per target
#   fuzz/run.sh 3600       # an hour per target
#   TARGETS="scalar_map" JOBS=2 fuzz/run.sh 600
#
# Works on stable Rust: cargo-fuzz's coverage instrumentation needs no nightly flag, only its
# sanitizers do, so the targets are built with `--sanitizer none` (kfpguard is safe Rust; a
# panic, a stack overflow, a timeout or running out of memory is what is looked for). Set
# SANITIZER=address to use AddressSanitizer (needs nightly, or RUSTC_BOOTSTRAP=1 on stable).
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
targets="${TARGETS:-lint_bytes shell_parse scalar_map python_scan embedded_json}"
sanitizer="${SANITIZER:-none}"
jobs="${JOBS:-1}"

if ! command -v cargo-fuzz >/dev/null; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2
    exit 2
fi

# Seed each corpus once from the fixtures (and, for the shell target, the sample scripts).
seed() {
    local target="$1" dir="corpus/$1"
    [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] && return
    mkdir -p "$dir"
    local file
    while IFS= read -r file; do
        # Fixture names repeat across folders: name each seed after its whole path.
        local name="${file#../fixtures/}"
        cp "$file" "$dir/${name//\//__}"
    done < <(find ../fixtures -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \))
    if [ "$target" = shell_parse ]; then
        cp seeds/shell/* "$dir"/
    fi
    if [ "$target" = embedded_json ]; then
        # JSON strings as the KFP v2 backend embeds them (taken from fixtures/formats/argo).
        cp seeds/json/* "$dir"/
    fi
    if [ "$target" = python_scan ]; then
        # The pipelines' Python sources, as well as the compiled files that embed them.
        while IFS= read -r file; do
            local name="${file#../fixtures/}"
            cp "$file" "$dir/${name//\//__}"
        done < <(find ../fixtures -type f -name '*.py')
    fi
}

status=0
for target in $targets; do
    seed "$target"
    dict=yaml.dict
    [ "$target" = shell_parse ] && dict=shell.dict
    [ "$target" = python_scan ] && dict=python.dict
    echo "== $target: ${seconds}s" >&2
    # Built first, so that a target that no longer compiles is not reported as a crash.
    if ! cargo fuzz build --sanitizer "$sanitizer" "$target"; then
        echo "!! $target does not build" >&2
        status=1
        continue
    fi
    if ! cargo fuzz run --sanitizer "$sanitizer" --jobs "$jobs" "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
        -dict="$dict" -print_final_stats=1; then
        echo "!! $target found a crash: see fuzz/artifacts/$target/" >&2
        status=1
    fi
done
exit "$status"
