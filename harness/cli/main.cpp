// main.cpp: the snapvm binary; everything is in cli.cpp.
#include "cli/cli.h"

int main(int argc, char** argv) { return snapvm::cli::run(argc, argv); }
