#!/usr/bin/env python3
"""test_dashboard.py: checks that dashboard.py draws its charts. python3 standard library only.

  test_dashboard.py --work DIR               build a dashboard from benches/testdata/ and check every
                                             SVG's elements (series paths, markers, bars, titles)
  test_dashboard.py --work DIR --chromium    also render it in headless Chromium: the DOM Chromium
                                             builds holds the charts, and its screenshot is not blank
                                             and shows each series' colour. Exit 77 (ctest SKIP) when
                                             no chromium is installed.
  test_dashboard.py --work DIR --chromium --check PAGE.html
                                             render an existing dashboard (ci/bench) with generic checks
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.join(os.path.dirname(HERE), "testdata")
SAMPLES = [os.path.join(TESTDATA, f) for f in ("sample_results.json", "sample_results_prev.json",
                                               "sample_results_old.json")]
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, HERE)
import dashboard  # noqa: E402
import gbench  # noqa: E402

SVG_NS = "{http://www.w3.org/2000/svg}"
SKIP = 77
failures: list[str] = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures.append(what)


def svgs(page: str) -> dict[str, ET.Element]:
    out = {}
    for m in re.finditer(r"<svg\b.*?</svg>", page, re.S):
        el = ET.fromstring(m.group(0))  # every chart must be well-formed XML on its own
        out[el.get("id")] = el
    return out


def count(el, tag, cls=None):
    return sum(1 for e in el.iter(SVG_NS + tag) if cls is None or cls in (e.get("class") or "").split())


def title(el) -> str:
    t = el.find(SVG_NS + "title")
    return "" if t is None else (t.text or "")


def check_structure(page: str):
    charts = svgs(page)
    expected = {"chart-cold-start": "Cold start to a completed Echo call, by heap size",
                "chart-speedup": "Speedup of cold start from a snapshot over ELF init",
                "chart-heavy-init": "Heavy-init guest: cold start by initialised state",
                "chart-restore": "Restore cost by pages dirtied since the snapshot",
                "chart-digest": "Hashing a 256 MiB blob against reading it",
                "chart-history-128K": "Cold start across runs, 128 KiB heap",
                "chart-history-256M": "Cold start across runs, 256 MiB heap"}
    check(set(charts) == set(expected), f"seven charts with the expected ids (got {sorted(charts)})")
    for cid, t in expected.items():
        if cid in charts:
            check(title(charts[cid]) == t, f"{cid}: <title> is {t!r}")
            check(count(charts[cid], "text", "no-data") == 0, f"{cid}: has data")

    c = charts.get("chart-cold-start")
    if c is not None:
        check(count(c, "path", "series") == 4, "cold start: one line per path (4)")
        check(count(c, "circle", "marker") == 16, "cold start: a marker per path and heap size (16)")
        check(count(c, "line", "floor") == 1, "cold start: the KVM floor line")
        check(all(title(m) for m in c.iter(SVG_NS + "circle")), "cold start: every marker has a tooltip")
        elf = [m for m in c.iter(SVG_NS + "circle") if "elf" in m.get("class", "").split()]
        ys = [float(m.get("cy")) for m in elf]
        check(len(ys) == 4 and ys == sorted(ys, reverse=True), "cold start: ELF init rises with the heap size")
        check(any("78.9 ms" in title(m) for m in elf), "cold start: ELF init at 256 MiB reads 78.9 ms")
    s = charts.get("chart-speedup")
    if s is not None:
        check(count(s, "rect", "bar") == 12, "speedup: a bar per snapshot path and heap size (12)")
        check(count(s, "line", "target") == 1, "speedup: the 50x target line")
        check(any("123.3x" in title(r) for r in s.iter(SVG_NS + "rect")), "speedup: unchecked at 256 MiB is 123.3x")
    hi = charts.get("chart-heavy-init")
    if hi is not None:
        check(count(hi, "path", "series") == 4, "heavy init: one line per path (4)")
        check(count(hi, "circle", "marker") == 12, "heavy init: a marker per path and state size (12)")
        check(any("60.0x faster" in title(m) for m in hi.iter(SVG_NS + "circle")),
              "heavy init: XXH3 at 64 MiB of state is 60.0x faster than ELF init")
    for heap in ("128K", "256M"):
        h = charts.get(f"chart-history-{heap}")
        if h is not None:
            check(count(h, "path", "series") == 5, f"history {heap}: 4 paths and the floor")
            check(count(h, "circle", "marker") == 15, f"history {heap}: one point per run and series (3 x 5)")
            xs = sorted({float(m.get("cx")) for m in h.iter(SVG_NS + "circle")})
            check(len(xs) == 3, f"history {heap}: three runs on the x axis")
    r = charts.get("chart-restore")
    if r is not None:
        check(count(r, "path", "series") == 4, "restore: one line per heap size")
        check(count(r, "circle", "marker") == 11, "restore: 2 + 3 + 3 + 3 points")
    d = charts.get("chart-digest")
    if d is not None:
        check(count(d, "rect", "bar") == 6, "digest: six bars")
    rows = re.search(r'<table class="ratios">.*?</table>', page, re.S)
    check(rows is not None and rows.group(0).count("<tr>") == len(gbench.RATIOS) + 1,
          "ratio table: a row per ratio")
    check("<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", ""),
          "self-contained: no script, no network reference")


def check_without_kvm(work: str):
    """A run without KVM (only the digest benchmarks) still builds, with placeholders."""
    doc = gbench.load(SAMPLES[0])
    doc["benchmarks"] = [b for b in doc["benchmarks"] if b["name"].startswith(("digest", "read"))]
    path = os.path.join(work, "nokvm.json")
    with open(path, "w", encoding="utf-8") as f:
        import json
        json.dump(doc, f)
    out = os.path.join(work, "nokvm.html")
    subprocess.run([sys.executable, os.path.join(HERE, "dashboard.py"), path, "-o", out], check=True,
                   capture_output=True)
    with open(out, encoding="utf-8") as f:
        charts = svgs(f.read())
    check(count(charts["chart-cold-start"], "text", "no-data") == 1, "no KVM: cold start chart says so")
    check(count(charts["chart-heavy-init"], "text", "no-data") == 1, "no KVM: heavy-init chart says so")
    check(count(charts["chart-digest"], "rect", "bar") == 6, "no KVM: digest chart still drawn")


# ---- PNG decoding (RGB/RGBA, 8 bit, non-interlaced: what Chromium writes) ------------------------------

def decode_png(data: bytes):
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, width = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError(f"unsupported PNG: depth {depth}, colour type {ctype}, interlace {interlace}")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + n
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def pixel_histogram(png: bytes):
    width, height, bpp, rows = decode_png(png)
    hist: dict[tuple, int] = {}
    for line in rows:
        for i in range(0, len(line), bpp):
            px = (line[i], line[i + 1], line[i + 2])
            hist[px] = hist.get(px, 0) + 1
    return width, height, hist


def hex_rgb(h: str):
    return tuple(int(h[i:i + 2], 16) for i in (1, 3, 5))


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium(binary, *args, timeout=180):
    profile = tempfile.mkdtemp(prefix="snapvm-chromium-")
    try:
        cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-default-apps", "--disable-extensions", "--no-first-run", "--no-default-browser-check",
               "--hide-scrollbars", "--force-device-scale-factor=1", f"--user-data-dir={profile}", *args]
        return subprocess.run(cmd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def check_rendered(page_path: str, work: str, exact: bool):
    binary = find_chromium()
    if binary is None:
        print("SKIP: no chromium installed (apt-get install chromium); ci/bench installs it")
        sys.exit(SKIP)
    url = "file://" + os.path.abspath(page_path)
    dom = chromium(binary, "--dump-dom", url)
    text = dom.stdout.decode("utf-8", "replace")
    check(dom.returncode == 0 and "<svg" in text, f"chromium --dump-dom ran (exit {dom.returncode})")
    n_svg = len(re.findall(r"<svg\b", text))
    n_circle = len(re.findall(r"<circle\b", text))
    if exact:
        # seven charts (heavy init was added as the seventh); markers: cold start 16, history 2 x 15,
        # restore 11, heavy init 12
        check(n_svg == 7, f"the DOM Chromium built holds the seven charts (found {n_svg})")
        check(n_circle == 16 + 30 + 11 + 12, f"... and every marker (found {n_circle})")
    else:
        check(n_svg >= 1, f"the DOM Chromium built holds charts (found {n_svg})")

    shot = os.path.join(work, "dashboard.png")
    if os.path.exists(shot):
        os.remove(shot)
    r = chromium(binary, f"--screenshot={shot}", "--window-size=1200,1500", url)
    check(r.returncode == 0 and os.path.exists(shot), f"chromium --screenshot wrote {shot} (exit {r.returncode})")
    if not os.path.exists(shot):
        print(r.stderr.decode("utf-8", "replace")[-2000:])
        return
    with open(shot, "rb") as f:
        width, height, hist = pixel_histogram(f.read())
    total = width * height
    background = max(hist.values())
    check(width == 1200 and height == 1500, f"screenshot is 1200x1500 (got {width}x{height})")
    check(len(hist) > 50, f"screenshot is not blank: {len(hist)} distinct colours")
    check(total - background > total * 0.03, f"screenshot is not blank: {100 * (total - background) / total:.1f}% "
                                             "of pixels differ from the background")
    colours = dict(dashboard.PATH_COLORS)
    if not exact:  # a real run may lack some paths (no KVM): ask only for the digest chart's colours
        colours = {"blake3": "#1f77b4", "plain read": "#7f7f7f"}
    for name, colour in colours.items():
        n = hist.get(hex_rgb(colour), 0)
        check(n >= 30, f"screenshot shows {name} in its colour {colour} ({n} pixels)")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--chromium", action="store_true")
    ap.add_argument("--check", help="an existing dashboard to render (generic checks only)")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    if args.check:
        page_path = args.check
    else:
        page_path = os.path.join(args.work, "dashboard.html")
        subprocess.run([sys.executable, os.path.join(HERE, "dashboard.py"), *SAMPLES, "-o", page_path,
                        "--title", "snapvm benchmarks (sample data)"], check=True)
        with open(page_path, encoding="utf-8") as f:
            check_structure(f.read())
        check_without_kvm(args.work)
    if args.chromium:
        check_rendered(page_path, args.work, exact=not args.check)
    if failures:
        print(f"\n{len(failures)} check(s) failed")
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
