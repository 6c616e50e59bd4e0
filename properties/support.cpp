// support.cpp: text for counterexamples, bit-exact comparisons, scratch files, forked steps.
#include "support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace snapvm::properties {

namespace {
std::string hex_u64(uint64_t v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%0*llx", digits, static_cast<unsigned long long>(v));
  return buf;
}
}  // namespace

std::string show_text(std::string_view s, size_t max) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  out += '"';
  if (s.size() > max) out += "...(" + std::to_string(s.size()) + " bytes)";
  return out;
}

std::string show_bytes(std::span<const uint8_t> b, size_t max) {
  std::string out = "[" + std::to_string(b.size()) + "]";
  for (size_t i = 0; i < b.size() && i < max; ++i) {
    char buf[4];
    std::snprintf(buf, sizeof buf, " %02x", b[i]);
    out += buf;
  }
  if (b.size() > max) out += " ...";
  return out;
}

std::string show_value(const Value& v) {
  std::string t(value_type_name(type_of(v)));
  return std::visit(
      [&](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return t;
        } else if constexpr (std::is_same_v<T, bool>) {
          return t + (x ? " true" : " false");
        } else if constexpr (std::is_same_v<T, float>) {
          uint32_t bits = 0;
          std::memcpy(&bits, &x, 4);
          std::ostringstream o;
          o << t << ' ' << x << " (" << hex_u64(bits, 8) << ")";
          return o.str();
        } else if constexpr (std::is_same_v<T, double>) {
          uint64_t bits = 0;
          std::memcpy(&bits, &x, 8);
          std::ostringstream o;
          o << t << ' ' << x << " (" << hex_u64(bits, 16) << ")";
          return o.str();
        } else if constexpr (std::is_same_v<T, std::string>) {
          return t + ' ' + show_text(x);
        } else if constexpr (std::is_same_v<T, Bytes>) {
          return t + show_bytes(x);
        } else {
          return t + ' ' + std::to_string(x);
        }
      },
      v);
}

std::string show_values(const std::vector<Value>& values) {
  std::string out = "(";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + show_value(values[i]);
  return out + ")";
}

std::string show_error(const Error& e) {
  std::string out(error_code_name(e.code));
  if (!e.field.empty()) out += " " + e.field;
  if (e.offset) out += " @" + hex(*e.offset);
  if (e.value) out += " =" + hex(*e.value);
  if (e.guest_code) out += " guest_code=" + std::to_string(*e.guest_code);
  if (e.fault) out += " vector=" + std::to_string(e.fault->vector);
  if (!e.detail.empty()) out += " (" + e.detail + ")";
  return out;
}

bool same_value(const Value& a, const Value& b) {
  if (a.index() != b.index()) return false;
  if (auto* x = std::get_if<float>(&a)) return std::memcmp(x, &std::get<float>(b), 4) == 0;
  if (auto* x = std::get_if<double>(&a)) return std::memcmp(x, &std::get<double>(b), 8) == 0;
  return a == b;
}

bool same_values(const std::vector<Value>& a, const std::vector<Value>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!same_value(a[i], b[i])) return false;
  }
  return true;
}

std::string first_difference(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i] != b[i]) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "byte %s: %02x vs %02x", hex(i).c_str(), a[i], b[i]);
      return buf;
    }
  }
  if (a.size() != b.size()) return "size " + std::to_string(a.size()) + " vs " + std::to_string(b.size());
  return {};
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/snapvm-props.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp " + tmpl + ": " + std::strerror(errno));
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_file(const std::filesystem::path& path, std::span<const uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string run_isolated(const std::function<std::string()>& step) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::close(fds[0]);
    std::string out;
    try {
      out = step();
    } catch (const std::exception& e) {
      out = std::string("EXCEPTION: ") + e.what();
    } catch (...) {
      out = "EXCEPTION: (not a std::exception)";
    }
    out.insert(0, "=");  // marks a complete answer, even an empty one
    for (size_t done = 0; done < out.size();) {
      ssize_t n = ::write(fds[1], out.data() + done, out.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string answer;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    return "CRASH: the step was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  }
  if (answer.empty() || answer[0] != '=') {
    return "CRASH: the step ended without an answer (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
  }
  return answer.substr(1);
}

}  // namespace snapvm::properties
