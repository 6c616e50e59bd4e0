# SnapvmFuzz.cmake: snapvm_add_fuzz_target(), one libFuzzer target (LLVMFuzzerTestOneInput) built the way snapvm
# builds its own (fuzz/CMakeLists.txt): under clang with libFuzzer, ASan and UBSan; under any other compiler with
# snapvm's replay main, which runs the target once on each file or directory named on its command line (so ctest
# can replay seeds and regressions on every build). Installed with the snapvm package.
include_guard(GLOBAL)

if(NOT SNAPVM_FUZZ_REPLAY_MAIN)
  set(SNAPVM_FUZZ_REPLAY_MAIN ${CMAKE_CURRENT_LIST_DIR}/../fuzz/replay_main.cpp)  # in-tree
endif()

# snapvm_add_fuzz_target(name SOURCES ... [LIBS ...]): LIBS are linked privately (e.g. snapvm::snapvm).
# The target gets the property SNAPVM_FUZZ_ENGINE: "libfuzzer" or "replay".
function(snapvm_add_fuzz_target name)
  cmake_parse_arguments(F "" "" "SOURCES;LIBS" ${ARGN})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    add_executable(${name} ${F_SOURCES})
    set(flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
    target_compile_options(${name} PRIVATE ${flags})
    target_link_options(${name} PRIVATE ${flags})
    set_target_properties(${name} PROPERTIES SNAPVM_FUZZ_ENGINE libfuzzer)
  else()
    add_executable(${name} ${F_SOURCES} ${SNAPVM_FUZZ_REPLAY_MAIN})
    set_target_properties(${name} PROPERTIES SNAPVM_FUZZ_ENGINE replay)
  endif()
  target_link_libraries(${name} PRIVATE ${F_LIBS})
endfunction()
