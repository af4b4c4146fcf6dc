#!/usr/bin/env python3
"""Hunt benchmarks for BENCHMARKS.md: sigrun hunt against the parse floor, in the same run.

The floor is `crates/logs/examples/floor.rs`: the `evtx` crate rendering every record of the
same files to JSON strings in one process, with the same thread count. Each figure is the
median of --runs runs of CPU seconds (user + sys) and wall seconds, from the kernel's
accounting of each child (`wait4`, microseconds; `/usr/bin/time` rounds to hundredths, too
coarse for runs of a few hundredths), and the peak resident memory of one more run, which
`/usr/bin/time` measures (a child's own peak after `exec` starts from the Python parent's). The floor and the hunt it is
compared with are run alternately, so that both see the machine in the same state (on a
shared VM the speed of memory-bound work drifts by tens of percent within minutes).

    scripts/bench_hunt.py [--runs 5] [--shared ../shared] [--skip-build] [--steady 20]

End to end is measured twice: parsing and compiling every rule (`--no-cache`) and with warm
caches, the parse cache and the compiled-rule cache (in a temporary folder of the run). Reads the shared corpus in place; prints one line
and exits 0 when it is absent.
"""

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd):
    """Runs cmd; returns (cpu seconds, wall seconds, stdout)."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        stdout = out.read()
    if code not in (0, 1, 3, 4):
        sys.exit(f"failed ({code}): {' '.join(map(str, cmd))}")
    return usage.ru_utime + usage.ru_stime, wall, stdout


def peak_mib(cmd):
    """The peak resident memory of one run of cmd, in MiB."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        subprocess.run(
            ["/usr/bin/time", "-o", t.name, "-f", "%M"] + cmd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return int(t.read().split()[-1]) / 1024


def summary(results, cmd):
    """(median CPU s, median wall s, peak MiB, stdout of the last run)."""
    cpu = statistics.median(r[0] for r in results)
    wall = statistics.median(r[1] for r in results)
    return cpu, wall, peak_mib(cmd), results[-1][2]


def median_of(runs, cmd):
    return summary([timed(cmd) for _ in range(runs)], cmd)


def paired(runs, floor_cmd, hunt_cmd):
    """Medians of the floor and of the hunt, run one after the other `runs` times."""
    floors, hunts = [], []
    for _ in range(runs):
        floors.append(timed(floor_cmd))
        hunts.append(timed(hunt_cmd))
    return summary(floors, floor_cmd), summary(hunts, hunt_cmd)


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--shared", default=os.environ.get("SIGRUN_SHARED", str(ROOT.parent / "shared")))
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--steady", type=int, default=20, help="copies of the corpus for the steady-state run (0: skip)")
    args = parser.parse_args()

    shared = Path(args.shared)
    evtx = shared / "corpus/evtx-attack-samples"
    rules = shared / "corpus/sigma/rules/windows"
    if not evtx.is_dir() or not rules.is_dir():
        print(f"skipped: no shared corpus at {shared}")
        return
    if not args.skip_build:
        subprocess.run(["cargo", "build", "--release", "-p", "sigrun", "-p", "sigrun-logs", "--example", "floor"], cwd=ROOT, check=True)
        subprocess.run(["cargo", "build", "--release", "-p", "sigrun"], cwd=ROOT, check=True)
    sigrun = ROOT / "target/release/sigrun"
    floor = ROOT / "target/release/examples/floor"

    print(f"machine: {machine()}")
    print(f"runs per figure: {args.runs} (median CPU s = user+sys, median wall s, peak RSS MiB)\n")

    def hunt(threads, rules_dir, logs, extra=()):
        cmd = [str(sigrun), "hunt", "-q", "--progress", "never", "--no-summary", "-f", "jsonl", "-j", str(threads), "-r", str(rules_dir)]
        return cmd + list(extra) + [str(p) for p in logs]

    # The caches live in a folder of this run: "cold" parses and compiles every rule
    # (--no-cache), "warm" reads the parsed rules and the compiled rule set from the caches
    # that one untimed run filled.
    cache_dir = tempfile.TemporaryDirectory()
    os.environ["SIGRUN_CACHE_DIR"] = cache_dir.name
    timed(hunt(1, rules, [evtx]))

    rows = []
    for threads in (1, 2):
        floor_cmd = [str(floor), "--threads", str(threads), str(evtx)]
        for name, extra in (("cold", ["--no-cache"]), ("warm caches", [])):
            f, h = paired(args.runs, floor_cmd, hunt(threads, rules, [evtx], extra))
            alerts = h[3].count(b"\n")
            rows.append((f"end to end, {threads} thread(s), {name}", f, h, alerts))

    # Scaling with the rule count: the first N rule files in path order.
    files = sorted(p for p in rules.rglob("*.yml"))
    scaling = []
    for count in (100, 1000, len(files)):
        with tempfile.TemporaryDirectory() as tmp:
            for i, src in enumerate(files[:count]):
                shutil.copy(src, Path(tmp) / f"{i:05d}_{src.name}")
            h = median_of(args.runs, hunt(1, tmp, [evtx], ["--no-cache"]))
        scaling.append((count, h))

    steady = []
    if args.steady:
        with tempfile.TemporaryDirectory() as tmp:
            copies = [Path(tmp) / f"copy{i:02d}" for i in range(args.steady)]
            for c in copies:
                os.symlink(evtx, c)
            # The copies repeat the same records, so the scan memo (values seen before are not
            # searched again) answers copies 2..N from memory: the rows without it compare like
            # with like against earlier runs.
            runs = max(1, args.runs // 2)
            for threads in (1, 2):
                floor_cmd = [str(floor), "--threads", str(threads)] + [str(c) for c in copies]
                f, h = paired(runs, floor_cmd, hunt(threads, rules, copies))
                steady.append((f"{threads} thread(s)", f, h))
                f, h = paired(runs, floor_cmd, hunt(threads, rules, copies, ["--scan-memo", "0"]))
                steady.append((f"{threads} thread(s), --scan-memo 0", f, h))

    print("| run | floor CPU s | floor wall s | hunt CPU s | hunt wall s | hunt CPU / floor CPU | hunt wall / floor wall | hunt peak MiB | alerts |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, f, h, alerts in rows:
        print(f"| {name} | {f[0]:.3f} | {f[1]:.3f} | {h[0]:.3f} | {h[1]:.3f} | {h[0]/f[0]:.2f}x | {h[1]/f[1]:.2f}x | {h[2]:.0f} | {alerts} |")
    for threads, f, h in steady:
        alerts = h[3].count(b"\n")
        print(f"| steady state, corpus x{args.steady}, {threads} | {f[0]:.3f} | {f[1]:.3f} | {h[0]:.3f} | {h[1]:.3f} | {h[0]/f[0]:.2f}x | {h[1]/f[1]:.2f}x | {h[2]:.0f} | {alerts} |")
    print()
    print("| rules (cold) | hunt CPU s (1 thread) | hunt wall s | peak MiB |")
    print("| ---: | ---: | ---: | ---: |")
    for count, h in scaling:
        print(f"| {count} | {h[0]:.3f} | {h[1]:.3f} | {h[2]:.0f} |")


if __name__ == "__main__":
    main()
