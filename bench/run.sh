#!/usr/bin/env bash
# kfpguard performance benchmark: builds the release binary and measures it against the
# targets in docs/performance.md.
#
# Usage: bench/run.sh [--files N] [--runs N] [--corpus DIR] [--no-criterion] [--instructions]
#
#   --files N       files in the generated corpus (env KFPGUARD_BENCH_FILES, default 100)
#   --runs N        timed runs per measurement (env KFPGUARD_BENCH_RUNS, default 21)
#   --corpus DIR    the real corpus (env KFPGUARD_BENCH_CORPUS, default ../shared/corpus
#                   next to the repository); skipped with a message when absent
#   --no-criterion  skip the in-process render benchmark (env KFPGUARD_BENCH_CRITERION=0)
#   --instructions  also count the instructions of full lint and parse-only at -j 1
#                   (valgrind's cachegrind, about a minute per corpus; env
#                   KFPGUARD_BENCH_INSTRUCTIONS=1): a ratio the host's noise does not move
#
# Measures, for (a) a corpus generated from fixtures/ (bench/gen_corpus.py: sizes 5 KB to
# 1 MB, written to a temp dir) and (b) the real corpus:
#   files/s and MB/s; the per-stage breakdown (examples/stages.rs, one thread); the
#   parse-only baseline (examples/parse_all.rs) and the ratio full lint / parse-only;
#   the speed-up from -j 1 to -j 2 (next to the host's own ceiling, examples/host_ceiling.rs);
#   peak RSS (/usr/bin/time -v) with the corpus copied 1x and 10x (hard links);
# then the 1 MB vs 10 MB single-file time ratio, and rendering 10,000 findings as JSON and
# SARIF (criterion, benches/pipeline.rs). kfpguard runs with --no-config (default rules).
#
# Needs: cargo, python3 with PyYAML, GNU time (/usr/bin/time).
#   Debian: apt-get install time python3-yaml
# Timings are wall-clock medians of interleaved runs, and the judged ratios medians of the
# ratios within each round (bench/interleave.py); on a busy machine they are noise: the
# script prints the load average first and CPU time (user+sys) next to wall time.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FILES="${KFPGUARD_BENCH_FILES:-100}"
RUNS="${KFPGUARD_BENCH_RUNS:-21}"
CORPUS="${KFPGUARD_BENCH_CORPUS:-$ROOT/../shared/corpus}"
CRITERION="${KFPGUARD_BENCH_CRITERION:-1}"
INSTRUCTIONS="${KFPGUARD_BENCH_INSTRUCTIONS:-0}"
SINGLE_FIXTURE="$ROOT/fixtures/examples/training-pipeline.yaml"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --files) FILES="${2:?--files needs a number}"; shift 2 ;;
        --runs) RUNS="${2:?--runs needs a number}"; shift 2 ;;
        --corpus) CORPUS="${2:?--corpus needs a directory}"; shift 2 ;;
        --no-criterion) CRITERION=0; shift ;;
        --instructions) INSTRUCTIONS=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "bench/run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done
[[ "$FILES" =~ ^[1-9][0-9]*$ ]] || { echo "bench/run.sh: --files must be a positive number" >&2; exit 2; }
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "bench/run.sh: --runs must be a positive number" >&2; exit 2; }

