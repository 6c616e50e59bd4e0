// structured_mutator.cpp: the mutations. Each works on a copy of the file and reports whether it
// could apply; the caller falls back to libFuzzer's byte mutation when none did.
#include "fuzz/structured_mutator.h"

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "memory/system_area.h"
#include "snapshot/format.h"
#include "snapvm/abi/layout.h"
#include "snapvm_harness/field_mutation.h"

// libFuzzer's byte mutator (the replay build provides a simple stand-in).
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace snapvm::fuzz {

namespace {
using Bytes = std::vector<uint8_t>;
using Rng = std::mt19937_64;
using harness::read_at;
using harness::write_at;

uint64_t pick(Rng& r, uint64_t n) { return n == 0 ? 0 : r() % n; }
bool one_in(Rng& r, uint64_t n) { return pick(r, n) == 0; }

// One field: a text tag to a vendor, an integer by a field change (field_mutation.h), a longer
// field by libFuzzer's byte mutation.
bool mutate_field(Bytes& f, Rng& r) {
  const std::vector<format::FieldInfo> fields = harness::mutable_fields(f);
  if (fields.empty()) return false;
  const format::FieldInfo& field = fields[pick(r, fields.size())];
  if (field.name == "cpu_vendor" && !one_in(r, 4)) {
    const std::string vendor =
        one_in(r, 2) ? format::host_cpu_vendor() : (one_in(r, 2) ? "GenuineIntel" : "AuthenticAMD");
    harness::write_text_field(f, field, vendor);
  } else if (field.size <= 8) {
    const auto change = static_cast<harness::FieldChange>(pick(r, harness::kFieldChangeCount));
    harness::mutate_field(f, fields, field, {change, r()});
  } else {
    harness::mutate_bytes(f, field.offset, field.size, LLVMFuzzerMutate);
  }
  return true;
}

// ---- region table ---------------------------------------------------------------------------

uint64_t entry_at(uint64_t i) { return format::kRegionEntriesOffset + i * format::kRegionEntrySize; }

// Inserts a copy of entry `from` before entry `at`, or deletes entry `at`, keeping header_length:
// the metadata after the table moves into (or out of) the zero padding.
bool resize_table(Bytes& f, uint64_t count, uint64_t at, bool insert, uint64_t from) {
  const uint64_t header = read_at(f, format::kHeaderLengthOffset, 4);
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
  write_at(f, format::kRegionTableOffset, 4, insert ? count + 1 : count - 1);
  return true;
}

bool mutate_regions(Bytes& f, Rng& r) {
  uint64_t count = std::min<uint64_t>(read_at(f, format::kRegionTableOffset, 4), kMaxRegions);
  while (count > 0 && entry_at(count) > f.size()) --count;
  if (count == 0) return false;
  const uint64_t i = pick(r, count), j = pick(r, count), at = entry_at(i);
  const uint64_t pages = (1 + pick(r, 4)) * abi::kPageSize;
  const bool up = one_in(r, 2);
  auto shift = [&](uint64_t member) {
    write_at(f, at + member, 8, read_at(f, at + member, 8) + (up ? pages : -pages));
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
                                    : read_at(f, at + 24, 4) ^ (uint64_t{1} << kBits[pick(r, std::size(kBits))]);
      write_at(f, at + 24, 4, flags);
      return true;
    }
    case 6:
      write_at(f, at + 28, 4, pick(r, 8));
      return true;  // kind, 0 and 7 invalid
    case 7:
      return resize_table(f, count, i, true, j);
    default:
      return count > 1 && resize_table(f, count, i, false, 0);
  }
}

// ---- blob, length, vendor -----------------------------------------------------------------------

bool mutate_blob(Bytes& f, Rng& r) {
  const uint64_t blob = read_at(f, format::kBlobOffsetOffset, 8);
  if (blob >= f.size()) return false;
  uint64_t off = blob + pick(r, f.size() - blob);
  // Half the time the first bytes of a region: the PEB, the code and its messages, the manifest.
  const uint64_t count = std::min<uint64_t>(read_at(f, format::kRegionTableOffset, 4), kMaxRegions);
  if (count > 0 && one_in(r, 2)) off = blob + read_at(f, entry_at(pick(r, count)) + 16, 8) + pick(r, 512);
  if (off >= f.size()) return false;
  harness::mutate_bytes(f, off, 1 + pick(r, 64), LLVMFuzzerMutate);
  return true;
}

bool mutate_length(Bytes& f, Rng& r, size_t max_size) {
  const uint64_t header = read_at(f, format::kHeaderLengthOffset, 4);
  switch (pick(r, 4)) {
    case 0:
      f.resize(pick(r, f.size() + 1));
      return true;
    case 1:
      if (header <= f.size()) f.resize(header);
      return true;
    case 2:
      f.resize(f.size() / abi::kPageSize * abi::kPageSize);
      return true;
    default: {
      const uint64_t extra = one_in(r, 2) ? 1 + pick(r, 16) : abi::kPageSize;
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
  *sizes[k] = mins[k] + pick(r, 5) * abi::kPageSize;
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
    if (one_in(r, 2)) harness::fix_checksums(std::span<uint8_t>(data, n), harness::Checksums::kAllFixed);
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
  const uint64_t stale = pick(r, 16);
  harness::fix_checksums(f, stale == 0   ? harness::Checksums::kStale
                            : stale == 1 ? harness::Checksums::kHeaderFixed
                                         : harness::Checksums::kAllFixed);
  std::copy(f.begin(), f.end(), data);
  return f.size();
}

}  // namespace snapvm::fuzz
