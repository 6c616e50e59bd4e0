#!/usr/bin/env bash
# packaging_test.sh: the packaging tests ctest runs (cmake/SnapvmInstall.cmake registers them; docs/packaging.md).
#   packaging_test.sh consumer BUILD_DIR SOURCE_DIR WORK   install into WORK/prefix, check the files, build
#       examples/consumer against it, check the pkg-config file, run the consumer's tests that need no KVM
#   packaging_test.sh kvm BUILD_DIR WORK                             run the consumer's KVM parts (the host program and the
#       sandbox tests) built by `consumer`; exit 77 (skipped) where /dev/kvm is unusable
#   packaging_test.sh deb BUILD_DIR SOURCE_DIR WORK        cpack -G DEB, dpkg -x into WORK/root, check the files and
#       the Debian dependencies, build the consumer against WORK/root/usr
set -euo pipefail

die() { echo "packaging_test: $*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }

# The files an install must have, and the internals it must not.
check_files() {
  local p=$1 f
  for f in bin/snapvm lib/libsnapvm.a lib/libsnapvm_blake3.a lib/libsnapvm_harness.a lib/libsnapvm_guest_runtime.a \
           lib/libsnapvm_guest_coverage.a \
           include/snapvm/snapvm.h include/snapvm/error_codes.def include/snapvm/detail/typed_host_function.h \
           include/snapvm/abi/wire.h include/snapvm/abi/manifest.h include/snapvm_guest.h \
           include/snapvm_harness/roundtrip.h include/snapvm_harness/mutators.h include/snapvm_harness/campaign.h \
           lib/cmake/snapvm/snapvmConfig.cmake lib/cmake/snapvm/snapvmConfigVersion.cmake \
           lib/cmake/snapvm/snapvmTargets.cmake lib/cmake/snapvm/SnapvmGuest.cmake lib/cmake/snapvm/SnapvmFuzz.cmake \
           lib/pkgconfig/snapvm.pc share/snapvm/guest/entry.S share/snapvm/fuzz/replay_main.cpp \
           share/doc/snapvm/README.md share/doc/snapvm/guests.md share/doc/snapvm/abi.md share/doc/snapvm/packaging.md; do
    [ -e "$p/$f" ] || die "missing from the install: $f"
  done
  for f in include/snapshot include/sandbox include/hypervisor include/memory include/elf include/core \
           include/snapvm_harness/field_mutation.h include/testing; do
    [ ! -e "$p/$f" ] || die "internal file installed: $f"
  done
  # Every quoted include of an installed header names another installed header (no internals behind them).
  local missing
  missing=$(cd "$p/include" && grep -rhoE '#include "[^"]+"' . | sed -E 's/#include "([^"]+)"/\1/' | sort -u |
            while read -r h; do [ -e "$h" ] || echo "$h"; done)
  [ -z "$missing" ] || die "installed headers include headers that are not installed: $missing"
  "$p/bin/snapvm" --help >/dev/null || die "the installed snapvm CLI does not run"
  echo "files: ok ($(find "$p" -type f | wc -l) files under $p)"
}

configure_consumer() {  # prefix, build dir, source dir
  local launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S "$3/examples/consumer" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH="$1" \
        -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON "${launcher[@]}" >"$2.configure.log" 2>&1 ||
    { cat "$2.configure.log"; die "the consumer does not configure against $1"; }
}

# find_package(snapvm <version>): the same major.minor is compatible (SameMinorVersion), another minor or major is not.
check_version_rules() {  # prefix, work
  local d=$2/version-check version major minor
  version=$(sed -nE 's/^Version: (.*)$/\1/p' "$1/lib/pkgconfig/snapvm.pc")
  major=${version%%.*} minor=${version#*.}; minor=${minor%%.*}
  mkdir -p "$d"
  cat >"$d/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(version_check LANGUAGES C CXX)
find_package(snapvm $major.$minor CONFIG QUIET)
if(NOT snapvm_FOUND)
  message(FATAL_ERROR "snapvm $version not accepted for $major.$minor")
endif()
foreach(other $major.$((minor + 1)) $((major + 1)).0 $( ((minor > 0)) && echo "$major.$((minor - 1))"))
  find_package(snapvm \${other} CONFIG QUIET)
  if(snapvm_FOUND)
    message(FATAL_ERROR "snapvm $version accepted for \${other}")
  endif()
endforeach()
CMAKE
  cmake -S "$d" -B "$d/build" -DCMAKE_PREFIX_PATH="$1" >"$d.log" 2>&1 || { cat "$d.log"; die "version rules"; }
  echo "version rules: ok ($version accepts $major.$minor, refuses the next minor, the next major and an older minor)"
}

mode=${1:-}
case "$mode" in
consumer)
  build=$2 src=$3 work=$4
  # Installed over, not removed first: unchanged files keep their times, so an up-to-date consumer is not relinked
  # while packaging_consumer_kvm may be running its binaries (ci/test runs that one in QEMU at the same time).
  mkdir -p "$work"
  step "install into $work/prefix"
  cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" || { cat "$work/install.log"; die "install failed"; }
  # What an earlier install left and this one did not install goes (the checks below see this install only).
  sed -nE 's/^-- (Installing|Up-to-date): //p' "$work/install.log" | sort >"$work/installed.txt"
  find "$work/prefix" \( -type f -o -type l \) | sort | comm -23 - "$work/installed.txt" | xargs -r rm -f
  check_files "$work/prefix"
  check_version_rules "$work/prefix" "$work"

  step "pkg-config: a host program built with \`pkg-config --cflags --libs snapvm\` alone"
  flags=$(PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags --libs snapvm) || die "pkg-config snapvm"
  # shellcheck disable=SC2086
  c++ -std=c++20 -O1 -o "$work/pkgconfig_host" "$src/examples/consumer/host/consumer_host.cpp" $flags ||
    die "consumer_host does not build from the pkg-config flags: $flags"
  echo "pkg-config: ok ($flags)"

  step "configure and build examples/consumer against the install"
  configure_consumer "$work/prefix" "$work/consumer" "$src"
  cmake --build "$work/consumer" -j "$(nproc)" || die "the consumer does not build against the install"
  touch "$work/consumer.built"

  step "the consumer's tests that need no KVM"
  ctest --test-dir "$work/consumer" -LE kvm --output-on-failure --no-tests=error

  # With clang, snapvm_add_fuzz_target makes a libFuzzer target (ASan, UBSan): build it and fuzz briefly.
  clang=$(command -v clang++-14 || command -v clang++ || true)
  if [ -n "$clang" ]; then
    step "the consumer's fuzz target with libFuzzer ($clang)"
    CC=${clang/clang++/clang} CXX=$clang configure_consumer "$work/prefix" "$work/consumer-clang" "$src"
    cmake --build "$work/consumer-clang" -j "$(nproc)" --target consumer_fuzzer || die "consumer_fuzzer (libFuzzer)"
    ctest --test-dir "$work/consumer-clang" -R '^consumer_fuzz_smoke$' --output-on-failure --no-tests=error
  else
    echo "no clang: the libFuzzer build of the consumer's fuzz target is left out (its replay build ran above)"
  fi
  ;;
kvm)
  build=$2 work=$3
  # `consumer` builds it (natively; ci/test runs this one inside QEMU meanwhile): wait for a consumer build newer
  # than the engine library of this build.
  current() { [ "$work/consumer.built" -nt "$build/engine/libsnapvm.a" ]; }
  for _ in $(seq 1 180); do current && break; sleep 5; done
  current || die "no consumer build newer than $build/engine/libsnapvm.a in $work: run the test packaging_consumer first"
  status=0
  out=$("$work/consumer/consumer_host" "$work/consumer/counter_guest" "$work/kvm-work" 2>&1) || status=$?
  echo "$out"
  [ "$status" = 77 ] && exit 77
  [ "$status" = 0 ] || die "consumer_host failed (exit $status)"
  "$work/consumer/consumer_kvm_test"
  ;;
