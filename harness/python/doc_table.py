# doc_table.py: the byte layout of a snapshot file as docs/snapshot-format.md states it, parsed from
# the doc's tables and register lists at run time. The tests check the Python codec's tables
# (snapvm_format.FIXED_FIELDS, SEGMENT_FIELDS, REGION_FIELDS) and the C++ loader's error offsets
# against this, so the doc is the one source: a doc that drifts, or a codec that does, fails a test.
import re

_INT_BY_SIZE = {1: "u8", 2: "u16", 4: "u32", 8: "u64"}
_SIZE = {"u8": 1, "u16": 2, "u32": 4, "u64": 8}


def _sections(text):
    """{heading: body} for every `## ` section."""
    out, name = {}, None
    for line in text.splitlines():
        if line.startswith("## "):
            name = line[3:].strip()
            out[name] = []
        elif name is not None:
            out[name].append(line)
    return {k: "\n".join(v) for k, v in out.items()}


def _tables(body):
    """Every markdown table in `body` as (header cells, [row cells])."""
    tables, cur = [], None
    for line in body.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cur is None:
                cur = (cells, [])
                tables.append(cur)
            elif not all(set(c) <= set("-: ") for c in cells):
                cur[1].append(cells)
        else:
            cur = None
    return tables


def _prose(body):
    return " ".join(line for line in body.splitlines() if not line.startswith("|"))


def _name(cell):
    m = re.search(r"`([^`]+)`", cell)
    return m.group(1) if m else None


def _standard_tables(sections, out):
    """Tables with Offset | Size | Type | Field columns and absolute offsets."""
    for body in sections.values():
        for head, rows in _tables(body):
            if head[:4] != ["Offset", "Size", "Type", "Field"]:
                continue
            for off, size, ty, field in (r[:4] for r in rows):
                if re.fullmatch(r"0x[0-9a-f]+", off):
                    out.append((int(off, 16), int(size), ty, _name(field)))


def _layout(body, out):
    ty = re.search(r"All (u\d+)", body).group(1)
    for head, rows in _tables(body):
        if head != ["Offset", "Field", "Offset", "Field"]:
            continue
        for r in rows:
            for off, field in ((r[0], r[1]), (r[2], r[3])):
                if off:
                    out.append((int(off, 16), _SIZE[ty], ty, _name(field)))


_ITEM = re.compile(r"^(?:`(?P<name>[\w.\[\]<>]+)`(?:\.\.`(?P<last>\w+)`)?|(?P<anon>reserved))?\s*"
                   r"(?:(?P<count>\d+) x )?(?P<type>u8|u16|u32|u64|\d+ bytes)?\s*(?:at )?"
                   r"(?P<off>0x[0-9a-f]+)?(?:\.\.(?P<end>0x[0-9a-f]+))?\s*(?:\((?P<each>u\d+) each\))?$")


def _items(text, default_type, out):
    """Lists like "`regs.rax` 0x0f0, `rbx` 0x0f8, `r8`..`r15` 0x130..0x168" and "`fcw` u16 0x338;
    reserved u8 0x33d; ... 6 reserved": a name without a dot takes the prefix of the last dotted one,
    a missing type is the clause's "(u64 each)", else that of the same field of an earlier register,
    else the section's."""
    prefix, typed, prev = "", {}, None
    for clause in text.split(";"):
        each = re.search(r"\((u\d+) each\)", clause)
        for raw in clause.split(","):
            item = raw.strip().rstrip(".").strip()
            item = re.sub(r"^Then:\s*", "", item)
            gap = re.fullmatch(r"(\d+) reserved", item)
            if gap:
                out.append((prev[0] + prev[1], int(gap.group(1)), "bytes", None))
                prev = out[-1]
                continue
            m = _ITEM.match(item)
            if not m or not m.group("off"):
                raise ValueError("doc: cannot read the field list item %r" % item)
            name = m.group("name")
            if name and "." in name:
                prefix = name.split(".")[0] + "."
            elif name:
                name = prefix + name
            ty = m.group("type") or (each.group(1) if each else None)
            if ty is None and name:
                ty = typed.get(name.split(".")[-1], default_type)
            if name:
                typed[name.split(".")[-1]] = ty
            size = int(ty.split()[0]) if ty.endswith("bytes") else _SIZE[ty]
            ty = "bytes" if ty.endswith("bytes") else ty
            off = int(m.group("off"), 16)
            if m.group("last"):  # `r8`..`r15` 0x130..0x168
                stem, first = re.fullmatch(r"(.*?)(\d+)", name).groups()
                last = int(re.fullmatch(r"\D+(\d+)", m.group("last")).group(1))
                for k, n in enumerate(range(int(first), last + 1)):
                    out.append((off + k * size, size, ty, "%s%d" % (stem, n)))
                if off + (last - int(first)) * size != int(m.group("end"), 16):
                    raise ValueError("doc: range %r does not end where it says" % item)
            elif m.group("count"):
                for k in range(int(m.group("count"))):
                    out.append((off + k * size, size, ty, "%s[%d]" % (name, k)))
            else:
                out.append((off, size, ty, name))
            prev = out[-1]


