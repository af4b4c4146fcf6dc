#!/usr/bin/env python3
"""Per-rule detection counts of sigrun and rsigma on the same EVTX files, side by side.

rsigma (the Rust Sigma engine, `cargo install rsigma@0.23.0 --no-default-features --features evtx`,
not installed by CI) reads one EVTX file per process, so it runs once per file, two at a time.
sigrun runs once over the folder. Matches are counted per (rule id, file) and every rule
whose counts differ is printed with the files where they differ, for the issue note.

    scripts/compare_rsigma.py --rsigma /path/to/rsigma [--pipeline sysmon] [--routing] [--jq FILTER]
        [--shared ../shared] [--sigrun target/release/sigrun] [--json out.json]

Reads the shared corpus in place; prints one line and exits 0 when it or rsigma is absent.
"""

import argparse
import collections
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rsigma_counts(rsigma, rules, files, pipeline, routing, jq):
    """(rule id, file) -> matches, plus the CPU seconds rsigma used and its failures."""

    def one(path):
        cmd = [rsigma, "engine", "eval", "-r", str(rules), "-e", f"@{path}"]
        if pipeline:
            cmd += ["-p", pipeline]
        if routing:
            cmd += ["--logsource-routing"]
        if jq:
            cmd += ["--jq", jq]
        started = os.times()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ended = os.times()
        cpu = (ended.children_user - started.children_user) + (ended.children_system - started.children_system)
        ids = []
        for line in proc.stdout.splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            ids.append(record.get("rule_id") or record.get("rule_title"))
        failed = proc.returncode not in (0, 1) and not ids
        return path, ids, cpu, (proc.stderr.strip().splitlines() or [""])[-1] if failed else None

    counts = collections.Counter()
    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for path, ids, _cpu, failure in pool.map(one, files):
            for rule_id in ids:
                counts[(rule_id, str(path))] += 1
            if failure is not None:
                failures.append((str(path), failure))
    return counts, failures


def sigrun_counts(sigrun, rules, evtx):
    cmd = [sigrun, "hunt", "-q", "--progress", "never", "--no-summary", "-f", "jsonl", "-r", str(rules), str(evtx)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    counts = collections.Counter()
    for line in proc.stdout.splitlines():
        alert = json.loads(line)
        counts[(alert["rule"]["id"], alert["file"])] += 1
    return counts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rsigma", default=shutil.which("rsigma"))
    parser.add_argument("--pipeline", help="rsigma pipeline (built-in name such as sysmon, or a file)")
    parser.add_argument("--routing", action="store_true", help="rsigma --logsource-routing")
    # rsigma matches rule fields against the event's top-level keys; EVTX records nest them
    # under Event.System and Event.EventData, so they are lifted to the top as sigrun does.
    parser.add_argument("--jq", default=".Event.System + (.Event.EventData // {})", help="rsigma --jq ('' for none)")
    parser.add_argument("--shared", default=os.environ.get("SIGRUN_SHARED", str(ROOT.parent / "shared")))
    parser.add_argument("--sigrun", default=str(ROOT / "target/release/sigrun"))
    parser.add_argument("--json", help="write the per-rule comparison here")
    args = parser.parse_args()

    shared = Path(args.shared)
    evtx = shared / "corpus/evtx-attack-samples"
    rules = shared / "corpus/sigma/rules/windows"
    if not evtx.is_dir() or not rules.is_dir():
        print(f"skipped: no shared corpus at {shared}")
        return
    if not args.rsigma or not Path(args.rsigma).exists():
        print("skipped: rsigma is not installed (--rsigma PATH)")
        return
    files = sorted(p for p in evtx.rglob("*") if p.suffix.lower() == ".evtx")

    started = time.monotonic()
    ours = sigrun_counts(args.sigrun, rules, evtx)
    ours_wall = time.monotonic() - started
    started = time.monotonic()
    theirs, failures = rsigma_counts(args.rsigma, rules, files, args.pipeline, args.routing, args.jq)
    theirs_wall = time.monotonic() - started

    by_rule = collections.defaultdict(lambda: [0, 0, []])
    for (rule_id, path), n in ours.items():
        by_rule[rule_id][0] += n
    for (rule_id, path), n in theirs.items():
        by_rule[rule_id][1] += n
    for key in set(ours) | set(theirs):
        if ours[key] != theirs[key]:
            by_rule[key[0]][2].append((os.path.relpath(key[1], evtx), ours[key], theirs[key]))

    titles = {}
    for path in rules.rglob("*.yml"):
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("id:"):
                titles[line[3:].strip()] = path.name
                break

    differing = {k: v for k, v in by_rule.items() if v[2]}
    print(f"sigrun: {sum(ours.values())} matches of {len({k for k, _ in ours})} rules, {ours_wall:.1f} s wall")
    print(
        f"rsigma: {sum(theirs.values())} matches of {len({k for k, _ in theirs})} rules, {theirs_wall:.1f} s wall "
        f"({len(files)} processes, pipeline {args.pipeline or 'none'}, routing {'on' if args.routing else 'off'}, jq {args.jq!r})"
    )
    print(f"rules with different counts: {len(differing)}; rsigma failures: {len(failures)}")
    for path, message in failures[:10]:
        print(f"  rsigma failed on {path}: {message}")
    for rule_id, (a, b, where) in sorted(differing.items(), key=lambda kv: -abs(kv[1][0] - kv[1][1])):
        print(f"{titles.get(rule_id, rule_id)}: sigrun {a}, rsigma {b}")
        for path, x, y in sorted(where)[:4]:
            print(f"    {path}: sigrun {x}, rsigma {y}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {rid: {"file": titles.get(rid), "sigrun": a, "rsigma": b, "differ": w} for rid, (a, b, w) in by_rule.items()},
                indent=1,
                sort_keys=True,
            )
        )


if __name__ == "__main__":
    sys.exit(main())
