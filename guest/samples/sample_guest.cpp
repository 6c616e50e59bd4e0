// sample_guest.cpp: the guest every snapvm test, fuzz target, property and benchmark drives. It offers
// typed echo and arithmetic, global and heap state, a host-call round trip, and functions that
// misbehave on purpose so the host's handling of each failure can be tested.
#include "snapvm_guest.h"

#include "snapvm/abi/layout.h"

using namespace snapvm::guest;  // NOLINT

namespace {

using VT = ValueType;

int64_t g_global = 0;
int64_t g_counter = 0;
uint8_t* g_buffer = nullptr;
uint64_t g_buffer_size = 0;
volatile int g_keep_recursing = 1;

uint64_t fnv1a(const uint8_t* p, uint64_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint64_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

WireValue identity(const WireValue* args, uint8_t) { return args[0]; }

WireValue add_i32(const WireValue* a, uint8_t) {
  return make_i32(static_cast<int32_t>(static_cast<uint32_t>(a[0].i32) + static_cast<uint32_t>(a[1].i32)));
}
WireValue add_f64(const WireValue* a, uint8_t) { return make_f64(a[0].f64 + a[1].f64); }

WireValue get_mxcsr(const WireValue*, uint8_t) {
  uint32_t m = 0;
  asm volatile("stmxcsr %0" : "=m"(m));
  return make_u32(m);
}
WireValue set_mxcsr(const WireValue* a, uint8_t) {
  uint32_t m = a[0].u32;
  asm volatile("ldmxcsr %0" : : "m"(m));
  return make_void();
}

WireValue set_global(const WireValue* a, uint8_t) {
  g_global = a[0].i64;
  return make_void();
}
WireValue get_global(const WireValue*, uint8_t) { return make_i64(g_global); }
WireValue increment(const WireValue*, uint8_t) { return make_i64(++g_counter); }

// Appends bytes to a heap buffer; returns the new length.
WireValue buffer_append(const WireValue* a, uint8_t) {
  auto* grown = static_cast<uint8_t*>(realloc(g_buffer, g_buffer_size + a[0].span.size));
  if (grown == nullptr) abort(12, "heap exhausted");
  __builtin_memcpy(grown + g_buffer_size, a[0].span.data, a[0].span.size);
  g_buffer = grown;
  g_buffer_size += a[0].span.size;
  return make_u64(g_buffer_size);
}

// Replaces the buffer with `size` bytes of a pattern from `seed`; returns their checksum.
WireValue buffer_fill(const WireValue* a, uint8_t) {
  free(g_buffer);
  g_buffer = static_cast<uint8_t*>(malloc(a[0].u64));
  if (g_buffer == nullptr && a[0].u64 != 0) abort(12, "heap exhausted");
  g_buffer_size = g_buffer == nullptr ? 0 : a[0].u64;
  uint32_t x = a[1].u32 | 1;
  for (uint64_t i = 0; i < g_buffer_size; ++i) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    g_buffer[i] = static_cast<uint8_t>(x);
  }
  return make_u64(fnv1a(g_buffer, g_buffer_size));
}

WireValue buffer_checksum(const WireValue*, uint8_t) { return make_u64(fnv1a(g_buffer, g_buffer_size)); }

// Writes one byte into each of `pages` pages of the buffer (which must be that large): dirties pages.
WireValue touch_pages(const WireValue* a, uint8_t) {
  uint64_t pages = a[0].u64;
  using snapvm::abi::kPageSize;
  if (pages * kPageSize > g_buffer_size) abort(13, "buffer smaller than the pages to touch");
  for (uint64_t i = 0; i < pages; ++i) g_buffer[i * kPageSize] = static_cast<uint8_t>(g_buffer[i * kPageSize] + 1);
  return make_u64(pages);
}

WireValue call_host_add(const WireValue* a, uint8_t) { return call_host("HostAdd", a, 2); }
WireValue call_host_echo(const WireValue* a, uint8_t) { return call_host("HostEcho", a, 1); }

WireValue log_message(const WireValue* a, uint8_t) {
  log(LogLevel::kInfo, reinterpret_cast<const char*>(a[0].span.data), a[0].span.size);
  return make_void();
}

// ---- misbehaviour ------------------------------------------------------------------------------
WireValue null_deref(const WireValue*, uint8_t) {
  uint64_t address = 0, value = 0;
  asm volatile("mov (%1), %0" : "=r"(value) : "r"(address) : "memory");
  return make_u64(value);
}
WireValue undefined_instruction(const WireValue*, uint8_t) {
  asm volatile("ud2");
  return make_void();
}
WireValue divide(const WireValue* a, uint8_t) {
  // idiv leaves the quotient in EAX and the remainder in EDX. EDX is early-clobbered (cltd writes it
  // before idiv reads the divisor), so the divisor must not be given EDX: hence "=&d".
  int32_t quotient_in_eax = 100;
  int32_t remainder = 0;
  const int32_t divisor = a[0].i32;
  asm volatile("cltd\n\tidivl %2" : "+a"(quotient_in_eax), "=&d"(remainder) : "r"(divisor) : "cc");
  return make_i32(quotient_in_eax);
}
WireValue write_code(const WireValue*, uint8_t) {
  auto* code = reinterpret_cast<volatile uint8_t*>(&identity);
  *code = 0xc3;
  return make_void();
}
__attribute__((noinline)) uint64_t recurse(uint64_t depth) {
  volatile uint8_t frame[512];
  frame[depth % sizeof frame] = static_cast<uint8_t>(depth);
  if (!g_keep_recursing) return frame[0];
  return recurse(depth + 1) + frame[depth % sizeof frame];
}
WireValue stack_overflow(const WireValue*, uint8_t) { return make_u64(recurse(0)); }
WireValue spin(const WireValue*, uint8_t) {
  for (;;) asm volatile("pause");
}
WireValue guest_abort(const WireValue* a, uint8_t) {
  static char message[256];
  uint32_t n = a[1].span.size < sizeof message - 1 ? a[1].span.size : sizeof message - 1;
  __builtin_memcpy(message, a[1].span.data, n);
  message[n] = '\0';
  abort(a[0].i32, message);
}

// ---- vCPU and memory state a restore must bring back (engine/sandbox/restore_exact_test.cpp) ------
// Each leaves its state set after the call returns, where the compiled code around it does not touch it.
// Loads the x87 control word and pushes `value` on the x87 stack (left there: the guest uses no x87).
WireValue set_x87(const WireValue* a, uint8_t) {
  const uint16_t cw = static_cast<uint16_t>(a[0].u32);
  const double value = a[1].f64;
  asm volatile("fldcw %0\n\tfldl %1" : : "m"(cw), "m"(value) : "memory");
  return make_void();
}
// Leaves `pattern` (+ i) in the low quadword of xmm8..xmm15, which the guest's compiled code leaves alone.
WireValue set_high_xmm(const WireValue* a, uint8_t) {
  const uint64_t p = a[0].u64;
  asm volatile(
      "movq %0, %%xmm8\n\tincq %0\n\tmovq %0, %%xmm9\n\tincq %0\n\tmovq %0, %%xmm10\n\tincq %0\n\t"
      "movq %0, %%xmm11\n\tincq %0\n\tmovq %0, %%xmm12\n\tincq %0\n\tmovq %0, %%xmm13\n\tincq %0\n\t"
      "movq %0, %%xmm14\n\tincq %0\n\tmovq %0, %%xmm15"
      :
      : "r"(p)
      : "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
  return make_void();
}
// Loads the null selector into FS and GS (allowed at CPL 3 in long mode; the guest uses neither).
WireValue null_fs_gs(const WireValue*, uint8_t) {
  asm volatile("mov %0, %%fs\n\tmov %0, %%gs" : : "r"(0) : "memory");
  return make_void();
}
// Inverts the byte at each address the bytes hold (little-endian u64s), then sets the RFLAGS bits
// `rflags_bits` has of AC and ID (ring 3 may; with CR0.AM clear AC checks nothing). Both at once, as the
// last call before a snapshot or restore: each call starts from fresh RFLAGS, and later calls could
// use the bytes flipped (e.g. the first and last page of every region the guest may write).
WireValue flip_bytes(const WireValue* a, uint8_t) {
  const uint64_t n = a[0].span.size / 8;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t address = 0;
    __builtin_memcpy(&address, a[0].span.data + i * 8, 8);
    auto* p = reinterpret_cast<volatile uint8_t*>(address);
    *p = static_cast<uint8_t>(~*p);
  }
  const uint64_t bits = a[1].u64 & 0x240000;
  asm volatile("pushfq\n\torq %0, (%%rsp)\n\tpopfq" : : "r"(bits) : "cc", "memory");
  return make_u64(n);
}
// Changes one byte of the first or the last page of a region the PEB describes (kind: 3 input, 4 output,
// 5 heap, 6 stack as in RegionKind), where nothing reads it before writing it: the first page's last
// byte, the last page's first byte. The heap's first page holds the allocator's first block, so only
// its last page is offered. Invisible to later calls; only a snapshot's pages (or a restore that
// missed the page) can tell. Abort 14 for another kind.
WireValue write_edge_page(const WireValue* a, uint8_t) {
  const auto* peb = reinterpret_cast<const snapvm::abi::Peb*>(snapvm::abi::kPebAddress);
  using snapvm::abi::kPageSize;
  uint64_t base = 0, size = 0;
  switch (a[0].u32) {
    case 3:
      base = peb->input_base, size = peb->input_size;
      break;
    case 4:
      base = peb->output_base, size = peb->output_size;
      break;
    case 5:
      base = a[1].boolean != 0 ? peb->heap_base : 0, size = peb->heap_size;
      break;
    case 6:
      base = peb->stack_base, size = peb->stack_size;
      break;
    default:
      break;
  }
  if (base == 0 || size < 2 * kPageSize) abort(14, "no such edge page");
  auto* p = reinterpret_cast<volatile uint8_t*>(a[1].boolean != 0 ? base + size - kPageSize : base + kPageSize - 1);
  *p = static_cast<uint8_t>(*p + 1);
  return make_void();
}
// Loads every general register but RSP with `pattern` + its index (rax 0, rbx 1, ... r15 15 holds the
// address), then reads `address`: a #PF there leaves CR2 = address and the registers as loaded.
[[noreturn]] WireValue fault_with_registers(const WireValue* a, uint8_t) {
  asm volatile(
      "push %1\n\tpush %0\n\tpop %%r14\n\tpop %%r15\n\t"
      "lea 0(%%r14), %%rax\n\tlea 1(%%r14), %%rbx\n\tlea 2(%%r14), %%rcx\n\tlea 3(%%r14), %%rdx\n\t"
      "lea 4(%%r14), %%rsi\n\tlea 5(%%r14), %%rdi\n\tlea 7(%%r14), %%rbp\n\tlea 8(%%r14), %%r8\n\t"
      "lea 9(%%r14), %%r9\n\tlea 10(%%r14), %%r10\n\tlea 11(%%r14), %%r11\n\tlea 12(%%r14), %%r12\n\t"
      "lea 13(%%r14), %%r13\n\tmovb (%%r15), %%al\n\tud2"
      :
      : "r"(a[0].u64), "r"(a[1].u64)
      : "memory");
  __builtin_unreachable();
}

}  // namespace

