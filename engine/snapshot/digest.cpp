// digest.cpp: BLAKE3 (the official C implementation, built as snapvm_blake3) and XXH3 (libxxhash).
#include "snapshot/digest.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "blake3.h"
#include "snapshot/memory_blob.h"
#include "xxhash.h"

namespace snapvm {

namespace {
constexpr uint64_t kChunk = 1 << 20;
}

bool is_known_digest_algorithm(uint32_t value) {
  return value == static_cast<uint32_t>(DigestAlgorithm::kBlake3_256) ||
         value == static_cast<uint32_t>(DigestAlgorithm::kXxh3_128);
}

struct Hasher::State {
  DigestAlgorithm algorithm;
  blake3_hasher blake3;
  XXH3_state_t* xxh3 = nullptr;
  ~State() {
    if (xxh3 != nullptr) XXH3_freeState(xxh3);
  }
};

Hasher::Hasher(DigestAlgorithm algorithm) : state_(std::make_unique<State>()) {
  state_->algorithm = algorithm;
  if (algorithm == DigestAlgorithm::kXxh3_128) {
    state_->xxh3 = XXH3_createState();
    XXH3_128bits_reset(state_->xxh3);
  } else {
    blake3_hasher_init(&state_->blake3);
  }
}

Hasher::~Hasher() = default;

void Hasher::update(std::span<const uint8_t> bytes) {
  if (state_->algorithm == DigestAlgorithm::kXxh3_128) {
    XXH3_128bits_update(state_->xxh3, bytes.data(), bytes.size());
  } else {
    blake3_hasher_update(&state_->blake3, bytes.data(), bytes.size());
  }
}

Digest Hasher::finish() {
  Digest d{};
  if (state_->algorithm == DigestAlgorithm::kXxh3_128) {
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(state_->xxh3));
    std::memcpy(d.data(), c.digest, sizeof c.digest);
  } else {
    blake3_hasher_finalize(&state_->blake3, d.data(), d.size());
  }
  return d;
}

Digest hash_bytes(DigestAlgorithm algorithm, std::span<const uint8_t> bytes) {
  Digest d{};
  if (algorithm == DigestAlgorithm::kXxh3_128) {
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(bytes.data(), bytes.size()));
    std::memcpy(d.data(), c.digest, sizeof c.digest);
  } else {
    blake3_hasher h;
    blake3_hasher_init(&h);
    blake3_hasher_update(&h, bytes.data(), bytes.size());
    blake3_hasher_finalize(&h, d.data(), d.size());
  }
  return d;
}

Digest compute_digest(DigestAlgorithm algorithm, std::span<const uint8_t> bytes, const ProgressFn& progress) {
  if (!progress) {
    Hasher h(algorithm);
    h.update(bytes);
    return h.finish();
  }
  Hasher h(algorithm);
  for (uint64_t at = 0; at < bytes.size(); at += kChunk) {
    uint64_t n = std::min<uint64_t>(kChunk, bytes.size() - at);
    h.update(bytes.subspan(at, n));
    progress(at + n, bytes.size());
  }
  return h.finish();
}

void hash_zeros(Hasher& hasher, uint64_t size) {
  static const std::vector<uint8_t> zeros(256 << 10);
  while (size > 0) {
    uint64_t n = std::min<uint64_t>(size, zeros.size());
    hasher.update(std::span<const uint8_t>(zeros.data(), n));
    size -= n;
  }
}

Result<Digest> compute_digest_fd(DigestAlgorithm algorithm, int fd, uint64_t offset, uint64_t size,
                                 const ProgressFn& progress, const uint8_t* mapped) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_error(ErrorCode::kIo, "fstat", errno);
  if (static_cast<uint64_t>(st.st_size) < offset || static_cast<uint64_t>(st.st_size) - offset < size) {
    Error e = make_error(ErrorCode::kFileTooShort, "blob_size", "the file ends inside the memory blob");
    e.offset = offset;
    e.value = size;
    return e;
  }
  Hasher h(algorithm);
  std::unique_ptr<uint8_t[]> buffer;  // allocated on the first data extent, left uninitialised: pread fills it
  uint64_t done = 0;
  auto report = [&](uint64_t n) {
    done += n;
    if (progress) progress(done, size);
  };
  Status hashed = detail::for_each_extent(fd, offset, size, [&](uint64_t at, uint64_t length, bool data) -> Status {
    if (!data) {
      for (uint64_t k = 0; k < length; k += kChunk) {
        uint64_t n = std::min<uint64_t>(kChunk, length - k);
        hash_zeros(h, n);
        report(n);
      }
      return {};
    }
    if (mapped != nullptr) {
      for (uint64_t k = 0; k < length; k += kChunk) {
        uint64_t n = std::min<uint64_t>(kChunk, length - k);
        h.update(std::span<const uint8_t>(mapped + at + k, n));
        report(n);
      }
      return {};
    }
    if (!buffer) buffer = std::make_unique_for_overwrite<uint8_t[]>(kChunk);
    uint64_t k = 0;
    while (k < length) {
      uint64_t want = std::min<uint64_t>(kChunk, length - k);
      ssize_t n = ::pread(fd, buffer.get(), want, static_cast<off_t>(offset + at + k));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_error(ErrorCode::kIo, "pread(blob)", errno);
      }
      if (n == 0) {
        Error e = make_error(ErrorCode::kFileTooShort, "blob_size", "the file ends inside the memory blob");
        e.offset = offset + at + k;
        e.value = size;
        return e;
      }
      h.update(std::span<const uint8_t>(buffer.get(), static_cast<size_t>(n)));
      k += static_cast<uint64_t>(n);
      report(static_cast<uint64_t>(n));
    }
    return {};
  });
  if (!hashed) return std::move(hashed).error();
  return h.finish();
}

std::string digest_to_hex(DigestAlgorithm algorithm, const Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t n = algorithm == DigestAlgorithm::kXxh3_128 ? 16 : 32;
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += kHex[digest[i] >> 4];
    s += kHex[digest[i] & 15];
  }
  return s;
}

}  // namespace snapvm
