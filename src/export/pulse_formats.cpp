/// The pulse-based formats (crosssim-lut, aihwkit, neurosim): each is fitted to the card's
/// simulated single-device pulse response (device/bench.hpp), never to a second copy of the
/// physics.

#include <algorithm>
#include <cmath>
#include <functional>
#include <iomanip>
#include <sstream>

#include "core/error.hpp"
#include "core/result.hpp"
#include "core/rng.hpp"
#include "core/units.hpp"
#include "device/bench.hpp"
#include "export/export.hpp"

namespace ecramsim::modelexport {

namespace {

/// The card without variation, starting at x = 0.
EcramParams nominal(const EcramParams& params) {
  EcramParams p = params;
  p.dg_c2c = p.gmin_d2d = p.gmax_d2d = p.i0_d2d = p.qc_d2d = 0.0;
  p.x0 = 0.0;
  return p;
}

/// y at xq by linear interpolation in (xs, ys), xs increasing; constant beyond the ends.
double interpolate(const std::vector<double>& xs, const std::vector<double>& ys, double xq) {
  if (xq <= xs.front()) return ys.front();
  if (xq >= xs.back()) return ys.back();
  const auto k = static_cast<std::size_t>(std::upper_bound(xs.begin(), xs.end(), xq) - xs.begin());
  const double f = (xq - xs[k - 1]) / (xs[k] - xs[k - 1]);
  return ys[k - 1] + f * (ys[k] - ys[k - 1]);
}

/// The q-quantile (0..1) of sorted values, linear between order statistics.
double quantile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto i = static_cast<std::size_t>(std::floor(pos));
  if (i + 1 >= sorted.size()) return sorted.back();
  return sorted[i] + (pos - static_cast<double>(i)) * (sorted[i + 1] - sorted[i]);
}

/// One branch of a trace: the conductance before each pulse and the pulse's step, ordered by
/// increasing conductance (so it can be interpolated).
struct Branch {
  std::vector<double> g_s;
  std::vector<double> dg_s;
};

Branch branchOf(const std::vector<double>& trace, std::size_t first, std::size_t count) {
  std::vector<std::pair<double, double>> pts;
  for (std::size_t k = first; k < first + count; ++k) {
    pts.emplace_back(trace[k], trace[k + 1] - trace[k]);
  }
  std::sort(pts.begin(), pts.end());
  Branch b;
  for (const auto& [g, dg] : pts) {
    if (!b.g_s.empty() && g <= b.g_s.back()) continue;  // keep the abscissa strictly increasing
    b.g_s.push_back(g);
    b.dg_s.push_back(dg);
  }
  return b;
}

/// The minimum of f on [lo, hi]: a grid, then golden-section refinement around the best point.
double minimize(const std::function<double(double)>& f, double lo, double hi) {
  constexpr int kGrid = 400;
  double best = lo;
  double bestF = f(lo);
  const double h = (hi - lo) / kGrid;
  for (int i = 1; i <= kGrid; ++i) {
    const double a = lo + h * i;
    const double fa = f(a);
    if (fa < bestF) {
      best = a;
      bestF = fa;
    }
  }
  double a = std::max(lo, best - h);
  double b = std::min(hi, best + h);
  const double r = 0.5 * (std::sqrt(5.0) - 1.0);
  for (int it = 0; it < 80; ++it) {
    const double c = b - r * (b - a);
    const double d = a + r * (b - a);
    if (f(c) < f(d)) b = d; else a = c;
  }
  const double mid = 0.5 * (a + b);
  return f(mid) < bestF ? mid : best;
}

/// The trace, or an InputError when the protocol hardly moves the state (nothing to fit).
std::vector<double> fittableTrace(const ModelCard& card, const PulseProtocol& pr) {
  std::vector<double> trace = pulseTrace(card.params, pr);
  const auto [lo, hi] = std::minmax_element(trace.begin(), trace.end());
  if (!(*hi - *lo > 1e-6 * (card.params.gmax - card.params.gmin))) {
    throw InputError(card.where, "--amplitude",
                     "pulses of " + shortest(pr.amplitude_v) + " V / " + shortest(pr.width_s) +
                         " s move G by " + formatEng(*hi - *lo, "S") +
                         " only: no pulse response to fit");
  }
  return trace;
}

std::string jsonArray(const std::vector<double>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + shortest(v[i]);
  return s + "]";
}

}  // namespace

