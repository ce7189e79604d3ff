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

#ifdef _OPENMP
#define ECRAMSIM_OMP(directive) _Pragma(#directive)
#else
#define ECRAMSIM_OMP(directive)
#endif

namespace ecramsim {

/// Cells of an array below which its loops stay serial (64 x 64).
inline constexpr std::size_t kMinParallelCells = 4096;

/// Cells per chunk of a loop over an array's cells, chunks dealt round robin: the costly
/// cells of a write (the selected row's, the released column's) spread over the threads.
inline constexpr std::size_t kCellChunk = 32;

/// Threads a loop over an array of `cells` cells gets when `requested` threads are asked for
/// (0: OpenMP's default, OMP_NUM_THREADS or every core the process may run on): 1 below
/// kMinParallelCells or without OpenMP.
[[nodiscard]] int threadsFor(std::size_t cells, int requested);

}  // namespace ecramsim