extern "C" void guest_main() {
  register_function("Echo", identity, VT::kString, VT::kString);
  register_function("EchoBool", identity, VT::kBool, VT::kBool);
  register_function("EchoI32", identity, VT::kI32, VT::kI32);
  register_function("EchoU32", identity, VT::kU32, VT::kU32);
  register_function("EchoI64", identity, VT::kI64, VT::kI64);
  register_function("EchoU64", identity, VT::kU64, VT::kU64);
  register_function("EchoF32", identity, VT::kF32, VT::kF32);
  register_function("EchoF64", identity, VT::kF64, VT::kF64);
  register_function("EchoBytes", identity, VT::kBytes, VT::kBytes);
  register_function("Add", add_i32, VT::kI32, VT::kI32, VT::kI32);
  register_function("AddF64", add_f64, VT::kF64, VT::kF64, VT::kF64);
  register_function("GetMxcsr", get_mxcsr, VT::kU32);
  register_function("SetMxcsr", set_mxcsr, VT::kVoid, VT::kU32);
  register_function("SetGlobal", set_global, VT::kVoid, VT::kI64);
  register_function("GetGlobal", get_global, VT::kI64);
  register_function("Increment", increment, VT::kI64);
  register_function("BufferAppend", buffer_append, VT::kU64, VT::kBytes);
  register_function("BufferFill", buffer_fill, VT::kU64, VT::kU64, VT::kU32);
  register_function("BufferChecksum", buffer_checksum, VT::kU64);
  register_function("TouchPages", touch_pages, VT::kU64, VT::kU64);
  register_function("CallHostAdd", call_host_add, VT::kI64, VT::kI64, VT::kI64);
  register_function("CallHostEcho", call_host_echo, VT::kString, VT::kString);
  register_function("Log", log_message, VT::kVoid, VT::kString);
  register_function("NullDeref", null_deref, VT::kU64);
  register_function("Ud2", undefined_instruction, VT::kVoid);
  register_function("Divide", divide, VT::kI32, VT::kI32);
  register_function("WriteCode", write_code, VT::kVoid);
  register_function("StackOverflow", stack_overflow, VT::kU64);
  register_function("Spin", spin, VT::kVoid);
  register_function("Abort", guest_abort, VT::kVoid, VT::kI32, VT::kString);
  register_function("SetX87", set_x87, VT::kVoid, VT::kU32, VT::kF64);
  register_function("SetHighXmm", set_high_xmm, VT::kVoid, VT::kU64);
  register_function("NullFsGs", null_fs_gs, VT::kVoid);
  register_function("FlipBytes", flip_bytes, VT::kU64, VT::kBytes, VT::kU64);
  register_function("WriteEdgePage", write_edge_page, VT::kVoid, VT::kU32, VT::kBool);
  register_function("FaultWithRegisters", fault_with_registers, VT::kU64, VT::kU64, VT::kU64);

  require_host_function("HostAdd", VT::kI64, VT::kI64, VT::kI64);
  require_host_function("HostEcho", VT::kString, VT::kString);
  log(LogLevel::kInfo, "sample guest initialised");
}
