// generate_seeds.cpp: snapvm_seed_gen, the reproducible generator of corpus/seeds/. Every seed is a
// pure function of the code here, fuzz/inputs.cpp and the sample guest ELFs' loadable bytes (not
// their debug information, which varies with the build directory), so the ctest
// corpus_seeds_reproducible can regenerate them in any build directory and compare byte for byte.
//
//   snapvm_seed_gen --out corpus/seeds --sample-guest build/ci/guest/sample_guest
//                   --sample-guest-exec build/ci/guest/sample_guest_exec [--clean]
// (or: cmake --build build/ci --target snapvm_update_seeds)
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "fuzz/inputs.h"
#include "fuzz/splice.h"
#include "snapshot/atomic_file.h"
#include "snapshot/format.h"
#include "snapvm/abi/wire.h"

namespace {
namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;
using snapvm::Value;
using snapvm::fuzz::Block;

// Seeds by directory, then file name. Directories are named by input kind; fuzz/targets.txt says
// which target reads which.
using Seeds = std::map<std::string, std::map<std::string, Bytes>>;

Bytes read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "snapvm_seed_gen: cannot read %s\n", p.c_str());
    std::exit(2);
  }
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Bytes text(uint8_t type, std::string_view word) {
  Bytes b{type};
  b.insert(b.end(), word.begin(), word.end());
  return b;
}

Bytes first(const Bytes& b, size_t n) { return Bytes(b.begin(), b.begin() + static_cast<long>(std::min(n, b.size()))); }

Bytes must(snapvm::Result<Bytes> r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "snapvm_seed_gen: %s: %s\n", what, r.error().to_string().c_str());
    std::exit(1);
  }
  return std::move(*r);
}

// The tiny after-init file with other function tables: for the function-table seeds.
Bytes with_functions(const Bytes& file, std::vector<snapvm::FunctionInfo> guest,
                     std::vector<snapvm::FunctionInfo> host) {
  auto decoded = snapvm::format::decode_metadata(file, file.size());
  if (!decoded) return {};
  decoded->meta.guest_functions = std::move(guest);
  decoded->meta.host_functions = std::move(host);
  return snapvm::format::encode_metadata(decoded->meta, snapvm::DigestAlgorithm::kBlake3_256, snapvm::Digest{});
}

