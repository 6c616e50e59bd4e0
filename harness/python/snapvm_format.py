# snapvm_format.py: an independent reader and writer of snapvm snapshot files (formats 1 and 2), written
# from docs/snapshot-format.md alone; it shares no code with the C++ codec (engine/snapshot/format.cpp).
#
#   import snapvm_format as sf
#   fields = sf.decode(open("x.svm", "rb").read())     # {"regions[3].size": 4096, "sregs.cs.l": 1, ...}
#   data = sf.encode(fields, blob)                      # bytes, header checksum computed
#   python3 -m snapvm_format inspect FILE [--unchecked] # every field as JSON
#
# Field names are the doc's (and the C++ errors'): `regions[3].size`, `sregs.cs.l`,
# `guest_functions[0].name`. The decoder makes the doc's decode checks (fixed header, header
# checksum, reserved fields, tags, caps on counts, padding) and, unless asked not to, the content
# digest; the semantic validation rules (validate.cpp) are the C++ loader's job and not repeated here.
import argparse
import json
import struct
import sys

import snapvm_hash

MAGIC = b"\x89SNAPVM\n"
FORMAT_VERSION = 2  # the newest read and written
MIN_FORMAT_VERSION = 1
CHUNK_SIZE = 64 * 1024  # what snapvm writes in format 2
MAX_CHUNK_SIZE = 16 << 20
CHUNK_ENTRY = 40
CHUNK_ROOT_TAG = b"snapvm chunked v2\0"
PAGE = 4096
MAX_HEADER = 1 << 20
MAX_REGIONS = 64
MAX_FUNCTIONS = 256
MAX_NAME = 128
MAX_ARGS = 16
VALUE_TYPES = 10
DIGEST_BLAKE3, DIGEST_XXH3 = 1, 2
REGION_TABLE = 0x458
REGION_ENTRY = 32

_INT = {"u8": 1, "u16": 2, "u32": 4, "u64": 8}
_PACK = {"u8": "<B", "u16": "<H", "u32": "<I", "u64": "<Q"}

SEGMENTS = ("cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt")
GPRS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
        "r15", "rip", "rflags")
LAYOUT = ("config.heap_size", "config.stack_size", "config.input_size", "config.output_size", "layout.image_base",
          "layout.image_end", "layout.input_base", "layout.output_base", "layout.heap_base", "layout.stack_base",
          "layout.page_table_base", "layout.page_table_size", "layout.memory_size", "entrypoint", "dispatch")
# +offset, size, type, name of each field of one segment register (24 bytes).
SEGMENT_FIELDS = ((0, 8, "u64", "base"), (8, 4, "u32", "limit"), (12, 2, "u16", "selector"), (14, 1, "u8", "type"),
                  (15, 1, "u8", "present"), (16, 1, "u8", "dpl"), (17, 1, "u8", "db"), (18, 1, "u8", "s"),
                  (19, 1, "u8", "l"), (20, 1, "u8", "g"), (21, 1, "u8", "avl"), (22, 1, "u8", "unusable"),
                  (23, 1, "u8", "reserved"))
# +offset, size, type, name of each field of one region table entry (32 bytes).
REGION_FIELDS = ((0, 8, "u64", "guest_address"), (8, 8, "u64", "size"), (16, 8, "u64", "blob_offset"),
                 (24, 4, "u32", "flags"), (28, 4, "u32", "kind"))


