// field_mutation.cpp: the boundary-value tables per field kind and the one-field mutations of
// field_mutation.h.
#include "snapvm_harness/field_mutation.h"

#include <algorithm>
#include <array>

#include "memory/system_area.h"
#include "snapshot/file_patch.h"
#include "snapvm/abi/byte_order.h"
#include "snapvm/abi/layout.h"
#include "snapvm/layout.h"

namespace snapvm::harness {

namespace {
constexpr uint64_t kMax = ~uint64_t{0};

// The edges of every integer width and of a page: first in every kind's table.
constexpr uint64_t kEdges[] = {0,
                               1,
                               2,
                               15,
                               16,
                               0x7f,
                               0x80,
                               0xff,
                               abi::kPageSize - 1,
                               abi::kPageSize,
                               abi::kPageSize + 1,
                               0x7fffffff,
                               0xffffffff,
                               0x100000000ull,
                               kMax,
                               kMax - (abi::kPageSize - 1)};

constexpr uint64_t kCountValues[] = {3,
                                     4,
                                     5,
                                     6,
                                     7,
                                     8,
                                     0x100,
                                     2 * abi::kPageSize,
                                     0x3fff,
                                     0x4000,
                                     0x10000,
                                     1 << 20,
                                     0x80000000,
                                     16 * kGiB,
                                     64 * kGiB,
                                     64 * kGiB - abi::kPageSize,
                                     0x7fffffffffffffffull,
                                     0x8000000000000000ull};

constexpr uint64_t kAddressValues[] = {2 * abi::kPageSize,
                                       abi::kGdtAddress,
                                       abi::kIdtAddress,
                                       abi::kTssAddress,
                                       abi::kTrapStubAddress,
                                       abi::kRing0StackTop,
                                       abi::kPebAddress,
                                       abi::kSystemAreaEnd,
                                       abi::kDefaultImageBase,
                                       abi::kDefaultImageBase + abi::kPageSize,
                                       16 * kGiB,
                                       64 * kGiB,
                                       64 * kGiB - abi::kPageSize,
                                       0x7fffffffffffffffull,
                                       0x8000000000000000ull};

constexpr uint64_t kRegisterValues[] = {3,
                                        8,
                                        11,  // TSS type: 64-bit busy
                                        0x8b,
                                        0x93,
                                        0x9b,
                                        0x37f,   // FCW after FNINIT
                                        0x1f80,  // MXCSR after reset
                                        abi::kKernelCodeSelector,
                                        abi::kUserCodeSelector,
                                        abi::kUserDataSelector,
                                        abi::kTssSelector,
                                        abi::kGdtLimit,
                                        abi::kIdtLimit,
                                        abi::kTssLimit,
                                        abi::kInitialRflags,
                                        kInitialCr0,
                                        kInitialCr4,
                                        kInitialEfer,
                                        kInitialApicBase,
                                        0x80000000,
                                        0x8000000000000000ull};

template <size_t N, size_t M>
constexpr std::array<uint64_t, N + M> join(const uint64_t (&a)[N], const uint64_t (&b)[M]) {
  std::array<uint64_t, N + M> out{};
  for (size_t i = 0; i < N; ++i) out[i] = a[i];
  for (size_t i = 0; i < M; ++i) out[N + i] = b[i];
  return out;
}

constexpr auto kCountTable = join(kEdges, kCountValues);
constexpr auto kAddressTable = join(kEdges, kAddressValues);
constexpr auto kRegisterTable = join(kEdges, kRegisterValues);

// Steps from the current value: small ones for counts and lengths, whole pages for addresses and sizes.
constexpr int64_t kSteps[] = {1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 7, -7, 8, -8};
constexpr int64_t kPageSteps = 4;  // +-1..4 pages

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}
bool starts_with(std::string_view s, std::string_view head) { return s.rfind(head, 0) == 0; }

uint64_t step(uint64_t current, uint64_t choice) {
  const uint64_t n = std::size(kSteps) + 2 * kPageSteps;
  const uint64_t k = choice % n;
  if (k < std::size(kSteps)) return current + static_cast<uint64_t>(kSteps[k]);
  const uint64_t pages = (k - std::size(kSteps)) / 2 + 1;
  return (k - std::size(kSteps)) % 2 == 0 ? current + pages * abi::kPageSize : current - pages * abi::kPageSize;
}
}  // namespace

