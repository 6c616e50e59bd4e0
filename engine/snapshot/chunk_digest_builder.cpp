// chunk_digest_builder.cpp: the chunked digest built while a blob is written, in order. A chunk that
// arrives whole is hashed where it lies; one that arrives in pieces is gathered in a chunk-sized buffer;
// one made only of skip_zeros() is a zero chunk without being hashed.
#include <algorithm>
#include <cstring>

#include "snapshot/chunk_digest.h"

namespace snapvm {

ChunkedDigestBuilder::ChunkedDigestBuilder(DigestAlgorithm algorithm, uint64_t blob_size, uint64_t chunk_size)
    : algorithm_(algorithm), chunk_size_(chunk_size), blob_size_(blob_size) {}

uint64_t ChunkedDigestBuilder::chunk_length(uint64_t index) const {
  return std::min(chunk_size_, blob_size_ - index * chunk_size_);
}

void ChunkedDigestBuilder::add_chunk(uint64_t index, std::span<const uint8_t> bytes) {
  Digest d = hash_bytes(algorithm_, bytes);
  if (d != zero_chunk_digest(algorithm_, bytes.size())) entries_.push_back({static_cast<uint32_t>(index), d});
}

uint64_t ChunkedDigestBuilder::feed(const uint8_t* bytes, uint64_t size) {
  const uint64_t index = position_ / chunk_size_;
  const uint64_t in = position_ % chunk_size_;
  const uint64_t length = chunk_length(index);
  const uint64_t take = std::min(length - in, size);
  position_ += take;
  if (in == 0 && take == length) {  // a whole chunk: hash it in place, or nothing to do for zeros
    if (bytes != nullptr) add_chunk(index, {bytes, length});
    return take;
  }
  if (bytes != nullptr) {
    pending_.insert(pending_.end(), bytes, bytes + take);
    pending_data_ = true;
  } else {
    pending_.resize(pending_.size() + take, 0);
  }
  if (pending_.size() == length) {
    if (pending_data_) add_chunk(index, pending_);
    pending_.clear();
    pending_data_ = false;
  }
  return take;
}

void ChunkedDigestBuilder::update(std::span<const uint8_t> bytes) {
  const uint8_t* p = bytes.data();
  uint64_t left = bytes.size();
  while (left > 0) {
    if (position_ >= blob_size_ || chunk_size_ == 0) {
      overfed_ = true;
      return;
    }
    const uint64_t n = feed(p, left);
    p += n;
    left -= n;
  }
}

void ChunkedDigestBuilder::skip_zeros(uint64_t size) {
  while (size > 0) {
    if (position_ >= blob_size_ || chunk_size_ == 0) {
      overfed_ = true;
      return;
    }
    if (position_ % chunk_size_ == 0 && size >= chunk_size_) {  // whole zero chunks: just move on
      const uint64_t whole = std::min(size / chunk_size_ * chunk_size_, blob_size_ - position_);
      position_ += whole;
      size -= whole;
      continue;
    }
    size -= feed(nullptr, size);
  }
}

Result<ChunkedDigest> ChunkedDigestBuilder::finish() {
  ChunkedDigest d{algorithm_, chunk_size_, blob_size_, std::move(entries_), {}};
  TRY(check_chunk_table(d, blob_size_));
  if (overfed_ || position_ != blob_size_) {
    Error e = make_error(ErrorCode::kInvalidConfig, "chunked digest",
                         "fed " + std::string(overfed_ ? "more than " : "") + std::to_string(position_) +
                             " bytes of a " + std::to_string(blob_size_) + "-byte blob");
    e.value = position_;
    return e;
  }
  d.root = chunked_root(algorithm_, chunk_size_, blob_size_, d.entries);
  return d;
}

}  // namespace snapvm
