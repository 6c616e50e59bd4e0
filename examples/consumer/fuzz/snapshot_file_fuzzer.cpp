// snapshot_file_fuzzer.cpp: the consumer's fuzz target: any bytes, written to a file, go through the
// verified loader; it must answer with a snapshot or a typed error, never crash.
#include <snapvm/snapvm.h>
#include <unistd.h>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("consumer-fuzz-" + std::to_string(::getpid()));
  std::FILE* f = std::fopen(file.c_str(), "wb");
  if (f == nullptr) return 0;
  if (size > 0) std::fwrite(data, 1, size, f);
  std::fclose(f);
  auto loaded = snapvm::Snapshot::from_file(file);
  if (!loaded) (void)loaded.error().to_string();
  return 0;
}
