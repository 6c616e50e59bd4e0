// digest.h: content digests of a snapshot's memory blob: BLAKE3-256 (default, cryptographic) and
// XXH3-128 (fast, not cryptographic). A Digest is 32 bytes; XXH3-128 fills the first 16, rest zero.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "snapvm/result.h"
#include "snapvm/snapshot.h"

namespace snapvm {

// Called with (bytes done, bytes total).
using ProgressFn = std::function<void(uint64_t, uint64_t)>;

// Incremental hashing, for hashing while writing.
class Hasher {
 public:
  explicit Hasher(DigestAlgorithm algorithm);
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void update(std::span<const uint8_t> bytes);
  Digest finish();  // once

 private:
  struct State;
  std::unique_ptr<State> state_;
};

bool is_known_digest_algorithm(uint32_t value);

// One-shot digest of `bytes` (no allocation): the same value as a Hasher fed the same bytes.
Digest hash_bytes(DigestAlgorithm algorithm, std::span<const uint8_t> bytes);

// One pass over `bytes`, progress reported per 1 MiB chunk hashed.
Digest compute_digest(DigestAlgorithm algorithm, std::span<const uint8_t> bytes, const ProgressFn& progress = {});

// Hashes [offset, offset + size) of `fd`. Holes (SEEK_HOLE) are hashed as zeros without reading
// them; data extents are read with pread into a reusable 1 MiB buffer, or, if `mapped` is given (the
// same range of the same fd, mapped), hashed straight from the mapping. A file shorter than the range
// fails with kFileTooShort.
Result<Digest> compute_digest_fd(DigestAlgorithm algorithm, int fd, uint64_t offset, uint64_t size,
                                 const ProgressFn& progress = {}, const uint8_t* mapped = nullptr);

// Feeds `size` zero bytes to the hasher (holes) from a static zero buffer.
void hash_zeros(Hasher& hasher, uint64_t size);

// Lower-case hex of the digest's meaningful bytes (64 digits for BLAKE3-256, 32 for XXH3-128).
std::string digest_to_hex(DigestAlgorithm algorithm, const Digest& digest);

}  // namespace snapvm
