// snapshot_layout_fuzzer.cpp: config sizes, layout addresses, entrypoint and dispatch, then a region
// table, spliced into a valid file (blob_size follows the regions), decoded and validated: reaches
// check_layout / compute_layout with configurations and regions that agree or nearly agree.
#include "fuzz/splice.h"
#include "snapshot/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto file = snapvm::fuzz::splice(snapvm::fuzz::Block::kLayout, {data, size});
  (void)snapvm::format::decode_and_validate(file.metadata, file.file_size, {});
  return 0;
}
