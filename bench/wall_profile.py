#!/usr/bin/env python3
"""Where the full lint spends wall time that parsing alone does not: samples both with
`perf record -e cpu-clock` (a software clock, so it works in VMs without hardware
counters), then prints, per symbol, the lint's and parse-only's time in ms per run and
the difference, largest first.

callgrind counts instructions; this shows time, which is what the full / parse-only
target judges. On the benchmark VM the two disagree: the rules run at a lower rate of
instructions per cycle than the parser, and the parser itself runs slower inside the lint
than alone (its symbols show a positive difference), which no instruction count shows.

Usage: bench/wall_profile.py [--runs N] [--top K] [--freq HZ] [--lint-args ARGS] [CORPUS]
  CORPUS defaults to ../shared/corpus next to the repository. Builds the release binary
  and examples/parse_all first. Runs alternate (lint, parse-only, lint, ...) so that the
  host's drift reaches both alike. Symbols are those of the LTO release build: a function
  inlined into another is counted there (the read and parse loop is inlined into
  `Builder::run` and `lint_path` in kfpguard and into a closure of parse_all's `main`; all
  of them are counted under one label). Needs perf (Debian: linux-perf) and kernel.perf_event_paranoid <= 2.
"""

import argparse
import collections
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The same code under the names LTO gives it in each binary, counted under one label: the
# read and parse loop, inlined into different functions in the two (the lint's `lint_path`
# also holds some lint work LTO inlined there, and its `Builder::run` the embedded JSON).
READ_AND_PARSE = "[.] (read and parse loop: Builder::run, lint_path / parse_all closure)"
SAME_CODE = {
    "[.] kfpguard::yaml::Tree::parse": READ_AND_PARSE,
    "[.] kfpguard::yaml::Builder::run": READ_AND_PARSE,
    "[.] kfpguard::lint::lint_path": READ_AND_PARSE,
    "[.] parse_all::main::{{closure}}": READ_AND_PARSE,
}


def samples_by_symbol(data_file):
    report = subprocess.run(
        ["perf", "report", "-i", data_file, "--no-children", "--sort", "symbol", "-F", "sample,symbol", "--stdio"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    counts = collections.Counter()
    for line in report.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        count, _, rest = line.strip().partition(" ")
        # Columns after the symbol (padded, "-" when empty) vary in width between reports.
        symbol = re.split(r"\s{2,}", rest.strip())[0]
        if count.isdigit():
            counts[SAME_CODE.get(symbol, symbol)] += int(count)
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--freq", type=int, default=10000, help="samples per second")
    parser.add_argument("--lint-args", default="", help="more arguments for kfpguard, e.g. '--select privileged-container'")
    parser.add_argument("corpus", nargs="?", default=os.path.join(ROOT, "..", "shared", "corpus"))
    args = parser.parse_args()
    if shutil.which("perf") is None:
        sys.exit("wall_profile: perf not found (Debian: apt-get install linux-perf)")
    if not os.path.isdir(args.corpus):
        sys.exit(f"wall_profile: no corpus at {args.corpus}")
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--bin", "kfpguard", "--example", "parse_all"], cwd=ROOT, check=True
    )
    release = os.path.join(ROOT, "target", "release")
    commands = {
        "lint": [os.path.join(release, "kfpguard"), "-j", "1", "--format", "json", "-o", "/dev/null",
                 "--fail-on", "never", "--no-config", *shlex.split(args.lint_args), args.corpus],
        "parse-only": [os.path.join(release, "examples", "parse_all"), "-q", "-j", "1", args.corpus],
    }
    totals = {name: collections.Counter() for name in commands}
    with tempfile.TemporaryDirectory() as scratch:
        for run in range(args.runs):
            for name, command in commands.items():
                data = os.path.join(scratch, f"{name}-{run}.data")
                subprocess.run(
                    ["perf", "record", "-q", "-e", "cpu-clock", "-F", str(args.freq), "-o", data, "--", *command],
                    stdout=subprocess.DEVNULL,
                    check=True,
                )
                totals[name].update(samples_by_symbol(data))

    def per_run_ms(samples):
        return samples * 1000 / args.freq / args.runs

    lint, parse = totals["lint"], totals["parse-only"]
    lint_ms, parse_ms = per_run_ms(sum(lint.values())), per_run_ms(sum(parse.values()))
    print(f"lint {lint_ms:.1f} ms/run, parse-only {parse_ms:.1f} ms/run, ratio {lint_ms / parse_ms:.2f} "
          f"(under perf; {args.runs} runs each, {args.freq} Hz)")
    print(f"{'lint - parse':>12} {'lint':>8} {'parse':>8}  symbol (ms per run)")
    differences = sorted(set(lint) | set(parse), key=lambda symbol: parse[symbol] - lint[symbol])
    for symbol in differences[: args.top]:
        print(f"{per_run_ms(lint[symbol] - parse[symbol]):12.2f} {per_run_ms(lint[symbol]):8.2f} "
              f"{per_run_ms(parse[symbol]):8.2f}  {symbol[:100]}")


if __name__ == "__main__":
    main()
