#!/usr/bin/env python3
"""Compare builds of sigrun (or any programs) on the same command, alternating them run by run
so that changes in the machine's load fall on both alike.

    scripts/ab.py RUNS ARGS... -- BINARY_A BINARY_B [...]

Prints, per binary, the median and minimum CPU seconds (user + sys of the child) and wall
seconds. Standard output and error of the runs are discarded.

Example (as in BENCHMARKS.md):

    scripts/ab.py 11 hunt -q --progress never --no-summary -f jsonl -j 1 \\
        -r ../shared/corpus/sigma/rules/windows ../shared/corpus/evtx-attack-samples \\
        -- /tmp/sigrun-before target/release/sigrun
"""
import resource
import statistics
import subprocess
import sys
import time


def main() -> None:
    argv = sys.argv[1:]
    if "--" not in argv or len(argv) < 3:
        sys.exit(__doc__)
    sep = argv.index("--")
    runs, args, binaries = int(argv[0]), argv[1:sep], argv[sep + 1:]
    results = {b: [] for b in binaries}
    for _ in range(runs):
        for binary in binaries:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run([binary, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            results[binary].append((cpu, wall))
    for binary, times in results.items():
        cpu = [c for c, _ in times]
        wall = [w for _, w in times]
        print(
            f"{binary}: CPU median {statistics.median(cpu):.3f} min {min(cpu):.3f} | "
            f"wall median {statistics.median(wall):.3f} min {min(wall):.3f}"
        )


if __name__ == "__main__":
    main()
