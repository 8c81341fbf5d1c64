#!/usr/bin/env python3
"""Times several commands in turn, round after round, and prints one line per command:
"median_wall_s median_cpu_s min_wall_s" (cpu = user + sys of the child; min = the fastest
run, the one least slowed down by the host).

Ratios between commands (full lint / parse-only, -j 1 / -j 2) are what the benchmark
judges. On a shared machine the speed of the host drifts over seconds; timing all runs of
one command and then all runs of the next (as hyperfine does) lets that drift into the
ratio, while interleaving exposes every command to the same conditions. Each round starts
with a different command, so no command always runs first.

With `--ratio I/J` (commands numbered from 1, repeatable) it also prints, after the
command lines, one line per ratio, "median low high": the median over rounds of command
I's wall time divided by command J's in the same round, then the low and high ends of a
90 % bootstrap interval of that median (not a ratio of the fastest runs: divide the two
commands' min_wall_s for that). The host drifts within a run of rounds as well (on the
benchmark VM one binary's median moved by a third between sets of runs); a ratio taken
within each round cancels what both commands met, which a ratio of the two medians does
not.

usage: interleave.py RUNS [--ratio I/J]... 'CMD 1' 'CMD 2' ...   (each command a shell-quoted string)
"""

import os
import random
import resource
import shlex
import statistics
import subprocess
import sys
import time


def run_once(argv):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    runs = int(sys.argv[1])
    arguments = sys.argv[2:]
    ratios = []
    while len(arguments) >= 2 and arguments[0] == "--ratio":
        numerator, _, denominator = arguments[1].partition("/")
        ratios.append((int(numerator) - 1, int(denominator) - 1))
        arguments = arguments[2:]
    commands = [shlex.split(command) for command in arguments]
    if any(not (0 <= index < len(commands)) for pair in ratios for index in pair):
        sys.exit("interleave.py: --ratio names a command that is not given")
    for argv in commands:  # warm-up: binaries and inputs in the page cache
        run_once(argv)
    walls = [[] for _ in commands]
    cpus = [[] for _ in commands]
    for round_number in range(runs):
        # Each round starts with the next command: a run's place in its round matters on
        # the benchmark VM (the second of two identical runs was 8 % slower in one set).
        first = round_number % len(commands)
        for index in list(range(first, len(commands))) + list(range(first)):
            wall, cpu = run_once(commands[index])
            walls[index].append(wall)
            cpus[index].append(cpu)
    for wall, cpu in zip(walls, cpus):
        print("%.4f %.4f %.4f" % (statistics.median(wall), statistics.median(cpu), min(wall)))
    for numerator, denominator in ratios:
        per_round = [a / b for a, b in zip(walls[numerator], walls[denominator])]
        print("%.4f %.4f %.4f" % (statistics.median(per_round), *interval(per_round)))


def interval(values, resamples=2000, seed=0):
    """A 90 % bootstrap interval of the median of `values`: how far another set of as many
    rounds could put it on this host. Seeded, so that the same timings print the same."""
    generator = random.Random(seed)
    medians = sorted(
        statistics.median(generator.choices(values, k=len(values))) for _ in range(resamples)
    )
    return medians[resamples // 20], medians[resamples - 1 - resamples // 20]


if __name__ == "__main__":
    os.environ.setdefault("LC_ALL", "C")
    main()
