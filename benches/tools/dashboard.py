#!/usr/bin/env python3
"""dashboard.py: a static HTML page of snapvm benchmark results, with SVG charts drawn here.

  dashboard.py RESULTS.json [MORE.json...] -o dashboard.html [--title TEXT]

Each input is one run (Google Benchmark JSON; ci/bench merges a run's binaries into one file). Runs are
ordered by their context.date; the latest run fills the charts, every run adds a point to the history.
Charts: cold start by heap size for each path (with the bare KVM floor), speedup of each snapshot path
over ELF init, the heavy-init guest's cold start by initialised state, cold start across runs (128 KiB and 256 MiB heaps), restore cost by dirty pages, digest
throughput against a plain read; then the design's ratios and every benchmark of the latest run. One
self-contained file: no JavaScript, no fonts or styles from the network; hover a point for its value
(SVG <title>); points measured under QEMU emulation are drawn hollow. python3 standard library only.
"""

from __future__ import annotations

import argparse
import datetime
import html
import math
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gbench  # noqa: E402

PATH_COLORS = {"elf": "#d62728", "snapshot_blake3": "#1f77b4", "snapshot_xxh3": "#2ca02c",
               "snapshot_unchecked": "#9467bd"}
PATH_LABELS = {"elf": "ELF init", "snapshot_blake3": "snapshot, BLAKE3 verified",
               "snapshot_xxh3": "snapshot, XXH3 verified", "snapshot_unchecked": "snapshot, unchecked"}
FLOOR_COLOR = "#444444"
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
HEAP_TITLES = {"128K": "128 KiB", "8M": "8 MiB", "64M": "64 MiB", "256M": "256 MiB"}

W, H = 560, 340
ML, MR, MT, MB = 70, 16, 40, 80  # margins: left, right, top, bottom (axis label and two legend rows)


def esc(s) -> str:
    return html.escape(str(s), quote=True)


# ---- scales and axes ----------------------------------------------------------------------------------

class Scale:
    """Maps values to pixels; log10 when `log`, with ticks at 1-2-5 steps or powers of ten."""

    def __init__(self, lo: float, hi: float, p0: float, p1: float, log: bool = False):
        self.log = log and lo > 0
        if self.log:
            lo, hi = 10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi))
            if lo == hi:
                hi = lo * 10
        else:
            lo = min(0.0, lo)
            if hi <= lo:
                hi = lo + 1
            step = nice_step((hi - lo) / 5)
            hi = math.ceil(hi / step) * step
        self.lo, self.hi, self.p0, self.p1 = lo, hi, p0, p1

    def __call__(self, v: float) -> float:
        if self.log:
            f = (math.log10(max(v, self.lo)) - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))
        else:
            f = (v - self.lo) / (self.hi - self.lo)
        return self.p0 + f * (self.p1 - self.p0)

    def ticks(self) -> list[float]:
        if self.log:
            e0, e1 = round(math.log10(self.lo)), round(math.log10(self.hi))
            return [10.0 ** e for e in range(e0, e1 + 1)]
        step = nice_step((self.hi - self.lo) / 5)
        n = int(round((self.hi - self.lo) / step))
        return [self.lo + i * step for i in range(n + 1)]


def nice_step(raw: float) -> float:
    if raw <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def fmt_ns(ns: float) -> str:
    return gbench.fmt_time(ns)


def fmt_num(v: float) -> str:
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


class Svg:
    def __init__(self, chart_id: str, title: str, desc: str = ""):
        self.id, self.title, self.desc = chart_id, title, desc
        self.parts: list[str] = []

    def add(self, s: str):
        self.parts.append(s)

    def render(self) -> str:
        head = (f'<svg id="{esc(self.id)}" class="chart" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
                f'viewBox="0 0 {W} {H}" role="img" aria-labelledby="{esc(self.id)}-title">'
                f'<title id="{esc(self.id)}-title">{esc(self.title)}</title>')
        if self.desc:
            head += f"<desc>{esc(self.desc)}</desc>"
        head += f'<rect class="frame" x="0" y="0" width="{W}" height="{H}" fill="#ffffff"/>'
        head += f'<text class="chart-title" x="{W / 2}" y="20" text-anchor="middle">{esc(self.title)}</text>'
        return head + "".join(self.parts) + "</svg>"


