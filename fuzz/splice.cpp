// splice.cpp: block boundaries from format::describe_fields, and re-framing the spliced metadata.
#include "fuzz/splice.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "fuzz/inputs.h"
#include "snapshot/format.h"
#include "snapvm/abi/byte_order.h"
#include "snapvm/abi/layout.h"

namespace snapvm::fuzz {

namespace {

struct Range {
  uint64_t begin = 0, end = 0;
  uint64_t size() const { return end - begin; }
};

// [first field starting with `from`, end of the last field before one starting with `until`).
Range find_range(std::span<const uint8_t> file, std::string_view from, std::string_view until) {
  Range r;
  bool in = false;
  for (const format::FieldInfo& f : format::describe_fields(file)) {
    std::string_view name = f.name;
    if (!in && name.starts_with(from)) in = true, r.begin = f.offset;
    if (in && !until.empty() && name.starts_with(until)) break;
    if (in && (name == "padding" || name == "blob")) break;
    if (in) r.end = f.offset + f.size;
  }
  if (r.end < r.begin) r.end = r.begin;
  return r;
}

// A block is one fixed-size piece (overwritten in place), one variable piece (replaced by the rest
// of the input), or, for the layout, both.
struct Pieces {
  Range fixed, variable;
};

Pieces pieces(std::span<const uint8_t> file, Block block) {
  switch (block) {
    case Block::kSpecialRegisters:
      return {find_range(file, "sregs.", "fpu."), {}};
    case Block::kLayout:
      return {find_range(file, "config.", "regs."), find_range(file, "regions.count", "guest_functions.count")};
    case Block::kRegionTable:
      return {{}, find_range(file, "regions.count", "guest_functions.count")};
    case Block::kFunctions:
      return {{}, find_range(file, "guest_functions.count", "")};
  }
  return {};
}

uint64_t read_u64(std::span<const uint8_t> b, uint64_t at) {
  uint64_t v = 0;
  if (at <= b.size() && b.size() - at >= 8) v = abi::load_le<uint64_t>(b.data() + at);
  return v;
}

struct Base {
  std::vector<uint8_t> metadata;  // up to the end of the last field (no padding)
  uint64_t blob_size = 0;
  Pieces blocks[4];
};

const Base& base() {
  static const Base b = [] {
    FileOptions options;
    options.cpu_vendor = format::host_cpu_vendor();
    std::vector<uint8_t> file = tiny_guest_file(options);
    Base out;
    for (int k = 0; k < 4; ++k) out.blocks[k] = pieces(file, static_cast<Block>(k));
    const uint64_t end = out.blocks[static_cast<int>(Block::kFunctions)].variable.end;
    out.metadata.assign(file.begin(), file.begin() + static_cast<long>(end));
    out.blob_size = read_u64(file, format::kBlobSizeOffset);
    return out;
  }();
  return b;
}

// Sum of the sizes in the region table (count capped at the format's maximum), modulo 2^64.
uint64_t region_sizes(std::span<const uint8_t> meta) {
  uint32_t count = 0;
  if (format::kRegionTableOffset + 4 <= meta.size())
    count = abi::load_le<uint32_t>(meta.data() + format::kRegionTableOffset);
  uint64_t sum = 0;
  for (uint64_t i = 0; i < std::min<uint64_t>(count, kMaxRegions); ++i) {
    sum += read_u64(meta, format::kRegionEntriesOffset + i * format::kRegionEntrySize + 8);
  }
  return sum;
}
}  // namespace

SplicedFile splice(Block block, std::span<const uint8_t> bytes) {
  const Base& b = base();
  const Pieces& p = b.blocks[static_cast<int>(block)];
  const std::span<const uint8_t> meta(b.metadata);
  SplicedFile out;
  std::vector<uint8_t>& m = out.metadata;
  m.assign(meta.begin(), meta.end());
  if (p.fixed.size() != 0) {
    const size_t n = std::min<size_t>(bytes.size(), p.fixed.size());
    std::memcpy(m.data() + p.fixed.begin, bytes.data(), n);
    bytes = bytes.subspan(n);
  }
  // The layout block keeps the base's region table when the input ends with the fixed part.
  if (p.variable.size() != 0 && (p.fixed.size() == 0 || !bytes.empty())) {
    m.erase(m.begin() + static_cast<long>(p.variable.begin), m.begin() + static_cast<long>(p.variable.end));
    m.insert(m.begin() + static_cast<long>(p.variable.begin), bytes.begin(), bytes.end());
  }

  const uint64_t length =
      std::max<uint64_t>((m.size() + abi::kPageSize - 1) / abi::kPageSize * abi::kPageSize, abi::kPageSize);
  m.resize(length, 0);
  const auto length32 = static_cast<uint32_t>(std::min<uint64_t>(length, UINT32_MAX));
  abi::store_le(m.data() + format::kHeaderLengthOffset, length32);
  abi::store_le(m.data() + format::kBlobOffsetOffset, length);
  uint64_t blob_size = b.blob_size;
  if (block == Block::kLayout) {
    blob_size = region_sizes(m);
    abi::store_le(m.data() + format::kBlobSizeOffset, blob_size);
  }
  out.file_size = blob_size > UINT64_MAX - length ? UINT64_MAX : length + blob_size;
  const uint64_t checksum = format::compute_header_checksum(m);
  abi::store_le(m.data() + format::kChecksumOffset, checksum);
  return out;
}

std::vector<uint8_t> block_of(std::span<const uint8_t> file, Block block) {
  const Pieces p = pieces(file, block);
  std::vector<uint8_t> out;
  for (const Range& r : {p.fixed, p.variable}) {
    if (r.size() != 0)
      out.insert(out.end(), file.begin() + static_cast<long>(r.begin), file.begin() + static_cast<long>(r.end));
  }
  return out;
}

}  // namespace snapvm::fuzz
