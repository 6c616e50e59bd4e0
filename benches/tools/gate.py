#!/usr/bin/env python3
"""gate.py: the design's ratios from one run, against its targets and against a committed baseline.

  gate.py RESULTS.json --baseline benches/baseline.json [--threshold 0.25] [--json OUT] [--markdown OUT]
  gate.py RESULTS.json --baseline benches/baseline.json --update-baseline [--machine TEXT]

Every ratio divides two measurements of the same run, so the machine's speed cancels out. For each
ratio the table shows the value, the design's target with PASS or MISS (reported, never fatal), the
baseline and the change. The gate fails (exit 1) only on a regression: a ratio worse than its baseline
by more than the threshold (the baseline's, unless --threshold is given; a ratio may carry its own) in
its `better` direction. Ratios that could not be computed (no KVM here) read "not measured"; ratios
from an emulated run (QEMU TCG) are shown but never gated. python3 standard library only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gbench  # noqa: E402


def evaluate(ms, baseline: dict, threshold: float | None):
    rows = []
    base_ratios = baseline.get("ratios", {})
    for r in gbench.RATIOS:
        v = r.value(ms)
        row = {"key": r.key, "title": r.title, "formula": r.formula, "value": v, "better": r.better,
               "target": f"{r.target[0]} {r.target[1]:g}" if r.target else "", "design": "", "baseline": None,
               "change": None, "gate": "", "emulated": False}
        b = base_ratios.get(r.key)
        if b is not None:
            row["baseline"] = float(b["value"])
        if v is None:
            row["design"] = "n/a" if r.target else ""
            row["gate"] = "not measured"
            rows.append(row)
            continue
        row["emulated"] = r.emulated(ms)
        if r.target:
            row["design"] = "PASS" if r.meets(v) else "MISS"
        if row["baseline"]:
            row["change"] = v / row["baseline"] - 1.0
        if row["emulated"]:
            row["gate"] = "emulated: not gated"
        elif r.better is None or row["baseline"] is None:
            row["gate"] = "info" if r.better is None else "no baseline"
        else:
            thr = threshold if threshold is not None else float(b.get("threshold", baseline.get("threshold", 0.25)))
            worse = row["change"] > thr if r.better == "lower" else row["change"] < -thr
            row["gate"] = f"REGRESSION (> {thr:.0%} worse)" if worse else "ok"
        rows.append(row)
    return rows


def fmt(v, spec=".3g"):
    return "-" if v is None else format(v, spec)


def table(rows) -> str:
    head = ["ratio", "value", "target", "design", "baseline", "change", "gate"]
    body = [[r["key"], fmt(r["value"]), r["target"] or "-", r["design"] or "-", fmt(r["baseline"]),
             "-" if r["change"] is None else f"{r['change']:+.0%}", r["gate"]] for r in rows]
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(b) for b in body])


def markdown(rows) -> str:
    out = ["| ratio | how | value | target | design | baseline | change | gate |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        out.append(f"| `{r['key']}` | {r['title']} | {fmt(r['value'])} | {r['target'] or '-'} | "
                   f"{r['design'] or '-'} | {fmt(r['baseline'])} | "
                   f"{'-' if r['change'] is None else format(r['change'], '+.0%')} | {r['gate']} |")
    return "\n".join(out) + "\n"


def main(argv) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results")
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--threshold", type=float, help="relative regression allowed (0.25 = 25%%)")
    ap.add_argument("--json", help="write the evaluated ratios here")
    ap.add_argument("--markdown", help="write the table as Markdown here")
    ap.add_argument("--update-baseline", action="store_true",
                    help="write this run's (native) ratios into the baseline instead of gating")
    ap.add_argument("--machine", default="", help="with --update-baseline: what machine the run came from")
    args = ap.parse_args(argv)

    doc = gbench.load(args.results)
    ms = gbench.measurements(doc)
    try:
        with open(args.baseline, encoding="utf-8") as f:
            baseline = json.load(f)
    except FileNotFoundError:
        baseline = {"threshold": 0.25, "ratios": {}}
    rows = evaluate(ms, baseline, args.threshold)

    if args.update_baseline:
        ratios = baseline.setdefault("ratios", {})
        updated = 0
        for r in rows:
            if r["value"] is None or r["emulated"]:
                continue
            entry = ratios.setdefault(r["key"], {})
            entry["value"] = round(r["value"], 4)
            entry["source"] = f"{doc['context'].get('date', '')} {args.machine}".strip()
            updated += 1
        baseline["updated"] = datetime.date.today().isoformat()
        with open(args.baseline, "w", encoding="utf-8") as f:
            json.dump(baseline, f, indent=2)
            f.write("\n")
        print(f"gate.py: {updated} ratios written to {args.baseline}")
        return 0

    print(table(rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"context": doc.get("context", {}), "ratios": rows}, f, indent=2)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(markdown(rows))
    misses = [r["key"] for r in rows if r["design"] == "MISS"]
    regressions = [r["key"] for r in rows if r["gate"].startswith("REGRESSION")]
    unmeasured = [r["key"] for r in rows if r["gate"] == "not measured"]
    print()
    if unmeasured:
        print(f"gate.py: not measured in this run ({len(unmeasured)}): {', '.join(unmeasured)}")
    if misses:
        print(f"gate.py: design targets missed (reported, not fatal): {', '.join(misses)}")
    if regressions:
        print(f"gate.py: REGRESSION against {args.baseline}: {', '.join(regressions)}")
        return 1
    print("gate.py: no regression against the baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
