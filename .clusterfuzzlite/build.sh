#!/bin/bash -eu
# .clusterfuzzlite/build.sh: ClusterFuzzLite (and OSS-Fuzz) run this in the image from the Dockerfile with
# $CC $CXX $CXXFLAGS $LIB_FUZZING_ENGINE $OUT set. fuzz/build.sh does the work, the same build ci/fuzz's
# targets come from: every target in fuzz/targets.txt, its seed corpus zip, dictionary and options.
"$SRC/snapvm/fuzz/build.sh"
