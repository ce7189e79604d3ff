#include "core/parallel.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace ecramsim {

int threadsFor(std::size_t cells, int requested) {
  if (cells < kMinParallelCells) return 1;
#ifdef _OPENMP
  return requested > 0 ? requested : omp_get_max_threads();
#else
  (void)requested;
  return 1;
#endif
}

}  // namespace ecramsim
