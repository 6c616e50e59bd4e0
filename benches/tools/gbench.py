"""gbench.py: reading Google Benchmark JSON for snapvm's tools, and the ratios the design sets.

Shared by convert.py, gate.py and dashboard.py; python3 standard library only.
As a script: `gbench.py merge OUT IN...` merges result files of one run (one per benchmark binary)
into one, tagging each benchmark with the `snapvm_run` context key of its file (native, qemu-tcg).
"""

from __future__ import annotations

import json
import math
import re
import statistics
import sys
from dataclasses import dataclass, field
from typing import Callable, Optional

# Google Benchmark appends these to a name for per-benchmark options; snapvm names do not need them.
_SUFFIX = re.compile(r"/(manual_time|real_time|iterations:\d+|repeats:\d+|min_time:[0-9.e+-]+s?|threads:\d+)$")
_AGG_SUFFIX = re.compile(r"_(mean|median|stddev|cv)$")
NS_PER = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def base_name(name: str) -> str:
    """'cold_start/elf/heap:8M/manual_time' -> 'cold_start/elf/heap:8M'."""
    prev = None
    while prev != name:
        prev = name
        name = _SUFFIX.sub("", name)
    return name


@dataclass
class Measurement:
    """One benchmark's result in one run: the median over repetitions (or the only run)."""

    name: str
    time_ns: float            # real time (manual time where the benchmark sets it) per iteration
    time_unit: str            # the unit the benchmark reports in
    stddev_ns: float = 0.0    # across repetitions; 0 with one
    repetitions: int = 1
    counters: dict = field(default_factory=dict)  # medians of the user counters, bytes_per_second, ...
    run: str = "native"       # snapvm_run: native, qemu-tcg (emulated: not representative)

    def value_in_unit(self) -> float:
        return self.time_ns / NS_PER.get(self.time_unit, 1.0)

    @property
    def emulated(self) -> bool:
        return self.run != "native"


_FIXED_KEYS = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
    "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit", "aggregate_name",
    "aggregate_unit", "error_occurred", "error_message", "label", "snapvm_run",
}