def axes(svg: Svg, ys: Scale, ylabel: str, yfmt, xlabels: list[str], xlabel: str) -> list[float]:
    """Grid, y ticks, x category labels; returns the x pixel of each category."""
    x0, x1, y0, y1 = ML, W - MR, H - MB, MT
    for t in ys.ticks():
        y = ys(t)
        svg.add(f'<line class="grid" x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="#e0e0e0"/>')
        svg.add(f'<text class="tick" x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{esc(yfmt(t))}</text>')
    svg.add(f'<line class="axis" x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="#333"/>')
    svg.add(f'<line class="axis" x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="#333"/>')
    svg.add(f'<text class="axis-label" x="14" y="{(y0 + y1) / 2:.1f}" text-anchor="middle" '
            f'transform="rotate(-90 14 {(y0 + y1) / 2:.1f})">{esc(ylabel)}</text>')
    n = len(xlabels)
    band = (x1 - x0) / max(n, 1)
    xs = [x0 + band * (i + 0.5) for i in range(n)]
    every = max(1, math.ceil(n / 8))  # at most 8 labels: long histories would overlap
    for i, (x, lab) in enumerate(zip(xs, xlabels)):
        if i % every and i != n - 1:
            continue
        svg.add(f'<text class="tick" x="{x:.1f}" y="{y0 + 16}" text-anchor="middle">{esc(lab)}</text>')
    svg.add(f'<text class="axis-label" x="{(x0 + x1) / 2}" y="{y0 + 31}" text-anchor="middle">{esc(xlabel)}</text>')
    return xs


def legend(svg: Svg, items: list[tuple[str, str, bool]]):
    """items: (label, color, dashed). One row under the x-axis label, wrapping to two if needed."""
    x, y = ML, H - MB + 50
    for label, color, dashed in items:
        width = 36 + 6.4 * len(label)
        if x + width > W - MR:
            x, y = ML, y + 14
        dash = ' stroke-dasharray="5 3"' if dashed else ""
        svg.add(f'<g class="legend-item"><line x1="{x}" y1="{y - 4}" x2="{x + 16}" y2="{y - 4}" stroke="{color}" '
                f'stroke-width="2"{dash}/><text x="{x + 20}" y="{y}">{esc(label)}</text></g>')
        x += width


def empty(svg: Svg, why: str) -> str:
    svg.add(f'<text class="no-data" x="{W / 2}" y="{H / 2}" text-anchor="middle">{esc(why)}</text>')
    return svg.render()