def _fixed_table():
    """(offset, size, type, name) of every field at a fixed offset, 0x000 up to the region entries."""
    t = [(0x000, 8, "bytes", "magic"), (0x008, 4, "u32", "format_version"), (0x00c, 4, "u32", "header_length"),
         (0x010, 8, "u64", "header_checksum"),
         (0x018, 8, "tag", "architecture"), (0x020, 4, "u32", "abi_version"), (0x024, 4, "u32", "stage"),
         (0x028, 8, "tag", "hypervisor"), (0x030, 12, "tag", "cpu_vendor"), (0x03c, 4, "u32", "platform.reserved"),
         (0x040, 8, "u64", "blob_offset"), (0x048, 8, "u64", "blob_size"), (0x050, 4, "u32", "digest_algorithm"),
         (0x054, 4, "u32", "blob.reserved"), (0x058, 32, "bytes", "digest")]
    t += [(0x078 + 8 * i, 8, "u64", n) for i, n in enumerate(LAYOUT)]
    t += [(0x0f0 + 8 * i, 8, "u64", "regs." + n) for i, n in enumerate(GPRS)]
    for s, seg in enumerate(SEGMENTS):
        t += [(0x180 + 24 * s + o, z, ty, "sregs.%s.%s" % (seg, n)) for o, z, ty, n in SEGMENT_FIELDS]
    for o, d in ((0x240, "gdt"), (0x250, "idt")):
        t += [(o, 8, "u64", "sregs.%s.base" % d), (o + 8, 2, "u16", "sregs.%s.limit" % d),
              (o + 10, 6, "bytes", "sregs.%s.reserved" % d)]
    t += [(0x260 + 8 * i, 8, "u64", "sregs." + n) for i, n in enumerate(("cr0", "cr2", "cr3", "cr4", "cr8", "efer",
                                                                          "apic_base"))]
    t += [(0x298 + 8 * i, 8, "u64", "sregs.interrupt_bitmap[%d]" % i) for i in range(4)]
    t += [(0x2b8 + 16 * i, 16, "bytes", "fpu.fpr[%d]" % i) for i in range(8)]
    t += [(0x338, 2, "u16", "fpu.fcw"), (0x33a, 2, "u16", "fpu.fsw"), (0x33c, 1, "u8", "fpu.ftwx"),
          (0x33d, 1, "u8", "fpu.reserved"), (0x33e, 2, "u16", "fpu.last_opcode"), (0x340, 8, "u64", "fpu.last_ip"),
          (0x348, 8, "u64", "fpu.last_dp")]
    t += [(0x350 + 16 * i, 16, "bytes", "fpu.xmm[%d]" % i) for i in range(16)]
    t += [(0x450, 4, "u32", "fpu.mxcsr"), (0x454, 4, "u32", "fpu.reserved2"),
          (0x458, 4, "u32", "regions.count"), (0x45c, 4, "u32", "regions.reserved")]
    return t


FIXED_FIELDS = _fixed_table()
# Format 2's chunked digest descriptor, right after the host functions: (name, size).
CHUNK_FIELDS = (("chunks.chunk_size", 8), ("chunks.table_offset", 8), ("chunks.count", 4), ("chunks.reserved", 4))
_INT_BY_SIZE = {1: "u8", 2: "u16", 4: "u32", 8: "u64"}
RESERVED_FIELDS = {n for _, _, _, n in FIXED_FIELDS if "reserved" in n}


class FormatError(ValueError):
    """A rejected file: `field` as the doc names it, its byte `offset`, the offending `value`."""

    def __init__(self, field, offset, value, message):
        super().__init__("%s at offset 0x%x is %r: %s" % (field, offset, value, message))
        self.field, self.offset, self.value, self.message = field, offset, value, message


class _Reader:
    """Walks the metadata in file order, recording (offset, size, type, name) of every field."""

    def __init__(self, data, limit, strict):
        self.data, self.limit, self.pos, self.table, self.fields = data, limit, 0, [], {}
        self.strict = strict  # make the decode checks (off: just read, to edit a bad file)

    def take(self, name, size, ty):
        if self.pos + size > self.limit:
            raise FormatError(name, self.pos, None, "runs past header_length (kFileTooShort)")
        raw = bytes(self.data[self.pos:self.pos + size])
        self.table.append((self.pos, size, ty, name))
        self.pos += size
        if ty in _PACK:
            value = struct.unpack(_PACK[ty], raw)[0]
        elif ty == "tag":
            text, _, pad = raw.partition(b"\0")
            if pad.strip(b"\0") and self.strict:
                raise FormatError(name, self.pos - size, raw.hex(), "bytes after the first NUL must be NUL")
            value = text.decode("ascii", "replace")
        elif ty == "name":
            value = raw.decode("utf-8", "surrogateescape")
        else:
            value = raw
        self.fields[name] = value
        return value


def _check(cond, r, name, message):
    if not cond and r.strict:
        off = next(o for o, _, _, n in r.table if n == name)
        raise FormatError(name, off, r.fields[name], message)


