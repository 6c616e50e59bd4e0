#!/bin/bash -eu
# fuzz/build.sh: builds every fuzz target the way OSS-Fuzz and ClusterFuzzLite call a project's
# build.sh, so a project that outgrows one machine runs the same targets there unchanged.
#
# Reads  $CC $CXX $CFLAGS $CXXFLAGS $LIB_FUZZING_ENGINE $OUT, and $SRC/$WORK if set.
# Writes $OUT/<target>                   the fuzzer (targets listed in fuzz/targets.txt)
#        $OUT/<guest>[.svm]              a guest-code target's guest ELF (and its snapshot, where KVM is)
#        $OUT/<target>_seed_corpus.zip   corpus/seeds/<dir>, corpus/regressions/<target>, golden files
#        $OUT/<target>.dict              the dictionary named in corpus/<target>.options
#        $OUT/<target>.options           corpus/<target>.options, with dict = <target>.dict
#
# Locally (what ci/fuzz's clang build does, but laid out like OSS-Fuzz):
#   CC=clang-14 CXX=clang++-14 CFLAGS= CXXFLAGS="-fsanitize=address,undefined -fsanitize=fuzzer-no-link" \
#     LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=/tmp/out fuzz/build.sh
#
# $CXXFLAGS instruments the host code only (engine, harness, targets): the freestanding guest, built
# by the same CMake run, must never get sanitizer flags, so they are not passed as CMAKE_CXX_FLAGS.
# The C libraries (BLAKE3 sources, system libelf and libxxhash) are not instrumented: ASan and UBSan
# builds work; MSan would report false positives from them.
src=$(cd "$(dirname "$0")/.." && pwd)
: "${OUT:?set OUT to the output directory}"
: "${CC:=clang}" "${CXX:=clang++}" "${LIB_FUZZING_ENGINE:=-fsanitize=fuzzer}"
: "${CXXFLAGS:=-fsanitize=address,undefined -fsanitize=fuzzer-no-link}"
build=${WORK:-/tmp}/snapvm-fuzz-build
mkdir -p "$OUT" "$build"

# CMake would read CFLAGS/CXXFLAGS/LDFLAGS from the environment into every target (the guest too).
fuzz_flags="$CXXFLAGS"
env -u CFLAGS -u CXXFLAGS -u LDFLAGS cmake -S "$src" -B "$build" -G Ninja \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSNAPVM_BUILD_FUZZERS=ON -DSNAPVM_BUILD_TESTS=OFF -DSNAPVM_BUILD_BENCHES=OFF -DSNAPVM_BUILD_PROPERTIES=OFF \
  -DSNAPVM_WERROR=OFF -DSNAPVM_FUZZ_COMPILE_FLAGS="$fuzz_flags" -DSNAPVM_FUZZ_ENGINE_FLAGS="$LIB_FUZZING_ENGINE"
env -u CFLAGS -u CXXFLAGS -u LDFLAGS cmake --build "$build" --target snapvm_fuzzers snapvm_cli -j "$(nproc)"

# "[libfuzzer]" key of corpus/<target>.options, or empty.
option() { sed -n "/^\[libfuzzer\]/,/^\[/{s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*\(.*[^[:space:]]\)[[:space:]]*$/\1/p}" "$1"; }

grep -E '^[a-z]' "$src/fuzz/targets.txt" | while read -r name seeds labels; do
  cp "$build/fuzz/${name}_fuzzer" "$OUT/$name"
  # A guest-code target ships its guest ELF beside it; it bakes <guest>.svm from it on first start
  # (baking needs KVM, which build machines may lack), or uses the .svm when one is there.
  guest=$(sed -n 's/.*guest=\([^ ]*\).*/\1/p' <<<"$labels")
  if [ -n "$guest" ]; then
    cp "$build/guest/$guest" "$OUT/$guest"
    rm -f "$OUT/$guest.svm"
    if [ -w /dev/kvm ]; then "$build/harness/snapvm" bake "$OUT/$guest" -o "$OUT/$guest.svm" || rm -f "$OUT/$guest.svm"; fi
  fi
  zip_dir=$(mktemp -d)
  cp -r "$src/corpus/seeds/$seeds/." "$zip_dir/"
  find "$src/corpus/regressions/$name" -type f ! -name .gitkeep -exec cp {} "$zip_dir/" \;
  if [ "$seeds" = snapshot_file ]; then
    for g in "$src"/corpus/golden/*/*.svm; do
      if [ -f "$g" ]; then cp "$g" "$zip_dir/golden-$(basename "$(dirname "$g")")-$(basename "$g")"; fi
    done
  fi
  rm -f "$OUT/${name}_seed_corpus.zip"
  (cd "$zip_dir" && zip -q -X -r "$OUT/${name}_seed_corpus.zip" .)
  rm -rf "$zip_dir"
  options=$src/corpus/$name.options
  if [ -f "$options" ]; then
    dict=$(option "$options" dict)
    if [ -n "$dict" ]; then cp "$src/corpus/$dict" "$OUT/$name.dict"; fi
    sed -E "s/^([[:space:]]*dict[[:space:]]*=).*/\1 $name.dict/" "$options" > "$OUT/$name.options"
  fi
  echo "build.sh: $OUT/$name"
done