deb)
  build=$2 src=$3 work=$4
  rm -rf "$work" && mkdir -p "$work"
  step "cpack -G DEB"
  cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/cpack" >"$work/cpack.log" 2>&1 ||
    { cat "$work/cpack.log"; die "cpack failed"; }
  deb=$(ls "$work"/cpack/snapvm_*.deb)
  depends=$(dpkg-deb -f "$deb" Depends)
  echo "$(basename "$deb"): Depends: $depends"
  for d in libelf1 libxxhash0 libstdc++6 libelf-dev libxxhash-dev nlohmann-json3-dev; do
    tr ',' '\n' <<<"$depends" | sed -E 's/\(.*\)//; s/ //g' | grep -qxF "$d" || die "the package does not depend on $d"
  done
  # Every dependency is an installed Debian package here (so the names are Debian's).
  for d in $(tr ',' '\n' <<<"$depends" | sed -E 's/\(.*\)//; s/ //g'); do
    dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "install ok installed" || die "$d is not a Debian package here"
  done
  step "dpkg -x into $work/root"
  dpkg -x "$deb" "$work/root"
  check_files "$work/root/usr"
  # The package holds the files of the install `consumer` checked (check_files above), against which every
  # consumer target was built and run: here the host program, the guest and a GoogleTest suite show the
  # package's own paths work (config, include dirs, libraries, the guest toolchain file), at a third of the cost.
  step "configure examples/consumer against the unpacked package; build its host program, guest and unit test"
  configure_consumer "$work/root/usr" "$work/consumer" "$src"
  cmake --build "$work/consumer" -j "$(nproc)" --target consumer_host counter_guest consumer_unit_test ||
    die "the consumer does not build against the .deb"
  "$work/consumer/consumer_unit_test" >"$work/unit_test.log" 2>&1 || { cat "$work/unit_test.log"; die "consumer_unit_test"; }
  echo "deb: ok"
  ;;
*)
  die "usage: packaging_test.sh consumer|kvm|deb ..."
  ;;
esac