def _functions(r, prefix):
    count = r.take(prefix + ".count", 4, "u32")
    _check(count <= MAX_FUNCTIONS, r, prefix + ".count", "at most %d" % MAX_FUNCTIONS)
    for i in range(count):
        p = "%s[%d]." % (prefix, i)
        n = r.take(p + "name_length", 2, "u16")
        _check(1 <= n <= MAX_NAME, r, p + "name_length", "1..%d" % MAX_NAME)
        name = r.take(p + "name", n, "name")
        _check(not any(ord(c) < 0x20 or ord(c) == 0x7f for c in name), r, p + "name", "no control characters")
        _check(r.take(p + "result", 1, "u8") < VALUE_TYPES, r, p + "result", "a ValueType")
        pc = r.take(p + "param_count", 1, "u8")
        _check(pc <= MAX_ARGS, r, p + "param_count", "at most %d" % MAX_ARGS)
        for j in range(pc):
            _check(r.take("%sparams[%d]" % (p, j), 1, "u8") < VALUE_TYPES, r, "%sparams[%d]" % (p, j), "a ValueType")


def _fixed_header(data):
    if len(data) < 8 or data[:8] != MAGIC:
        if MAGIC.startswith(bytes(data[:8])):
            raise FormatError("magic", 0, bytes(data[:8]).hex(), "file shorter than the magic (kFileTooShort)")
        raise FormatError("magic", 0, bytes(data[:8]).hex(), "not a snapvm snapshot (kBadMagic)")
    if len(data) < 24:
        raise FormatError("header_length", len(data), None, "file shorter than the fixed header (kFileTooShort)")
    version, hlen = struct.unpack_from("<II", data, 8)
    if not MIN_FORMAT_VERSION <= version <= FORMAT_VERSION:
        raise FormatError("format_version", 8, version,
                          "newer format" if version > FORMAT_VERSION else "older format")
    if not PAGE <= hlen <= MAX_HEADER:
        raise FormatError("header_length", 0xc, hlen, "4096..1 MiB")
    if hlen % PAGE:
        raise FormatError("header_length", 0xc, hlen, "a multiple of 4096 (kMisaligned)")
    if hlen > len(data):
        raise FormatError("header_length", 0xc, hlen, "larger than the file (kFileTooShort)")
    return hlen


def header_checksum(data):
    """XXH3-64 of [0, header_length) with the checksum field read as zero."""
    hlen = struct.unpack_from("<I", data, 0xc)[0]
    head = bytearray(data[:min(hlen, len(data))])
    head[0x10:0x18] = bytes(8)
    return snapvm_hash.xxh3_64(head)


def walk(data, check_checksum=True, strict=True):
    """Decodes the metadata: (fields dict, [(offset, size, type, name)] in file order). Without
    `strict` only the fixed header is checked, so that invalid files can be read and edited."""
    hlen = _fixed_header(data)
    if check_checksum:
        stored = struct.unpack_from("<Q", data, 0x10)[0]
        if stored != header_checksum(data):
            raise FormatError("header_checksum", 0x10, stored, "XXH3-64 of the header differs (kHeaderChecksum)")
    r = _Reader(data, hlen, strict)
    for off, size, ty, name in FIXED_FIELDS:
        assert r.pos == off, (name, hex(r.pos), hex(off))
        r.take(name, size, ty)
        if name in RESERVED_FIELDS:
            v = r.fields[name]
            _check(not (v.strip(b"\0") if isinstance(v, bytes) else v), r, name, "reserved, must be zero")
    f = r.fields
    _check(f["digest_algorithm"] in (DIGEST_BLAKE3, DIGEST_XXH3), r, "digest_algorithm", "1 or 2")
    _check(f["digest_algorithm"] != DIGEST_XXH3 or not f["digest"][16:].strip(b"\0"), r, "digest",
           "XXH3-128 tail must be zero")
    _check(f["regions.count"] <= MAX_REGIONS, r, "regions.count", "at most %d" % MAX_REGIONS)
    for i in range(f["regions.count"]):
        for _, size, ty, n in REGION_FIELDS:
            r.take("regions[%d].%s" % (i, n), size, ty)
    _functions(r, "guest_functions")
    _functions(r, "host_functions")
    if f["format_version"] >= 2:
        for name, size in CHUNK_FIELDS:
            r.take(name, size, _INT_BY_SIZE[size])
        _check(not f["chunks.reserved"], r, "chunks.reserved", "reserved, must be zero")
    pad_at = r.pos
    if data[pad_at:hlen].strip(b"\0") and strict:
        first = next(i for i in range(pad_at, hlen) if data[i])
        raise FormatError("padding", first, data[first], "padding after the metadata must be zero")
    r.table.append((pad_at, hlen - pad_at, "bytes", "padding"))
    return f, r.table