def line_series(svg: Svg, cls: str, color: str, points: list[tuple], dashed=False):
    """points: (x px, y px, tooltip[, emulated]). A path through them and a circle with a <title> at each;
    a point measured under emulation is drawn hollow and says so."""
    if not points:
        return
    d = " ".join(f"{'M' if i == 0 else 'L'}{p[0]:.1f},{p[1]:.1f}" for i, p in enumerate(points))
    dash = ' stroke-dasharray="5 3"' if dashed else ""
    svg.add(f'<path class="series {esc(cls)}" d="{d}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
    for p in points:
        x, y, tip = p[:3]
        if len(p) > 3 and p[3]:
            svg.add(f'<circle class="marker emulated {esc(cls)}" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#ffffff" '
                    f'stroke="{color}" stroke-width="2"><title>{esc(tip)} (emulated: QEMU TCG)</title></circle>')
        else:
            svg.add(f'<circle class="marker {esc(cls)}" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{color}">'
                    f"<title>{esc(tip)}</title></circle>")


# ---- charts -------------------------------------------------------------------------------------------

def chart_cold_start(ms) -> str:
    svg = Svg("chart-cold-start", "Cold start to a completed Echo call, by heap size",
              "Median time per path and heap size, log scale; the dashed line is the bare KVM floor.")
    values = [ms[gbench.cold(p, h)].time_ns for p in gbench.COLD_START_PATHS for h in gbench.HEAP_LABELS
              if gbench.cold(p, h) in ms]
    floor = ms.get("kvm_floor")
    if floor:
        values.append(floor.time_ns)
    if not values:
        return empty(svg, "no cold-start results in this run (they need /dev/kvm)")
    ys = Scale(min(values), max(values), H - MB, MT, log=True)
    xs = axes(svg, ys, "time (log scale)", fmt_ns, [HEAP_TITLES[h] for h in gbench.HEAP_LABELS], "heap size")
    items = []
    for p in gbench.COLD_START_PATHS:
        pts = [(x, ys(ms[gbench.cold(p, h)].time_ns),
                f"{PATH_LABELS[p]}, {HEAP_TITLES[h]} heap: {fmt_ns(ms[gbench.cold(p, h)].time_ns)}",
                ms[gbench.cold(p, h)].emulated)
               for x, h in zip(xs, gbench.HEAP_LABELS) if gbench.cold(p, h) in ms]
        if pts:
            line_series(svg, p, PATH_COLORS[p], pts)
            items.append((PATH_LABELS[p], PATH_COLORS[p], False))
    if floor:
        y = ys(floor.time_ns)
        svg.add(f'<line class="floor" x1="{ML}" y1="{y:.1f}" x2="{W - MR}" y2="{y:.1f}" stroke="{FLOOR_COLOR}" '
                f'stroke-width="1.5" stroke-dasharray="5 3"><title>bare KVM floor: {esc(fmt_ns(floor.time_ns))}'
                f"</title></line>")
        items.append(("KVM floor", FLOOR_COLOR, True))
    legend(svg, items)
    return svg.render()


def chart_heavy_init(ms) -> str:
    svg = Svg("chart-heavy-init", "Heavy-init guest: cold start by initialised state",
              "Median time to a first Lookup per path and state size (heap = state + 1 MiB), log scale; "
              "the design asks verified snapshots for 50x over ELF init at 64 MiB.")
    names = {(p, st): gbench.cold_heavy(p, st) for p in gbench.COLD_START_PATHS for st in gbench.HEAVY_STATE_LABELS}
    values = [ms[n].time_ns for n in names.values() if n in ms]
    if not values:
        return empty(svg, "no heavy-init cold-start results in this run (they need /dev/kvm)")
    ys = Scale(min(values), max(values), H - MB, MT, log=True)
    titles = [f"{st[:-1]} MiB" for st in gbench.HEAVY_STATE_LABELS]
    xs = axes(svg, ys, "time (log scale)", fmt_ns, titles, "initialised state")
    items = []
    for p in gbench.COLD_START_PATHS:
        pts = []
        for x, st, t in zip(xs, gbench.HEAVY_STATE_LABELS, titles):
            m, elf = ms.get(names[(p, st)]), ms.get(names[("elf", st)])
            if m is None:
                continue
            speedup = f" ({elf.time_ns / m.time_ns:.1f}x faster than ELF init)" if p != "elf" and elf else ""
            pts.append((x, ys(m.time_ns), f"{PATH_LABELS[p]}, {t} of state: {fmt_ns(m.time_ns)}{speedup}",
                        m.emulated))
        if pts:
            line_series(svg, p, PATH_COLORS[p], pts)
            items.append((PATH_LABELS[p], PATH_COLORS[p], False))
    legend(svg, items)
    return svg.render()


def chart_speedup(ms) -> str:
    svg = Svg("chart-speedup", "Speedup of cold start from a snapshot over ELF init",
              "t(ELF init) / t(snapshot path) per heap size; the dashed line is the design's 50x at 256 MiB.")
    bars = []  # (heap index, path, value)
    for i, h in enumerate(gbench.HEAP_LABELS):
        elf = ms.get(gbench.cold("elf", h))
        for p in gbench.SNAPSHOT_PATHS:
            m = ms.get(gbench.cold(p, h))
            if elf and m and m.time_ns > 0:
                bars.append((i, p, elf.time_ns / m.time_ns))
    if not bars:
        return empty(svg, "no cold-start results in this run (they need /dev/kvm)")
    ys = Scale(0, max(max(v for _, _, v in bars), 50.0), H - MB, MT)
    xs = axes(svg, ys, "times faster than ELF init", lambda v: f"{v:g}x",
              [HEAP_TITLES[h] for h in gbench.HEAP_LABELS], "heap size")
    band = (W - MR - ML) / len(gbench.HEAP_LABELS)
    bw = band * 0.8 / len(gbench.SNAPSHOT_PATHS)
    for i, p, v in bars:
        k = gbench.SNAPSHOT_PATHS.index(p)
        x = xs[i] - band * 0.4 + k * bw
        y = ys(v)
        svg.add(f'<rect class="bar {p}" x="{x:.1f}" y="{y:.1f}" width="{bw - 2:.1f}" height="{ys(0) - y:.1f}" '
                f'fill="{PATH_COLORS[p]}"><title>{esc(PATH_LABELS[p])}, {HEAP_TITLES[gbench.HEAP_LABELS[i]]} heap: '
                f"{v:.1f}x faster than ELF init</title></rect>")
    y50 = ys(50.0)
    svg.add(f'<line class="target" x1="{ML}" y1="{y50:.1f}" x2="{W - MR}" y2="{y50:.1f}" stroke="#d62728" '
            f'stroke-dasharray="5 3"><title>design target: 50x at 256 MiB</title></line>')
    legend(svg, [(PATH_LABELS[p], PATH_COLORS[p], False) for p in gbench.SNAPSHOT_PATHS]
           + [("target 50x", "#d62728", True)])
    return svg.render()


def chart_history(runs, heap: str) -> str:
    svg = Svg(f"chart-history-{heap}", f"Cold start across runs, {HEAP_TITLES[heap]} heap",
              "One point per results file, ordered by its date; log scale.")
    labels = [r["label"] for r in runs]
    series = {}
    for p in gbench.COLD_START_PATHS + ["kvm_floor"]:
        name = "kvm_floor" if p == "kvm_floor" else gbench.cold(p, heap)
        pts = [(i, r["ms"][name]) for i, r in enumerate(runs) if name in r["ms"]]
        if pts:
            series[p] = pts
    if not series:
        return empty(svg, "no cold-start results in any run")
    values = [m.time_ns for pts in series.values() for _, m in pts]
    ys = Scale(min(values), max(values), H - MB, MT, log=True)
    xs = axes(svg, ys, "time (log scale)", fmt_ns, labels, "run (by date)")
    items = []
    for p, pts in series.items():
        color = FLOOR_COLOR if p == "kvm_floor" else PATH_COLORS[p]
        label = "KVM floor" if p == "kvm_floor" else PATH_LABELS[p]
        line_series(svg, p, color, [(xs[i], ys(m.time_ns), f"{label}, run {runs[i]['date']}: {fmt_ns(m.time_ns)}",
                                     m.emulated) for i, m in pts], dashed=p == "kvm_floor")
        items.append((label, color, p == "kvm_floor"))
    legend(svg, items)
    return svg.render()


def chart_restore(ms) -> str:
    svg = Svg("chart-restore", "Restore cost by pages dirtied since the snapshot",
              "Median restore() time per heap size; it should follow the pages, not the heap size.")
    dirty = ["1", "100", "all"]
    series = {}
    for h in gbench.HEAP_LABELS:
        pts = [(i, ms[f"restore/dirty:{d}/heap:{h}"]) for i, d in enumerate(dirty) if f"restore/dirty:{d}/heap:{h}" in ms]
        if pts:
            series[h] = pts
    if not series:
        return empty(svg, "no restore results in this run (they need /dev/kvm)")
    values = [m.time_ns for pts in series.values() for _, m in pts]
    ys = Scale(min(values), max(values), H - MB, MT, log=True)
    xs = axes(svg, ys, "time (log scale)", fmt_ns, ["1 page", "100 pages", "all pages"], "pages dirtied")
    items = []
    for k, (h, pts) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        line_series(svg, f"heap-{h}", color,
                    [(xs[i], ys(m.time_ns), f"{HEAP_TITLES[h]} heap, {dirty[i]} dirty: {fmt_ns(m.time_ns)}, "
                      f"{m.counters.get('pages_restored', 0):.0f} pages restored", m.emulated) for i, m in pts])
        items.append((f"{HEAP_TITLES[h]} heap", color, False))
    legend(svg, items)
    return svg.render()


def chart_digest(ms) -> str:
    svg = Svg("chart-digest", "Hashing a 256 MiB blob against reading it",
              "Bytes per second; the verified load hashes at the digest's rate.")
    names = [("digest/file/blake3/size:256M", "BLAKE3 file"), ("digest/file/xxh3/size:256M", "XXH3 file"),
             ("read/file/pread/size:256M", "pread file"), ("digest/buffer/blake3/size:256M", "BLAKE3 mem"),
             ("digest/buffer/xxh3/size:256M", "XXH3 mem"), ("read/buffer/memcpy/size:256M", "memcpy mem")]
    bars = [(label, ms[n].counters["bytes_per_second"]) for n, label in names
            if n in ms and "bytes_per_second" in ms[n].counters]
    if not bars:
        return empty(svg, "no digest results in this run")
    ys = Scale(0, max(v for _, v in bars) / 1e9, H - MB, MT)
    xs = axes(svg, ys, "GB/s", lambda v: f"{v:g}", [b[0] for b in bars], "")
    band = (W - MR - ML) / len(bars)
    for (label, v), x in zip(bars, xs):
        color = "#7f7f7f" if label.startswith(("pread", "memcpy")) else ("#2ca02c" if "XXH3" in label else "#1f77b4")
        y = ys(v / 1e9)
        svg.add(f'<rect class="bar" x="{x - band * 0.35:.1f}" y="{y:.1f}" width="{band * 0.7:.1f}" '
                f'height="{ys(0) - y:.1f}" fill="{color}"><title>{esc(label)}: {v / 1e9:.2f} GB/s</title></rect>')
    legend(svg, [("BLAKE3", "#1f77b4", False), ("XXH3", "#2ca02c", False), ("plain read", "#7f7f7f", False)])
    return svg.render()


# ---- page ---------------------------------------------------------------------------------------------

def parse_date(s: str):
    try:
        return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None


def load_runs(paths):
    runs = []
    for p in paths:
        doc = gbench.load(p)
        date = doc["context"].get("date", "")
        runs.append({"path": p, "doc": doc, "ms": gbench.measurements(doc), "date": date, "when": parse_date(date)})
    epoch = datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)
    def key(r):
        w = r["when"]
        if w is not None and w.tzinfo is None:
            w = w.replace(tzinfo=datetime.timezone.utc)
        return (w or epoch, r["date"], r["path"])
    runs.sort(key=key)
    for r in runs:
        r["label"] = r["when"].strftime("%m-%d %H:%M") if r["when"] else os.path.basename(r["path"])
    return runs