def _special(body, out):
    text = _prose(body)
    order = re.search(r"in the order `([a-z ]+)`", text).group(1).split()
    stride = int(re.search(r"(\d+) bytes each", text).group(1))
    starts = dict((s, int(o, 16)) for s, o in re.findall(r"\b([a-z]{2,3}) (?:at )?(0x[0-9a-f]+)\b",
                                                        re.search(r"\(([^)]*)\)", text).group(1)))
    seg_fields = segment_fields_from_doc(body)
    for i, seg in enumerate(order):
        if starts[seg] != starts[order[0]] + i * stride:
            raise ValueError("doc: segment %s does not start at %d x %d" % (seg, i, stride))
        for rel, size, ty, n in seg_fields:
            out.append((starts[seg] + rel, size, ty, "sregs.%s.%s" % (seg, n)))
    _items(text[text.index("Then:"):], "u64", out)


def segment_fields_from_doc(body):
    """(+offset, size, type, name) of one segment register, from the +Offset | Size | Field table."""
    rows = []
    for head, table in _tables(body):
        if head[:3] != ["+Offset", "Size", "Field"]:
            continue
        for rel, size, field in (r[:3] for r in table):
            names = [n.split(".")[-1] for n in re.findall(r"`([^`]+)`", field)]
            z = int(size.split()[0])
            for k, n in enumerate(names):
                rows.append((int(rel.lstrip("+")) + k * z, z, _INT_BY_SIZE[z], n))
    return rows


def _region_entry(sections):
    """(start of entry 0, entry size, [(+offset, size, type, name)]) from the region table."""
    body = next(v for k, v in sections.items() if k.startswith("Region table"))
    head, rows = next(t for t in _tables(body) if t[0][:4] == ["Offset", "Size", "Type", "Field"])
    start = stride = None
    fields = []
    for off, size, ty, field in (r[:4] for r in rows):
        m = re.fullmatch(r"(0x[0-9a-f]+) \+ (\d+) i", off)
        if m:
            start, stride, rel = int(m.group(1), 16), int(m.group(2)), 0
        elif off.startswith("+"):
            rel = int(off[1:])
        else:
            continue
        fields.append((rel, int(size), ty, _name(field).split(".")[-1]))
    return start, stride, fields


def _function_entry(sections):
    """[(size, type, name)] of a function list, in order, from the Functions table."""
    body = next(v for k, v in sections.items() if k.startswith("Functions"))
    head, rows = next(t for t in _tables(body) if t[0][:3] == ["Size", "Type", "Field"])
    return [(r[0], r[1], _name(r[2])) for r in rows]


def _chunked(sections):
    """Format 2: [(size, type, name)] of the descriptor and [(+offset, size, type, name)] of a table
    entry, from the "Chunked digest" section."""
    body = next(v for k, v in sections.items() if k.startswith("Chunked digest"))
    tables = _tables(body)
    _, desc = next(t for t in tables if t[0][:3] == ["Size", "Type", "Field"])
    _, entry = next(t for t in tables if t[0][:4] == ["+Offset", "Size", "Type", "Field"])
    return ([(int(r[0]), r[1], _name(r[2])) for r in desc],
            [(int(r[0].lstrip("+")), int(r[1]), r[2], _name(r[3])) for r in entry])


def _overview(text):
    """[(offset, name, size)] of the blocks in the overview diagram at the top."""
    rows = re.findall(r"^ (0x[0-9a-f]{3})  (.+?)\s+\((\d+) bytes\)\s*$", text, re.M)
    return [(int(o, 16), n.split(":")[0].strip(), int(z)) for o, n, z in rows]


def parse(text):
    """The doc's layout: {"fixed": [(offset, size, type, name or None for an unnamed reserved)],
    "segment": [...], "region_start", "region_stride", "region": [...], "function": [...],
    "overview": [...], "chunk_descriptor": [(size, type, name)], "chunk_entry": [...]}."""
    sections = _sections(text)
    fixed = []
    _standard_tables(sections, fixed)
    _layout(sections["Layout"], fixed)
    for k, body in sections.items():
        if k.startswith("General registers"):
            default = re.search(r"x (u\d+)\)", k).group(1)
            _items(_prose(body), default, fixed)
        elif k.startswith("Special registers"):
            _special(body, fixed)
        elif k.startswith("FPU"):
            _items(_prose(body), None, fixed)
    start, stride, region = _region_entry(sections)
    chunk_descriptor, chunk_entry = _chunked(sections)
    seg = segment_fields_from_doc(next(v for k, v in sections.items() if k.startswith("Special registers")))
    return {"fixed": sorted(fixed), "segment": seg, "region_start": start, "region_stride": stride,
            "region": region, "function": _function_entry(sections), "overview": _overview(text),
            "chunk_descriptor": chunk_descriptor, "chunk_entry": chunk_entry}
