// platform.cpp: the host probe behind the platform check (CPUID leaf 0).
#include "snapshot/platform.h"

#include <cpuid.h>

#include <cstring>

namespace snapvm::format {

std::string host_cpu_vendor() {
  static const std::string vendor = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    __get_cpuid(0, &eax, &ebx, &ecx, &edx);
    char v[13] = {};
    std::memcpy(v, &ebx, 4);
    std::memcpy(v + 4, &edx, 4);
    std::memcpy(v + 8, &ecx, 4);
    return std::string(v);
  }();
  return vendor;
}

}  // namespace snapvm::format