missing=()
command -v cargo >/dev/null || missing+=(cargo)
[[ -x /usr/bin/time ]] || missing+=("GNU time (apt-get install time)")
python3 -c 'import yaml' 2>/dev/null || missing+=("python3 with PyYAML (apt-get install python3-yaml)")
[[ "$INSTRUCTIONS" == 0 ]] || command -v valgrind >/dev/null || missing+=("valgrind, for --instructions (apt-get install valgrind)")
if [[ ${#missing[@]} -gt 0 ]]; then
    printf 'bench/run.sh: missing: %s\n' "${missing[@]}" >&2
    exit 2
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/kfpguard-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

cd "$ROOT"
echo "== build (release)"
cargo build --release --quiet --bin kfpguard --example parse_all --example stages --example host_ceiling
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
KFPGUARD="$TARGET_DIR/release/kfpguard"
PARSE_ALL="$TARGET_DIR/release/examples/parse_all"
STAGES="$TARGET_DIR/release/examples/stages"
HOST_CEILING="$TARGET_DIR/release/examples/host_ceiling"

CORES="$(nproc)"
read -r LOAD _ </proc/loadavg
echo "machine: $CORES cores, $(uname -m), load average $LOAD, $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo '+dirty')"
# The processor and its caches: the ratio to parse-only moves with the host (cache misses
# weigh more in the lint than in the parser), so a result is read with the host it came from.
CPU_MODEL="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1 || true)"
CACHES="$(lscpu 2>/dev/null | sed -n 's/^\(L1i\|L1d\|L2\) cache:[[:space:]]*/\1 /p' | paste -sd ',' - | sed 's/,/, /g' || true)"
echo "processor: ${CPU_MODEL:-unknown}${CACHES:+ ($CACHES)}"
if python3 -c "import sys; sys.exit(0 if $LOAD > 0.5 * $CORES else 1)"; then
    echo "WARNING: the machine is busy (load $LOAD on $CORES cores): wall times and the thread speed-up are unreliable."
fi
# What two threads that share nothing get on this host: no code's speed-up exceeds it.
CEILING="$("$HOST_CEILING" -j 2 7 | sed -n 's/^host_ceiling: 2 threads \([0-9.]*\).*/\1/p')"
echo "host ceiling: two threads of a register-only loop run ${CEILING:-?}x as fast as one (examples/host_ceiling.rs)"

# peak_rss CMD... -> peak resident set size in MB (GNU time).
peak_rss() {
    /usr/bin/time -v "$@" >/dev/null 2>"$WORK/time.txt" || true
    awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$WORK/time.txt"
}

# rss_pair DIR CMD... -> "rss_1x rss_10x" in MB: CMD run on DIR, then on $WORK/x10 (DIR
# ten times). The 10x run is skipped ("skipped") when ten times the 1x peak would not fit
# in half the available memory: a run that does not stay flat could take the machine down.
rss_pair() {
    local dir="$1"; shift
    local one available
    one="$(peak_rss "$@" "$dir")"
    available="$(awk '/^MemAvailable:/ { printf "%d", $2 / 1024 }' /proc/meminfo)"
    if python3 -c "import sys; sys.exit(0 if 10 * float('${one:-0}') < ${available:-0} / 2 else 1)" 2>/dev/null; then
        echo "$one $(peak_rss "$@" "$WORK/x10")"
    else
        echo "$one skipped"
    fi
}

# calc EXPR -> EXPR evaluated by python (floats), "n/a" on error.
calc() { python3 -c "print(format($1, '.2f'))" 2>/dev/null || echo "n/a"; }
# Instructions a command executes (cachegrind's "I refs"), or n/a.
instructions() {
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$@" 2>&1 >/dev/null \
        | sed -n 's/.*I *refs: *//p' | tr -d , | grep . || echo n/a
}
verdict() { python3 -c "print('PASS' if $1 else 'FAIL')" 2>/dev/null || echo "?"; }

SUMMARY="$WORK/summary.txt"
: >"$SUMMARY"
target() { printf '%-52s %-24s %-22s %s\n' "$1" "$2" "$3" "$4" >>"$SUMMARY"; }

# measure_corpus LABEL DIR
measure_corpus() {
    local label="$1" dir="$2"
    local line files mb
    line="$("$PARSE_ALL" -j 1 "$dir" 2>&1 >/dev/null | tail -n 1)"
    files="$(sed -n 's/^parse_all: \([0-9]*\) files, \([0-9.]*\) MB.*/\1/p' <<<"$line")"
    mb="$(sed -n 's/^parse_all: \([0-9]*\) files, \([0-9.]*\) MB.*/\2/p' <<<"$line")"
    if [[ -z "$files" || "$files" == 0 ]]; then
        echo "no files in $dir: skipped"
        return
    fi
    echo
    echo "== $label: $dir ($files files, $mb MB)"
    local full1 full2 parse1 parse2 full1_cpu full2_cpu parse1_cpu parse2_cpu
    local lint=("$KFPGUARD" --no-config --format json --fail-on never --output /dev/null)
    # The four runs whose ratios are judged, interleaved round by round (bench/interleave.py).
    local timings
    # Then the judged ratios, each the median of its per-round ratios (interleave.py
    # --ratio): full/parse-only at -j 1 and -j 2, and the speed-ups of both.
    timings="$(python3 "$ROOT/bench/interleave.py" "$RUNS" \
        --ratio 1/3 --ratio 2/4 --ratio 1/2 --ratio 3/4 \
        "$(printf '%q ' "${lint[@]}" -j 1 "$dir")" "$(printf '%q ' "${lint[@]}" -j 2 "$dir")" \
        "$(printf '%q ' "$PARSE_ALL" -q -j 1 "$dir")" "$(printf '%q ' "$PARSE_ALL" -q -j 2 "$dir")")" \
        || timings="$(printf 'nan nan nan\n%.0s' 1 2 3 4 5 6 7 8)"
    # Each ratio with the 90 % interval of its median (how far another set of rounds could
    # move it on this host).
    local ratio1 ratio2 speedup speedup_parse ratio1_low ratio1_high ratio2_low ratio2_high speedup_low speedup_high
    local full1_min parse1_min
    { read -r full1 full1_cpu full1_min; read -r full2 full2_cpu _; read -r parse1 parse1_cpu parse1_min; read -r parse2 parse2_cpu _
      read -r ratio1 ratio1_low ratio1_high; read -r ratio2 ratio2_low ratio2_high
      read -r speedup speedup_low speedup_high; read -r speedup_parse _ _; } <<<"$timings"

    local instructions_full=n/a instructions_parse=n/a
    if [[ "$INSTRUCTIONS" != 0 ]]; then
        instructions_full="$(instructions "${lint[@]}" -j 1 "$dir")"
        instructions_parse="$(instructions "$PARSE_ALL" -q -j 1 "$dir")"
    fi

    echo "-- stages (examples/stages.rs, 1 thread, in-process)"
    "$STAGES" "$dir" | sed 's/^/   /'

    echo "-- peak RSS: corpus copied 1x and 10x (hard links)"
    rm -rf "$WORK/x10"
    mkdir -p "$WORK/x10"
    for i in $(seq 1 10); do cp -al "$dir" "$WORK/x10/copy-$i"; done
    local rss_json1 rss_json10 rss_sarif1 rss_sarif10 rss_pretty1 rss_pretty10 rss_parse1 rss_parse10
    read -r rss_json1 rss_json10 <<<"$(rss_pair "$dir" "$KFPGUARD" --no-config -j 2 --format json --fail-on never -o /dev/null)"
    read -r rss_sarif1 rss_sarif10 <<<"$(rss_pair "$dir" "$KFPGUARD" --no-config -j 2 --format sarif --fail-on never -o /dev/null)"
    read -r rss_pretty1 rss_pretty10 <<<"$(rss_pair "$dir" "$KFPGUARD" --no-config -j 2 --format pretty --color never --fail-on never -o /dev/null)"
    read -r rss_parse1 rss_parse10 <<<"$(rss_pair "$dir" "$PARSE_ALL" -q -j 2)"
    # 20x (the 10x copies twice): what one more file costs once the allocator has settled.
    local rss_json20=skipped rss_parse20=skipped
    if [[ "$rss_json10" != skipped && "$rss_parse10" != skipped ]]; then
        rss_json20="$(peak_rss "$KFPGUARD" --no-config -j 2 --format json --fail-on never -o /dev/null "$WORK/x10" "$WORK/x10")"
        rss_parse20="$(peak_rss "$PARSE_ALL" -q -j 2 "$WORK/x10" "$WORK/x10")"
    fi
    rm -rf "$WORK/x10"

    {
        echo "-- $label: measured (wall = median of $RUNS interleaved runs; cpu = user+sys)"
        printf '   %-40s %10s %10s %10s %10s\n' "" "wall s" "cpu s" "files/s" "MB/s"
        row() { printf '   %-40s %10s %10s %10s %10s\n' "$1" "$2" "$3" "$(calc "$files / $2")" "$(calc "$mb / $2")"; }
        row "full lint -j 1 (--format json)" "$full1" "$full1_cpu"
        row "full lint -j 2 (--format json)" "$full2" "$full2_cpu"
        row "parse-only -j 1 (examples/parse_all)" "$parse1" "$parse1_cpu"
        row "parse-only -j 2 (examples/parse_all)" "$parse2" "$parse2_cpu"
        # Ratios: median of the per-round ratios (of the medians in brackets).
        # Of the fastest runs too: on the benchmark VM the lint's own work (more of it waits on
        # memory) gained less than parsing when the host ran fast, so a quiet host may read
        # higher than the per-round median (docs/performance.md, session 13).
        printf '   %-40s %10s (90 %% interval %s-%s; of medians %s; cpu %s; of the fastest runs %s)\n' "full / parse-only, -j 1" "$(calc "$ratio1")" \
            "$(calc "$ratio1_low")" "$(calc "$ratio1_high")" "$(calc "$full1 / $parse1")" "$(calc "$full1_cpu / $parse1_cpu")" "$(calc "$full1_min / $parse1_min")"
        printf '   %-40s %10s (90 %% interval %s-%s; of medians %s; cpu %s)\n' "full / parse-only, -j 2" "$(calc "$ratio2")" \
            "$(calc "$ratio2_low")" "$(calc "$ratio2_high")" "$(calc "$full2 / $parse2")" "$(calc "$full2_cpu / $parse2_cpu")"
        # What the lint adds to parsing, in time: the ratio also moves when the parser gets
        # faster (its denominator), this does not.
        printf '   %-40s %10s (of medians; cpu %s ms)\n' "full - parse-only, -j 1, ms" "$(calc "($full1 - $parse1) * 1000")" "$(calc "($full1_cpu - $parse1_cpu) * 1000")"
        if [[ "$INSTRUCTIONS" != 0 ]]; then
            printf '   %-40s %10s (%s M / %s M instructions)\n' "full / parse-only, -j 1, instructions" \
                "$(calc "$instructions_full / $instructions_parse")" "$(calc "$instructions_full / 1e6")" "$(calc "$instructions_parse / 1e6")"
        fi
        printf '   %-40s %10s (90 %% interval %s-%s; of medians %s)\n' "speed-up -j 1 -> -j 2 (full lint)" "$(calc "$speedup")x" \
            "$(calc "$speedup_low")" "$(calc "$speedup_high")" "$(calc "$full1 / $full2")x"
        printf '   %-40s %10s (of medians %s)\n' "speed-up -j 1 -> -j 2 (parse-only)" "$(calc "$speedup_parse")x" "$(calc "$parse1 / $parse2")x"
        printf '   %-40s %10s %10s\n' "peak RSS MB, -j 2" "1x" "10x"
        printf '   %-40s %10s %10s\n' "  (growth rows: 1x -> 10x, 10x -> 20x)" "" ""
        printf '   %-40s %10s %10s\n' "  kfpguard --format json" "$rss_json1" "$rss_json10"
        printf '   %-40s %10s %10s\n' "  kfpguard --format sarif" "$rss_sarif1" "$rss_sarif10"
        printf '   %-40s %10s %10s\n' "  kfpguard --format pretty" "$rss_pretty1" "$rss_pretty10"
        printf '   %-40s %10s %10s\n' "  parse-only" "$rss_parse1" "$rss_parse10"
        printf '   %-40s %10s %10s\n' "  kfpguard --format json, 20x" "$rss_json20" ""
        printf '   %-40s %10s %10s\n' "  parse-only, 20x" "$rss_parse20" ""
        # What each extra file costs: neither keeps a list of inputs (discovery is lazy),
        # the report's per-file entries are spooled to disk past 1,024 files, findings are
        # not kept. From 1x to 10x big files can meet in the two workers more often; from
        # 10x to 20x only what is kept per file remains.
        printf '   %-40s %10s %10s\n' "  growth per extra file, KB (json)" "$(calc "($rss_json10 - $rss_json1) * 1024 / (9 * $files)")" "$(calc "($rss_json20 - $rss_json10) * 1024 / (10 * $files)")"
        printf '   %-40s %10s %10s\n' "  growth per extra file, KB (parse-only)" "$(calc "($rss_parse10 - $rss_parse1) * 1024 / (9 * $files)")" "$(calc "($rss_parse20 - $rss_parse10) * 1024 / (10 * $files)")"
    } | tee -a "$WORK/$label.table"

    if [[ "$label" == "$TARGET_CORPUS" ]]; then
        target "[judged on: $label]" "" "" ""
        target "full / parse-only (-j 1 wall; 90 % interval)" "<= 1.3" "$(calc "$ratio1") ($(calc "$ratio1_low")-$(calc "$ratio1_high"))" "$(verdict "$ratio1 <= 1.3")"
        target "speed-up -j 1 -> -j 2 (host ceiling ${CEILING:-?}x)" ">= 1.7x" "$(calc "$speedup")x" "$(verdict "$speedup >= 1.7")"
        local worst1 worst10
        worst1="$(calc "max($rss_json1, $rss_sarif1, $rss_pretty1)")"
        worst10="$(calc "max($rss_json10, $rss_sarif10, $rss_pretty10)")"
        target "peak RSS, worst format, MB" "<= 64" "$worst1" "$(verdict "$worst1 <= 64")"
        if [[ "$worst10" == n/a ]]; then
            target "peak RSS at 10x the files, MB (flat: <= 1.25x)" "flat" "skipped" "FAIL"
        else
            target "peak RSS at 10x the files, MB (flat: <= 1.25x)" "flat" "$worst10" "$(verdict "$worst10 <= 1.25 * $worst1")"
        fi
        if [[ "$rss_json20" != skipped ]]; then
            local grow grow_parse
            grow="$(calc "($rss_json20 - $rss_json10) * 1024 / (10 * $files)")"
            grow_parse="$(calc "($rss_parse20 - $rss_parse10) * 1024 / (10 * $files)")"
            target "RSS per extra file 10x->20x, KB (parse-only $grow_parse)" "<= parse-only + 0.25" "$grow" "$(verdict "$grow <= $grow_parse + 0.25")"
        fi
    fi
}

# The targets are judged on the real corpus, or on the generated one when it is absent.
TARGET_CORPUS=generated
[[ -d "$CORPUS" ]] && TARGET_CORPUS=corpus

echo
echo "== generating $FILES files from fixtures/ (5 KB .. 1 MB)"
python3 "$ROOT/bench/gen_corpus.py" corpus "$ROOT/fixtures" "$WORK/generated" --count "$FILES"
measure_corpus generated "$WORK/generated"

if [[ -d "$CORPUS" ]]; then
    measure_corpus corpus "$(cd "$CORPUS" && pwd)"
else
    echo
    echo "== corpus: $CORPUS not found: skipped (set KFPGUARD_BENCH_CORPUS or --corpus)"
fi

echo
echo "== single file: 1 MB vs 10 MB (grown from ${SINGLE_FIXTURE#"$ROOT"/})"
python3 "$ROOT/bench/gen_corpus.py" single "$SINGLE_FIXTURE" "$WORK/one-1mb.yaml" --size 1000000
python3 "$ROOT/bench/gen_corpus.py" single "$SINGLE_FIXTURE" "$WORK/one-10mb.yaml" --size 10000000
single_lint=("$KFPGUARD" --no-config -j 1 --format json --fail-on never -o /dev/null)
singles="$(python3 "$ROOT/bench/interleave.py" "$RUNS" \
    "$(printf '%q ' "${single_lint[@]}" "$WORK/one-1mb.yaml")" "$(printf '%q ' "${single_lint[@]}" "$WORK/one-10mb.yaml")" \
    "$(printf '%q ' "$PARSE_ALL" -q "$WORK/one-1mb.yaml")" "$(printf '%q ' "$PARSE_ALL" -q "$WORK/one-10mb.yaml")")" \
    || singles="$(printf 'nan nan\n%.0s' 1 2 3 4)"
{ read -r one1 _; read -r one10 _; read -r pone1 _; read -r pone10 _; } <<<"$singles"
printf '   %-40s %10s %10s %10s\n' "" "1 MB s" "10 MB s" "ratio"
printf '   %-40s %10s %10s %10s\n' "full lint -j 1" "$one1" "$one10" "$(calc "$one10 / $one1")"
printf '   %-40s %10s %10s %10s\n' "parse-only" "$pone1" "$pone10" "$(calc "$pone10 / $pone1")"
target "10 MB file time / 1 MB file time" "<= 12" "$(calc "$one10 / $one1")" "$(verdict "$one10 / $one1 <= 12")"

if [[ "$CRITERION" != 0 ]]; then
    echo
    echo "== rendering 10,000 findings (criterion: cargo bench --bench pipeline -- render_10k)"
    cargo bench --quiet --bench pipeline -- render_10k --warm-up-time 1 --measurement-time 3 2>/dev/null \
        | tee "$WORK/criterion.txt" | grep -E 'render_10k/|time:' | sed 's/^/   /'
    for format in json sarif; do
        # "render_10k/json   time:   [12.1 ms 12.3 ms 12.5 ms]" -> the middle estimate, in ms.
        ms="$(python3 - "$WORK/criterion.txt" "$format" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
match = re.search(r"render_10k/" + sys.argv[2] + r"\s+time:\s+\[\S+ \S+ (\S+) (\S+)", text)
if not match:
    print("n/a")
else:
    value, unit = float(match.group(1)), match.group(2)
    print(f"{value * {'ns': 1e-6, 'µs': 1e-3, 'us': 1e-3, 'ms': 1.0, 's': 1e3}.get(unit, float('nan')):.1f}")
EOF
)"
        target "render 10,000 findings as $format, ms" "< 50" "$ms" "$(verdict "$ms < 50")"
    done
fi

echo
echo "== targets (docs/performance.md)"
printf '%-52s %-24s %-22s %s\n' "target" "goal" "measured" "" 
cat "$SUMMARY"
