#pragma once
/// Shared-memory parallel loops: OpenMP when the compiler provides it (GCC's libgomp), serial
/// otherwise. Only loops whose iterations are independent run in parallel, each iteration
/// computing exactly what it computes serially, and reductions are maxima, integer counts or
/// sums taken in a fixed order afterwards: results do not depend on the thread count
/// (tests/program/test_write_solver.cpp checks it).
///
/// The caller chooses the threads (a library default of 1 leaves callers that run their own
/// threads, such as the training tiles, serial inside). Below kMinParallelCells cells a loop
/// runs on one thread: starting a team costs microseconds, more than such a loop's work.

#include <cstddef>
#include <type_traits>

#ifdef _OPENMP
#define ECRAMSIM_OMP(directive) _Pragma(#directive)
#else
#define ECRAMSIM_OMP(directive)
#endif

namespace ecramsim {

/// Cells of an array below which its loops stay serial (64 x 64).
inline constexpr std::size_t kMinParallelCells = 4096;

/// Threads a loop over an array of `cells` cells gets when `requested` threads are asked for
/// (0: OpenMP's default, OMP_NUM_THREADS or every core the process may run on): 1 below
/// kMinParallelCells or without OpenMP.
[[nodiscard]] int threadsFor(std::size_t cells, int requested);

/// Calls f(k, r, c) for every cell k = r cols + c of a rows x cols array (row-major), each of
/// `threads` threads taking one contiguous block of cells (OpenMP's static schedule, as the
/// write solver's loops over cells and lines: a thread mostly reads what it wrote in the loop
/// before, in its own cache); r and c follow k without a division per cell. Returns the sum of
/// f's results when f returns an int (a count), else 0.
template <class F>
int forEachCell(std::ptrdiff_t rows, std::ptrdiff_t cols, int threads, F&& f) {
  using Result = std::invoke_result_t<F&, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t>;
  const std::ptrdiff_t cells = rows * cols;
  int total = 0;
  ECRAMSIM_OMP(omp parallel num_threads(threads) reduction(+ : total))
  {
    std::ptrdiff_t r = -1, c = 0;  // set at the thread's first cell
    ECRAMSIM_OMP(omp for schedule(static))
    for (std::ptrdiff_t k = 0; k < cells; ++k) {
      if (r < 0) {
        r = k / cols;
        c = k % cols;
      }
      if constexpr (std::is_void_v<Result>) {
        f(k, r, c);
      } else {
        total += f(k, r, c);
      }
      if (++c == cols) {
        c = 0;
        ++r;
      }
    }
  }
  return total;
}

}  // namespace ecramsim