std::vector<double> pulseTrace(const EcramParams& params, const PulseProtocol& protocol) {
  Rng rng(protocol.seed);
  CellBench bench(nominal(params), DeviceVariation{}, rng);
  std::vector<double> g{bench.readConductance(protocol.read_v)};
  for (double sign : {1.0, -1.0}) {
    for (int i = 0; i < protocol.pulses; ++i) {
      bench.pulse(sign * protocol.amplitude_v, protocol.width_s);
      bench.idle(protocol.interval_s, GateMode::Grounded);
      g.push_back(bench.readConductance(protocol.read_v));
    }
  }
  return g;
}

std::vector<ExportFile> crossSimLut(const ModelCard& card, const PulseProtocol& pr) {
  EcramParams p = nominal(card.params);
  p.dg_c2c = card.params.dg_c2c;
  const int bins = std::max(pr.lutBins, 2);
  const int cdfPoints = std::max(pr.lutCdfPoints, 2);
  const int samples = std::max(pr.lutSamples, 2);
  Rng rng(pr.seed);
  CellBench bench(p, DeviceVariation{}, rng);
  std::vector<double> gBins;
  for (int b = 0; b < bins; ++b) {
    gBins.push_back(p.gmin + (p.gmax - p.gmin) * (b + 0.5) / bins);
  }
  std::vector<double> cdf;
  for (int c = 0; c < cdfPoints; ++c) cdf.push_back(static_cast<double>(c) / (cdfPoints - 1));
  std::vector<ExportFile> files;
  for (double sign : {1.0, -1.0}) {
    // table[c][b]: the cdf[c] quantile of dG of one pulse from the bin's conductance.
    std::vector<std::vector<double>> table(cdf.size(), std::vector<double>(gBins.size()));
    for (std::size_t b = 0; b < gBins.size(); ++b) {
      const double x = (static_cast<double>(b) + 0.5) / bins;
      std::vector<double> dg;
      for (int k = 0; k < samples; ++k) {
        bench.setState(x);
        const double g0 = bench.readConductance(pr.read_v);
        bench.pulse(sign * pr.amplitude_v, pr.width_s);
        bench.idle(pr.interval_s, GateMode::Grounded);
        dg.push_back(bench.readConductance(pr.read_v) - g0);
      }
      std::sort(dg.begin(), dg.end());
      for (std::size_t c = 0; c < cdf.size(); ++c) table[c][b] = quantile(dg, cdf[c]);
    }
    std::ostringstream o;
    const std::string name = sign > 0 ? "dG_increasing.txt" : "dG_decreasing.txt";
    o << provenanceHeader(card, "#", "crosssim-lut")
      << "# " << name << ": line 1 G bins (S), line 2 CDF points (1), then one line per CDF "
      << "point: the dG (S, signed) of one " << (sign > 0 ? "+" : "-") << pr.amplitude_v
      << " V / " << pr.width_s << " s pulse at each G bin; " << samples
      << " simulated pulses per bin with dg_c2c = " << p.dg_c2c << ", seed " << pr.seed << "\n";
    auto row = [&o](const std::vector<double>& v) {
      for (std::size_t i = 0; i < v.size(); ++i) o << (i ? " " : "") << shortest(v[i]);
      o << "\n";
    };
    row(gBins);
    row(cdf);
    for (const auto& r : table) row(r);
    files.push_back({name, o.str(), {}});
  }
  return files;
}