def ratio_table(ms) -> str:
    rows = []
    for r in gbench.RATIOS:
        v = r.value(ms)
        target = f"{r.target[0]} {r.target[1]:g}" if r.target else "-"
        if v is None:
            verdict, cls = ("not measured", "na")
        elif not r.target:
            verdict, cls = ("info", "na")
        else:
            verdict, cls = ("PASS", "pass") if r.meets(v) else ("MISS", "miss")
        note = " (emulated)" if v is not None and r.emulated(ms) else ""
        rows.append(f'<tr><td><code>{esc(r.key)}</code></td><td>{esc(r.title)}</td>'
                    f'<td class="num">{"-" if v is None else esc(f"{v:.3g}")}</td><td>{esc(target)}</td>'
                    f'<td class="{cls}">{esc(verdict + note)}</td></tr>')
    return ('<table class="ratios"><thead><tr><th>ratio</th><th>what</th><th>value</th><th>target</th>'
            "<th>design</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def results_table(ms) -> str:
    rows = []
    for name in sorted(ms):
        m = ms[name]
        counters = ", ".join(f"{k}={fmt_num(float(v))}" for k, v in sorted(m.counters.items())
                             if k not in ("heap_bytes",))
        rows.append(f"<tr><td><code>{esc(name)}</code></td><td class=\"num\">{esc(fmt_ns(m.time_ns))}</td>"
                    f'<td class="num">{esc(fmt_ns(m.stddev_ns))}</td><td class="num">{m.repetitions}</td>'
                    f"<td>{esc(m.run)}</td><td>{esc(counters)}</td></tr>")
    return ('<table class="results"><thead><tr><th>benchmark</th><th>median</th><th>stddev</th><th>reps</th>'
            "<th>run</th><th>counters</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


CSS = """
body { font-family: sans-serif; margin: 24px; color: #222; background: #fafafa; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
svg.chart { border: 1px solid #ccc; background: #fff; }
svg text { font-family: sans-serif; font-size: 11px; fill: #333; }
svg text.chart-title { font-size: 13px; font-weight: bold; }
svg text.no-data { font-size: 13px; fill: #888; }
table { border-collapse: collapse; font-size: 13px; background: #fff; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
td.num { text-align: right; white-space: nowrap; }
td.pass { color: #1a7f37; font-weight: bold; } td.miss { color: #cf222e; font-weight: bold; }
td.na { color: #777; }
.banner { background: #fff3cd; border: 1px solid #e0c060; padding: 8px 12px; margin: 12px 0; }
.meta { color: #555; font-size: 13px; }
"""


def page(runs, title: str) -> str:
    latest = runs[-1]
    ms = latest["ms"]
    ctx = latest["doc"].get("context", {})
    emulated = any(m.emulated for m in ms.values())
    machine = (f"{ctx.get('host_name', '?')}: {ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz, "
               f"load average {', '.join(str(x) for x in ctx.get('load_avg', [])) or '?'}, "
               f"KVM usable: {str(ctx.get('snapvm_kvm_usable', '?')).split(';')[0]}")
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{esc(title)}</title>"
             f"<style>{CSS}</style></head><body>",
             f"<h1>{esc(title)}</h1>",
             f'<p class="meta">Latest run: {esc(latest["date"] or "?")} ({esc(os.path.basename(latest["path"]))}); '
             f"{esc(machine)}. {len(runs)} run(s) in the history.</p>"]
    if emulated:
        parts.append('<p class="banner">Some results of the latest run come from KVM nested in a QEMU TCG '
                     "emulator: they prove the code runs, their timings are not representative.</p>")
    parts.append("<h2>Latest run</h2><div class=\"charts\">")
    parts += [chart_cold_start(ms), chart_speedup(ms), chart_heavy_init(ms), chart_restore(ms), chart_digest(ms)]
    parts.append("</div><h2>History</h2>")
    if any(m.emulated for r in runs for m in r["ms"].values()):
        parts.append('<p class="meta">Hollow points were measured under QEMU TCG emulation: not representative.</p>')
    parts.append('<div class="charts">')
    parts += [chart_history(runs, "128K"), chart_history(runs, "256M")]
    parts.append("</div><h2>Ratios the design sets (latest run)</h2>")
    parts.append(ratio_table(ms))
    parts.append("<h2>Every benchmark (latest run)</h2>")
    parts.append(results_table(ms))
    parts.append('<p class="meta">Generated by benches/tools/dashboard.py; see docs/benchmarks.md.</p></body></html>')
    return "\n".join(parts)


def main(argv) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", nargs="+")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--title", default="snapvm benchmarks")
    args = ap.parse_args(argv)
    runs = load_runs(args.results)
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(page(runs, args.title))
    print(f"dashboard.py: {len(runs)} run(s) -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
