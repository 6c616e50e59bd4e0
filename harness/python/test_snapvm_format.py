# test_snapvm_format.py: the independent Python reader (snapvm_format) against the doc's byte tables
# (doc_table) and against the C++ loader (`snapvm inspect --json` / `snapvm verify`): goldens, freshly
# generated files, files the C++ loader must accept, corruptions it must reject naming the doc's field
# and offset, and files in which fields that hold equal values in the goldens differ (swap guard).
#
#   python3 test_snapvm_format.py --snapvm build/ci/harness/snapvm --source . [--seed-gen ...
#       --sample-guest ... --sample-guest-exec ...] [TestClass ...]
import argparse
import glob
import itertools
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import doc_table  # noqa: E402
import snapvm_format as sf  # noqa: E402

ARGS = None
VALUE_TYPES = ("void", "bool", "i32", "u32", "i64", "u64", "f32", "f64", "string", "bytes")  # docs/abi.md
KINDS = {1: "peb", 2: "image", 3: "input", 4: "output", 5: "heap", 6: "stack"}
STAGES = {1: "before-init", 2: "after-init"}
DIGESTS = {1: "blake3-256", 2: "xxh3-128"}
# Fields `snapvm inspect --json` does not show; compare_with_cpp checks them against the other fields.
NOT_REPORTED = re.compile(r"^(magic|header_length|header_checksum|architecture|blob_offset|blob_size|chunks\.table_offset"
                          r"|chunks\.count"
                          r"|.*reserved.*|regions\.count|regions\[\d+\]\.blob_offset|\w+_functions\.count"
                          r"|\w+_functions\[\d+\]\.(name_length|param_count|name|result|params\[\d+\]))$")


def doc():
    with open(os.path.join(ARGS.source, "docs", "snapshot-format.md")) as f:
        return doc_table.parse(f.read())


def read(path):
    with open(path, "rb") as f:
        return f.read()


def host_vendor():
    with open("/proc/cpuinfo") as f:
        m = re.search(r"vendor_id\s*:\s*(\S+)", f.read())
    return m.group(1) if m else None


def snapvm(*args):
    return subprocess.run([ARGS.snapvm, *args], capture_output=True, text=True, timeout=120)


def cpp_inspect(test, data, *flags):
    """`snapvm inspect --json` of these bytes (written to a temporary file)."""
    with tempfile.NamedTemporaryFile(suffix=".svm") as f:
        f.write(data)
        f.flush()
        p = snapvm("inspect", "--json", *flags, f.name)
    test.assertEqual(p.returncode, 0, p.stderr)
    return json.loads(p.stdout)


def for_this_host(data):
    """A file recorded on another CPU vendor gets this machine's (the loader insists; snapvm has no
    option to override it), with the header checksum fixed."""
    vendor = host_vendor()
    if vendor and sf.decode(data, verify_digest=False)["cpu_vendor"] != vendor:
        return sf.set_field(data, "cpu_vendor", vendor)
    return data


def signature(fields, prefix, i):
    p = "%s[%d]." % (prefix, i)
    params = ", ".join(VALUE_TYPES[fields["%sparams[%d]" % (p, j)]] for j in range(fields[p + "param_count"]))
    return "%s(%s) -> %s" % (fields[p + "name"], params, VALUE_TYPES[fields[p + "result"]])


def flags_string(f):
    return ("r" if f & 1 else "-") + ("w" if f & 2 else "-") + ("x" if f & 4 else "-")


def vcpu_name(key):
    """The doc name of a `vcpu` key of `snapvm inspect --json`."""
    m = re.fullmatch(r"(st|xmm)(\d+)", key)
    if m:
        return "fpu.%s[%s]" % ("fpr" if m.group(1) == "st" else "xmm", m.group(2))
    if key in sf.GPRS:
        return "regs." + key
    if key in ("fcw", "fsw", "ftwx", "last_opcode", "last_ip", "last_dp", "mxcsr"):
        return "fpu." + key
    return "sregs." + key