FieldKind field_kind(std::string_view name) {
  if (ends_with(name, "address") || ends_with(name, "base") || ends_with(name, "_offset") || ends_with(name, ".rip") ||
      ends_with(name, ".rsp") || ends_with(name, ".cr3") || name == "entrypoint" || name == "dispatch" ||
      starts_with(name, "layout.")) {
    return FieldKind::kAddress;
  }
  if (starts_with(name, "regs.") || starts_with(name, "sregs.") || starts_with(name, "fpu."))
    return FieldKind::kRegister;
  return FieldKind::kCount;
}

std::span<const uint64_t> boundary_values(FieldKind kind) {
  switch (kind) {
    case FieldKind::kAddress:
      return kAddressTable;
    case FieldKind::kRegister:
      return kRegisterTable;
    case FieldKind::kCount:
      break;
  }
  return kCountTable;
}

std::vector<format::FieldInfo> mutable_fields(std::span<const uint8_t> file) {
  std::vector<format::FieldInfo> fields = format::describe_fields(file);
  std::erase_if(fields, [](const format::FieldInfo& f) {
    return f.size == 0 || f.name == "padding" || f.name == "blob" || f.name == "chunk_table" ||
           f.name == "header_checksum";
  });
  return fields;
}

uint64_t field_mask(const format::FieldInfo& field) {
  return field.size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * field.size)) - 1;
}

uint64_t read_at(std::span<const uint8_t> file, uint64_t offset, uint64_t size) {
  if (offset >= file.size()) return 0;
  return abi::load_le(file.data() + offset, std::min<uint64_t>({size, 8, file.size() - offset}));
}

void write_at(std::span<uint8_t> file, uint64_t offset, uint64_t size, uint64_t value) {
  if (offset >= file.size()) return;
  const uint64_t n = std::min<uint64_t>(size, file.size() - offset);
  abi::store_le(file.data() + offset, std::min<uint64_t>(n, 8), value);
  if (n > 8) std::fill_n(file.begin() + static_cast<long>(offset + 8), n - 8, 0);
}

uint64_t read_field(std::span<const uint8_t> file, const format::FieldInfo& field) {
  return read_at(file, field.offset, field.size);
}

void write_field(std::span<uint8_t> file, const format::FieldInfo& field, uint64_t value) {
  write_at(file, field.offset, field.size, value);
}

uint64_t mutated_value(std::span<const uint8_t> file, std::span<const format::FieldInfo> fields,
                       const format::FieldInfo& field, FieldMutation m) {
  const uint64_t current = read_field(file, field);
  const uint64_t bits = 8 * std::clamp<uint64_t>(field.size, 1, 8);
  uint64_t v = current;
  switch (m.change) {
    case FieldChange::kBoundary: {
      const auto table = boundary_values(field_kind(field.name));
      v = table[m.choice % table.size()];
      break;
    }
    case FieldChange::kFlipBit:
      v = current ^ (uint64_t{1} << (m.choice % bits));
      break;
    case FieldChange::kStep:
      v = step(current, m.choice);
      break;
    case FieldChange::kCopyField:
      if (!fields.empty()) v = read_field(file, fields[m.choice % fields.size()]);
      break;
    case FieldChange::kClearBit:
      v = current & ~(uint64_t{1} << (m.choice % bits));
      break;
    case FieldChange::kArbitrary:
      v = m.choice;
      break;
  }
  return v & field_mask(field);
}

uint64_t mutate_field(std::span<uint8_t> file, std::span<const format::FieldInfo> fields,
                      const format::FieldInfo& field, FieldMutation mutation) {
  const uint64_t v = mutated_value(file, fields, field, mutation);
  write_field(file, field, v);
  return v;
}

void mutate_bytes(std::span<uint8_t> file, uint64_t offset, uint64_t size, ByteMutator mutate) {
  if (offset >= file.size() || size == 0) return;
  size = std::min<uint64_t>(size, file.size() - offset);
  std::vector<uint8_t> window(file.begin() + static_cast<long>(offset),
                              file.begin() + static_cast<long>(offset + size));
  window.resize(mutate(window.data(), window.size(), window.size()));
  window.resize(size, 0);
  std::copy(window.begin(), window.end(), file.begin() + static_cast<long>(offset));
}

void write_text_field(std::span<uint8_t> file, const format::FieldInfo& field, std::string_view text) {
  for (uint64_t i = 0; i < field.size && field.offset + i < file.size(); ++i) {
    file[field.offset + i] = i < text.size() ? static_cast<uint8_t>(text[i]) : 0;
  }
}

void fix_checksums(std::span<uint8_t> file, Checksums which) {
  switch (which) {
    case Checksums::kStale:
      return;
    case Checksums::kHeaderFixed:
      format::fix_header_checksum(file);
      return;
    case Checksums::kAllFixed:
      format::fix_content_digest(file);
      return;
  }
}

}  // namespace snapvm::harness
