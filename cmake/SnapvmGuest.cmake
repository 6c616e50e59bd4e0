# SnapvmGuest.cmake: snapvm_add_guest(), how a freestanding guest program is compiled and linked. The
# in-tree build includes it from guest/; an installed snapvm package is meant to ship it too, so it only
# names the runtime by its package name (snapvm::guest_runtime) and keeps every flag here.
include_guard(GLOBAL)

# Guest code is freestanding: no C library, no exceptions or RTTI, no host sanitizer or warning policy.
set(SNAPVM_GUEST_COMPILE_OPTIONS
    -O2 -ffreestanding -fno-exceptions -fno-rtti -fno-stack-protector -fno-threadsafe-statics
    -fno-asynchronous-unwind-tables -fno-unwind-tables -fcf-protection=none -fPIE -fno-plt
    -Wall -Wextra
    $<$<CXX_COMPILER_ID:GNU>:-fno-tree-loop-distribute-patterns>)
if(SNAPVM_WERROR)
  list(APPEND SNAPVM_GUEST_COMPILE_OPTIONS -Werror)
endif()

# A guest program: position independent (ET_DYN with relative relocations, loaded at the image base),
# or with FIXED_ADDRESS an ET_EXEC linked at 0x400000.
function(snapvm_add_guest name)
  cmake_parse_arguments(G "FIXED_ADDRESS" "" "SOURCES" ${ARGN})
  add_executable(${name} ${G_SOURCES})
  target_link_libraries(${name} PRIVATE snapvm::guest_runtime)
  target_compile_options(${name} PRIVATE ${SNAPVM_GUEST_COMPILE_OPTIONS})
  set(link -nostdlib -Wl,-z,max-page-size=4096 -Wl,-z,separate-code -Wl,-z,noexecstack -Wl,--build-id=none
      -Wl,-e,_start)
  if(G_FIXED_ADDRESS)
    list(APPEND link -static -no-pie -Wl,-Ttext-segment=0x400000)
  else()
    list(APPEND link -static-pie)
  endif()
  target_link_options(${name} PRIVATE ${link})
endfunction()