def compare_with_cpp(test, fields, cpp, data):
    """Every field `snapvm inspect --json` reports equals the Python decode of the same bytes; the
    fields it does not report are checked against what the doc derives them from."""
    seen = set()

    def eq(name, value, what=None):
        test.assertIn(name, fields, what or name)
        test.assertEqual(fields[name], value, "%s (C++ key %s)" % (name, what or name))
        seen.add(name)

    top = dict(cpp)
    eq("stage", {v: k for k, v in STAGES.items()}[top.pop("stage")])
    eq("abi_version", top.pop("abi_version"))
    eq("hypervisor", top.pop("hypervisor"))
    eq("cpu_vendor", top.pop("cpu_vendor"))
    eq("entrypoint", int(top.pop("entrypoint"), 16))
    eq("dispatch", int(top.pop("dispatch"), 16))
    if "format_version" in top:
        eq("format_version", top.pop("format_version"))
        test.assertEqual(top.pop("digest_scheme"), "chunked" if fields["format_version"] >= 2 else "flat",
                         "digest_scheme")
    else:  # a sidecar made before inspect showed the format: format 1's
        test.assertEqual(fields["format_version"], 1, "a sidecar without format_version")
        seen.add("format_version")
    if fields["format_version"] >= 2:
        eq("chunks.chunk_size", top.pop("digest_chunk_size"))
    eq("digest_algorithm", {v: k for k, v in DIGESTS.items()}[top.pop("digest_algorithm")])
    n = 16 if fields["digest_algorithm"] == 2 else 32
    test.assertEqual(fields["digest"][:n].hex(), top.pop("digest"), "digest")
    seen.add("digest")
    layout = dict(top.pop("layout"))
    regions = layout.pop("regions")
    test.assertEqual(fields["regions.count"], len(regions), "regions.count")
    for i, r in enumerate(regions):
        r = dict(r)
        p = "regions[%d]." % i
        eq(p + "kind", {v: k for k, v in KINDS.items()}[r.pop("kind")])
        eq(p + "guest_address", int(r.pop("guest_address"), 16))
        eq(p + "size", r.pop("size"))
        test.assertEqual(flags_string(fields[p + "flags"]), r.pop("flags"), p + "flags")
        test.assertEqual(fields[p + "flags"] & ~7, 0, p + "flags")
        seen.add(p + "flags")
        test.assertEqual(r, {}, "region keys the reader does not compare")
    for key, value in layout.items():
        name = ("config." if key in ("heap_size", "stack_size", "input_size", "output_size") else "layout.") + key
        eq(name, int(value, 16) if isinstance(value, str) else value, "layout." + key)
    for key, value in top.pop("vcpu").items():
        name = vcpu_name(key)
        if re.fullmatch(r"fpu\.(fpr|xmm)\[\d+\]", name):
            test.assertEqual(fields[name].hex(), value, key)
            seen.add(name)
        else:
            eq(name, int(value, 0), key)
    for prefix in ("guest_functions", "host_functions"):
        sigs = top.pop(prefix)
        test.assertEqual(fields[prefix + ".count"], len(sigs), prefix + ".count")
        test.assertEqual([signature(fields, prefix, i) for i in range(len(sigs))], sigs, prefix)
    test.assertEqual(top, {}, "top-level keys the reader does not compare")

    # What inspect does not show: every other field, by the doc's rules.
    rest = sorted(set(fields) - seen)
    test.assertEqual([k for k in rest if not NOT_REPORTED.match(k)], [], "fields compared with nothing")
    test.assertEqual(fields["magic"], sf.MAGIC)
    test.assertIn(fields["format_version"], (1, 2))
    test.assertEqual(fields["architecture"], "x86_64")
    test.assertEqual(fields["header_checksum"], sf.header_checksum(data))
    test.assertEqual(fields["blob_offset"], fields["header_length"])
    blob_end = fields["blob_offset"] + fields["blob_size"]
    if fields["format_version"] >= 2:
        test.assertEqual(fields["chunks.table_offset"], blob_end)
        test.assertEqual(len(data), blob_end + sf.CHUNK_ENTRY * fields["chunks.count"], "the file ends with the table")
    else:
        test.assertEqual(blob_end, len(data), "the file ends with the blob")
    running = 0
    for i in range(fields["regions.count"]):
        test.assertEqual(fields["regions[%d].blob_offset" % i], running)
        running += fields["regions[%d].size" % i]
    test.assertEqual(running, fields["blob_size"])
    for k in rest:
        if "reserved" in k:
            test.assertFalse(fields[k] if isinstance(fields[k], int) else fields[k].strip(b"\0"), k)
    blob = data[fields["blob_offset"]:blob_end]
    if fields["format_version"] >= 2:
        table = data[blob_end:]
        test.assertEqual(sf.encode_chunk_table(sf.chunk_table(blob, fields["digest_algorithm"])), table,
                         "chunk table (pure Python)")
        test.assertEqual(sf.chunk_root(table, fields["digest_algorithm"], fields["chunks.chunk_size"], len(blob)),
                         fields["digest"], "chunk root (pure Python)")
    else:
        test.assertEqual(sf.digest_of(blob, fields["digest_algorithm"]), fields["digest"], "digest (pure Python)")
    test.assertEqual(sf.encode(fields, blob), data, "re-encoding gives the same bytes")
    test.assertEqual(sf.encode(sf.normalize(fields, blob), blob), data, "normalize keeps a canonical file")


