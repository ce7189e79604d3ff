#include "array/network.hpp"

#include <cassert>
#include <numeric>

#include "core/error.hpp"

namespace ecramsim::nodal {

namespace {

using Index = Eigen::Index;

/// Union-find over raw node ids.
class Merger {
 public:
  explicit Merger(Index n) : parent_(static_cast<std::size_t>(n)) {
    std::iota(parent_.begin(), parent_.end(), Index{0});
  }
  Index find(Index i) {
    while (parent_[u(i)] != i) {
      parent_[u(i)] = parent_[u(parent_[u(i)])];
      i = parent_[u(i)];
    }
    return i;
  }
  void join(Index a, Index b) {
    a = find(a);
    b = find(b);
    if (a != b) parent_[u(std::max(a, b))] = std::min(a, b);
  }

 private:
  static std::size_t u(Index i) { return static_cast<std::size_t>(i); }
  std::vector<Index> parent_;
};

}  // namespace

Index CrossbarNet::raw(LineKind kind, Index r, Index c) const {
  return static_cast<Index>(kind) * geo_.rows * geo_.cols + r * geo_.cols + c;
}

Index CrossbarNet::terminal(LineKind kind, Index line) const {
  switch (kind) {
    case LineKind::Gate: return line;
    case LineKind::Source: return geo_.rows + line;
    case LineKind::Drain: return geo_.rows + geo_.sourceLines() + line;
  }
  return -1;
}

CrossbarNet::CrossbarNet(const CrossbarGeometry& geo, const LineTermination* gate,
                         const LineTermination& source, const LineTermination& drain)
    : geo_(geo) {
  geo_.validate();
  const Index R = geo_.rows, C = geo_.cols;
  const Index nLine = 3 * R * C;
  const Index nRaw = nLine + terminals();
  assert(source.driven.size() == static_cast<std::size_t>(geo_.sourceLines()));
  assert(drain.driven.size() == static_cast<std::size_t>(C));
  assert(!gate || gate->driven.size() == static_cast<std::size_t>(R));

  // Raw elements: (raw a, raw b, resistance). Terminals are raw ids nLine + terminal index.
  struct RawR {
    Index a, b;
    double r;
    Index terminal;
  };
  std::vector<RawR> elems;
  std::vector<bool> present(static_cast<std::size_t>(nRaw), false);
  auto addLine = [&](LineKind kind, Index line, double rSeg, double rEnd, bool driven) {
    const bool alongRow = kind == LineKind::Gate ||
                          (kind == LineKind::Source && geo_.wiring == Wiring::SourceRows);
    const Index n = alongRow ? C : R;
    auto at = [&](Index k) {  // k = 0 at the driven end
      return alongRow ? raw(kind, line, k) : raw(kind, R - 1 - k, line);
    };
    for (Index k = 0; k < n; ++k) present[static_cast<std::size_t>(at(k))] = true;
    for (Index k = 0; k + 1 < n; ++k) elems.push_back({at(k), at(k + 1), rSeg, -1});
    if (driven) {
      const Index t = nLine + terminal(kind, line);
      present[static_cast<std::size_t>(t)] = true;
      elems.push_back({t, at(0), rEnd, t - nLine});
    }
  };
  for (Index r = 0; r < R; ++r) {
    if (gate) addLine(LineKind::Gate, r, geo_.r_gate_seg, gate->r_end, gate->driven[r]);
  }
  for (Index k = 0; k < geo_.sourceLines(); ++k) {
    addLine(LineKind::Source, k, geo_.r_row_seg, source.r_end, source.driven[std::size_t(k)]);
  }
  for (Index c = 0; c < C; ++c) {
    addLine(LineKind::Drain, c, geo_.r_col_seg, drain.r_end, drain.driven[c]);
  }

  // Ideal wires merge nodes; a class holding a terminal takes the terminal's known potential.
  Merger merger(nRaw);
  for (const RawR& e : elems) {
    if (e.r == 0.0) merger.join(e.a, e.b);
  }
  std::vector<Index> classTerminal(static_cast<std::size_t>(nRaw), -1);
  for (Index t = 0; t < terminals(); ++t) {
    if (!present[static_cast<std::size_t>(nLine + t)]) continue;
    const Index root = merger.find(nLine + t);
    assert(classTerminal[static_cast<std::size_t>(root)] < 0);  // lines are never shorted
    classTerminal[static_cast<std::size_t>(root)] = t;
  }
  map_.assign(static_cast<std::size_t>(nRaw), NodeRef{});
  std::vector<Index> classUnknown(static_cast<std::size_t>(nRaw), -1);
  for (Index i = 0; i < nRaw; ++i) {
    if (!present[static_cast<std::size_t>(i)]) continue;
    const auto root = static_cast<std::size_t>(merger.find(i));
    NodeRef& ref = map_[static_cast<std::size_t>(i)];
    if (classTerminal[root] >= 0) {
      ref = {classTerminal[root], true};
    } else {
      if (classUnknown[root] < 0) classUnknown[root] = unknowns_++;
      ref = {classUnknown[root], false};
    }
  }
  for (const RawR& e : elems) {
    if (e.r == 0.0) continue;
    resistors_.push_back({map_[static_cast<std::size_t>(e.a)], map_[static_cast<std::size_t>(e.b)],
                          1.0 / e.r, e.terminal});
  }
}

NodeRef CrossbarNet::node(LineKind kind, Index r, Index c) const {
  return map_[static_cast<std::size_t>(raw(kind, r, c))];
}

Index NodalMatrix::addBranch(NodeRef a, NodeRef b) {
  assert(!analysed_);
  branches_.emplace_back(a, b);
  return static_cast<Index>(branches_.size()) - 1;
}

void NodalMatrix::finalize() {
  using Triplet = Eigen::Triplet<double>;
  std::vector<Triplet> trip;
  trip.reserve(branches_.size() * 4);
  for (const auto& [a, b] : branches_) {
    if (!a.known) trip.emplace_back(a.index, a.index, 1.0);
    if (!b.known) trip.emplace_back(b.index, b.index, 1.0);
    if (!a.known && !b.known && a.index != b.index) {
      trip.emplace_back(a.index, b.index, 1.0);
      trip.emplace_back(b.index, a.index, 1.0);
    }
  }
  a_.resize(n_, n_);
  a_.setFromTriplets(trip.begin(), trip.end());
  a_.makeCompressed();
  auto offset = [&](Index i, Index j) {
    const double* base = a_.valuePtr();
    return static_cast<Index>(&a_.coeffRef(i, j) - base);
  };
  slots_.resize(branches_.size());
  for (std::size_t k = 0; k < branches_.size(); ++k) {
    const auto& [a, b] = branches_[k];
    Slots& s = slots_[k];
    if (a.known && b.known) continue;
    if (!a.known && !b.known && a.index == b.index) continue;  // shorted branch: no effect
    if (!a.known) s.aa = offset(a.index, a.index);
    if (!b.known) s.bb = offset(b.index, b.index);
    if (!a.known && !b.known) {
      s.ab = offset(a.index, b.index);
      s.ba = offset(b.index, a.index);
    }
  }
  analyse();
}

void NodalMatrix::analyse() {
  if (n_ > 0) {
    if (kind_ == Factorization::Supernodal) {
      chol_ = std::make_unique<Cholmod>();
      chol_->analyzePattern(a_);
    } else {
      ldlt_.analyzePattern(a_);
    }
  }
  analysed_ = true;
}

NodalMatrix::NodalMatrix(const NodalMatrix& other)
    : n_(other.n_),
      kind_(other.kind_),
      branches_(other.branches_),
      slots_(other.slots_),
      a_(other.a_) {
  if (other.analysed_) analyse();
  if (other.factorized_) factorize();
}

NodalMatrix& NodalMatrix::operator=(const NodalMatrix& other) {
  if (this != &other) *this = NodalMatrix(other);
  return *this;
}

void NodalMatrix::setZero() {
  std::fill(a_.valuePtr(), a_.valuePtr() + a_.nonZeros(), 0.0);
}

void NodalMatrix::stamp(Index handle, double g) {
  const Slots& s = slots_[static_cast<std::size_t>(handle)];
  double* v = a_.valuePtr();
  if (s.aa >= 0) v[s.aa] += g;
  if (s.bb >= 0) v[s.bb] += g;
  if (s.ab >= 0) v[s.ab] -= g;
  if (s.ba >= 0) v[s.ba] -= g;
}

void NodalMatrix::factorize() {
  assert(analysed_);
  if (n_ == 0) return;
  factorized_ = false;
  Eigen::ComputationInfo info = Eigen::Success;
  if (chol_) {
    chol_->factorize(a_);
    info = chol_->info();
  } else {
    ldlt_.factorize(a_);
    info = ldlt_.info();
  }
  factorized_ = info == Eigen::Success;
  if (!factorized_) {
    throw SimulationError("nodal matrix could not be factorized (singular network)");
  }
}

}  // namespace ecramsim::nodal
