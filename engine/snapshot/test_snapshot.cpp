// test_snapshot.cpp: synthetic snapshots without KVM.
#include "snapshot/test_snapshot.h"

#include <sys/mman.h>

#include <cstring>

#include "memory/system_area.h"
#include "snapshot/chunk_digest.h"
#include "snapshot/digest.h"
#include "snapshot/format.h"
#include "snapshot/memory_blob.h"
#include "snapshot/snapshot_access.h"
#include "snapvm/abi/layout.h"
#include "snapvm/abi/ports.h"

namespace snapvm::test_support {

uint8_t test_byte(uint64_t seed, size_t region, uint64_t offset) {
  uint64_t x =
      (seed + 1) * 0x9e3779b97f4a7c15ull ^ (region + 1) * 0xbf58476d1ce4e5b9ull ^ offset * 0x94d049bb133111ebull;
  x ^= x >> 31;
  return static_cast<uint8_t>(x | 1);  // never zero: patterned pages are never holes
}

Result<Snapshot> make_test_snapshot(const TestSnapshotOptions& options) {
  SandboxConfig config;
  config.heap_size = options.heap_size;
  std::vector<Region> image = {
      Region{kCodeAddress, 2 * abi::kPageSize, kRegionRead | kRegionExecute, RegionKind::kImage},
      Region{kDataAddress, abi::kPageSize, kRegionRead | kRegionWrite, RegionKind::kImage}};
  Layout layout = TRY(compute_layout(config, image));

  // Region bytes in one anonymous mapping; untouched pages stay zero.
  uint64_t total = 0;
  for (const Region& r : layout.regions) total += r.size;
  Mapping scratch = TRY(Mapping::anonymous(total, PROT_READ | PROT_WRITE));
  std::vector<std::span<const uint8_t>> spans;
  uint64_t at = 0;
  for (size_t i = 0; i < layout.regions.size(); ++i) {
    const Region& r = layout.regions[i];
    uint8_t* p = scratch.data() + at;
    for (uint64_t off = 0; off < abi::kPageSize; ++off) p[off] = test_byte(options.seed, i, off);
    for (uint64_t off = r.size - abi::kPageSize; off < r.size; ++off) p[off] = test_byte(options.seed, i, off);
    if (options.fill_heap && r.kind == RegionKind::kHeap) {
      // Dense: every page a copy of the first with its page number in the first 8 bytes.
      for (uint64_t page = 1; page + 1 < r.size / abi::kPageSize; ++page) {
        std::memcpy(p + page * abi::kPageSize, p, abi::kPageSize);
        uint64_t mark = page * 0x0101010101010101ull | 0x0101010101010101ull;
        std::memcpy(p + page * abi::kPageSize, &mark, sizeof mark);
      }
    }
    spans.emplace_back(p, r.size);
    at += r.size;
  }

  auto data = std::make_shared<detail::SnapshotData>();
  detail::SnapshotMetadata& m = data->meta;
  m.stage = options.stage;
  m.abi_version = abi::kAbiVersion;
  m.layout = layout;
  m.entrypoint = kCodeAddress + 0x40;
  m.dispatch = options.stage == SnapshotStage::kAfterInit ? kCodeAddress + 0x180 : 0;
  VcpuState& v = m.vcpu;
  v.sregs = initial_special_registers(layout.page_table_base);
  v.regs.rip = options.stage == SnapshotStage::kAfterInit ? kCodeAddress + 0x2c : m.entrypoint;
  v.regs.rsp = options.stage == SnapshotStage::kAfterInit ? layout.stack_top() - 0x40 : layout.stack_top();
  v.regs.rdi = abi::kPebAddress;
  v.regs.rax = 0x1122334455667788ull;
  v.regs.r15 = options.seed;
  v.regs.rflags = abi::kInitialRflags;
  v.fpu.fcw = 0x37f;
  v.fpu.mxcsr = 0x1f80;
  v.fpu.xmm[3][7] = 0x42;
  v.fpu.fpr[1][2] = 0x24;
  m.guest_functions = {FunctionInfo{"Add", Signature{ValueType::kI32, {ValueType::kI32, ValueType::kI32}}},
                       FunctionInfo{"Echo", Signature{ValueType::kString, {ValueType::kString}}},
                       FunctionInfo{"Nothing", Signature{ValueType::kVoid, {}}}};
  m.host_functions = {FunctionInfo{"HostPrint", Signature{ValueType::kVoid, {ValueType::kString}}}};
  m.hypervisor = "kvm";
  m.cpu_vendor = format::host_cpu_vendor();
  data->memory = TRY(detail::make_memory_blob(spans));
  data->lineage = 7;
  return detail::make_snapshot(std::move(data));
}

std::vector<uint8_t> encode_file(const Snapshot& snapshot, DigestAlgorithm algorithm, uint32_t format_version) {
  const detail::SnapshotMetadata& d = detail::snapshot_data(snapshot)->meta;
  std::vector<uint8_t> blob;
  for (size_t i = 0; i < d.layout.regions.size(); ++i) {
    std::span<const uint8_t> bytes = snapshot.region_bytes(i);
    blob.insert(blob.end(), bytes.begin(), bytes.end());
  }
  if (format_version == 1) {
    std::vector<uint8_t> file = format::encode_metadata(d, algorithm, compute_digest(algorithm, blob));
    file.insert(file.end(), blob.begin(), blob.end());
    return file;
  }
  ChunkHashOptions one_thread;
  one_thread.threads = 1;
  ChunkedDigest chunked = compute_chunked_digest(algorithm, blob, one_thread).value();
  format::ChunkTableRef ref{chunked.chunk_size, 0, static_cast<uint32_t>(chunked.entries.size())};
  std::vector<uint8_t> file = format::encode_metadata(d, algorithm, chunked.root, ref);
  file.insert(file.end(), blob.begin(), blob.end());
  const std::vector<uint8_t> table = encode_chunk_table(chunked.entries);
  file.insert(file.end(), table.begin(), table.end());
  return file;
}

}  // namespace snapvm::test_support