def load(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or "benchmarks" not in doc:
        raise ValueError(f"{path}: not Google Benchmark JSON (no 'benchmarks')")
    doc.setdefault("context", {})
    return doc


def measurements(doc: dict) -> dict[str, Measurement]:
    """Medians per benchmark. Aggregates (--benchmark_report_aggregates_only) are used when present;
    otherwise the median of the repetitions is computed. Runs with errors (skips) are left out."""
    default_run = doc.get("context", {}).get("snapvm_run", "native")
    groups: dict[str, dict] = {}
    for b in doc.get("benchmarks", []):
        if b.get("error_occurred"):
            continue
        run_name = b.get("run_name") or _AGG_SUFFIX.sub("", b["name"])
        g = groups.setdefault(base_name(run_name), {"iterations": [], "aggregates": {}, "run": default_run})
        g["run"] = b.get("snapvm_run", g["run"])
        if b.get("run_type") == "aggregate":
            g["aggregates"][b.get("aggregate_name")] = b
        else:
            g["iterations"].append(b)
    out: dict[str, Measurement] = {}
    for name, g in groups.items():
        unit = None
        if "median" in g["aggregates"]:
            med = g["aggregates"]["median"]
            unit = med.get("time_unit", "ns")
            time_ns = float(med["real_time"]) * NS_PER.get(unit, 1.0)
            sd = g["aggregates"].get("stddev")
            stddev_ns = float(sd["real_time"]) * NS_PER.get(sd.get("time_unit", unit), 1.0) if sd else 0.0
            reps = int(med.get("repetitions", 1))
            counters = {k: v for k, v in med.items() if k not in _FIXED_KEYS and isinstance(v, (int, float))}
        elif g["iterations"]:
            runs = g["iterations"]
            unit = runs[0].get("time_unit", "ns")
            times = [float(r["real_time"]) * NS_PER.get(r.get("time_unit", unit), 1.0) for r in runs]
            time_ns = statistics.median(times)
            stddev_ns = statistics.stdev(times) if len(times) > 1 else 0.0
            reps = len(runs)
            keys = {k for r in runs for k, v in r.items() if k not in _FIXED_KEYS and isinstance(v, (int, float))}
            counters = {k: statistics.median([r[k] for r in runs if k in r]) for k in keys}
        else:
            continue
        out[name] = Measurement(name, time_ns, unit or "ns", stddev_ns, reps, counters, g["run"])
    return out


def merge(paths: list[str]) -> dict:
    """One document from several files of one run: the first file's context, every benchmark, each
    tagged with its file's snapvm_run. A benchmark found in several files (a native run and an emulated
    one) is taken from one file only: a successful native result first, else any successful one."""
    docs = []
    for p in paths:
        doc = load(p)
        run = doc["context"].get("snapvm_run", "native")
        for b in doc["benchmarks"]:
            b.setdefault("snapvm_run", run)
        docs.append((p, run, doc))
    if not docs:
        raise ValueError("nothing to merge")

    def bname(b):
        return base_name(b.get("run_name") or _AGG_SUFFIX.sub("", b["name"]))

    choice: dict[str, tuple[int, int]] = {}  # name -> (rank, file index); lower rank wins
    for i, (_, run, doc) in enumerate(docs):
        ok_names = {bname(b) for b in doc["benchmarks"] if not b.get("error_occurred")}
        for name in {bname(b) for b in doc["benchmarks"]}:
            rank = (0 if run == "native" else 1) if name in ok_names else 2
            if name not in choice or rank < choice[name][0]:
                choice[name] = (rank, i)
    # The context (machine, date) of the first native file: an emulated run's describes the VM.
    first = next((doc for _, run, doc in docs if run == "native"), docs[0][2])
    merged = dict(first)
    merged["context"] = dict(first["context"])
    merged["benchmarks"] = [b for i, (_, _, doc) in enumerate(docs) for b in doc["benchmarks"]
                            if choice[bname(b)][1] == i]
    merged["context"]["snapvm_sources"] = [
        {"file": p, "snapvm_run": run, "kvm": doc["context"].get("snapvm_kvm_usable", "")} for p, run, doc in docs]
    runs = {run for _, run, _ in docs}
    merged["context"]["snapvm_run"] = "native" if runs == {"native"} else "+".join(sorted(runs))
    return merged


# ---- the ratios the design sets (docs/benchmarks.md) ------------------------------------------------

@dataclass
class Ratio:
    key: str
    title: str
    inputs: list[str]                               # benchmark names the ratio reads
    compute: Callable[[dict[str, Measurement]], float]
    target: Optional[tuple[str, float]] = None      # ("<=", 1.2): the design's bar, reported not asserted
    better: Optional[str] = None                    # "lower" / "higher": direction for the regression gate
    formula: str = ""

    def value(self, ms: dict[str, Measurement]) -> Optional[float]:
        if any(n not in ms for n in self.inputs):
            return None
        try:
            v = self.compute(ms)
        except (KeyError, ZeroDivisionError, ValueError):
            return None
        return v if math.isfinite(v) else None

    def emulated(self, ms: dict[str, Measurement]) -> bool:
        return any(ms[n].emulated for n in self.inputs if n in ms)

    def meets(self, v: float) -> bool:
        op, bar = self.target
        return v <= bar if op == "<=" else v >= bar


def _t(name):
    return lambda ms: ms[name].time_ns


def _c(name, counter):
    return lambda ms: float(ms[name].counters[counter])


def _div(a, b):
    return lambda ms: a(ms) / b(ms)


SNAPSHOT_PATHS = ["snapshot_blake3", "snapshot_xxh3", "snapshot_unchecked"]
COLD_START_PATHS = ["elf"] + SNAPSHOT_PATHS
HEAP_LABELS = ["128K", "8M", "64M", "256M"]
_HEAP_TITLE = {"128K": "128 KiB", "8M": "8 MiB", "64M": "64 MiB", "256M": "256 MiB"}


HEAVY_STATE_LABELS = ["1M", "16M", "64M"]  # initialised state of the heavy-init guest (heap = state + 1 MiB)


def cold(path: str, heap: str) -> str:
    return f"cold_start/{path}/heap:{heap}"


def cold_heavy(path: str, state: str) -> str:
    return f"cold_start_heavy/{path}/state:{state}"


def _ratios() -> list[Ratio]:
    r: list[Ratio] = []
    for p in SNAPSHOT_PATHS:
        a, b = cold(p, "256M"), cold(p, "128K")
        r.append(Ratio(f"flat_heap/{p}", f"{p} cold start, 256 MiB heap / 128 KiB heap", [a, b],
                       _div(_t(a), _t(b)), ("<=", 1.2), "lower", f"t({a}) / t({b})"))
    for p in SNAPSHOT_PATHS:
        a, b = cold("elf", "256M"), cold(p, "256M")
        r.append(Ratio(f"speedup_vs_elf/{p}", f"ELF init / {p} cold start, 256 MiB heap", [a, b],
                       _div(_t(a), _t(b)), (">=", 50.0), "higher", f"t({a}) / t({b})"))
    for p in SNAPSHOT_PATHS:
        a, b = cold_heavy("elf", "64M"), cold_heavy(p, "64M")
        target = None if p == "snapshot_unchecked" else (">=", 50.0)  # the bar is for verified starts
        r.append(Ratio(f"heavy_init_speedup_vs_elf/{p}",
                       f"heavy-init guest, 64 MiB of initialised state: ELF init / {p} cold start", [a, b],
                       _div(_t(a), _t(b)), target, "higher", f"t({a}) / t({b})"))
    for p in SNAPSHOT_PATHS:
        a, b = cold(p, "128K"), "kvm_floor"
        r.append(Ratio(f"vs_kvm_floor/{p}", f"{p} cold start, 128 KiB heap / bare KVM floor", [a, b],
                       _div(_t(a), _t(b)), ("<=", 1.5), "lower", f"t({a}) / t({b})"))
    for kind, read in (("file", "read/file/pread"), ("buffer", "read/buffer/memcpy")):
        for alg, target in (("xxh3", (">=", 0.8)), ("blake3", None)):
            a, b = f"digest/{kind}/{alg}/size:256M", f"{read}/size:256M"
            r.append(Ratio(f"digest_vs_read/{alg}_{kind}", f"{alg} hashing rate / plain read rate, 256 MiB {kind}",
                           [a, b], _div(_c(a, "bytes_per_second"), _c(b, "bytes_per_second")), target,
                           "higher", f"bytes/s({a}) / bytes/s({b})"))
    # Format 2's verified load (native): flat in the heap for a sparse file, at the read rate for a dense one.
    for alg in ("blake3", "xxh3"):
        a, b = f"snapshot/load_sparse/{alg}/heap:1G", f"snapshot/load_sparse/{alg}/heap:128K"
        r.append(Ratio(f"verified_sparse_flat/{alg}", f"verified load ({alg}) of a sparse file, 1 GiB heap / 128 KiB heap",
                       [a, b], _div(_t(a), _t(b)), ("<=", 1.2), "lower", f"t({a}) / t({b})"))
    a, b = "snapshot/load_dense/xxh3/threads:all/size:256M", "read/file/pread/size:256M"
    r.append(Ratio("verified_dense_vs_read/xxh3", "verified load (xxh3) of a dense 256 MiB file / plain pread rate",
                   [a, b], _div(_c(a, "bytes_per_second"), _c(b, "bytes_per_second")), (">=", 0.8), "higher",
                   f"bytes/s({a}) / bytes/s({b})"))
    a, b = "snapshot/load_dense/blake3/threads:all/size:256M", "snapshot/load_dense/xxh3/threads:all/size:256M"
    r.append(Ratio("verified_dense/blake3_vs_xxh3", "verified load of a dense 256 MiB file: blake3 rate / xxh3 rate",
                   [a, b], _div(_c(a, "bytes_per_second"), _c(b, "bytes_per_second")), (">=", 0.8), "higher",
                   f"bytes/s({a}) / bytes/s({b})"))
    for alg in ("blake3", "xxh3"):
        a, b = f"snapshot/load_dense/{alg}/threads:1/size:256M", f"snapshot/load_dense/{alg}/threads:all/size:256M"
        r.append(Ratio(f"verified_dense_threads/{alg}", f"verified dense 256 MiB load ({alg}): 1 thread / every thread",
                       [a, b], _div(_t(a), _t(b)), None, "higher", f"t({a}) / t({b}) (the threads' speedup)"))
        a, b = f"snapshot/load_sparse_v1/{alg}/heap:256M", f"snapshot/load_sparse/{alg}/heap:256M"
        r.append(Ratio(f"format2_vs_format1_sparse/{alg}", f"verified load of a sparse 256 MiB-heap file: format 1 / format 2 ({alg})",
                       [a, b], _div(_t(a), _t(b)), None, "higher", f"t({a}) / t({b})"))
    a, b = "digest/mapped/xxh3/size:256M", "read/file/pread/size:256M"
    r.append(Ratio("digest_vs_read/xxh3_mapped", "xxh3 hashing the mapped file / plain read rate (what-if)", [a, b],
                   _div(_c(a, "bytes_per_second"), _c(b, "bytes_per_second")), None, "higher",
                   f"bytes/s({a}) / bytes/s({b})"))
    for dirty, small in (("1", "128K"), ("100", "8M")):
        a, b = f"restore/dirty:{dirty}/heap:256M", f"restore/dirty:{dirty}/heap:{small}"
        r.append(Ratio(f"restore_vs_size/dirty_{dirty}",
                       f"restore after {dirty} dirty page(s), 256 MiB heap / {_HEAP_TITLE[small]} heap",
                       [a, b], _div(_t(a), _t(b)), ("<=", 1.5), "lower", f"t({a}) / t({b})"))
    a, b = "snapshot/take/dirty:1/heap:256M", "snapshot/take/dirty:1/heap:128K"
    r.append(Ratio("snapshot_vs_size/dirty_1", "in-memory snapshot after 1 dirty page, 256 MiB heap / 128 KiB heap",
                   [a, b], _div(_t(a), _t(b)), ("<=", 1.5), "lower", f"t({a}) / t({b})"))
    a, b = "restore/dirty:all/heap:64M", "restore/dirty:1/heap:64M"
    r.append(Ratio("restore_vs_dirty/64M", "restore after all pages / after 1 page dirtied, 64 MiB heap", [a, b],
                   _div(_t(a), _t(b)), None, None, f"t({a}) / t({b}) (grows with the pages: informational)"))
    m0, m1 = "memory/sandboxes:100/dirty_pages:0", "memory/sandboxes:100/dirty_pages:1024"
    r.append(Ratio("memory/per_sandbox_vs_snapshot", "private memory per sandbox / snapshot memory (100 sandboxes)",
                   [m0], _div(_c(m0, "private_dirty_per_sandbox_kib"), _c(m0, "snapshot_kib")), ("<=", 0.05), "lower",
                   f"private_dirty_per_sandbox_kib({m0}) / snapshot_kib"))
    r.append(Ratio("memory/growth_per_dirty_page", "private memory added per dirtied page / 4 KiB (100 sandboxes)",
                   [m0, m1],
                   lambda ms: (ms[m1].counters["private_dirty_per_sandbox_kib"]
                               - ms[m0].counters["private_dirty_per_sandbox_kib"]) / (1024 * 4.0),
                   ("<=", 1.5), "lower", f"(private({m1}) - private({m0})) / (1024 pages x 4 KiB)"))
    # Fuzzing from a snapshot (guest_fuzz_bench): an exec is a restore of what the last input dirtied plus
    # one call; against the same call on a live sandbox that is never restored, and across heap sizes.
    a, b = "fuzz/exec/dirty:1/heap:4M", "fuzz/bare_call/dirty:1/heap:4M"
    r.append(Ratio("exec_vs_bare_call", "fuzzing exec (restore + call, 1 page dirtied) / the bare call on a live sandbox",
                   [a, b], _div(_t(a), _t(b)), ("<=", 2.0), "lower", f"t({a}) / t({b})"))
    a, b = "fuzz/exec/dirty:256/heap:256M", "fuzz/exec/dirty:256/heap:4M"
    r.append(Ratio("exec_dirty256_heap", "fuzzing exec dirtying 256 pages, 256 MiB heap / 4 MiB heap", [a, b],
                   _div(_t(a), _t(b)), ("<=", 1.3), "lower", f"t({a}) / t({b})"))
    a, b = "fuzz/exec/dirty:256/heap:4M", "fuzz/exec/dirty:1/heap:4M"
    r.append(Ratio("exec_vs_dirty/4M", "fuzzing exec dirtying 256 pages / 1 page, 4 MiB heap", [a, b],
                   _div(_t(a), _t(b)), None, None, f"t({a}) / t({b}) (grows with the pages: informational)"))
    a, b = "call/host_add", "call/add"
    r.append(Ratio("host_call_vs_call", "host-call round trip / plain guest call", [a, b], _div(_t(a), _t(b)),
                   None, "lower", f"t({a}) / t({b})"))
    return r


RATIOS = _ratios()


def fmt_time(ns: float) -> str:
    for unit, div in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= div:
            return f"{ns / div:.3g} {unit}"
    return f"{ns:.3g} ns"


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "merge":
        doc = merge(argv[2:])
        with open(argv[1], "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
        return 0
    print("usage: gbench.py merge OUT.json IN.json...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
