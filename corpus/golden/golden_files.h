// golden_files.h: the committed golden snapshot files, corpus/golden/v<N>/*.svm, sorted.
#pragma once

#include <algorithm>
#include <filesystem>
#include <vector>

namespace snapvm::golden {

inline std::vector<std::filesystem::path> golden_files() {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (const auto& version : fs::directory_iterator(fs::path(SNAPVM_SOURCE_DIR) / "corpus/golden")) {
    if (!version.is_directory()) continue;
    for (const auto& f : fs::directory_iterator(version.path())) {
      if (f.path().extension() == ".svm") files.push_back(f.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace snapvm::golden