Seeds make_seeds(const Bytes& sample_elf, const Bytes& sample_exec_elf) {
  namespace fz = snapvm::fuzz;
  namespace abi = snapvm::abi;
  using VT = snapvm::ValueType;
  Seeds s;

  // Snapshot files: the tiny guest after and before initialisation, the sample guest before.
  fz::FileOptions before_xxh3;
  before_xxh3.stage = snapvm::SnapshotStage::kBeforeInit;
  before_xxh3.digest = snapvm::DigestAlgorithm::kXxh3_128;
  fz::FileOptions before;
  before.stage = snapvm::SnapshotStage::kBeforeInit;
  const Bytes tiny = fz::tiny_guest_file();
  const Bytes tiny_before = fz::tiny_guest_file(before_xxh3);
  // From the loadable part: the first page of the image holds the ELF header, whose section-table
  // fields depend on the debug information, and so on the build directory's path.
  const Bytes sample = must(fz::guest_file(fz::loadable_part(sample_elf), before), "sample guest file");
  s["snapshot_file"]["tiny-after-init.svm"] = tiny;
  s["snapshot_file"]["tiny-before-init-xxh3.svm"] = tiny_before;
  s["snapshot_file"]["sample-before-init.svm"] = sample;
  // Format 2 (chunked digest): the same states, with the descriptor and the chunk table.
  fz::FileOptions v2;
  v2.format_version = 2;
  fz::FileOptions v2_before_xxh3 = before_xxh3;
  v2_before_xxh3.format_version = 2;
  fz::FileOptions v2_before = before;
  v2_before.format_version = 2;
  const Bytes tiny_v2 = fz::tiny_guest_file(v2);
  s["snapshot_file"]["tiny-after-init-v2.svm"] = tiny_v2;
  s["snapshot_file"]["tiny-before-init-xxh3-v2.svm"] = fz::tiny_guest_file(v2_before_xxh3);
  s["snapshot_file"]["sample-before-init-v2.svm"] =
      must(fz::guest_file(fz::loadable_part(sample_elf), v2_before), "sample guest file (format 2)");

  const size_t page = 4096;
  auto& header = s["snapshot_header"];
  header["tiny-after-init.head"] = first(tiny, page);
  header["tiny-before-init-xxh3.head"] = first(tiny_before, page);
  header["sample-before-init.head"] = first(sample, page);
  header["magic.head"] = first(tiny, 8);
  header["fixed-header.head"] = first(tiny, snapvm::format::kFixedHeaderSize);
  header["tiny-after-init-v2.head"] = first(tiny_v2, page);
  Bytes newer = first(tiny, page);
  newer[snapvm::format::kVersionOffset] = snapvm::format::kFormatVersion + 1;
  header["newer-format.head"] = newer;

  auto& fields = s["snapshot_fields"];
  fields["tiny-after-init.meta"] = first(tiny, page);
  fields["sample-before-init.meta"] = first(sample, page);
  fields["tiny-cut-in-region-table.meta"] = first(tiny, snapvm::format::kRegionEntriesOffset + 40);
  fields["tiny-after-init-v2.meta"] = first(tiny_v2, page);

  s["snapshot_sregs"]["tiny.sregs"] = fz::block_of(tiny, Block::kSpecialRegisters);
  s["snapshot_sregs"]["sample.sregs"] = fz::block_of(sample, Block::kSpecialRegisters);
  s["snapshot_regions"]["tiny.regions"] = fz::block_of(tiny, Block::kRegionTable);
  s["snapshot_regions"]["sample.regions"] = fz::block_of(sample, Block::kRegionTable);
  s["snapshot_layout"]["tiny.layout"] = fz::block_of(tiny, Block::kLayout);
  s["snapshot_layout"]["sample.layout"] = fz::block_of(sample, Block::kLayout);
  auto& functions = s["snapshot_functions"];
  functions["tiny.functions"] = fz::block_of(tiny, Block::kFunctions);
  functions["none.functions"] = fz::block_of(tiny_before, Block::kFunctions);
  functions["sample.functions"] =
      fz::block_of(with_functions(tiny, fz::sample_guest_functions(), fz::sample_host_functions()), Block::kFunctions);

  // Wire messages as a guest writes them.
  auto& call = s["wire_call"];
  call["host-add.msg"] = fz::encode_call(abi::kHostCallMagic, "HostAdd", {Value{int64_t{40}}, Value{int64_t{2}}});
  call["host-echo.msg"] = fz::encode_call(abi::kHostCallMagic, "HostEcho", {Value{std::string("hello")}});
  call["no-arguments.msg"] = fz::encode_call(abi::kHostCallMagic, "HostNothing", {});
  call["every-type.msg"] = fz::encode_call(
      abi::kHostCallMagic, "HostAll",
      {Value{}, Value{true}, Value{int32_t{-1}}, Value{uint32_t{1}}, Value{int64_t{-2}}, Value{uint64_t{2}},
       Value{0.5f}, Value{0.25}, Value{std::string("s")}, Value{snapvm::Bytes{1, 2, 3}}});
  call["longest.msg"] = fz::encode_call(abi::kHostCallMagic, std::string(abi::kMaxNameLength, 'n'),
                                        std::vector<Value>(abi::kMaxArgs, Value{uint64_t{0x1122334455667788}}));
  auto& result = s["wire_result"];
  const std::pair<const char*, Value> results[] = {{"void", Value{}},
                                                   {"bool", Value{true}},
                                                   {"i32", Value{int32_t{-42}}},
                                                   {"u32", Value{uint32_t{42}}},
                                                   {"i64", Value{int64_t{-42}}},
                                                   {"u64", Value{uint64_t{42}}},
                                                   {"f32", Value{1.5f}},
                                                   {"f64", Value{-2.25}},
                                                   {"string", Value{std::string("host:hello")}},
                                                   {"bytes", Value{snapvm::Bytes{0xde, 0xad, 0xbe, 0xef}}}};
  for (const auto& [name, v] : results) result[std::string(name) + ".msg"] = fz::encode_result(v);
  auto& record = s["wire_text_record"];
  record["log.msg"] = fz::encode_text_record(abi::kLogMagic, 2, "sample guest initialised");
  record["empty.msg"] = fz::encode_text_record(abi::kLogMagic, 4, "");
  record["abort.msg"] = fz::encode_text_record(abi::kAbortMagic, 12, "heap exhausted");
  auto& manifest = s["wire_manifest"];
  manifest["sample.msg"] = fz::encode_manifest(fz::sample_guest_functions(), fz::sample_host_functions());
  manifest["tiny.msg"] =
      fz::encode_manifest({snapvm::FunctionInfo{"Nothing", snapvm::Signature{VT::kVoid, {}}}},
                          {snapvm::FunctionInfo{"HostEcho", snapvm::Signature{VT::kString, {VT::kString}}}});
  manifest["empty.msg"] = fz::encode_manifest({}, {});

  auto& elf = s["elf_loader"];
  elf["tiny-exec.elf"] = fz::tiny_guest_elf();
  elf["tiny-pie.elf"] = fz::tiny_guest_pie();
  elf["sample-guest.elf"] = fz::loadable_part(sample_elf);
  elf["sample-guest-exec.elf"] = fz::loadable_part(sample_exec_elf);

  auto& value = s["parse_value"];  // harness::parse_argument: a type byte, then the word
  value["bool"] = text(1, "true");
  value["i32"] = text(2, "-2147483648");
  value["u32"] = text(3, "0xffffffff");
  value["i64"] = text(4, "-9223372036854775808");
  value["u64"] = text(5, "18446744073709551615");
  value["f32"] = text(6, "1.5");
  value["f64"] = text(7, "-1e308");
  value["string"] = text(8, "hello");
  value["bytes"] = text(9, "deadbeef");

  // guest_tlv: ParseRecords inputs (guest/samples/tlv_guest.cpp), trivial on purpose: the planted bugs
  // are for the fuzzer to find (corpus/planted/guest_tlv/ holds the inputs that trigger them).
  auto& tlv = s["guest_tlv"];
  tlv["skipped-record"] = snapvm::Bytes{0x00, 0x02, 'h', 'i'};
  tlv["two-records"] = snapvm::Bytes{0x07, 0x01, 0x00, 0x09, 0x00};
  return s;
}
}  // namespace

