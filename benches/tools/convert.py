#!/usr/bin/env python3
"""convert.py: Google Benchmark JSON -> the formats benchmark dashboards read.

  convert.py RESULTS.json [--github OUT.json] [--bencher OUT.json]

--github   github-action-benchmark `customSmallerIsBetter`: a list of {name, unit, value, range, extra},
           one per benchmark (median real time in the benchmark's own unit), plus the per-sandbox
           memory of the memory benchmarks (unit KiB). Every entry is smaller-is-better.
--bencher  Bencher Metric Format: {name: {latency: {value, lower_value, upper_value}}} in nanoseconds
           (median, and median -/+ one standard deviation across repetitions), plus `bytes-per-second`
           for benchmarks with a byte rate and `private-memory-kib` for the memory benchmarks.
Benchmarks that were skipped (no KVM) are left out. Names from emulated runs get the suffix
" [emulated]" so they never mix with native series on a dashboard. python3 standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gbench  # noqa: E402


def display_name(m: gbench.Measurement) -> str:
    return m.name + (" [emulated]" if m.emulated else "")


def github_entries(ms: dict[str, gbench.Measurement]) -> list[dict]:
    out = []
    for name in sorted(ms):
        m = ms[name]
        div = gbench.NS_PER.get(m.time_unit, 1.0)
        out.append({
            "name": display_name(m),
            "unit": m.time_unit,
            "value": round(m.time_ns / div, 6),
            "range": f"± {m.stddev_ns / div:.6g}",
            "extra": f"median of {m.repetitions} repetition(s); run: {m.run}",
        })
        if "private_dirty_per_sandbox_kib" in m.counters:
            out.append({
                "name": display_name(m) + " private memory per sandbox",
                "unit": "KiB",
                "value": round(float(m.counters["private_dirty_per_sandbox_kib"]), 3),
                "extra": "Private_Dirty growth per sandbox (/proc/self/smaps_rollup)",
            })
    return out


def bencher_doc(ms: dict[str, gbench.Measurement]) -> dict:
    out = {}
    for name in sorted(ms):
        m = ms[name]
        entry = {"latency": {"value": m.time_ns, "lower_value": max(0.0, m.time_ns - m.stddev_ns),
                             "upper_value": m.time_ns + m.stddev_ns}}
        if "bytes_per_second" in m.counters:
            entry["bytes-per-second"] = {"value": float(m.counters["bytes_per_second"])}
        if "private_dirty_per_sandbox_kib" in m.counters:
            entry["private-memory-kib"] = {"value": float(m.counters["private_dirty_per_sandbox_kib"])}
        out[display_name(m)] = entry
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results")
    ap.add_argument("--github", help="write github-action-benchmark customSmallerIsBetter JSON here")
    ap.add_argument("--bencher", help="write Bencher Metric Format JSON here")
    args = ap.parse_args(argv)
    ms = gbench.measurements(gbench.load(args.results))
    if not ms:
        print(f"convert.py: {args.results} holds no successful benchmark", file=sys.stderr)
    if args.github:
        with open(args.github, "w", encoding="utf-8") as f:
            json.dump(github_entries(ms), f, indent=2)
    if args.bencher:
        with open(args.bencher, "w", encoding="utf-8") as f:
            json.dump(bencher_doc(ms), f, indent=2)
    print(f"convert.py: {len(ms)} benchmarks"
          + (f" -> {args.github}" if args.github else "") + (f" -> {args.bencher}" if args.bencher else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
