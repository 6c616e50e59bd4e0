// structured_mutator.cpp: the mutations. Each works on a copy of the file and reports whether it
// could apply; the caller falls back to libFuzzer's byte mutation when none did.
#include "fuzz/structured_mutator.h"

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "memory/system_area.h"
#include "snapshot/file_patch.h"
#include "snapshot/format.h"
#include "snapvm/abi/layout.h"

// libFuzzer's byte mutator (the replay build provides a simple stand-in).
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace snapvm::fuzz {

namespace {
using Bytes = std::vector<uint8_t>;
using Rng = std::mt19937_64;
constexpr uint64_t kPage = abi::kPageSize;

uint64_t pick(Rng& r, uint64_t n) { return n == 0 ? 0 : r() % n; }
bool one_in(Rng& r, uint64_t n) { return pick(r, n) == 0; }

uint64_t read_le(const Bytes& b, uint64_t off, uint64_t n) {
  uint64_t v = 0;
  for (uint64_t i = 0; i < n && i < 8 && off + i < b.size(); ++i) v |= uint64_t{b[off + i]} << (8 * i);
  return v;
}
void write_le(Bytes& b, uint64_t off, uint64_t n, uint64_t v) {
  for (uint64_t i = 0; i < n && off + i < b.size(); ++i) b[off + i] = i < 8 ? static_cast<uint8_t>(v >> (8 * i)) : 0;
}

// libFuzzer's mutation on b[off, off + n): same length afterwards (zero padded if it shrank).
void mutate_bytes(Bytes& b, uint64_t off, uint64_t n) {
  if (off >= b.size() || n == 0) return;
  n = std::min<uint64_t>(n, b.size() - off);
  Bytes window(b.begin() + static_cast<long>(off), b.begin() + static_cast<long>(off + n));
  size_t got = LLVMFuzzerMutate(window.data(), window.size(), window.size());
  window.resize(got);
  window.resize(n, 0);
  std::copy(window.begin(), window.end(), b.begin() + static_cast<long>(off));
}

// Values with a meaning somewhere in a snapshot file.
constexpr uint64_t kConstants[] = {0,
                                   1,
                                   2,
                                   3,
                                   4,
                                   5,
                                   6,
                                   7,
                                   8,
                                   15,
                                   16,
                                   0xff,
                                   0x100,
                                   0xfff,
                                   kPage,
                                   kPage + 1,
                                   2 * kPage,
                                   0x3fff,
                                   0x4000,
                                   0x10000,
                                   0x7fffffff,
                                   0x80000000,
                                   0xffffffff,
                                   0x100000000,
                                   0x7fffffffffffffff,
                                   0x8000000000000000,
                                   ~uint64_t{0},
                                   ~uint64_t{0} - kPage + 1,
                                   64 * kGiB,
                                   64 * kGiB - kPage,
                                   16 * kGiB,
                                   1 << 20,
                                   abi::kGdtAddress,
                                   abi::kIdtAddress,
                                   abi::kTssAddress,
                                   abi::kTrapStubAddress,
                                   abi::kRing0StackTop,
                                   abi::kPebAddress,
                                   abi::kSystemAreaEnd,
                                   abi::kDefaultImageBase,
                                   abi::kDefaultImageBase + kPage,
                                   abi::kUserCodeSelector,
                                   abi::kUserDataSelector,
                                   abi::kTssSelector,
                                   abi::kKernelCodeSelector,
                                   abi::kGdtLimit,
                                   abi::kIdtLimit,
                                   abi::kTssLimit,
                                   abi::kInitialRflags,
                                   kInitialCr0,
                                   kInitialCr4,
                                   kInitialEfer,
                                   kInitialApicBase,
                                   0x37f,
                                   0x1f80,
                                   11,
                                   0x9b,
                                   0x93,
                                   0x8b};

uint64_t interesting(Rng& r, const Bytes& f, const std::vector<format::FieldInfo>& fields, uint64_t current) {
  switch (pick(r, 6)) {
    case 0:
      return kConstants[pick(r, std::size(kConstants))];
    case 1:
      return current ^ (uint64_t{1} << pick(r, 64));
    case 2:
      return current + (pick(r, 2) ? 1 : -1) * static_cast<int64_t>(pick(r, 2) ? 1 : kPage * (1 + pick(r, 4)));
    case 3: {  // another field's value: addresses and sizes that must agree
      const format::FieldInfo& o = fields[pick(r, fields.size())];
      return read_le(f, o.offset, std::min<uint64_t>(o.size, 8));
    }
    case 4:
      return current & ~(uint64_t{1} << pick(r, 64));
    default:
      return r();
  }
}

bool mutate_field(Bytes& f, Rng& r) {
  std::vector<format::FieldInfo> fields = format::describe_fields(f);
  std::erase_if(fields, [](const format::FieldInfo& i) {
    return i.size == 0 || i.name == "padding" || i.name == "blob" || i.name == "header_checksum";
  });
  if (fields.empty()) return false;
  const format::FieldInfo& field = fields[pick(r, fields.size())];
  if (field.name == "cpu_vendor" && !one_in(r, 4)) {
    const std::string vendor =
        one_in(r, 2) ? format::host_cpu_vendor() : (one_in(r, 2) ? "GenuineIntel" : "AuthenticAMD");
    std::fill_n(f.begin() + static_cast<long>(field.offset), field.size, 0);
    std::copy_n(vendor.begin(), std::min<size_t>(vendor.size(), field.size),
                f.begin() + static_cast<long>(field.offset));
  } else if (field.size <= 8) {
    write_le(f, field.offset, field.size, interesting(r, f, fields, read_le(f, field.offset, field.size)));
  } else {
    mutate_bytes(f, field.offset, field.size);
  }
  return true;
}

// ---- region table ---------------------------------------------------------------------------

uint64_t entry_at(uint64_t i) { return format::kRegionEntriesOffset + i * format::kRegionEntrySize; }

// Inserts a copy of entry `from` before entry `at`, or deletes entry `at`, keeping header_length:
// the metadata after the table moves into (or out of) the zero padding.
bool resize_table(Bytes& f, uint64_t count, uint64_t at, bool insert, uint64_t from) {
  const uint64_t header = read_le(f, format::kHeaderLengthOffset, 4);
  if (header > f.size() || header < entry_at(count)) return false;
  const auto e = static_cast<long>(format::kRegionEntrySize);
  if (insert) {
    if (count >= kMaxRegions || !std::all_of(f.begin() + static_cast<long>(header) - e,
                                             f.begin() + static_cast<long>(header), [](uint8_t b) { return b == 0; })) {
      return false;  // no room in the padding
    }
    Bytes entry(f.begin() + static_cast<long>(entry_at(from)), f.begin() + static_cast<long>(entry_at(from)) + e);
    f.erase(f.begin() + static_cast<long>(header) - e, f.begin() + static_cast<long>(header));
    f.insert(f.begin() + static_cast<long>(entry_at(at)), entry.begin(), entry.end());
  } else {
    f.erase(f.begin() + static_cast<long>(entry_at(at)), f.begin() + static_cast<long>(entry_at(at)) + e);
    f.insert(f.begin() + static_cast<long>(header) - e, static_cast<size_t>(e), 0);
  }
  write_le(f, format::kRegionTableOffset, 4, insert ? count + 1 : count - 1);
  return true;
}

bool mutate_regions(Bytes& f, Rng& r) {
  uint64_t count = std::min<uint64_t>(read_le(f, format::kRegionTableOffset, 4), kMaxRegions);
  while (count > 0 && entry_at(count) > f.size()) --count;
  if (count == 0) return false;
  const uint64_t i = pick(r, count), j = pick(r, count), at = entry_at(i);
  const uint64_t pages = (1 + pick(r, 4)) * kPage;
  const bool up = one_in(r, 2);
  auto shift = [&](uint64_t member) {
    write_le(f, at + member, 8, read_le(f, at + member, 8) + (up ? pages : -pages));
  };
  switch (pick(r, 9)) {
    case 0:
      std::swap_ranges(f.begin() + static_cast<long>(at), f.begin() + static_cast<long>(at + format::kRegionEntrySize),
                       f.begin() + static_cast<long>(entry_at(j)));
      return true;
    case 1:
      std::copy_n(f.begin() + static_cast<long>(entry_at(j)), format::kRegionEntrySize,
                  f.begin() + static_cast<long>(at));
      return true;
    case 2:
      shift(0);
      return true;  // guest_address
    case 3:
      shift(8);
      return true;  // size
    case 4:
      shift(16);
      return true;  // blob_offset
    case 5: {       // flags
      static constexpr uint32_t kFlags[] = {0, 1, 3, 5, 7, 2, 4, 6};
      static constexpr unsigned kBits[] = {0, 1, 2, 3, 8, 31};
      uint64_t flags = one_in(r, 2) ? kFlags[pick(r, std::size(kFlags))]
                                    : read_le(f, at + 24, 4) ^ (uint64_t{1} << kBits[pick(r, std::size(kBits))]);
      write_le(f, at + 24, 4, flags);
      return true;
    }
    case 6:
      write_le(f, at + 28, 4, pick(r, 8));
      return true;  // kind, 0 and 7 invalid
    case 7:
      return resize_table(f, count, i, true, j);
    default:
      return count > 1 && resize_table(f, count, i, false, 0);
  }
}

// ---- blob, length, vendor -----------------------------------------------------------------------

bool mutate_blob(Bytes& f, Rng& r) {
  const uint64_t blob = read_le(f, format::kBlobOffsetOffset, 8);
  if (blob >= f.size()) return false;
  uint64_t off = blob + pick(r, f.size() - blob);
  // Half the time the first bytes of a region: the PEB, the code and its messages, the manifest.
  const uint64_t count = std::min<uint64_t>(read_le(f, format::kRegionTableOffset, 4), kMaxRegions);
  if (count > 0 && one_in(r, 2)) off = blob + read_le(f, entry_at(pick(r, count)) + 16, 8) + pick(r, 512);
  if (off >= f.size()) return false;
  mutate_bytes(f, off, 1 + pick(r, 64));
  return true;
}

bool mutate_length(Bytes& f, Rng& r, size_t max_size) {
  const uint64_t header = read_le(f, format::kHeaderLengthOffset, 4);
  switch (pick(r, 4)) {
    case 0:
      f.resize(pick(r, f.size() + 1));
      return true;
    case 1:
      if (header <= f.size()) f.resize(header);
      return true;
    case 2:
      f.resize(f.size() / kPage * kPage);
      return true;
    default: {
      const uint64_t extra = one_in(r, 2) ? 1 + pick(r, 16) : kPage;
      if (f.size() + extra > max_size) return false;
      f.resize(f.size() + extra, 0);
      return true;
    }
  }
}

// ---- re-encoding: valid structure, different shape --------------------------------------------

uint64_t executable_address(const Layout& l, Rng& r) {
  std::vector<const Region*> x;
  for (const Region& g : l.regions) {
    if (g.flags & kRegionExecute) x.push_back(&g);
  }
  if (x.empty()) return r();
  const Region& g = *x[pick(r, x.size())];
  return g.guest_address + pick(r, g.size);
}

bool change_config(detail::SnapshotMetadata& d, Rng& r) {
  SandboxConfig c = d.layout.config;
  uint64_t* sizes[] = {&c.heap_size, &c.stack_size, &c.input_size, &c.output_size};
  const uint64_t mins[] = {SandboxConfig::kMinHeap, SandboxConfig::kMinStack, SandboxConfig::kMinBuffer,
                           SandboxConfig::kMinBuffer};
  const uint64_t k = pick(r, 4);
  *sizes[k] = mins[k] + pick(r, 5) * kPage;
  std::vector<Region> image;
  for (const Region& g : d.layout.regions) {
    if (g.kind == RegionKind::kImage) image.push_back(g);
  }
  auto layout = compute_layout(c, image);
  if (!layout) return false;
  const uint64_t below_top = d.layout.stack_top() - std::min(d.vcpu.regs.rsp, d.layout.stack_top());
  d.layout = std::move(*layout);
  d.vcpu.sregs.cr3 = d.layout.page_table_base;
  d.vcpu.regs.rsp = d.layout.stack_top() - std::min(below_top, d.layout.config.stack_size);
  return true;
}

void change_functions(detail::SnapshotMetadata& d, Rng& r) {
  std::vector<FunctionInfo>& list = one_in(r, 2) ? d.guest_functions : d.host_functions;
  if (!list.empty() && one_in(r, 2)) {
    list.erase(list.begin() + static_cast<long>(pick(r, list.size())));
    return;
  }
  FunctionInfo fn;
  fn.name = one_in(r, 2) && !list.empty() ? list[pick(r, list.size())].name : "F" + std::to_string(pick(r, 1000));
  fn.signature.result = static_cast<ValueType>(pick(r, abi::kValueTypeCount));
  for (uint64_t p = pick(r, 4); p > 0; --p) fn.signature.params.push_back(static_cast<ValueType>(1 + pick(r, 9)));
  list.push_back(std::move(fn));
}

bool reencode(Bytes& f, Rng& r, size_t max_size) {
  auto decoded = format::decode_metadata(f, f.size());  // structure only: any platform
  if (!decoded) return false;
  detail::SnapshotMetadata& d = decoded->meta;
  const Layout before = d.layout;
  uint64_t total = 0;
  for (const Region& g : before.regions) {
    if (g.size > max_size || total > max_size - g.size) return false;
    total += g.size;
  }
  DigestAlgorithm digest = d.digest_algorithm.value_or(DigestAlgorithm::kBlake3_256);
  switch (pick(r, 5)) {
    case 0:
      if (!change_config(d, r)) return false;
      break;
    case 1:
      if (d.stage == SnapshotStage::kAfterInit) {
        d.stage = SnapshotStage::kBeforeInit, d.dispatch = 0, d.vcpu.regs.rip = d.entrypoint;
      } else {
        d.stage = SnapshotStage::kAfterInit, d.dispatch = executable_address(d.layout, r);
      }
      break;
    case 2:
      change_functions(d, r);
      break;
    case 3:
      digest = digest == DigestAlgorithm::kBlake3_256 ? DigestAlgorithm::kXxh3_128 : DigestAlgorithm::kBlake3_256;
      break;
    default:
      if (one_in(r, 2)) {
        d.vcpu.regs.rip = executable_address(d.layout, r);
      } else {
        d.vcpu.regs.rsp = d.layout.stack_base + pick(r, d.layout.config.stack_size + 1);
      }
      break;
  }
  // The blob: each region's old bytes (matched by kind and order), cut or zero-extended.
  Bytes out = format::encode_metadata(d, digest, Digest{});
  const uint64_t blob = decoded->blob_offset;
  for (const Region& g : d.layout.regions) {
    if (out.size() + g.size > max_size) return false;
    size_t nth = 0;
    for (const Region& h : d.layout.regions) nth += (&h < &g && h.kind == g.kind);
    Bytes bytes(g.size, 0);
    for (size_t k = 0, seen = 0; k < before.regions.size(); ++k) {
      if (before.regions[k].kind != g.kind || seen++ != nth) continue;
      const uint64_t start = blob + decoded->region_offsets[k];
      if (start < f.size()) {
        const uint64_t n = std::min({g.size, before.regions[k].size, f.size() - start});
        std::copy_n(f.begin() + static_cast<long>(start), n, bytes.begin());
      }
    }
    out.insert(out.end(), bytes.begin(), bytes.end());
  }
  f = std::move(out);
  return true;
}
}  // namespace

size_t mutate_snapshot_file(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  Rng r(seed);
  if (one_in(r, 4)) {
    size_t n = LLVMFuzzerMutate(data, size, max_size);
    if (one_in(r, 2)) format::fix_content_digest(std::span<uint8_t>(data, n));
    return n;
  }
  Bytes f(data, data + size);
  bool done = false;
  for (int attempt = 0; attempt < 4 && !done; ++attempt) {
    switch (pick(r, 8)) {
      case 0:
      case 1:
      case 2:
        done = mutate_field(f, r);
        break;
      case 3:
      case 4:
        done = mutate_regions(f, r);
        break;
      case 5:
        done = mutate_blob(f, r);
        break;
      case 6:
        done = reencode(f, r, max_size);
        break;
      default:
        done = mutate_length(f, r, max_size);
        break;
    }
  }
  if (!done || f.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  // Mostly with both checksums fixed; sometimes the digest stale, sometimes both.
  switch (pick(r, 16)) {
    case 0:
      break;
    case 1:
      format::fix_header_checksum(f);
      break;
    default:
      format::fix_content_digest(f);
      break;
  }
  std::copy(f.begin(), f.end(), data);
  return f.size();
}

}  // namespace snapvm::fuzz
