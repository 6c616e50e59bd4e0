// corruption_properties.cpp: every mutation of a valid snapshot file (bit flips, byte writes,
// truncation, extension, fields changed by harness/field_mutation.h (boundary values of the field's
// kind, steps, bit flips and clears, another field's value, any value), region entries swapped),
// loaded by from_file and from_file_unchecked in a forked child so a crash is a failing case.
//  - raw (checksums not fixed): from_file refuses any changed file with a typed error (the header
//    checksum and the content digest cover every byte; the encoding is canonical); from_file_unchecked
//    refuses every change to the metadata, and a change to memory only shows up in the pages changed.
//  - fixed (checksums recomputed): the verdict is consistent: two loads and the unchecked load agree;
//    a file that loads re-encodes to exactly its own bytes (it is a valid snapshot in its own right).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <set>

#include "generators.h"
#include "snapshot/format.h"
#include "snapshot/test_snapshot.h"
#include "snapvm/abi/layout.h"
#include "snapvm_harness/compare.h"
#include "snapvm_harness/field_mutation.h"
#include "support.h"

namespace snapvm::properties {
namespace {

namespace gen = rc::gen;

// ---- the valid files mutated --------------------------------------------------------------------------

struct BaseFile {
  SnapshotStage stage = SnapshotStage::kAfterInit;
  uint64_t heap_size = 16 * kKiB;
  bool fill_heap = false;
  uint64_t seed = 1;
  DigestAlgorithm algorithm = DigestAlgorithm::kBlake3_256;
  auto key() const { return std::tuple(stage, heap_size, fill_heap, seed, algorithm); }
};

struct Base {
  std::shared_ptr<Snapshot> snapshot;
  std::vector<uint8_t> bytes;
  uint64_t header_length = 0, metadata_end = 0;
  std::vector<format::FieldInfo> fields;  // every field but padding and blob
};

const Base& base_of(const BaseFile& f) {
  static std::map<decltype(f.key()), Base> cache;
  auto it = cache.find(f.key());
  if (it != cache.end()) return it->second;
  test_support::TestSnapshotOptions o;
  o.stage = f.stage;
  o.heap_size = f.heap_size;
  o.fill_heap = f.fill_heap;
  o.seed = f.seed;
  auto snap = test_support::make_test_snapshot(o);
  if (!snap) throw std::runtime_error("make_test_snapshot: " + show_error(snap.error()));
  Base b;
  b.snapshot = std::make_shared<Snapshot>(std::move(*snap));
  b.bytes = test_support::encode_file(*b.snapshot, f.algorithm);
  b.header_length = b.metadata_end = harness::read_at(b.bytes, format::kHeaderLengthOffset, 4);
  for (auto& field : format::describe_fields(b.bytes)) {
    if (field.name == "padding")
      b.metadata_end = field.offset;
    else if (field.name != "blob")
      b.fields.push_back(field);
  }
  return cache.emplace(f.key(), std::move(b)).first->second;
}

void showValue(const BaseFile& f, std::ostream& os) {
  os << "test snapshot{stage " << static_cast<int>(f.stage) << ", heap " << f.heap_size / kKiB << " KiB"
     << (f.fill_heap ? " filled" : "") << ", seed " << f.seed << ", " << digest_algorithm_name(f.algorithm) << "}";
}

rc::Gen<BaseFile> gen_base_file() {
  return gen::build<BaseFile>(
      gen::set(&BaseFile::stage, gen::element(SnapshotStage::kAfterInit, SnapshotStage::kBeforeInit)),
      gen::set(&BaseFile::heap_size, gen::element<uint64_t>(16 * kKiB, 64 * kKiB)),
      gen::set(&BaseFile::fill_heap, gen::arbitrary<bool>()), gen::set(&BaseFile::seed, gen::element<uint64_t>(1, 2)),
      gen::set(&BaseFile::algorithm, gen::element(DigestAlgorithm::kBlake3_256, DigestAlgorithm::kXxh3_128)));
}

// ---- mutations ----------------------------------------------------------------------------------------

enum class Where { kMetadata, kPadding, kBlob };

struct Mutation {
  enum Kind { kFlipBit, kSetByte, kTruncate, kExtend, kSetField, kSwapRegions } kind = kFlipBit;
  Where where = Where::kMetadata;
  uint64_t position = 0;          // reduced modulo the span `where` names (or the field count)
  uint64_t value = 0;             // bit, byte, extension length, or the field change's choice
  harness::FieldChange change{};  // kSetField: how the value is made from `value` (field_mutation.h)
};

struct CorruptionCase {
  BaseFile base;
  std::vector<Mutation> mutations;
  bool fix_checksums = false;
};

uint64_t in_span(const Base& b, Where where, uint64_t position) {
  uint64_t lo = 0, hi = b.metadata_end;
  if (where == Where::kPadding && b.metadata_end < b.header_length) lo = b.metadata_end, hi = b.header_length;
  if (where == Where::kBlob) lo = b.header_length, hi = b.bytes.size();
  return lo + position % (hi - lo);
}

std::string field_at(const Base& b, uint64_t offset) {
  for (const auto& f : b.fields) {
    if (offset >= f.offset && offset < f.offset + f.size) return f.name;
  }
  if (offset >= b.metadata_end && offset < b.header_length) return "padding";
  if (offset >= b.header_length) return "blob+" + hex(offset - b.header_length);
  return "?";
}

// Applies one mutation; returns what it did in words, resolved against the file.
std::string apply(const Base& b, const Mutation& m, std::vector<uint8_t>& bytes) {
  auto where = [&](uint64_t at) { return hex(at) + " (" + field_at(b, at) + ")"; };
  switch (m.kind) {
    case Mutation::kFlipBit: {
      uint64_t at = in_span(b, m.where, m.position);
      if (at >= bytes.size()) return "flip: past the end";
      bytes[at] ^= static_cast<uint8_t>(1u << (m.value % 8));
      return "flip bit " + std::to_string(m.value % 8) + " at " + where(at);
    }
    case Mutation::kSetByte: {
      uint64_t at = in_span(b, m.where, m.position);
      if (at >= bytes.size()) return "set: past the end";
      bytes[at] = static_cast<uint8_t>(m.value);
      return "byte at " + where(at) + " = " + hex(m.value & 0xff);
    }
    case Mutation::kTruncate: {
      uint64_t at = in_span(b, m.where, m.position);
      if (at < bytes.size()) bytes.resize(at);
      return "truncate to " + hex(at) + " bytes";
    }
    case Mutation::kExtend: {
      uint64_t n = 1 + m.value % (2 * abi::kPageSize);
      bytes.resize(bytes.size() + n, static_cast<uint8_t>(m.position));
      return "extend by " + std::to_string(n) + " bytes of " + hex(m.position & 0xff);
    }
    case Mutation::kSetField: {
      const format::FieldInfo& f = b.fields[m.position % b.fields.size()];
      if (f.offset + std::min<uint64_t>(f.size, 8) > bytes.size()) return "set field " + f.name + ": past the end";
      const uint64_t current = harness::read_field(bytes, f);
      const uint64_t v = harness::mutate_field(bytes, b.fields, f, {m.change, m.value});
      return f.name + " = " + hex(v) + " (was " + hex(current) + ")";
    }
    case Mutation::kSwapRegions: {
      uint64_t count = harness::read_at(b.bytes, format::kRegionTableOffset, 4);
      uint64_t i = m.position % count, j = m.value % count;
      uint64_t a = format::kRegionEntriesOffset + i * format::kRegionEntrySize;
      uint64_t c = format::kRegionEntriesOffset + j * format::kRegionEntrySize;
      if (std::max(a, c) + format::kRegionEntrySize > bytes.size()) return "swap regions: past the end";
      std::swap_ranges(bytes.begin() + static_cast<long>(a),
                       bytes.begin() + static_cast<long>(a + format::kRegionEntrySize),
                       bytes.begin() + static_cast<long>(c));
      return "swap regions[" + std::to_string(i) + "] and [" + std::to_string(j) + "]";
    }
  }
  return "?";
}

std::vector<uint8_t> mutate(const CorruptionCase& c, std::vector<std::string>* what = nullptr) {
  const Base& b = base_of(c.base);
  std::vector<uint8_t> bytes = b.bytes;
  for (const Mutation& m : c.mutations) {
    std::string s = apply(b, m, bytes);
    if (what != nullptr) what->push_back(s);
  }
  harness::fix_checksums(bytes, c.fix_checksums ? harness::Checksums::kAllFixed : harness::Checksums::kStale);
  return bytes;
}

void showValue(const CorruptionCase& c, std::ostream& os) {
  showValue(c.base, os);
  std::vector<std::string> what;
  mutate(c, &what);
  for (const auto& w : what) os << "\n  " << w;
  os << "\n  " << (c.fix_checksums ? "checksums fixed" : "checksums NOT fixed");
}

rc::Gen<Where> gen_where() {
  return gen::weightedElement<Where>({{6, Where::kMetadata}, {1, Where::kPadding}, {2, Where::kBlob}});
}

rc::Gen<Mutation> gen_mutation() {
  return gen::build<Mutation>(
      gen::set(&Mutation::kind, gen::weightedElement<Mutation::Kind>({{4, Mutation::kFlipBit},
                                                                      {3, Mutation::kSetByte},
                                                                      {1, Mutation::kTruncate},
                                                                      {1, Mutation::kExtend},
                                                                      {6, Mutation::kSetField},
                                                                      {1, Mutation::kSwapRegions}})),
      gen::set(&Mutation::where, gen_where()), gen::set(&Mutation::position, uniform<uint64_t>(0, UINT64_MAX)),
      gen::set(&Mutation::value, uniform<uint64_t>(0, UINT64_MAX)),
      gen::set(&Mutation::change, gen::map(uniform<size_t>(0, harness::kFieldChangeCount),
                                           [](size_t k) { return static_cast<harness::FieldChange>(k); })));
}

rc::Gen<CorruptionCase> gen_corruption_case() {
  return gen::build<CorruptionCase>(
      gen::set(&CorruptionCase::base, gen_base_file()),
      gen::set(&CorruptionCase::mutations,
               gen::mapcat(gen::inRange<size_t>(1, 4),
                           [](size_t n) { return gen::container<std::vector<Mutation>>(n, gen_mutation()); })),
      gen::set(&CorruptionCase::fix_checksums));
}

// ---- the property ---------------------------------------------------------------------------------------

bool typed_file_error(const Error& e) {
  const ErrorClass c = e.cls();
  return !e.field.empty() &&
         (c == ErrorClass::Format || c == ErrorClass::Version || c == ErrorClass::Checksum || c == ErrorClass::State);
}

// Guest pages whose bytes differ between the original blob and the mutated file's blob.
std::set<uint64_t> changed_pages(const Base& b, const std::vector<uint8_t>& bytes) {
  std::set<uint64_t> pages;
  const auto& regions = b.snapshot->layout().regions;
  uint64_t blob_at = b.header_length;
  for (const Region& r : regions) {
    for (uint64_t off = 0; off < r.size; ++off) {
      uint64_t at = blob_at + off;
      if (at < bytes.size() && bytes[at] != b.bytes[at])
        pages.insert((r.guest_address + off) / abi::kPageSize * abi::kPageSize);
    }
    blob_at += r.size;
  }
  return pages;
}

// Runs in the child: "" or a tag when the property holds, "FAIL: ..." when it does not.
std::string check_case(const CorruptionCase& c, const std::vector<uint8_t>& bytes, const std::filesystem::path& path) {
  const Base& b = base_of(c.base);
  const bool changed = bytes != b.bytes;
  bool metadata_changed = bytes.size() != b.bytes.size();
  for (uint64_t k = 0; k < b.header_length && k < bytes.size() && !metadata_changed; ++k) {
    metadata_changed = bytes[k] != b.bytes[k];
  }
  auto r1 = Snapshot::from_file(path);
  auto u1 = Snapshot::from_file_unchecked(path);
  auto fail = [](const std::string& s) { return "FAIL: " + s; };
  if (!r1 && !typed_file_error(r1.error())) return fail("from_file: not a typed file error: " + show_error(r1.error()));
  if (!u1 && !typed_file_error(u1.error()))
    return fail("from_file_unchecked: not a typed file error: " + show_error(u1.error()));

  if (!c.fix_checksums) {
    if (!changed) {
      if (!r1) return fail("the unchanged file was refused: " + show_error(r1.error()));
      auto report = harness::compare_snapshots(*b.snapshot, *r1);
      return report.equal() ? "raw: no change" : fail("the unchanged file loads differently:\n" + report.to_text());
    }
    if (r1) {
      auto report = harness::compare_snapshots(*b.snapshot, *r1);
      return fail(std::string("from_file accepted a file changed without fixing its checksums (") +
                  (report.equal() ? "equal to the original" : "and it differs:\n" + report.to_text()) + ")");
    }
    if (metadata_changed) {
      if (u1) return fail("from_file_unchecked accepted a raw change to the metadata");
      return std::string("raw metadata: ") + std::string(error_code_name(r1.error().code));
    }
    // Only memory changed: the digest catches it; the unchecked load shows exactly those pages changed.
    if (r1.error().code != ErrorCode::kContentDigest)
      return fail("memory-only change refused by " + show_error(r1.error()));
    if (!u1) return fail("from_file_unchecked refused a file whose metadata is intact: " + show_error(u1.error()));
    auto report = harness::compare_snapshots(*b.snapshot, *u1);
    if (!report.fields.empty()) return fail("memory-only change altered fields:\n" + report.to_text());
    std::set<uint64_t> expected = changed_pages(b, bytes), got;
    for (const auto& run : report.memory) {
      for (uint64_t p = 0; p < run.pages; ++p) got.insert(run.first_page_address + p * abi::kPageSize);
    }
    if (got != expected) {
      return fail("unchecked load: " + std::to_string(got.size()) + " pages differ, " +
                  std::to_string(expected.size()) + " were changed");
    }
    return "raw memory: digest";
  }

  auto r2 = Snapshot::from_file(path);
  if (!r1) {
    const Error& e = r1.error();
    if (r2) return fail("refused once (" + show_error(e) + "), then accepted");
    if (r2.error().code != e.code || r2.error().field != e.field || r2.error().offset != e.offset) {
      return fail("two loads refused differently: " + show_error(e) + " / " + show_error(r2.error()));
    }
    if (u1) return fail("from_file refused (" + show_error(e) + ") but from_file_unchecked accepted");
    if (u1.error().code != e.code || u1.error().field != e.field) {
      return fail("checked and unchecked refused differently: " + show_error(e) + " / " + show_error(u1.error()));
    }
    return std::string("fixed, refused: ") + std::string(error_code_name(e.code));
  }
  if (!r2) return fail("accepted once, then refused: " + show_error(r2.error()));
  if (!u1) return fail("from_file accepted, from_file_unchecked refused: " + show_error(u1.error()));
  auto twice = harness::compare_snapshots(*r1, *r2);
  if (!twice.equal()) return fail("two loads differ:\n" + twice.to_text());
  auto unchecked = harness::compare_snapshots(*r1, *u1);
  if (!unchecked.equal()) return fail("checked and unchecked loads differ:\n" + unchecked.to_text());
  std::vector<uint8_t> again = test_support::encode_file(*r1, *r1->digest_algorithm());
  std::string diff = first_difference(again, bytes);
  if (!diff.empty()) return fail("the accepted file re-encodes differently at " + diff);
  if (!changed) {
    auto report = harness::compare_snapshots(*b.snapshot, *r1);
    if (!report.equal()) return fail("an unchanged file loads differently:\n" + report.to_text());
  }
  return changed ? "fixed, accepted (another valid snapshot)" : "fixed: no change";
}

RC_GTEST_PROP(SnapshotCorruption, EveryMutationIsRefusedOrConsistent, ()) {
  const CorruptionCase c = *gen_corruption_case();
  const std::vector<uint8_t> bytes = mutate(c);
  TempDir dir;
  const auto path = dir.file("mutant.svm");
  write_file(path, bytes);
  base_of(c.base);  // built before the fork, so the child does not pay for it every time
  const std::string verdict = run_isolated([&] { return check_case(c, bytes, path); });
  if (verdict.rfind("FAIL: ", 0) == 0 || verdict.rfind("CRASH: ", 0) == 0 || verdict.rfind("EXCEPTION: ", 0) == 0) {
    RC_FAIL(verdict);
  }
  RC_TAG(verdict);
}

}  // namespace
}  // namespace snapvm::properties