class DocTable(unittest.TestCase):
    """The Python codec's layout is the doc's, field for field."""

    def test_fixed_fields_equal_the_doc(self):
        d = doc()
        ours = {t[0]: t for t in sf.FIXED_FIELDS}
        theirs = {t[0]: t for t in d["fixed"]}
        self.assertEqual(sorted(ours), sorted(theirs), "offsets")
        for off in sorted(ours):
            self.assertEqual(ours[off], theirs[off], "field at 0x%x" % off)

    def test_fixed_fields_tile_the_header(self):
        pos = 0
        for off, size, _, name in sf.FIXED_FIELDS:
            self.assertEqual(off, pos, name)
            pos += size
        self.assertEqual(pos, sf.REGION_TABLE + 8)

    def test_overview_blocks_hold_their_fields(self):
        for off, name, size in doc()["overview"]:
            inside = [t for t in sf.FIXED_FIELDS if off <= t[0] < off + size]
            self.assertEqual(inside[0][0], off, name)
            self.assertEqual(inside[-1][0] + inside[-1][1], off + size, name)
        self.assertGreaterEqual(len(doc()["overview"]), 7)

    def test_segment_and_region_entries_equal_the_doc(self):
        d = doc()
        self.assertEqual(d["segment"], list(sf.SEGMENT_FIELDS))
        self.assertEqual(d["region"], list(sf.REGION_FIELDS))
        self.assertEqual(d["region_start"], sf.REGION_TABLE + 8)
        self.assertEqual(d["region_stride"], sf.REGION_ENTRY)

    def test_chunked_digest_descriptor_and_entry_equal_the_doc(self):
        d = doc()
        self.assertEqual(d["chunk_descriptor"], [(z, sf._INT_BY_SIZE[z], n) for n, z in sf.CHUNK_FIELDS])
        entry = sf.encode_chunk_table([(0x01020304, bytes(range(32)))])
        self.assertEqual(len(entry), sf.CHUNK_ENTRY)
        self.assertEqual(sum(z for _, z, _, _ in d["chunk_entry"]), sf.CHUNK_ENTRY)
        for off, size, ty, name in d["chunk_entry"]:
            raw = entry[off:off + size]
            want = {"index": struct.pack("<I", 0x01020304), "reserved": bytes(4), "digest": bytes(range(32))}[name]
            self.assertEqual(raw, want, name)
        # The descriptor follows the host functions in the reader's layout.
        fields = {"regions.count": 0, "guest_functions.count": 0, "host_functions.count": 0, "format_version": 2}
        names = [n for _, _, _, n in sf.layout_of(fields)]
        self.assertEqual(names[-5:], ["host_functions.count"] + [n for n, _ in sf.CHUNK_FIELDS])

    def test_function_entries_follow_the_doc(self):
        fields = {"regions.count": 0, "guest_functions.count": 1, "host_functions.count": 0,
                  "guest_functions[0].name_length": 3, "guest_functions[0].param_count": 2}
        ours = [(str(z) if ty != "name" else "n", "bytes" if ty == "name" else ty,
                 re.sub(r"\[0\]", "[i]", re.sub(r"params\[\d\]", "params[j]", n)))
                for _, z, ty, n in sf.layout_of(fields) if n.startswith("guest_functions")]
        theirs = [(z.replace("1 each", "1"), ty, n) for z, ty, n in doc()["function"]]
        self.assertEqual(ours[:len(theirs)], theirs)
        self.assertEqual(ours[len(theirs):], [theirs[-1]])  # the second parameter


