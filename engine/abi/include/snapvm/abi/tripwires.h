// tripwires.h: compile-time pins of every ABI fact a guest image or a snapshot file depends on.
// Included by the guest runtime and by the host library, so both builds stop if one moves. When one
// fires, the change is an ABI change: follow docs/snapshot-versioning.md ("When a tripwire fires"):
// bump kAbiVersion, update the pinned value here and docs/abi.md, regenerate the goldens and seeds.
// Freestanding: no library beyond the compiler's.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "snapvm/abi/coverage.h"
#include "snapvm/abi/layout.h"
#include "snapvm/abi/manifest.h"
#include "snapvm/abi/ports.h"
#include "snapvm/abi/wire.h"

namespace snapvm::abi::tripwires {

#define SNAPVM_ABI_TRIPWIRE(cond, what) \
  static_assert(cond, what " is ABI: bump kAbiVersion and regenerate goldens; see docs/snapshot-versioning.md")

// The version every pin below belongs to. Bumping it is the answer to any other tripwire firing.
SNAPVM_ABI_TRIPWIRE(kAbiVersion == 1, "kAbiVersion (update every pin below with it)");

// Ports (ports.h): the guest's `out` targets.
SNAPVM_ABI_TRIPWIRE(sizeof(Port) == 2, "the port width");
SNAPVM_ABI_TRIPWIRE(static_cast<uint16_t>(Port::kInitialised) == 0x5100, "Port::kInitialised");
SNAPVM_ABI_TRIPWIRE(static_cast<uint16_t>(Port::kCallDone) == 0x5101, "Port::kCallDone");
SNAPVM_ABI_TRIPWIRE(static_cast<uint16_t>(Port::kHostCall) == 0x5102, "Port::kHostCall");
SNAPVM_ABI_TRIPWIRE(static_cast<uint16_t>(Port::kLog) == 0x5103, "Port::kLog");
SNAPVM_ABI_TRIPWIRE(static_cast<uint16_t>(Port::kAbort) == 0x5104, "Port::kAbort");
SNAPVM_ABI_TRIPWIRE(static_cast<uint16_t>(Port::kFault) == 0x5105, "Port::kFault");

// The PEB (layout.h): where it is, its magic, and every field's offset.
SNAPVM_ABI_TRIPWIRE(kPebAddress == 0x9000, "kPebAddress");
SNAPVM_ABI_TRIPWIRE(kPebMagic == 0x31424550564e5053ull, "kPebMagic");
SNAPVM_ABI_TRIPWIRE(sizeof(Peb) == 120, "sizeof(Peb)");
SNAPVM_ABI_TRIPWIRE(offsetof(Peb, magic) == 0, "Peb::magic's offset");
SNAPVM_ABI_TRIPWIRE(offsetof(Peb, abi_version) == 8, "Peb::abi_version's offset");
SNAPVM_ABI_TRIPWIRE(offsetof(Peb, reserved) == 12, "Peb::reserved's offset");
SNAPVM_ABI_TRIPWIRE(offsetof(Peb, heap_base) == 16, "Peb::heap_base's offset");
SNAPVM_ABI_TRIPWIRE(offsetof(Peb, heap_size) == 24, "Peb::heap_size's offset");
SNAPVM_ABI_TRIPWIRE(offsetof(Peb, input_base) == 32, "Peb::input_base's offset");
SNAPVM_ABI_TRIPWIRE(offsetof(Peb, input_size) == 40, "Peb::input_size's offset");
SNAPVM_ABI_TRIPWIRE(offsetof(Peb, output_base) == 48, "Peb::output_base's offset");
SNAPVM_ABI_TRIPWIRE(offsetof(Peb, output_size) == 56, "Peb::output_size's offset");
SNAPVM_ABI_TRIPWIRE(offsetof(Peb, stack_base) == 64, "Peb::stack_base's offset");
SNAPVM_ABI_TRIPWIRE(offsetof(Peb, stack_size) == 72, "Peb::stack_size's offset");
SNAPVM_ABI_TRIPWIRE(offsetof(Peb, dispatch) == 80, "Peb::dispatch's offset");
// Appended without a version bump: a guest built before them leaves them zero (no coverage).
SNAPVM_ABI_TRIPWIRE(offsetof(Peb, coverage_counters) == 88, "Peb::coverage_counters's offset");
SNAPVM_ABI_TRIPWIRE(offsetof(Peb, coverage_counters_size) == 96, "Peb::coverage_counters_size's offset");
SNAPVM_ABI_TRIPWIRE(offsetof(Peb, coverage_pcs) == 104, "Peb::coverage_pcs's offset");
SNAPVM_ABI_TRIPWIRE(offsetof(Peb, coverage_cmp_log) == 112, "Peb::coverage_cmp_log's offset");
// The CmpLog the coverage runtime fills (coverage.h).
SNAPVM_ABI_TRIPWIRE(sizeof(CmpRecord) == 24 && offsetof(CmpRecord, size) == 16 && offsetof(CmpRecord, pc) == 20,
                    "CmpRecord's layout");
SNAPVM_ABI_TRIPWIRE(kCmpLogCapacity == 256 && offsetof(CmpLog, records) == 8, "CmpLog's layout");

// The fixed system area and entry state (layout.h): snapshot registers point into it.
SNAPVM_ABI_TRIPWIRE(kPageSize == 4096, "kPageSize");
SNAPVM_ABI_TRIPWIRE(kGdtAddress == 0x1000 && kIdtAddress == 0x2000 && kTssAddress == 0x3000,
                    "the GDT, IDT and TSS addresses");
SNAPVM_ABI_TRIPWIRE(kTrapStubAddress == 0x4000 && kTrapStubSize == 16, "the trap stubs' address and size");
SNAPVM_ABI_TRIPWIRE(kRing0StackBase == 0x6000 && kRing0StackTop == 0x8000, "the ring-0 stack");
SNAPVM_ABI_TRIPWIRE(kSystemAreaEnd == 0xA000 && kDefaultImageBase == 0x100000, "the system area's end and image base");
SNAPVM_ABI_TRIPWIRE(kKernelCodeSelector == 0x08 && kKernelDataSelector == 0x10 && kUserCodeSelector == 0x1b &&
                        kUserDataSelector == 0x23 && kTssSelector == 0x28,
                    "the GDT selectors");
SNAPVM_ABI_TRIPWIRE(kInitialRflags == 0x3002, "kInitialRflags");

// Wire value type tags (wire.h).
SNAPVM_ABI_TRIPWIRE(sizeof(ValueType) == 1 && kValueTypeCount == 10, "the value type tag's width and count");
SNAPVM_ABI_TRIPWIRE(static_cast<uint8_t>(ValueType::kVoid) == 0, "ValueType::kVoid");
SNAPVM_ABI_TRIPWIRE(static_cast<uint8_t>(ValueType::kBool) == 1, "ValueType::kBool");
SNAPVM_ABI_TRIPWIRE(static_cast<uint8_t>(ValueType::kI32) == 2, "ValueType::kI32");
SNAPVM_ABI_TRIPWIRE(static_cast<uint8_t>(ValueType::kU32) == 3, "ValueType::kU32");
SNAPVM_ABI_TRIPWIRE(static_cast<uint8_t>(ValueType::kI64) == 4, "ValueType::kI64");
SNAPVM_ABI_TRIPWIRE(static_cast<uint8_t>(ValueType::kU64) == 5, "ValueType::kU64");
SNAPVM_ABI_TRIPWIRE(static_cast<uint8_t>(ValueType::kF32) == 6, "ValueType::kF32");
SNAPVM_ABI_TRIPWIRE(static_cast<uint8_t>(ValueType::kF64) == 7, "ValueType::kF64");
SNAPVM_ABI_TRIPWIRE(static_cast<uint8_t>(ValueType::kString) == 8, "ValueType::kString");
SNAPVM_ABI_TRIPWIRE(static_cast<uint8_t>(ValueType::kBytes) == 9, "ValueType::kBytes");

// Wire magic values (wire.h): "SV" + a letter + "1", little-endian.
SNAPVM_ABI_TRIPWIRE(kCallMagic == 0x31435653, "kCallMagic (\"SVC1\")");
SNAPVM_ABI_TRIPWIRE(kHostCallMagic == 0x31485653, "kHostCallMagic (\"SVH1\")");
SNAPVM_ABI_TRIPWIRE(kResultMagic == 0x31525653, "kResultMagic (\"SVR1\")");
SNAPVM_ABI_TRIPWIRE(kLogMagic == 0x314c5653, "kLogMagic (\"SVL1\")");
SNAPVM_ABI_TRIPWIRE(kAbortMagic == 0x31415653, "kAbortMagic (\"SVA1\")");
SNAPVM_ABI_TRIPWIRE(kManifestMagic == 0x314d5653, "kManifestMagic (\"SVM1\")");

// Message headers and limits (wire.h, manifest.h). The guest's tables are sized by the limits.
SNAPVM_ABI_TRIPWIRE(kMessageHeaderSize == 8 && kTotalLengthOffset == 4, "the message header");
SNAPVM_ABI_TRIPWIRE(kCallHeaderSize == 12 && kNameLengthOffset == 8 && kArgcOffset == 10 && kCallReservedOffset == 11,
                    "the call header");
SNAPVM_ABI_TRIPWIRE(kResultHeaderSize == 8, "the result header");
SNAPVM_ABI_TRIPWIRE(kTextRecordHeaderSize == 16, "the log and abort record header");
SNAPVM_ABI_TRIPWIRE(kManifestHeaderSize == 12 && kGuestCountOffset == 8 && kHostCountOffset == 10,
                    "the manifest header");
SNAPVM_ABI_TRIPWIRE(kManifestEntryFixedSize == 4, "the manifest entry's fixed part");
SNAPVM_ABI_TRIPWIRE(kMaxNameLength == 128 && kMaxArgs == 16 && kMaxFunctions == 256, "the wire limits");

#undef SNAPVM_ABI_TRIPWIRE

}  // namespace snapvm::abi::tripwires
