#pragma once
/// Output files written in one piece. A regular (or missing) target gets a temporary beside it
/// ("<target>.tmp-PID") that is renamed over it when complete, so a reader never sees a partial
/// file and an interrupted run leaves none behind. A character device or FIFO target
/// (`-o /dev/null`, a named pipe) is never replaced: the temporary goes to the temp folder and
/// the finished bytes are copied into the target. Any other target (a directory, a block
/// device, a socket) is refused.

#include <filesystem>
#include <string_view>

namespace ecramsim::io {

class OutputFile {
 public:
  /// Checks what `target` is (following symlinks). Throws IoError naming it if it cannot be
  /// written to.
  explicit OutputFile(std::filesystem::path target);
  /// Removes the temporary unless commit() succeeded.
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  /// Where to write the content before commit().
  [[nodiscard]] const std::filesystem::path& temporary() const { return temporary_; }
  [[nodiscard]] const std::filesystem::path& target() const { return target_; }

  /// Puts the finished temporary into place (rename, or copy into a device or FIFO) and
  /// removes it. Throws IoError naming the target.
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temporary_;
  bool committed_ = false;
};

/// Writes `text` to `target` through an OutputFile. Throws IoError naming the target.
void writeTextFile(const std::filesystem::path& target, std::string_view text);

}  // namespace ecramsim::io