class Goldens(unittest.TestCase):
    """Every golden decodes, and every field equals `snapvm inspect --json` and the JSON sidecar."""

    def test_every_golden(self):
        files = sorted(glob.glob(os.path.join(ARGS.source, "corpus", "golden", "v*", "*.svm")))
        self.assertGreaterEqual(len(files), 2)
        for path in files:
            with self.subTest(golden=os.path.basename(path)):
                data = read(path)
                fields = sf.decode(data)
                with open(path[:-4] + ".json") as f:
                    sidecar = json.load(f)
                compare_with_cpp(self, fields, sidecar, data)
                local = for_this_host(data)
                cpp = cpp_inspect(self, local)
                compare_with_cpp(self, sf.decode(local), cpp, local)
                if local == data:
                    # Keys inspect gained after the format 1 sidecars were made: format 1's values.
                    added = {k: cpp.pop(k) for k in ("format_version", "digest_scheme") if k not in sidecar}
                    self.assertEqual(added, {"format_version": 1, "digest_scheme": "flat"} if added else {})
                    self.assertEqual(cpp, sidecar)


class Fresh(unittest.TestCase):
    """Files the native generator writes now (snapvm_seed_gen: the tiny guest, the sample guest)."""

    def test_generated_files(self):
        if not ARGS.seed_gen:
            self.skipTest("no --seed-gen")
        with tempfile.TemporaryDirectory() as out:
            p = subprocess.run([ARGS.seed_gen, "--out", out, "--sample-guest", ARGS.sample_guest,
                                "--sample-guest-exec", ARGS.sample_guest_exec], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            files = sorted(glob.glob(os.path.join(out, "snapshot_file", "*.svm")))
            self.assertGreaterEqual(len(files), 3)
            for path in files:
                with self.subTest(file=os.path.basename(path)):
                    data = for_this_host(read(path))
                    compare_with_cpp(self, sf.decode(data), cpp_inspect(self, data), data)


class Baked(unittest.TestCase):
    """Files `snapvm bake` writes now from the sample guest (after init, and before init with XXH3):
    needs /dev/kvm, so ctest runs it in the kvm label."""

    def test_baked_files(self):
        if not os.path.exists("/dev/kvm"):
            if os.environ.get("SNAPVM_REQUIRE_KVM") == "1":
                self.fail("SNAPVM_REQUIRE_KVM=1 but /dev/kvm is missing")
            self.skipTest("no /dev/kvm")
        with tempfile.TemporaryDirectory() as out:
            for name, flags in (("after.svm", []), ("before-xxh3.svm", ["--before-init", "--digest", "xxh3"])):
                with self.subTest(file=name):
                    path = os.path.join(out, name)
                    p = snapvm("bake", ARGS.sample_guest, "-o", path, "--heap", "64K", *flags)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    data = read(path)
                    compare_with_cpp(self, sf.decode(data), cpp_inspect(self, data), data)


def golden(name="sample-after-init", version=1):
    return for_this_host(read(os.path.join(ARGS.source, "corpus", "golden", "v%d" % version, name + ".svm")))


class Accept(unittest.TestCase):
    """Files written by the Python encoder that the C++ loader must accept, with the new values."""

    def test_edited_registers_and_names_load_with_their_new_values(self):
        data = golden()
        f = sf.decode(data)
        edits = {"regs.rax": 0x1111222233334444, "regs.r15": 0xfedcba9876543210, "regs.rflags": 0x202,
                 "sregs.fs.base": 0x7f0000001000, "sregs.gs.base": 0x7f0000002000, "sregs.cr2": 0xdead000,
                 "fpu.mxcsr": 0x1fc0, "fpu.fcw": 0x27f, "fpu.xmm[7]": bytes(range(16)),
                 "fpu.fpr[3]": bytes(range(100, 116)), "fpu.last_ip": 0x101a33,
                 "guest_functions[0].name": "Ohce", "host_functions[1].name": "HostEchO"}
        f.update(edits)
        blob = data[f["blob_offset"]:]
        out = sf.encode(f, blob)
        with tempfile.NamedTemporaryFile(suffix=".svm") as tmp:
            tmp.write(out)
            tmp.flush()
            p = snapvm("verify", tmp.name)
            self.assertEqual(p.returncode, 0, p.stderr)
        cpp = cpp_inspect(self, out)
        compare_with_cpp(self, sf.decode(out), cpp, out)
        self.assertEqual(cpp["vcpu"]["rax"], "0x1111222233334444")
        self.assertEqual(cpp["vcpu"]["fs.base"], "0x7f0000001000")
        self.assertEqual(cpp["vcpu"]["xmm7"], bytes(range(16)).hex())
        self.assertTrue(cpp["guest_functions"][0].startswith("Ohce("))

    def test_a_file_normalized_after_dropping_a_function_loads(self):
        data = golden()
        f = sf.decode(data)
        last = f["guest_functions.count"] - 1
        for k in [k for k in f if k.startswith("guest_functions[%d]." % last)]:
            del f[k]
        blob = data[f["blob_offset"]:]
        out = sf.encode(sf.normalize(f, blob), blob)
        cpp = cpp_inspect(self, out)
        self.assertEqual(len(cpp["guest_functions"]), last)
        compare_with_cpp(self, sf.decode(out), cpp, out)


def offending_bytes_at(data, name):
    """Offset of the first non-zero byte of a byte field (the C++ error names that byte)."""
    off, size, _, _ = next(t for t in sf.describe_fields(data) if t[3] == name)
    return off + next(i for i in range(size) if data[off + i])


class Reject(unittest.TestCase):
    """Corrupted fields, with a correct header checksum: the C++ loader exits non-zero, with the
    error code the doc gives, naming the doc's field at the doc's offset."""

    # (field to write, value, expected error code, field the error names if not the same)
    CASES = [
        ("magic", b"\x89SNAPVM\r", "BadMagic", None),
        ("format_version", sf.FORMAT_VERSION + 1, "NewerFormat", None),
        ("format_version", 0, "OlderFormat", None),
        ("header_length", 4097, "Misaligned", None),
        ("header_length", 0x200000, "FieldOutOfRange", None),
        ("header_length", 0x100000 + 0x1000, "FieldOutOfRange", None),
        ("architecture", b"x86_64\0A", "ReservedNotZero", None),
        ("architecture", b"aarch64\0", "PlatformMismatch", None),
        ("abi_version", 2, "AbiMismatch", None),
        ("stage", 3, "FieldOutOfRange", None),
        ("hypervisor", b"kvm\0\0\0\0B", "ReservedNotZero", None),
        ("hypervisor", b"xen\0\0\0\0\0", "PlatformMismatch", None),
        ("platform.reserved", 1, "ReservedNotZero", None),
        ("blob_offset", 8192, "FieldOutOfRange", None),
        ("blob_size", 4096, "FieldOutOfRange", None),
        ("digest_algorithm", 3, "FieldOutOfRange", None),
        ("blob.reserved", 1, "ReservedNotZero", None),
        ("config.heap_size", 8192, "FieldOutOfRange", None),
        ("layout.heap_base", 0x112000, "LayoutMismatch", None),
        ("entrypoint", 0, "BadRegisters", None),
        ("regs.rsp", 0x10, "BadRegisters", None),
        ("regs.rflags", 0x304e, "BadRegisters", None),
        ("sregs.cs.l", 0, "BadSpecialRegisters", None),
        ("sregs.cs.db", 1, "BadSpecialRegisters", None),
        ("sregs.ss.dpl", 0, "BadSpecialRegisters", None),
        ("sregs.fs.dpl", 4, "BadSpecialRegisters", None),
        ("sregs.gs.present", 2, "BadSpecialRegisters", None),
        ("sregs.ldt.type", 16, "BadSpecialRegisters", None),
        ("sregs.tr.type", 9, "BadSpecialRegisters", None),
        ("sregs.tr.selector", 0x30, "BadSpecialRegisters", None),
        ("sregs.es.unusable", 2, "BadSpecialRegisters", None),
        ("sregs.cs.reserved", 1, "ReservedNotZero", None),
        ("sregs.ldt.reserved", 1, "ReservedNotZero", None),
        ("sregs.gdt.limit", 0x38, "BadSpecialRegisters", None),
        ("sregs.gdt.reserved", b"\0\0\1\0\0\0", "ReservedNotZero", None),
        ("sregs.idt.base", 0x3000, "BadSpecialRegisters", None),
        ("sregs.idt.reserved", b"\1\0\0\0\0\0", "ReservedNotZero", None),
        ("sregs.cr0", 0x80010033 | 0x40, "BadSpecialRegisters", None),
        ("sregs.cr3", 0x11c000, "BadSpecialRegisters", None),
        ("sregs.cr4", 0x621, "BadSpecialRegisters", None),
        ("sregs.cr8", 16, "BadSpecialRegisters", None),
        ("sregs.efer", 0x500, "BadSpecialRegisters", None),
        ("sregs.interrupt_bitmap[2]", 1, "BadSpecialRegisters", "sregs.interrupt_bitmap"),
        ("fpu.reserved", 1, "ReservedNotZero", None),
        ("fpu.mxcsr", 0x11f80, "BadRegisters", None),
        ("fpu.reserved2", 1, "ReservedNotZero", None),
        ("regions.count", 65, "FieldOutOfRange", None),
        ("regions.reserved", 1, "ReservedNotZero", None),
        ("regions[1].guest_address", 0x100001, "Misaligned", None),
        ("regions[1].size", 4097, "Misaligned", None),
        ("regions[1].blob_offset", 0x1001, "Misaligned", None),
        ("regions[2].flags", 8, "UnknownFlags", None),
        ("regions[2].flags", 6, "FieldOutOfRange", None),
        ("regions[2].kind", 7, "FieldOutOfRange", None),
        ("regions[2].kind", 0, "FieldOutOfRange", None),
        ("guest_functions.count", 257, "FieldOutOfRange", None),
        ("guest_functions[0].name_length", 0, "FieldOutOfRange", None),
        ("guest_functions[0].name_length", 129, "FieldOutOfRange", None),
        ("guest_functions[1].name", "Echo\x01ool", "FieldOutOfRange", None),
        ("guest_functions[0].result", 10, "FieldOutOfRange", None),
        ("guest_functions[0].param_count", 17, "FieldOutOfRange", None),
        ("host_functions[0].params[1]", 10, "FieldOutOfRange", None),
    ]

    def expected_offset(self, data, name, d):
        """The doc's offset of `name` in this file."""
        fixed = {n: off for off, _, _, n in d["fixed"]}
        if name in fixed:
            return fixed[name]
        m = re.fullmatch(r"regions\[(\d+)\]\.(\w+)", name)
        if m:
            rel = next(o for o, _, _, n in d["region"] if n == m.group(2))
            return d["region_start"] + d["region_stride"] * int(m.group(1)) + rel
        if re.fullmatch(r"sregs\.interrupt_bitmap", name):
            return fixed[name + "[0]"]
        # Function lists have no fixed offsets; their order is checked against the doc in DocTable.
        return next(off for off, _, _, n in sf.describe_fields(data) if n == name)

    def check_rejected(self, bad, code, field, offset, unchecked=True):
        with tempfile.NamedTemporaryFile(suffix=".svm") as tmp:
            tmp.write(bad)
            tmp.flush()
            for cmd in (["verify"] + (["--unchecked"] if unchecked else []), ["inspect", "--json"]):
                p = snapvm(*cmd, tmp.name)
                self.assertNotEqual(p.returncode, 0, "%s accepted it" % cmd[0])
                m = re.match(r"snapvm: (\w+): .*?; (\S+) at offset 0x([0-9a-f]+)", p.stderr)
                self.assertIsNotNone(m, p.stderr)
                self.assertEqual((m.group(1), m.group(2), int(m.group(3), 16)), (code, field, offset), p.stderr)

    # Format 2's descriptor (after the host functions; offsets from the file's own layout).
    CHUNK_CASES = [
        ("chunks.chunk_size", 0, "FieldOutOfRange", None),
        ("chunks.chunk_size", 0x1800, "Misaligned", None),
        ("chunks.chunk_size", 32 << 20, "FieldOutOfRange", None),
        ("chunks.table_offset", 0, "FieldOutOfRange", None),
        ("chunks.count", 100000, "FieldOutOfRange", None),
        ("chunks.reserved", 1, "ReservedNotZero", None),
    ]

    # Format 2 names another field for these: a blob_size that moves the blob's end away from the chunk
    # table is caught by the table's place (validation rule 7) before the region sum (rule 17).
    V2_REPORTED = {"blob_size": "chunks.table_offset"}

    def test_each_corrupted_field_is_named_at_its_doc_offset(self):
        for version in (1, 2):
            with self.subTest(version=version):
                cases = self.CASES
                if version > 1:
                    cases = [(n, v, c, self.V2_REPORTED.get(n, r)) for n, v, c, r in cases] + self.CHUNK_CASES
                self.corrupt_each_field(golden(version=version), cases)

    def test_a_short_or_long_chunk_table(self):
        data = golden(version=2)
        f = sf.decode(data)
        self.check_rejected(data[:-1], "FileTooShort", "chunks.count", self.expected_offset(data, "chunks.count", doc()))
        self.check_rejected(data + b"\0", "FieldOutOfRange", "chunks.count",
                            self.expected_offset(data, "chunks.count", doc()))
        self.assertGreater(f["chunks.count"], 0)

    def corrupt_each_field(self, data, cases):
        d = doc()
        for name, value, code, reported in cases:
            with self.subTest(field=name, value=value):
                bad = sf.set_field(data, name, value)
                field = reported or name
                offset = self.expected_offset(data, field, d)
                if isinstance(value, bytes) and "reserved" in name:
                    offset = offending_bytes_at(bad, name)
                self.check_rejected(bad, code, field, offset)

    def test_non_canonical_header_length(self):
        data = golden()
        f = sf.decode(data)
        f["header_length"] = f["blob_offset"] = 8192
        bad = sf.encode(f, data[4096:])
        self.check_rejected(bad, "FieldOutOfRange", "header_length", doc_offset("header_length"))

    def test_padding_after_the_metadata(self):
        data = bytearray(golden())
        data[4000] = 1
        self.check_rejected(sf.with_checksum(data), "ReservedNotZero", "padding", 4000)

    def test_header_checksum_and_digest(self):
        for version, digest_field in ((1, "digest"), (2, "blob.chunks.root")):
            data = golden(version=version)
            bad = bytearray(data)
            bad[0x100] ^= 1
            self.check_rejected(bytes(bad), "HeaderChecksum", "header_checksum", doc_offset("header_checksum"))
            bad = sf.set_field(data, "digest", b"\1" + bytes(31))
            self.check_rejected(bad, "ContentDigest", digest_field, doc_offset("digest"), unchecked=False)

    def test_a_changed_data_chunk_is_named(self):
        data = bytearray(golden(version=2))
        f = sf.decode(bytes(data))
        data[f["blob_offset"] + 10] ^= 1  # chunk 0 holds data: its digest in the table no longer matches
        self.check_rejected(bytes(data), "ContentDigest", "blob.chunks[0]", f["blob_offset"], unchecked=False)


def doc_offset(name):
    return next(off for off, _, _, n in doc()["fixed"] if n == name)


# Fields validation leaves free, by kind of value, for the swap guard (`snapvm inspect` vcpu keys).
WIDE = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
        "cr2", "last_ip", "last_dp", "apic_base"] + ["%s.base" % s for s in ("cs", "ds", "es", "fs", "gs", "ss", "ldt")]