std::vector<ExportFile> aihwkitConfig(const ModelCard& card, const PulseProtocol& pr) {
  const EcramParams& p = card.params;
  const std::vector<double> trace = fittableTrace(card, pr);
  const auto n = static_cast<std::size_t>(pr.pulses);
  const double gLo = *std::min_element(trace.begin(), trace.end());
  const double gHi = *std::max_element(trace.begin(), trace.end());
  // w in [-1, 1] spans the conductances the protocol visits: G = gLo + (w + 1) / 2 (gHi - gLo).
  const double wPerS = 2.0 / (gHi - gLo);
  const Branch up = branchOf(trace, 0, n);
  const Branch dn = branchOf(trace, n, n);
  constexpr int kNodes = 21;
  std::vector<double> stepUp, stepDn;
  for (int k = 0; k < kNodes; ++k) {
    const double g = gLo + (gHi - gLo) * k / (kNodes - 1);
    stepUp.push_back(wPerS * interpolate(up.g_s, up.dg_s, g));
    stepDn.push_back(-wPerS * interpolate(dn.g_s, dn.dg_s, g));
  }
  const double up0 = wPerS * interpolate(up.g_s, up.dg_s, 0.5 * (gLo + gHi));
  const double dn0 = -wPerS * interpolate(dn.g_s, dn.dg_s, 0.5 * (gLo + gHi));
  const double dwMin = 0.5 * (up0 + dn0);
  const double upDown = (up0 - dn0) / (up0 + dn0);
  std::vector<double> pieceUp, pieceDn;
  for (int k = 0; k < kNodes; ++k) {
    pieceUp.push_back(stepUp[static_cast<std::size_t>(k)] / (dwMin * (1.0 + upDown)));
    pieceDn.push_back(stepDn[static_cast<std::size_t>(k)] / (dwMin * (1.0 - upDown)));
  }
  // Soft bounds: least-squares lines step_up = a_u (1 - w / w_max) and
  // |step_dn| = a_d (1 - w / w_min).
  auto fitLine = [&](const Branch& b, double sign) {
    double sw = 0, ss = 0, sww = 0, sws = 0;
    const double m = static_cast<double>(b.g_s.size());
    for (std::size_t k = 0; k < b.g_s.size(); ++k) {
      const double w = wPerS * (b.g_s[k] - gLo) - 1.0;
      const double s = sign * wPerS * b.dg_s[k];
      sw += w; ss += s; sww += w * w; sws += w * s;
    }
    const double slope = (m * sws - sw * ss) / (m * sww - sw * sw);
    return std::pair{(ss - slope * sw) / m, slope};  // intercept at w = 0, slope
  };
  const auto [au, su] = fitLine(up, 1.0);
  const auto [ad, sd] = fitLine(dn, -1.0);
  constexpr double kNoBound = 100.0;  // a branch without soft saturation: a far bound
  const double wMaxSb = su < 0.0 ? std::min(kNoBound, -au / su) : kNoBound;
  const double wMinSb = sd > 0.0 ? std::max(-kNoBound, -ad / sd) : -kNoBound;
  const double dwMinSb = 0.5 * (au + ad);
  const double upDownSb = (au - ad) / (au + ad);
  const double rateD2d = std::hypot(p.i0_d2d, p.qc_d2d);
  const double wMaxD2d = p.gmax_d2d * p.gmax * wPerS;
  const double wMinD2d = p.gmin_d2d * p.gmin * wPerS;

  auto common = [&](double dw, double ud, double wmin, double wmax) {
    std::ostringstream o;
    o << "\"dw_min\": " << shortest(dw) << ", \"up_down\": " << shortest(ud)
      << ", \"w_min\": " << shortest(wmin) << ", \"w_max\": " << shortest(wmax)
      << ", \"dw_min_std\": " << shortest(p.dg_c2c) << ", \"dw_min_dtod\": "
      << shortest(rateD2d) << ", \"up_down_dtod\": 0, \"w_min_dtod\": " << shortest(wMinD2d)
      << ", \"w_max_dtod\": " << shortest(wMaxD2d);
    return o.str();
  };
  const std::string softBounds = "{" + common(dwMinSb, upDownSb, wMinSb, wMaxSb) + "}";
  const std::string piecewise = "{" + common(dwMin, upDown, -1.0, 1.0) +
                                ", \"piecewise_up\": " + jsonArray(pieceUp) +
                                ", \"piecewise_down\": " + jsonArray(pieceDn) + "}";
  std::ostringstream j;
  const Provenance from = provenance(card, "aihwkit");
  j << "{\"provenance\": {\"tool\": " << jsonQuote(from.tool) << ", \"card\": "
    << jsonQuote(from.card) << ", \"card_sha256\": " << jsonQuote(from.sha256) << "},\n"
    << " \"protocol\": {\"pulses\": " << pr.pulses << ", \"amplitude_v\": "
    << shortest(pr.amplitude_v) << ", \"width_s\": " << shortest(pr.width_s)
    << ", \"interval_s\": " << shortest(pr.interval_s) << ", \"read_v\": "
    << shortest(pr.read_v) << "},\n"
    << " \"weight_mapping\": {\"g_at_w_minus_1_s\": " << shortest(gLo)
    << ", \"g_at_w_plus_1_s\": " << shortest(gHi) << "},\n"
    << " \"SoftBoundsReferenceDevice\": " << softBounds << ",\n"
    << " \"PiecewiseStepDevice\": " << piecewise << "}\n";
  std::ostringstream py;
  py << provenanceHeader(card, "#", "aihwkit")
     << "# The aihwkit devices closest to the card, fitted to its simulated pulse response ("
     << pr.pulses << " up then " << pr.pulses << " down\n# pulses of +-" << pr.amplitude_v
     << " V / " << pr.width_s << " s from x = 0). Weight w in [-1, 1] maps linearly to G in ["
     << gLo << ", " << gHi << "] S.\n"
     << "# PiecewiseStepDevice: the step at w is dw_min (1 +- up_down) times piecewise_up/down\n"
     << "# interpolated linearly between nodes spaced evenly over [w_min, w_max].\n"
     << "# SoftBoundsReferenceDevice: steps dw_min (1 + up_down)(1 - w/w_max) up and\n"
     << "# dw_min (1 - up_down)(1 - w/w_min) down, fitted by least squares.\n"
     << "# dw_min_std = dg_c2c (relative to the step); dw_min_dtod = hypot(i0_d2d, qc_d2d);\n"
     << "# w_min/max_dtod = the gmin/gmax spread in w units.\n"
     << "from aihwkit.simulator.configs import SingleRPUConfig\n"
     << "from aihwkit.simulator.configs.devices import (PiecewiseStepDevice,\n"
     << "                                               SoftBoundsReferenceDevice)\n\n"
     << "PIECEWISE = dict(" << piecewise.substr(1, piecewise.size() - 2) << ")\n"
     << "SOFT_BOUNDS = dict(" << softBounds.substr(1, softBounds.size() - 2) << ")\n\n"
     << "rpu_config = SingleRPUConfig(device=PiecewiseStepDevice(**PIECEWISE))\n"
     << "rpu_config_soft_bounds = SingleRPUConfig(\n"
     << "    device=SoftBoundsReferenceDevice(**SOFT_BOUNDS))\n";
  std::string pyText = py.str();
  // JSON keys "k": v become Python keyword arguments k=v.
  for (std::size_t pos = 0; (pos = pyText.find("\": ", pos)) != std::string::npos;) {
    const std::size_t open = pyText.rfind('"', pos - 1);
    pyText.replace(pos, 3, "=");
    pyText.erase(open, 1);
  }
  return {{card.name + "_aihwkit.json", j.str(), {}}, {card.name + "_aihwkit.py", pyText, {}}};
}

