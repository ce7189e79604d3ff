#pragma once
/// Progress reporting and cooperative cancellation. The library reports through these
/// interfaces and never prints; the CLI decides where (stderr) and whether (--quiet).

#include <atomic>
#include <cstddef>
#include <string_view>

namespace ecramsim {

/// Receives progress of a long run. Implementations must be cheap; callers may report often.
class Progress {
 public:
  virtual ~Progress() = default;
  /// `done` of `total` units of the stage named `stage` are complete.
  virtual void update(std::string_view stage, std::size_t done, std::size_t total) = 0;
  /// A one-line note for the user (a warning, a file written).
  virtual void note(std::string_view message) = 0;
};

/// Discards everything.
class NullProgress final : public Progress {
 public:
  void update(std::string_view, std::size_t, std::size_t) override {}
  void note(std::string_view) override {}
};

/// Set from a signal handler; long loops call throwIfCancelled() between units of work.
class CancelToken {
 public:
  void cancel() { flag_.store(true, std::memory_order_relaxed); }
  [[nodiscard]] bool cancelled() const { return flag_.load(std::memory_order_relaxed); }
  /// Throws ecramsim::Interrupted when cancelled.
  void throwIfCancelled() const;

 private:
  std::atomic<bool> flag_{false};
};

/// The process-wide token the CLI's SIGINT handler sets.
CancelToken& globalCancelToken();

}  // namespace ecramsim
