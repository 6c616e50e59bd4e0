// peb.h: the Process Environment Block the host writes at abi::kPebAddress before the guest first
// runs: where each region of the layout is and how big it is. The guest fills in `dispatch`.
#pragma once

#include "snapvm/abi/layout.h"
#include "snapvm/abi/ports.h"
#include "snapvm/layout.h"

namespace snapvm::detail {

inline abi::Peb make_peb(const Layout& layout) {
  abi::Peb peb{};
  peb.magic = abi::kPebMagic;
  peb.abi_version = abi::kAbiVersion;
  peb.heap_base = layout.heap_base;
  peb.heap_size = layout.config.heap_size;
  peb.input_base = layout.input_base;
  peb.input_size = layout.config.input_size;
  peb.output_base = layout.output_base;
  peb.output_size = layout.config.output_size;
  peb.stack_base = layout.stack_base;
  peb.stack_size = layout.config.stack_size;
  return peb;
}

}  // namespace snapvm::detail
