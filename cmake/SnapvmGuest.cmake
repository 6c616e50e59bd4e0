# SnapvmGuest.cmake: snapvm_add_guest(), how a freestanding guest program is compiled and linked. The
# in-tree build includes it from guest/; an installed snapvm package is meant to ship it too, so it only
# names the runtimes by their package names (snapvm::guest_runtime, snapvm::guest_coverage) and keeps every
# flag here.
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

# Coverage instrumentation for a guest's own sources (never the runtimes'), by compiler: clang counts edges
# inline into __sancov_cntrs with a PC table; gcc (no inline-8bit-counters) calls __sanitizer_cov_trace_pc per
# block. Both log comparisons (trace-cmp). snapvm::guest_coverage defines the callbacks and announces the areas
# in the PEB (docs/abi.md "Coverage").
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  set(SNAPVM_GUEST_COVERAGE_OPTIONS -fsanitize-coverage=inline-8bit-counters,pc-table,trace-cmp)
elseif(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  set(SNAPVM_GUEST_COVERAGE_OPTIONS -fsanitize-coverage=trace-pc,trace-cmp)
else()
  set(SNAPVM_GUEST_COVERAGE_OPTIONS "")
endif()

function(_snapvm_add_one_guest name fixed coverage)
  add_executable(${name} ${ARGN})
  if(coverage)
    if(NOT SNAPVM_GUEST_COVERAGE_OPTIONS)
      message(FATAL_ERROR "snapvm_add_guest(${name} COVERAGE): no coverage flags for compiler ${CMAKE_CXX_COMPILER_ID}")
    endif()
    target_compile_options(${name} PRIVATE ${SNAPVM_GUEST_COVERAGE_OPTIONS})
    target_link_libraries(${name} PRIVATE snapvm::guest_coverage)
  endif()
  target_link_libraries(${name} PRIVATE snapvm::guest_runtime)
  target_compile_options(${name} PRIVATE ${SNAPVM_GUEST_COMPILE_OPTIONS})
  set(link -nostdlib -Wl,-z,max-page-size=4096 -Wl,-z,separate-code -Wl,-z,noexecstack -Wl,--build-id=none
      -Wl,-e,_start)
  if(fixed)
    list(APPEND link -static -no-pie -Wl,-Ttext-segment=0x400000)
  else()
    list(APPEND link -static-pie)
  endif()
  target_link_options(${name} PRIVATE ${link})
endfunction()

# A guest program: position independent (ET_DYN with relative relocations, loaded at the image base),
# or with FIXED_ADDRESS an ET_EXEC linked at 0x400000. COVERAGE instruments it for fuzzing (see above);
# COVERAGE_TWIN makes two targets from the same sources: `name`, plain, and `name_cov`, instrumented.
function(snapvm_add_guest name)
  cmake_parse_arguments(G "FIXED_ADDRESS;COVERAGE;COVERAGE_TWIN" "" "SOURCES" ${ARGN})
  if(G_COVERAGE AND G_COVERAGE_TWIN)
    message(FATAL_ERROR "snapvm_add_guest(${name}): COVERAGE and COVERAGE_TWIN exclude each other")
  endif()
  _snapvm_add_one_guest(${name} "${G_FIXED_ADDRESS}" "${G_COVERAGE}" ${G_SOURCES})
  if(G_COVERAGE_TWIN)
    _snapvm_add_one_guest(${name}_cov "${G_FIXED_ADDRESS}" TRUE ${G_SOURCES})
  endif()
endfunction()