ExportFile neuroSimParams(const ModelCard& card, const PulseProtocol& pr) {
  const EcramParams& p = card.params;
  const std::vector<double> trace = fittableTrace(card, pr);
  const auto n = static_cast<std::size_t>(pr.pulses);
  // NeuroSim's branch curves G(P) = gMin + B (1 - exp(-a P)) share minConductance (gmin) and
  // maxConductance; each has its own a = 1/A and maxNumLevel (P at maxConductance). From the
  // branch's first conductance g0 (P0 on the curve), m pulses give
  //   G_m - g0 = (B - (g0 - gMin)) (1 - exp(-a s m)),  s = +1 (LTP) or -1 (LTD),
  // linear in c = a (B - (g0 - gMin)) for a given a: least squares for c, minimize over a.
  const double gMin = p.gmin;
  struct Fit {
    double a = 0.0;
    double ba = 0.0;  ///< S, B a (finite as a -> 0: the linear device's step)
  };
  auto basis = [](double a, double pulses) {  // (1 - exp(-a pulses)) / a
    return std::abs(a) < 1e-12 ? pulses : -std::expm1(-a * pulses) / a;
  };
  auto fitBranch = [&](std::size_t first, double sign) {
    const double g0 = trace[first];
    auto coefficient = [&](double a) {
      double num = 0.0, den = 0.0;
      for (std::size_t m = 1; m <= n; ++m) {
        const double f = basis(a, sign * static_cast<double>(m));
        num += f * (trace[first + m] - g0);
        den += f * f;
      }
      return num / den;
    };
    auto err = [&](double a) {
      const double c = coefficient(a);
      // B a > 0: a curve through (0, gMin) that rises with P (concave for a > 0, convex < 0).
      if (c + a * (g0 - gMin) <= 0.0) return 1e300;
      double e = 0.0;
      for (std::size_t m = 1; m <= n; ++m) {
        const double d = g0 + c * basis(a, sign * static_cast<double>(m)) - trace[first + m];
        e += d * d;
      }
      return e;
    };
    Fit fit;
    fit.a = minimize(err, -1.0, 1.0);
    fit.ba = coefficient(fit.a) + fit.a * (g0 - gMin);
    return fit;
  };
  const Fit ltp = fitBranch(0, 1.0);
  const Fit ltd = fitBranch(n, -1.0);
  // maxConductance: the top of the trace; each branch's maxNumLevel is its P there (rounded).
  const double gMax = *std::max_element(trace.begin(), trace.end());
  auto levelsAt = [&](const Fit& f) {
    const double r = f.a * (gMax - gMin) / f.ba;  // 1 - exp(-a N)
    const double levels = std::abs(f.a) < 1e-12 ? (gMax - gMin) / f.ba
                          : r < 1.0            ? -std::log1p(-r) / f.a
                                               : 1e6;  // the branch never reaches gMax
    return static_cast<int>(std::clamp(std::round(levels), 1.0, 1e6));
  };
  const int levelsLtp = levelsAt(ltp);
  const int levelsLtd = levelsAt(ltd);
  const double aLtp = ltp.a;
  const double aLtd = ltd.a;
  auto paramA = [](double a) { return std::abs(a) < 1e-12 ? 1e12 : 1.0 / a; };
  // The exported rule replayed on the protocol (as NeuroSim applies it: P from the inverse of
  // the present G, P +- 1, G on the branch's curve, clipped to [gMin, gMax]); its RMSE on each
  // branch against the trace, in % of the trace's window, goes into the file.
  const double window = gMax - *std::min_element(trace.begin(), trace.end());
  double g = trace.front();
  double sumSq[2] = {0.0, 0.0};
  for (std::size_t k = 1; k < trace.size(); ++k) {
    const bool up = k <= n;
    const double a = up ? aLtp : aLtd;
    const double levels = up ? levelsLtp : levelsLtd;
    const double pa = paramA(a);
    const double b = (gMax - gMin) / -std::expm1(-levels / pa);
    const double pulses = -pa * std::log1p(-(g - gMin) / b) + (up ? 1.0 : -1.0);
    g = std::clamp(b * -std::expm1(-pulses / pa) + gMin, gMin, gMax);
    sumSq[up ? 0 : 1] += (g - trace[k]) * (g - trace[k]);
  }
  const double rmseLtp = 100.0 * std::sqrt(sumSq[0] / static_cast<double>(n)) / window;
  const double rmseLtd = 100.0 * std::sqrt(sumSq[1] / static_cast<double>(n)) / window;
  constexpr double kPoorFitPercent = 3.0;
  std::vector<std::string> warnings;
  for (const auto& [branch, rmse] : {std::pair{"LTP", rmseLtp}, std::pair{"LTD", rmseLtd}}) {
    if (!(rmse <= kPoorFitPercent)) {
      std::ostringstream w;
      w << "neurosim: the " << branch << " branch of " << card.name << " is fitted with an RMSE of "
        << std::setprecision(3) << rmse << " % of the window (over " << kPoorFitPercent
        << " %): NeuroSim's single exponential cannot follow this card's pulse response";
      warnings.push_back(w.str());
    }
  }
  for (const auto& [branch, levels] : {std::pair{"LTP", levelsLtp}, std::pair{"LTD", levelsLtd}}) {
    if (levels >= 1'000'000) {
      warnings.push_back(std::string("neurosim: maxNumLevel") + branch + " of " + card.name +
                         " is capped at 1000000: the fitted curve nears maxConductance only "
                         "asymptotically, and NeuroSim converts weight changes into pulses "
                         "through it");
    }
  }
  // NeuroSim adds N(0, sigmaCtoC) S per pulse; the card's c2c spread is relative to the step.
  const double meanStep = std::abs(trace[n] - trace[0]) / static_cast<double>(n);
  std::ostringstream o;
  o << provenanceHeader(card, "//", "neurosim")
    << "// NeuroSim device block (RealDevice in MLP+NeuroSim's Cell.cpp; DNN+NeuroSim's\n"
    << "// Param.cpp), fitted to the card's simulated pulse response: " << pr.pulses
    << " up then " << pr.pulses << " down\n// pulses of +-" << pr.amplitude_v << " V / "
    << pr.width_s << " s from x = 0.\n"
    << "// NeuroSim's update rule: G(P) = B (1 - exp(-P/A)) + minConductance with\n"
    << "// B = (maxConductance - minConductance) / (1 - exp(-maxNumLevel/A)); a pulse moves P by\n"
    << "// +-1 along the LTP (LTD) curve. A is given in pulses (paramALTP/LTD; NeuroSim derives\n"
    << "// it from NL_LTP/NL_LTD through its table, so set it directly); a negative A curves the\n"
    << "// other way. minConductance is the card's gmin (P = 0), maxConductance the top of the\n"
    << "// simulated trace, maxNumLevelLTP/LTD each curve's P there. sigmaCtoC = dg_c2c times\n"
    << "// the mean LTP step (S per pulse); sigmaDtoD = hypot(i0_d2d, qc_d2d) (relative spread\n"
    << "// of the update rate).\n"
    << "// Fit: this rule replayed on the same pulses misses the card's trace by an RMSE of\n"
    << "// " << std::setprecision(3) << rmseLtp << " % (LTP) and " << rmseLtd
    << " % (LTD) of the window.\n";
  for (const auto& w : warnings) o << "// WARNING: " << w << ".\n";
  o << std::setprecision(6)
    << "maxConductance = " << shortest(gMax) << ";\n"
    << "minConductance = " << shortest(gMin) << ";\n"
    << "maxNumLevelLTP = " << levelsLtp << ";\n"
    << "maxNumLevelLTD = " << levelsLtd << ";\n"
    << "paramALTP = " << shortest(paramA(aLtp)) << ";\n"
    << "paramALTD = " << shortest(paramA(aLtd)) << ";\n"
    << "sigmaCtoC = " << shortest(p.dg_c2c * meanStep) << ";\n"
    << "sigmaDtoD = " << shortest(std::hypot(p.i0_d2d, p.qc_d2d)) << ";\n"
    << "writeVoltageLTP = " << shortest(pr.amplitude_v) << ";\n"
    << "writeVoltageLTD = " << shortest(pr.amplitude_v) << ";\n"
    << "writePulseWidthLTP = " << shortest(pr.width_s) << ";\n"
    << "writePulseWidthLTD = " << shortest(pr.width_s) << ";\n";
  return {card.name + "_neurosim.cpp", o.str(), std::move(warnings)};
}

}  // namespace ecramsim::modelexport
