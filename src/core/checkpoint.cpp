#include "core/checkpoint.hpp"

#include <stdexcept>

#include "core/error.hpp"

namespace ecramsim {

const std::vector<double>& Checkpoint::at(const std::string& key, long long size) const {
  const auto it = values.find(key);
  if (it == values.end()) {
    throw InputError({source, 0}, key, "missing from the saved state (not a file to resume)");
  }
  if (size >= 0 && static_cast<long long>(it->second.size()) != size) {
    throw InputError({source, 0}, key,
                     "holds " + std::to_string(it->second.size()) + " values where this run has " +
                         std::to_string(size));
  }
  return it->second;
}

const std::string& Checkpoint::text(const std::string& key) const {
  const auto it = texts.find(key);
  if (it == texts.end()) {
    throw InputError({source, 0}, key, "missing from the saved state (not a file to resume)");
  }
  return it->second;
}

void Checkpoint::restore(const std::string& key, Rng& rng) const {
  try {
    rng.setState(text(key));
  } catch (const std::invalid_argument& e) {
    throw InputError({source, 0}, key, e.what());
  }
}

void Checkpoint::put(const std::string& key, const Eigen::MatrixXd& m) {
  values[key].assign(m.data(), m.data() + m.size());
}

Eigen::MatrixXd Checkpoint::matrix(const std::string& key, Eigen::Index rows,
                                   Eigen::Index cols) const {
  const auto& v = at(key, static_cast<long long>(rows * cols));
  return Eigen::Map<const Eigen::MatrixXd>(v.data(), rows, cols);
}

}  // namespace ecramsim
