# SnapvmInstall.cmake: what `cmake --install` puts under the prefix, the CMake package that
# find_package(snapvm CONFIG) finds there, the engine's pkg-config file and the Debian package (cpack -G DEB).
# See docs/packaging.md. Only public headers install: engine/include/snapvm, engine/abi/include/snapvm/abi, the
# guest runtime's snapvm_guest.h and the harness headers that need no engine internals.
include(CMakePackageConfigHelpers)

set(SNAPVM_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/snapvm CACHE STRING "Where snapvmConfig.cmake installs")
set(SNAPVM_INSTALL_DATADIR ${CMAKE_INSTALL_DATADIR}/snapvm)

# Libraries and the CLI. The engine is a static library, so the static libraries it links privately (BLAKE3)
# travel in the export set too; their include directories are for building snapvm only.
set_target_properties(snapvm_abi PROPERTIES EXPORT_NAME abi)
set_target_properties(snapvm_harness PROPERTIES EXPORT_NAME harness)
set_target_properties(snapvm_guest_runtime PROPERTIES EXPORT_NAME guest_runtime)
set_target_properties(snapvm_guest_coverage PROPERTIES EXPORT_NAME guest_coverage)
get_target_property(snapvm_blake3_includes snapvm_blake3 INTERFACE_INCLUDE_DIRECTORIES)
set_target_properties(snapvm_blake3 PROPERTIES EXPORT_NAME blake3
                      INTERFACE_INCLUDE_DIRECTORIES "$<BUILD_INTERFACE:${snapvm_blake3_includes}>")
install(TARGETS snapvm snapvm_abi snapvm_blake3 snapvm_harness snapvm_guest_runtime
                snapvm_guest_coverage
        EXPORT snapvmTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS snapvm_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT bin)

# Public headers.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/engine/include/snapvm ${PROJECT_SOURCE_DIR}/engine/abi/include/snapvm
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev FILES_MATCHING PATTERN "*.h" PATTERN "*.def")
install(FILES ${PROJECT_SOURCE_DIR}/guest/runtime/include/snapvm_guest.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT dev)
# field_mutation.h includes the engine's internal snapshot/format.h: it stays in-tree.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/harness/include/snapvm_harness DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT dev FILES_MATCHING PATTERN "*.h" PATTERN "field_mutation.h" EXCLUDE)

# The guest SDK and the fuzz driver: the same CMake modules the tree uses, the runtime's entry code (it is also
# in libsnapvm_guest_runtime.a) and the replay main that runs a fuzz target over files without libFuzzer.
install(FILES ${PROJECT_SOURCE_DIR}/cmake/SnapvmGuest.cmake ${PROJECT_SOURCE_DIR}/cmake/SnapvmFuzz.cmake
        DESTINATION ${SNAPVM_INSTALL_CMAKEDIR} COMPONENT dev)
install(FILES ${PROJECT_SOURCE_DIR}/guest/runtime/entry.S DESTINATION ${SNAPVM_INSTALL_DATADIR}/guest COMPONENT dev)
install(FILES ${PROJECT_SOURCE_DIR}/fuzz/replay_main.cpp DESTINATION ${SNAPVM_INSTALL_DATADIR}/fuzz COMPONENT dev)

# Docs.
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT bin)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT bin FILES_MATCHING PATTERN "*.md")

# The CMake package. Before 1.0 a minor release may change the API or the guest ABI (abi::kAbiVersion, see
# docs/snapshot-versioning.md), so only the same major.minor is compatible.
install(EXPORT snapvmTargets NAMESPACE snapvm:: DESTINATION ${SNAPVM_INSTALL_CMAKEDIR} COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/snapvmConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/cmake/snapvmConfig.cmake INSTALL_DESTINATION ${SNAPVM_INSTALL_CMAKEDIR}
                              PATH_VARS SNAPVM_INSTALL_DATADIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/snapvmConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/snapvmConfig.cmake ${PROJECT_BINARY_DIR}/cmake/snapvmConfigVersion.cmake
        DESTINATION ${SNAPVM_INSTALL_CMAKEDIR} COMPONENT dev)

# pkg-config for the engine alone (libsnapvm and what it links). The prefix is found from the file's own place
# (${pcfiledir}), so the same file works under any --prefix and in the .deb.
string(REGEX REPLACE "[^/]+" ".." SNAPVM_PC_TO_PREFIX "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
configure_file(${PROJECT_SOURCE_DIR}/cmake/snapvm.pc.in ${PROJECT_BINARY_DIR}/cmake/snapvm.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/cmake/snapvm.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

# Debian package: cpack -G DEB in the build directory. One package; its dependencies are Debian's names.
set(CPACK_PACKAGE_NAME snapvm)
set(CPACK_PACKAGE_VENDOR "snapvm")
set(CPACK_PACKAGE_CONTACT "snapvm developers <snapvm@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "micro-VM sandboxes on KVM with snapshot files, and their harness")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
# The CLI needs libelf1 and libxxhash0 at run time; the static libraries need the -dev packages to link.
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libc6, libstdc++6, libgcc-s1, libelf1, libxxhash0, libelf-dev, libxxhash-dev, nlohmann-json3-dev, pkg-config")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "cmake, g++, googletest, librapidcheck-dev, libbenchmark-dev")
include(CPack)

# Packaging tests (cmake/packaging_test.sh): install into a scratch prefix in the build tree and build
# examples/consumer against it; the same from the .deb. Not in sanitizer or fuzzer builds (the installed libraries
# would carry the sanitizers). The consumer's KVM parts run as packaging_consumer_kvm (label kvm), on the build the
# first one leaves.
if(SNAPVM_BUILD_TESTS AND NOT SNAPVM_SANITIZE AND NOT SNAPVM_BUILD_FUZZERS)
  set(snapvm_packaging_script ${PROJECT_SOURCE_DIR}/cmake/packaging_test.sh)
  set(snapvm_packaging_work ${PROJECT_BINARY_DIR}/packaging)
  add_test(NAME packaging_consumer COMMAND ${snapvm_packaging_script} consumer ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR}
                                           ${snapvm_packaging_work}/consumer)
  add_test(NAME packaging_consumer_kvm COMMAND ${snapvm_packaging_script} kvm ${PROJECT_BINARY_DIR}
                                               ${snapvm_packaging_work}/consumer)
  add_test(NAME packaging_deb COMMAND ${snapvm_packaging_script} deb ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR}
                                      ${snapvm_packaging_work}/deb)
  # Each builds a project with all cores: one at a time, and started first (they are the longest).
  set_tests_properties(packaging_consumer packaging_deb PROPERTIES LABELS packaging TIMEOUT 900 COST 10000
                                                                   RESOURCE_LOCK snapvm_packaging_build)
  set_tests_properties(packaging_consumer_kvm PROPERTIES LABELS kvm TIMEOUT 1200 SKIP_RETURN_CODE 77)
endif()

# The CI files users copy cannot run here: parse them and check their shape (cmake/check_workflows.py).
if(SNAPVM_BUILD_TESTS)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  add_test(NAME workflows_syntax COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/cmake/check_workflows.py
                                         ${PROJECT_SOURCE_DIR})
  set_tests_properties(workflows_syntax PROPERTIES LABELS unit)
endif()