int main(int argc, char** argv) {
  fs::path out, sample, sample_exec;
  bool clean = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--clean") {
      clean = true;
    } else if ((a == "--out" || a == "--sample-guest" || a == "--sample-guest-exec") && i + 1 < argc) {
      (a == "--out" ? out : a == "--sample-guest" ? sample : sample_exec) = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s --out DIR --sample-guest ELF --sample-guest-exec ELF [--clean]\n", argv[0]);
      return 2;
    }
  }
  if (out.empty() || sample.empty() || sample_exec.empty()) {
    std::fprintf(stderr, "usage: %s --out DIR --sample-guest ELF --sample-guest-exec ELF [--clean]\n", argv[0]);
    return 2;
  }
  const Seeds seeds = make_seeds(read_file(sample), read_file(sample_exec));
  size_t files = 0, bytes = 0;
  for (const auto& [dir, entries] : seeds) {
    if (clean) fs::remove_all(out / dir);
    fs::create_directories(out / dir);
    for (const auto& [name, content] : entries) {
      if (content.empty()) {
        std::fprintf(stderr, "snapvm_seed_gen: %s/%s came out empty\n", dir.c_str(), name.c_str());
        return 1;
      }
      if (snapvm::Status st = snapvm::detail::write_file_atomically(out / dir / name, content); !st) {
        std::fprintf(stderr, "snapvm_seed_gen: cannot write %s: %s\n", (out / dir / name).c_str(),
                     st.error().to_string().c_str());
        return 1;
      }
      ++files;
      bytes += content.size();
    }
  }
  std::printf("snapvm_seed_gen: %zu seeds, %zu bytes, in %zu directories under %s\n", files, bytes, seeds.size(),
              out.c_str());
  return 0;
}