def digest_of(blob, algorithm):
    if algorithm == DIGEST_BLAKE3:
        return snapvm_hash.blake3_256(blob)
    return snapvm_hash.xxh3_128(blob) + bytes(16)


def chunk_table(blob, algorithm, chunk_size=CHUNK_SIZE):
    """Format 2: [(index, digest)] of the chunks of `blob` that are not all zero."""
    out = []
    for i in range(0, (len(blob) + chunk_size - 1) // chunk_size):
        chunk = bytes(blob[i * chunk_size:(i + 1) * chunk_size])
        if chunk.strip(b"\0"):
            out.append((i, digest_of(chunk, algorithm)))
    return out


def encode_chunk_table(entries):
    return b"".join(struct.pack("<II", i, 0) + d for i, d in entries)


def chunk_root(table_bytes, algorithm, chunk_size, blob_size):
    """Format 2's content digest: the root over the chunk table."""
    count = len(table_bytes) // CHUNK_ENTRY
    return digest_of(CHUNK_ROOT_TAG + struct.pack("<QQQ", chunk_size, blob_size, count) + bytes(table_bytes), algorithm)


def _verify_digest(data, f):
    alg = f["digest_algorithm"]
    if f["format_version"] < 2:
        if digest_of(data[f["blob_offset"]:], alg) != f["digest"]:
            raise FormatError("digest", 0x58, f["digest"].hex(), "content digest differs (kContentDigest)")
        return
    size, at = f["chunks.chunk_size"], f["chunks.table_offset"]
    table = bytes(data[at:at + CHUNK_ENTRY * f["chunks.count"]])
    if chunk_root(table, alg, size, f["blob_size"]) != f["digest"]:
        raise FormatError("blob.chunks.root", 0x58, f["digest"].hex(), "chunk table root differs (kContentDigest)")
    blob = data[f["blob_offset"]:f["blob_offset"] + f["blob_size"]]
    want = chunk_table(blob, alg, size)
    have = [(struct.unpack_from("<I", table, k)[0], table[k + 8:k + 40]) for k in range(0, len(table), CHUNK_ENTRY)]
    if want != have:
        bad = next((w for w, h in zip(want + [None] * len(have), have + [None] * len(want)) if w != h), None)
        raise FormatError("blob.chunks", at, bad and bad[0], "a chunk's digest differs (kContentDigest)")


def decode(data, verify_digest=True, check_checksum=True):
    """Every field of a snapshot file as {doc name: value}; raises FormatError on a decode check."""
    fields, _ = walk(data, check_checksum)
    if verify_digest:
        _verify_digest(data, fields)
    return fields


def describe_fields(data):
    """(offset, size, type, name) of every metadata field of this file, in file order."""
    return walk(data, check_checksum=False, strict=False)[1]


def _put(buf, off, size, ty, value):
    if ty in _PACK:
        struct.pack_into(_PACK[ty], buf, off, value)
        return
    raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)
    if ty == "tag":
        raw = raw.ljust(size, b"\0")
    if len(raw) != size:
        raise ValueError("%d bytes for a %d-byte field at 0x%x" % (len(raw), size, off))
    buf[off:off + size] = raw


def layout_of(fields):
    """(offset, size, type, name) of every metadata field that `fields` describes, in file order.
    Counts and name lengths are taken from the fields themselves, as a decoder would read them."""
    t = list(FIXED_FIELDS)
    pos = REGION_TABLE + 8
    for i in range(fields["regions.count"]):
        t += [(pos + o, z, ty, "regions[%d].%s" % (i, n)) for o, z, ty, n in REGION_FIELDS]
        pos += REGION_ENTRY
    for prefix in ("guest_functions", "host_functions"):
        t.append((pos, 4, "u32", prefix + ".count"))
        pos += 4
        for i in range(fields[prefix + ".count"]):
            p = "%s[%d]." % (prefix, i)
            n = fields[p + "name_length"]
            pc = fields[p + "param_count"]
            t += [(pos, 2, "u16", p + "name_length"), (pos + 2, n, "name", p + "name"),
                  (pos + 2 + n, 1, "u8", p + "result"), (pos + 3 + n, 1, "u8", p + "param_count")]
            t += [(pos + 4 + n + j, 1, "u8", "%sparams[%d]" % (p, j)) for j in range(pc)]
            pos += 4 + n + pc
    if fields.get("format_version", 1) >= 2:
        for name, size in CHUNK_FIELDS:
            t.append((pos, size, _INT_BY_SIZE[size], name))
            pos += size
    return t