LIMIT = ["%s.limit" % s for s in ("cs", "ds", "es", "fs", "gs", "ss", "ldt")]
HALF = ["fcw", "fsw", "last_opcode", "mxcsr"] + ["%s.selector" % s for s in ("es", "fs", "gs", "ldt")]
BYTES16 = ["st%d" % i for i in range(8)] + ["xmm%d" % i for i in range(16)]
SMALL = {"ftwx": 256, "cr8": 16}
SMALL.update({"%s.type" % s: 16 for s in ("es", "fs", "gs", "ldt")})
SMALL.update({"%s.dpl" % s: 4 for s in ("es", "fs", "gs", "ldt")})
SMALL.update({"%s.%s" % (s, b): 2 for s in ("es", "fs", "gs", "ldt")
              for b in ("present", "db", "s", "l", "g", "avl", "unusable")})
SMALL.update({"cs.%s" % b: 2 for b in ("g", "avl")})
SMALL.update({"%s.%s" % (s, b): 2 for s in ("ss", "ds") for b in ("db", "l", "g", "avl")})
SWAP_FILES = 6  # enough for every pair of one-bit fields to differ in one file


class SwapGuard(unittest.TestCase):
    """Fields equal in the goldens (two segment bases, two flags) cannot show a codec that swaps them.
    Here every field validation leaves free gets, over SWAP_FILES files, a sequence of values no other
    field has, and every file must come back from the C++ loader with each value under its own name:
    a symmetric swap of any two fields not both pinned by validation fails."""

    def codewords(self):
        used, words, c = set(), {}, 1
        for key, radix in SMALL.items():
            while True:
                w = tuple((c // radix ** k) % radix for k in range(SWAP_FILES))
                c += 1
                if w not in used and len(set(w)) > 1:
                    break
            used.add(w)
            words[key] = w
        for i, key in enumerate(WIDE):
            words[key] = tuple(0x5a00000000 + 0x100000000 * k + 0x1000 * i for k in range(SWAP_FILES))
        for i, key in enumerate(LIMIT):
            words[key] = tuple(0x10000 * (k + 1) + 0x100 * i + 0xff for k in range(SWAP_FILES))
        for i, key in enumerate(HALF):
            words[key] = tuple(0x1000 * (k + 1) + 0x10 * i + 0x3f for k in range(SWAP_FILES))
        for i, key in enumerate(BYTES16):
            words[key] = tuple(bytes([0xa0 + i, k]) + bytes(range(i, i + 14)) for k in range(SWAP_FILES))
        return words

    def test_free_fields_come_back_under_their_own_names(self):
        data = golden()
        base = sf.decode(data)
        blob = data[base["blob_offset"]:]
        words = self.codewords()
        reports = [cpp_inspect(self, for_this_host(read(p)))["vcpu"]
                   for p in glob.glob(os.path.join(ARGS.source, "corpus", "golden", "v1", "*.svm"))]
        for k in range(SWAP_FILES):
            f = dict(base)
            for key, w in words.items():
                f[vcpu_name(key)] = w[k]
            out = sf.encode(f, blob)
            with self.subTest(file=k):
                cpp = cpp_inspect(self, out)
                compare_with_cpp(self, sf.decode(out), cpp, out)
                for key, w in words.items():
                    want = w[k].hex() if isinstance(w[k], bytes) else w[k]
                    got = cpp["vcpu"][key] if isinstance(w[k], bytes) else int(cpp["vcpu"][key], 0)
                    self.assertEqual(got, want, key)
                reports.append(cpp["vcpu"])
        # Every pair of reported fields differs in some file, unless validation pins both.
        reports = [{k: v if len(v) == 32 else int(v, 0) for k, v in r.items()} for r in reports]
        keys = sorted(reports[0])
        pinned = [k for k in keys if k not in words]
        same = [(a, b) for a, b in itertools.combinations(keys, 2)
                if not (a in pinned and b in pinned) and all(r[a] == r[b] for r in reports)]
        self.assertEqual(same, [], "pairs of fields whose swap no file would show")


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--snapvm", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--seed-gen")
    ap.add_argument("--sample-guest")
    ap.add_argument("--sample-guest-exec")
    ARGS, rest = ap.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v"] + rest)


if __name__ == "__main__":
    main()
