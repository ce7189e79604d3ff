#pragma once
/// Shared by the libFuzzer harnesses: a private scratch folder for readers that take a path,
/// and the rule that an ecramsim::Error is an expected rejection while anything else (another
/// exception, a sanitizer report, a hang, an allocation past -rss_limit_mb) is a finding.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <unistd.h>

#include "core/error.hpp"

namespace ecramsim::fuzz {

/// A folder of this process under $TMPDIR (or /tmp), removed at normal exit.
class ScratchDir {
 public:
  ScratchDir() {
    const char* env = std::getenv("TMPDIR");
    std::string pattern = std::string(env != nullptr && *env != '\0' ? env : "/tmp") +
                          "/ecramsim-fuzz-XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    if (::mkdtemp(name.data()) == nullptr) std::abort();
    path_ = name.data();
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline const std::filesystem::path& scratchDir() {
  static const ScratchDir dir;
  return dir.path();
}

/// Writes the input to scratchDir()/name, replacing the previous one, and returns its path.
inline std::filesystem::path writeScratch(const std::string& name, const std::uint8_t* data,
                                          std::size_t size) {
  const std::filesystem::path p = scratchDir() / name;
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) std::abort();  // the harness itself failed, not the code under test
  return p;
}

inline std::string_view asText(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// Runs `body`; ecramsim::Error is how a reader refuses input, so it is swallowed.
template <typename Body>
int expectOnlyErrors(Body&& body) {
  try {
    body();
  } catch (const ecramsim::Error&) {
  }
  return 0;
}

}  // namespace ecramsim::fuzz