def encode(fields, blob, fix_checksum=True, chunks=None):
    """The file that `fields` and `blob` describe, every value written as given (so invalid files can
    be made on purpose); with fix_checksum, header_checksum is computed over the result. Format 2:
    `chunks` (the table's bytes) follows the blob, by default the blob's own chunk table."""
    table = layout_of(fields)
    end = table[-1][0] + table[-1][1]
    hlen = fields["header_length"]
    buf = bytearray(max(hlen, end))
    for off, size, ty, name in table:
        _put(buf, off, size, ty, fields[name])
    data = buf + bytes(blob)
    if fields.get("format_version", 1) >= 2:
        if chunks is None:
            chunks = encode_chunk_table(chunk_table(blob, fields["digest_algorithm"], fields["chunks.chunk_size"]))
        data += bytes(chunks)
    if fix_checksum:
        struct.pack_into("<Q", data, 0x10, header_checksum(data))
    return bytes(data)


def normalize(fields, blob):
    """Recomputes the derived fields (counts, name lengths, header_length, blob fields, region blob
    offsets, digest) so that edited fields encode to a canonical file."""
    f = dict(fields)
    for prefix in ("guest_functions", "host_functions"):
        i = 0
        while "%s[%d].name" % (prefix, i) in f:
            p = "%s[%d]." % (prefix, i)
            f[p + "name_length"] = len(f[p + "name"].encode("utf-8", "surrogateescape"))
            f[p + "param_count"] = sum(1 for k in f if k.startswith(p + "params["))
            i += 1
        f[prefix + ".count"] = i
    f["regions.count"] = sum(1 for k in f if k.startswith("regions[") and k.endswith("].size"))
    running = 0
    for i in range(f["regions.count"]):
        f["regions[%d].blob_offset" % i] = running
        running += f["regions[%d].size" % i]
    table = layout_of(f)
    end = table[-1][0] + table[-1][1]
    f["header_length"] = f["blob_offset"] = (end + PAGE - 1) // PAGE * PAGE
    f["blob_size"] = len(blob)
    if f.get("format_version", 1) < 2:
        f["digest"] = digest_of(blob, f["digest_algorithm"])
        return f
    f.setdefault("chunks.chunk_size", CHUNK_SIZE)
    f.setdefault("chunks.reserved", 0)
    table = encode_chunk_table(chunk_table(blob, f["digest_algorithm"], f["chunks.chunk_size"]))
    f["chunks.table_offset"] = f["blob_offset"] + f["blob_size"]
    f["chunks.count"] = len(table) // CHUNK_ENTRY
    f["digest"] = chunk_root(table, f["digest_algorithm"], f["chunks.chunk_size"], f["blob_size"])
    return f


def set_field(data, name, value, fix_checksum=True):
    """`data` with one field changed in place (by name, at the offset the file's own layout gives)."""
    off, size, ty, _ = next(t for t in describe_fields(data) if t[3] == name)
    out = bytearray(data)
    _put(out, off, size, ty, value)
    return with_checksum(out) if fix_checksum else bytes(out)


def with_checksum(data):
    """`data` with header_checksum recomputed."""
    out = bytearray(data)
    struct.pack_into("<Q", out, 0x10, header_checksum(out))
    return bytes(out)


def to_json(fields):
    """Fields as JSON-ready values: integers stay integers, byte fields become hex strings."""
    return {k: (v.hex() if isinstance(v, (bytes, bytearray)) else v) for k, v in fields.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m snapvm_format", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    ins = sub.add_parser("inspect", help="print every field of a snapshot file as JSON")
    ins.add_argument("file")
    ins.add_argument("--unchecked", action="store_true", help="skip the content digest")
    ins.add_argument("--offsets", action="store_true", help="print [offset, size, type, name] rows instead")
    a = ap.parse_args(argv)
    with open(a.file, "rb") as fh:
        data = fh.read()
    try:
        if a.offsets:
            decode(data, verify_digest=not a.unchecked)
            print(json.dumps([list(t) for t in describe_fields(data)], indent=1))
        else:
            print(json.dumps(to_json(decode(data, verify_digest=not a.unchecked)), indent=2))
    except FormatError as e:
        print("snapvm_format: %s" % e, file=sys.stderr)
        return 4
    return 0


if __name__ == "__main__":
    sys.exit(main())
