// file_roundtrip_properties.cpp: whole snapshot files, memory included. For any small valid
// snapshot (generators.h: varied layout, registers, functions and region bytes), Snapshot::to_file and
// the in-memory encoder write the same bytes; from_file and from_file_unchecked load them back equal
// to the original, field by field and page by page; the loaded snapshot re-encodes to those bytes.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "generators.h"
#include "snapshot/test_snapshot.h"
#include "snapvm_harness/compare.h"
#include "support.h"

namespace snapvm::properties {
namespace {

// Whole files: encode_file (in memory) and Snapshot::to_file write the same bytes; from_file and
// from_file_unchecked load them back equal, memory included; the loaded snapshot re-encodes to them.
RC_GTEST_PROP(SnapshotFile, WholeFilesRoundTrip, ()) {
  const SnapshotSpec spec = *gen_snapshot_spec();
  auto snap = make_snapshot(spec);
  if (!snap) RC_FAIL("building the snapshot: " + show_error(snap.error()));
  TempDir dir;
  const auto path = dir.file("s.svm");
  SaveOptions save;
  save.digest = spec.meta.algorithm;
  if (auto s = snap->to_file(path, save); !s) RC_FAIL("to_file: " + show_error(s.error()));
  const std::vector<uint8_t> written = read_file(path);
  // The digest the generator chose is replaced by the real one: compare against that.
  const std::vector<uint8_t> expected = test_support::encode_file(*snap, spec.meta.algorithm);
  std::string diff = first_difference(written, expected);
  if (!diff.empty()) RC_FAIL("to_file and encode_file disagree at " + diff);
  for (bool verify : {true, false}) {
    auto loaded = verify ? Snapshot::from_file(path) : Snapshot::from_file_unchecked(path);
    if (!loaded) RC_FAIL(std::string(verify ? "from_file: " : "from_file_unchecked: ") + show_error(loaded.error()));
    auto report = harness::compare_snapshots(*snap, *loaded);
    if (!report.equal()) RC_FAIL("loaded snapshot differs:\n" + report.to_text());
    const std::vector<uint8_t> again = test_support::encode_file(*loaded, *loaded->digest_algorithm());
    diff = first_difference(again, written);
    if (!diff.empty()) RC_FAIL("the loaded snapshot re-encodes differently at " + diff);
  }
}

}  // namespace
}  // namespace snapvm::properties
