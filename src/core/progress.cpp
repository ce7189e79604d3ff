#include "core/progress.hpp"

#include "core/error.hpp"

namespace ecramsim {

void CancelToken::throwIfCancelled() const {
  if (cancelled()) throw Interrupted();
}

CancelToken& globalCancelToken() {
  static CancelToken token;
  return token;
}

}  // namespace ecramsim
