// consumer_host.cpp: a host program against the installed snapvm: build a sandbox from the guest, call
// it, snapshot, save the snapshot to a file, load it back verified and start a new sandbox from the
// file, then call that one. Exits 77 (skipped) where /dev/kvm is unusable, unless SNAPVM_REQUIRE_KVM=1.
//   consumer_host <counter_guest ELF> <work directory>
#include <snapvm/snapvm.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace {

int fail(const char* step, const snapvm::Error& e) {
  std::fprintf(stderr, "consumer_host: %s: %s\n", step, e.to_string().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: consumer_host GUEST_ELF WORK_DIR\n");
    return 2;
  }
  std::filesystem::create_directories(argv[2]);
  const std::string file = (std::filesystem::path(argv[2]) / "counter.svm").string();

  snapvm::HostFunctions host;
  if (auto s = host.add_typed("HostTwice", [](int64_t x) { return 2 * x; }); !s) return fail("add_typed", s.error());

  auto sandbox = snapvm::SandboxBuilder::from_elf(argv[1]).host_functions(host).build();
  if (!sandbox) {
    const char* require = std::getenv("SNAPVM_REQUIRE_KVM");
    if (sandbox.error().cls() == snapvm::ErrorClass::Kvm && !(require != nullptr && std::string(require) == "1")) {
      std::printf("needs /dev/kvm: %s\n", sandbox.error().to_string().c_str());
      return 77;
    }
    return fail("build", sandbox.error());
  }
  for (uint64_t want = 1; want <= 3; ++want) {
    auto n = sandbox->call_as<uint64_t>("Bump");
    if (!n) return fail("Bump", n.error());
    if (*n != want) return std::fprintf(stderr, "Bump gave %llu\n", static_cast<unsigned long long>(*n)), 1;
  }
  auto snap = sandbox->snapshot();
  if (!snap) return fail("snapshot", snap.error());
  if (auto saved = snap->to_file(file); !saved) return fail("to_file", saved.error());

  auto loaded = snapvm::Snapshot::from_file(file);
  if (!loaded) return fail("from_file", loaded.error());
  auto cold = snapvm::MultiUseSandbox::from_snapshot(*loaded, host);
  if (!cold) return fail("from_snapshot", cold.error());

  auto n = cold->call_as<uint64_t>("Bump");  // the counter came with the snapshot: 4
  auto twice = cold->call_as<int64_t>("Twice", {int64_t{21}});
  auto hello = cold->call_as<std::string>("Greet", {std::string("consumer")});
  if (!n || !twice || !hello)
    return fail("calls after the cold start", !n ? n.error() : !twice ? twice.error() : hello.error());
  if (*n != 4 || *twice != 42 || *hello != "hello, consumer") {
    std::fprintf(stderr, "consumer_host: wrong answers: Bump %llu, Twice %lld, Greet \"%s\"\n",
                 static_cast<unsigned long long>(*n), static_cast<long long>(*twice), hello->c_str());
    return 1;
  }
  std::printf("consumer_host: ok (Bump 4 after the cold start, Twice 42, Greet \"%s\")\n", hello->c_str());
  return 0;
}
