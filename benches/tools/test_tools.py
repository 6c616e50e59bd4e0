#!/usr/bin/env python3
"""test_tools.py: tests of gbench.py, convert.py and gate.py on the hand-made results in
benches/testdata/, and (with --snapshot-bench) of the whole pipeline on a real short run of the
benchmarks that need no KVM. Run by ctest as bench_tools; python3 standard library only.

  test_tools.py --work DIR [--snapshot-bench PATH/TO/snapshot_bench]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.join(os.path.dirname(HERE), "testdata")
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, HERE)
import gbench  # noqa: E402

SAMPLE = os.path.join(TESTDATA, "sample_results.json")
SAMPLE_PREV = os.path.join(TESTDATA, "sample_results_prev.json")
ARGS = argparse.Namespace(work="/tmp/snapvm-bench-tools-test", snapshot_bench=None)


def tool(name, *args, check=True):
    p = subprocess.run([sys.executable, os.path.join(HERE, name), *map(str, args)], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"{name} {args} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


def write_json(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f)
    return path


class GbenchTest(unittest.TestCase):
    def test_base_name_strips_option_suffixes(self):
        self.assertEqual(gbench.base_name("cold_start/elf/heap:8M/manual_time"), "cold_start/elf/heap:8M")
        self.assertEqual(gbench.base_name("memory/sandboxes:1/dirty_pages:0/iterations:1/manual_time"),
                         "memory/sandboxes:1/dirty_pages:0")
        self.assertEqual(gbench.base_name("call/add/real_time"), "call/add")
        self.assertEqual(gbench.base_name("digest/buffer/xxh3/size:16M"), "digest/buffer/xxh3/size:16M")

    def test_medians_from_aggregates_in_nanoseconds(self):
        ms = gbench.measurements(gbench.load(SAMPLE))
        m = ms["cold_start/elf/heap:256M"]
        self.assertAlmostEqual(m.time_ns, 78.9e6, delta=1)
        self.assertEqual(m.time_unit, "us")
        self.assertEqual(m.repetitions, 5)
        self.assertGreater(m.stddev_ns, 0)
        self.assertEqual(ms["digest/file/xxh3/size:256M"].counters["bytes_per_second"], 8.5e9)

    def test_skipped_benchmarks_are_left_out(self):
        ms = gbench.measurements(gbench.load(SAMPLE))
        self.assertNotIn("cold_start/elf/heap:1G", ms)

    def test_medians_from_plain_iterations(self):
        ms = gbench.measurements(gbench.load(SAMPLE_PREV))
        self.assertAlmostEqual(ms["cold_start/elf/heap:256M"].time_ns, 78.9e6 * 1.08, delta=1)
        self.assertEqual(ms["cold_start/elf/heap:256M"].repetitions, 1)

    def test_median_of_repetitions_without_aggregates(self):
        doc = {"context": {}, "benchmarks": [
            {"name": "x/real_time", "run_name": "x/real_time", "run_type": "iteration", "real_time": t,
             "time_unit": "us", "bytes_per_second": t * 10} for t in (5.0, 1.0, 3.0)]}
        m = gbench.measurements(doc)["x"]
        self.assertEqual(m.time_ns, 3000.0)
        self.assertEqual(m.repetitions, 3)
        self.assertEqual(m.counters["bytes_per_second"], 30.0)

    def test_merge_prefers_native_results(self):
        native = gbench.load(SAMPLE)
        emulated = copy.deepcopy(native)
        emulated["context"]["snapvm_run"] = "qemu-tcg"
        for b in emulated["benchmarks"]:
            b["real_time"] *= 100
        emulated["benchmarks"].append({"name": "only/emulated", "run_name": "only/emulated", "run_type": "iteration",
                                       "real_time": 1.0, "time_unit": "ns"})
        os.makedirs(ARGS.work, exist_ok=True)
        a = write_json(os.path.join(ARGS.work, "native.json"), native)
        b = write_json(os.path.join(ARGS.work, "emulated.json"), emulated)
        merged = gbench.merge([b, a])
        ms = gbench.measurements(merged)
        self.assertAlmostEqual(ms["cold_start/elf/heap:256M"].time_ns, 78.9e6, delta=1)
        self.assertEqual(ms["cold_start/elf/heap:256M"].run, "native")
        self.assertEqual(ms["only/emulated"].run, "qemu-tcg")
        self.assertTrue(ms["only/emulated"].emulated)
        self.assertEqual(merged["context"]["snapvm_run"], "native+qemu-tcg")

    def test_every_ratio_computes_on_the_sample(self):
        ms = gbench.measurements(gbench.load(SAMPLE))
        for r in gbench.RATIOS:
            self.assertIsNotNone(r.value(ms), r.key)
        flat = next(r for r in gbench.RATIOS if r.key == "flat_heap/snapshot_unchecked")
        self.assertAlmostEqual(flat.value(ms), 0.64 / 0.58, places=6)
        self.assertTrue(flat.meets(flat.value(ms)))

    def test_heavy_init_speedup_ratios(self):
        # sample: heavy-init guest at 64 MiB of state, ELF 240 ms, BLAKE3 48 ms, XXH3 4 ms, unchecked 0.66 ms
        ms = gbench.measurements(gbench.load(SAMPLE))
        ratios = {r.key: r for r in gbench.RATIOS}
        blake3 = ratios["heavy_init_speedup_vs_elf/snapshot_blake3"]
        xxh3 = ratios["heavy_init_speedup_vs_elf/snapshot_xxh3"]
        unchecked = ratios["heavy_init_speedup_vs_elf/snapshot_unchecked"]
        self.assertEqual(blake3.inputs, ["cold_start_heavy/elf/state:64M", "cold_start_heavy/snapshot_blake3/state:64M"])
        self.assertAlmostEqual(blake3.value(ms), 240.0 / 48.0, places=6)
        self.assertAlmostEqual(xxh3.value(ms), 240.0 / 4.0, places=6)
        self.assertEqual((blake3.target, blake3.better), ((">=", 50.0), "higher"))
        self.assertFalse(blake3.meets(blake3.value(ms)))
        self.assertTrue(xxh3.meets(xxh3.value(ms)))
        self.assertIsNone(unchecked.target)  # the bar is for verified starts only
        self.assertAlmostEqual(unchecked.value(ms), 240.0 / 0.66, places=6)
        self.assertEqual(ms["cold_start_heavy/elf/state:64M"].counters["state_bytes"], 64 << 20)
        # without the heavy-init rows (an older run) the ratios read "not measured", the others still compute
        older = {k: v for k, v in ms.items() if not k.startswith("cold_start_heavy/")}
        self.assertIsNone(blake3.value(older))
        self.assertIsNotNone(ratios["flat_heap/snapshot_unchecked"].value(older))

    def test_guest_fuzz_ratios(self):
        # sample: exec dirty:1 44 us against the bare call's 29 us; dirty:256 at 256 MiB 550 us, at 4 MiB 500 us
        ms = gbench.measurements(gbench.load(SAMPLE))
        ratios = {r.key: r for r in gbench.RATIOS}
        bare = ratios["exec_vs_bare_call"]
        heap = ratios["exec_dirty256_heap"]
        self.assertEqual(bare.inputs, ["fuzz/exec/dirty:1/heap:4M", "fuzz/bare_call/dirty:1/heap:4M"])
        self.assertEqual(heap.inputs, ["fuzz/exec/dirty:256/heap:256M", "fuzz/exec/dirty:256/heap:4M"])
        self.assertAlmostEqual(bare.value(ms), 44.0 / 29.0, places=6)
        self.assertAlmostEqual(heap.value(ms), 550.0 / 500.0, places=6)
        self.assertEqual((bare.target, bare.better), (("<=", 2.0), "lower"))
        self.assertEqual((heap.target, heap.better), (("<=", 1.3), "lower"))
        self.assertTrue(bare.meets(bare.value(ms)))
        self.assertFalse(bare.meets(2.01))
        self.assertTrue(heap.meets(heap.value(ms)))
        self.assertFalse(heap.meets(1.31))
        self.assertAlmostEqual(ratios["exec_vs_dirty/4M"].value(ms), 500.0 / 44.0, places=6)
        m = ms["fuzz/exec/dirty:1/heap:4M"]
        self.assertAlmostEqual(m.counters["execs_per_s"], 1e6 / 44.0, places=3)
        self.assertEqual(m.counters["pages_restored"], 5)
        # without the fuzz rows (an older run, or no KVM) they read "not measured"; the others still compute
        older = {k: v for k, v in ms.items() if not k.startswith("fuzz/")}
        self.assertIsNone(bare.value(older))
        self.assertIsNone(heap.value(older))
        self.assertIsNotNone(ratios["flat_heap/snapshot_unchecked"].value(older))


class ConvertTest(unittest.TestCase):
    def test_github_and_bencher_formats(self):
        os.makedirs(ARGS.work, exist_ok=True)
        gh, bmf = os.path.join(ARGS.work, "gh.json"), os.path.join(ARGS.work, "bmf.json")
        tool("convert.py", SAMPLE, "--github", gh, "--bencher", bmf)
        with open(gh, encoding="utf-8") as f:
            entries = json.load(f)
        self.assertIsInstance(entries, list)
        names = [e["name"] for e in entries]
        self.assertEqual(len(names), len(set(names)))
        for e in entries:
            self.assertEqual(set(e) >= {"name", "unit", "value"}, True, e)
            self.assertIsInstance(e["value"], (int, float))
        elf = next(e for e in entries if e["name"] == "cold_start/elf/heap:256M")
        self.assertEqual(elf["unit"], "us")
        self.assertAlmostEqual(elf["value"], 78900.0, places=3)
        self.assertNotIn("cold_start/elf/heap:1G", names)
        self.assertIn("memory/sandboxes:100/dirty_pages:0 private memory per sandbox", names)
        with open(bmf, encoding="utf-8") as f:
            doc = json.load(f)
        lat = doc["cold_start/elf/heap:256M"]["latency"]
        self.assertAlmostEqual(lat["value"], 78.9e6, delta=1)
        self.assertLess(lat["lower_value"], lat["value"])
        self.assertGreater(lat["upper_value"], lat["value"])
        self.assertEqual(doc["digest/file/xxh3/size:256M"]["bytes-per-second"]["value"], 8.5e9)


class GateTest(unittest.TestCase):
    def baseline(self, **ratios):
        os.makedirs(ARGS.work, exist_ok=True)
        return write_json(os.path.join(ARGS.work, "baseline.json"),
                          {"threshold": 0.25, "ratios": {k.replace("__", "/"): {"value": v} for k, v in ratios.items()}})

    def test_within_threshold_passes(self):
        # sample: flat_heap/snapshot_unchecked = 1.103 (lower is better), digest_vs_read/xxh3_file = 0.895
        p = tool("gate.py", SAMPLE, "--baseline", self.baseline(flat_heap__snapshot_unchecked=1.0,
                                                                 digest_vs_read__xxh3_file=1.0))
        self.assertIn("no regression", p.stdout)
        self.assertIn("MISS", p.stdout)  # the sample misses some design targets: reported, not fatal

    def test_heavy_init_speedup_regression_fails(self):
        # higher is better: xxh3 at 60x against a baseline of 100x is 40% worse
        base = self.baseline(heavy_init_speedup_vs_elf__snapshot_xxh3=100.0)
        p = tool("gate.py", SAMPLE, "--baseline", base, check=False)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("heavy_init_speedup_vs_elf/snapshot_xxh3", p.stdout)
        tool("gate.py", SAMPLE, "--baseline", self.baseline(heavy_init_speedup_vs_elf__snapshot_xxh3=70.0))

    def test_exec_vs_bare_call_regression_fails(self):
        # lower is better: 1.52 against a baseline of 1.1 is 38% worse; against 1.3, 17% (within 25%)
        p = tool("gate.py", SAMPLE, "--baseline", self.baseline(exec_vs_bare_call=1.1), check=False)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("exec_vs_bare_call", p.stdout)
        tool("gate.py", SAMPLE, "--baseline", self.baseline(exec_vs_bare_call=1.3))

    def test_regression_beyond_threshold_fails(self):
        p = tool("gate.py", SAMPLE, "--baseline", self.baseline(flat_heap__snapshot_unchecked=0.8), check=False)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("REGRESSION", p.stdout)
        p = tool("gate.py", SAMPLE, "--baseline", self.baseline(digest_vs_read__xxh3_file=1.3), check=False)
        self.assertEqual(p.returncode, 1, p.stdout)
        # a looser threshold on the command line lets the same run through
        tool("gate.py", SAMPLE, "--baseline", self.baseline(digest_vs_read__xxh3_file=1.3), "--threshold", "0.5")

    def test_emulated_ratios_are_never_gated(self):
        doc = gbench.load(SAMPLE)
        doc["context"]["snapvm_run"] = "qemu-tcg"
        path = write_json(os.path.join(ARGS.work, "emulated.json"), doc)
        p = tool("gate.py", path, "--baseline", self.baseline(flat_heap__snapshot_unchecked=0.1))
        self.assertIn("emulated: not gated", p.stdout)

    def test_missing_benchmarks_read_not_measured(self):
        doc = gbench.load(SAMPLE)
        doc["benchmarks"] = [b for b in doc["benchmarks"] if not b["name"].startswith(("cold_start", "kvm"))]
        path = write_json(os.path.join(ARGS.work, "nokvm.json"), doc)
        p = tool("gate.py", path, "--baseline", self.baseline(flat_heap__snapshot_unchecked=0.1),
                 "--json", os.path.join(ARGS.work, "ratios.json"), "--markdown", os.path.join(ARGS.work, "ratios.md"))
        self.assertIn("not measured", p.stdout)
        with open(os.path.join(ARGS.work, "ratios.json"), encoding="utf-8") as f:
            rows = {r["key"]: r for r in json.load(f)["ratios"]}
        self.assertIsNone(rows["flat_heap/snapshot_unchecked"]["value"])
        self.assertIsNotNone(rows["digest_vs_read/xxh3_file"]["value"])

    def test_update_baseline_writes_native_ratios(self):
        path = self.baseline()
        tool("gate.py", SAMPLE, "--baseline", path, "--update-baseline", "--machine", "test")
        with open(path, encoding="utf-8") as f:
            base = json.load(f)
        self.assertEqual(len(base["ratios"]), len(gbench.RATIOS))
        self.assertAlmostEqual(base["ratios"]["flat_heap/snapshot_unchecked"]["value"], 1.1034, places=3)
        tool("gate.py", SAMPLE, "--baseline", path)  # a run never regresses against itself

    def test_committed_baseline_is_well_formed(self):
        with open(os.path.join(os.path.dirname(HERE), "baseline.json"), encoding="utf-8") as f:
            base = json.load(f)
        keys = {r.key for r in gbench.RATIOS}
        self.assertGreater(float(base["threshold"]), 0)
        for k, v in base["ratios"].items():
            self.assertIn(k, keys)
            self.assertGreater(float(v["value"]), 0)


class PipelineTest(unittest.TestCase):
    """A real short run of snapshot_bench (no KVM needed), through merge, convert, gate and dashboard."""

    def test_real_run_through_every_tool(self):
        if not ARGS.snapshot_bench:
            self.skipTest("no --snapshot-bench")
        work = os.path.join(ARGS.work, "pipeline")
        os.makedirs(work, exist_ok=True)
        raw = os.path.join(work, "raw.json")
        subprocess.run([ARGS.snapshot_bench, "--benchmark_filter=^snapshot/header/", "--benchmark_min_time=0.01",
                        "--benchmark_repetitions=2", "--benchmark_report_aggregates_only=true",
                        f"--benchmark_out={raw}", "--benchmark_out_format=json",
                        "--benchmark_context=snapvm_run=native"], check=True, capture_output=True)
        merged = os.path.join(work, "results.json")
        tool("gbench.py", "merge", merged, raw)
        ms = gbench.measurements(gbench.load(merged))
        self.assertEqual(set(ms), {"snapshot/header/decode", "snapshot/header/decode_validate"})
        self.assertTrue(all(m.time_ns > 0 and m.repetitions == 2 for m in ms.values()))
        tool("convert.py", merged, "--github", os.path.join(work, "gh.json"), "--bencher", os.path.join(work, "bmf.json"))
        tool("gate.py", merged, "--baseline", os.path.join(os.path.dirname(HERE), "baseline.json"))
        tool("dashboard.py", merged, "-o", os.path.join(work, "dashboard.html"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=ARGS.work)
    ap.add_argument("--snapshot-bench")
    args, rest = ap.parse_known_args()
    ARGS.work, ARGS.snapshot_bench = args.work, args.snapshot_bench
    os.makedirs(ARGS.work, exist_ok=True)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
