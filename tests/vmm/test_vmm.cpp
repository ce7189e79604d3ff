/// `ecramsim vmm` (issue 4, part 3): multiplication map, VMM error statistics, sneak paths, and
/// bad input through the command line.

#include <doctest/doctest.h>

#include "../support/cli.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "app/cards.hpp"
#include "app/program_job.hpp"
#include "app/vmm_job.hpp"
#include "array/sneak_read.hpp"
#include "array/crossbar_engine.hpp"
#include "core/error.hpp"
#include "io/hdf5.hpp"

namespace fs = std::filesystem;
using namespace ecramsim;

namespace {

app::VmmJob smallJob(bool idealLines, bool variation, long long vectors = 300) {
  app::VmmJob job;
  app::CardOverrides ov;
  ov.noVariation = !variation;
  job.card = app::resolveCard(app::defaultCardPath().string(), ov);
  job.geometry = app::defaultGeometry(10, 10);
  if (idealLines) {
    job.geometry.r_gate_seg = job.geometry.r_row_seg = job.geometry.r_col_seg = 0.0;
    job.geometry.r_drv = job.geometry.r_sense = 0.0;
  }
  job.vectors = vectors;
  job.seed = 3;
  return job;
}

Eigen::MatrixXd matrixOf(const ResultTree& t, const std::string& path) {
  const auto& d = t.datasets().at(path);
  REQUIRE(d.shape.size() == 2);
  const auto& v = std::get<std::vector<double>>(d.data);
  Eigen::MatrixXd m(Eigen::Index(d.shape[0]), Eigen::Index(d.shape[1]));
  for (Eigen::Index r = 0; r < m.rows(); ++r) {
    for (Eigen::Index c = 0; c < m.cols(); ++c) m(r, c) = v[std::size_t(r * m.cols() + c)];
  }
  return m;
}

using ecramsim::test::Run;
using ecramsim::test::run;

fs::path scratchDir() {
  const fs::path dir = fs::temp_directory_path() / ("ecramsim_vmm_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("(a) with ideal lines the multiplication map is G V to 1e-12 of full scale") {
  NullProgress quiet;
  const app::VmmJob job = smallJob(true, true, 20);
  const ResultTree t = app::runVmmJob(job, quiet);
  const Eigen::MatrixXd I = matrixOf(t, "/map/current_a");
  const auto& g = t.values("/map/g_s");
  const auto& v = t.values("/map/read_v");
  REQUIRE(I.rows() == 17);
  REQUIRE(I.cols() == 21);
  const double cellFs = job.card.params.gmax * job.v_max;
  double worst = 0.0;
  for (Eigen::Index i = 0; i < I.rows(); ++i) {
    for (Eigen::Index j = 0; j < I.cols(); ++j) {
      worst = std::max(worst, std::abs(I(i, j) - g[std::size_t(i)] * v[std::size_t(j)]));
    }
  }
  CHECK(worst <= 1e-12 * cellFs);
  CHECK(t.metricValue("map_max_error_pct") <= 1e-10);
  // The states span the window: G from ~gmin to ~gmax (1% variation).
  CHECK(g.front() == doctest::Approx(2e-6).epsilon(0.05));
  CHECK(g.back() == doctest::Approx(4e-6).epsilon(0.05));
}

TEST_CASE("(b) error statistics match a direct computation, ideal lines give no error") {
  NullProgress quiet;
  SUBCASE("line resistance of the shipped array") {
    const app::VmmJob job = smallJob(false, true);
    const ResultTree t = app::runVmmJob(job, quiet);
    const Eigen::MatrixXd x = matrixOf(t, "/vmm/inputs_v");
    const Eigen::MatrixXd y = matrixOf(t, "/vmm/outputs_a");
    const Eigen::MatrixXd yi = matrixOf(t, "/vmm/ideal_a");
    const Eigen::MatrixXd g = matrixOf(t, "/vmm/conductances_s");
    REQUIRE(x.rows() == 300);
    REQUIRE(x.cols() == 10);
    REQUIRE(y.rows() == 300);
    REQUIRE(yi.cols() == 10);
    // The ideal output is sum_r V_r G_rc, by hand.
    for (Eigen::Index k : {0, 17, 299}) {
      for (Eigen::Index c = 0; c < 10; ++c) {
        double s = 0.0;
        for (Eigen::Index r = 0; r < 10; ++r) s += x(k, r) * g(r, c);
        CHECK(yi(k, c) == doctest::Approx(s).epsilon(1e-14));
      }
    }
    // Statistics, by hand, relative to FS = R gmax v_max.
    const double fs = 10 * job.card.params.gmax * job.v_max;
    double sum = 0.0, sum2 = 0.0, mx = 0.0;
    const double n = double(y.size());
    for (Eigen::Index k = 0; k < y.rows(); ++k) {
      for (Eigen::Index c = 0; c < y.cols(); ++c) {
        const double e = (y(k, c) - yi(k, c)) / fs;
        sum += e;
        sum2 += e * e;
        mx = std::max(mx, std::abs(e));
      }
    }
    const double mean = sum / n;
    const double sigma = std::sqrt((sum2 - n * mean * mean) / (n - 1.0));
    CHECK(t.metricValue("full_scale_a") == doctest::Approx(fs).epsilon(1e-15));
    CHECK(t.metricValue("error_mean_pct") == doctest::Approx(mean * 100).epsilon(1e-9));
    CHECK(t.metricValue("error_sigma_pct") == doctest::Approx(sigma * 100).epsilon(1e-6));
    CHECK(t.metricValue("error_max_pct") == doctest::Approx(mx * 100).epsilon(1e-12));
    CHECK(t.metricValue("error_rms_pct") == doctest::Approx(std::sqrt(sum2 / n) * 100).epsilon(1e-12));
    // Plausible: the IR drops only lower the currents, and no cell sees more than the voltage
    // lost on its row (driver and C-1 segments carrying at most C gmax v_max) plus the
    // potential of its drain node ((R-1) segments carrying at most R gmax v_max):
    // |e| / FS <= gmax ((r_drv + (C-1) r_seg) C + (R-1) r_seg R) = 4 uS * 560 Ohm = 0.224 %.
    const double gmax = g.maxCoeff();
    const double bound = gmax * ((20.0 + 9 * 2.0) * 10 + 9 * 2.0 * 10);
    CHECK(mx > 0.1 * bound);
    CHECK(mx < bound);
    CHECK(mean < 0.0);
    CHECK((y - yi).maxCoeff() <= 0.0);
    // Histogram holds every output.
    const auto& counts = t.values("/vmm/hist_counts");
    double total = 0.0;
    for (double c : counts) total += c;
    CHECK(total == doctest::Approx(n));
    MESSAGE("shipped lines: error mean " << t.metricValue("error_mean_pct") << " %FS, sigma "
                                         << t.metricValue("error_sigma_pct") << " %FS, max "
                                         << t.metricValue("error_max_pct") << " %FS (bound "
                                         << bound * 100 << ")");
  }
  SUBCASE("ideal lines, no variation") {
    const ResultTree t = app::runVmmJob(smallJob(true, false), quiet);
    CHECK(t.metricValue("error_max_pct") < 1e-10);
    CHECK(std::abs(t.metricValue("error_mean_pct")) < 1e-10);
  }
  SUBCASE("vmmErrorStats on a hand example") {
    Eigen::MatrixXd out(2, 2), ideal = Eigen::MatrixXd::Zero(2, 2);
    out << 1.0, -3.0, 2.0, 4.0;
    const app::VmmErrorStats s = app::vmmErrorStats(out, ideal, 2.0);
    CHECK(s.mean == doctest::Approx(0.5));
    CHECK(s.max_abs == doctest::Approx(2.0));
    CHECK(s.rms == doctest::Approx(std::sqrt(30.0 / 4.0) / 2.0));
    CHECK(s.sigma == doctest::Approx(std::sqrt((0.0 + 4.0 + 0.25 + 2.25) / 3.0)));
  }
}

TEST_CASE("(c) the dense grounded read is the nodal engine's, floating lines read sneak paths") {
  const CrossbarGeometry geo = app::defaultGeometry(10, 10);
  Eigen::MatrixXd g = Eigen::MatrixXd::Constant(10, 10, 4e-6);
  g(0, 9) = 2e-6;
  SUBCASE("grounded equals CrossbarEngine") {
    CrossbarEngine engine(geo);
    Eigen::MatrixXd gr = g;
    for (Eigen::Index r = 0; r < 10; ++r) gr(r, r) = 1e-6 * double(r + 1);  // not symmetric
    engine.setConductances(gr);
    for (auto [row, col] : {std::pair<Eigen::Index, Eigen::Index>{0, 9}, {4, 2}, {9, 0}}) {
      Eigen::MatrixXd in = Eigen::MatrixXd::Zero(1, 10);
      in(0, row) = 0.1;
      const double want = engine.solve(in).column_currents_a(0, col);
      const SneakRead s = readCellSneak(geo, gr, row, col, 0.1, false);
      CHECK(s.current_a == doctest::Approx(want).epsilon(1e-10));
    }
  }
  SUBCASE("ideal lines: grounded exact, floating matches the series sneak path") {
    CrossbarGeometry ideal = geo;
    ideal.r_gate_seg = ideal.r_row_seg = ideal.r_col_seg = ideal.r_drv = 0.0;
    const SneakRead gnd = readCellSneak(ideal, g, 0, 9, 0.1, false);
    const SneakRead flt = readCellSneak(ideal, g, 0, 9, 0.1, true);
    CHECK(std::abs(gnd.g_read_s - 2e-6) < 1e-12 * 2e-6);
    // Row 0 -> 9 cells -> other columns -> 81 cells -> other rows -> 9 cells -> column 9.
    const double gs = 1.0 / (1.0 / 36e-6 + 1.0 / 324e-6 + 1.0 / 36e-6);
    CHECK(flt.g_read_s == doctest::Approx(2e-6 + gs).epsilon(1e-10));
  }
  SUBCASE("shipped lines: floating error far larger than grounded") {
    const SneakRead gnd = readCellSneak(geo, g, 0, 9, 0.1, false);
    const SneakRead flt = readCellSneak(geo, g, 0, 9, 0.1, true);
    const double eg = std::abs(gnd.g_read_s - 2e-6) / 2e-6, ef = std::abs(flt.g_read_s - 2e-6) / 2e-6;
    CHECK(eg < 0.01);
    CHECK(ef > 100 * eg);
    CHECK(ef > 1.0);
  }
  SUBCASE("the job reports both") {
    NullProgress quiet;
    const ResultTree t = app::runVmmJob(smallJob(false, true, 10), quiet);
    CHECK(std::abs(t.metricValue("sneak_floating_error_pct")) >
          10 * std::abs(t.metricValue("sneak_grounded_error_pct")));
  }
}

TEST_CASE("E: bad input through the CLI exits 2 with a clear message") {
  const fs::path dir = scratchDir();
  const fs::path out = dir / "bad.h5";
  const std::string base = "vmm -q --vectors 5 -o " + out.string() + " ";
  {
    const fs::path w = dir / "nonsquare.csv";
    std::ofstream f(w);
    for (int r = 0; r < 10; ++r) f << "0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8\n";
  }
  {
    std::ofstream f(dir / "nan.csv");
    for (int r = 0; r < 10; ++r) f << (r == 3 ? "nan" : "0.5") << ",0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5\n";
  }
  {
    std::ofstream f(dir / "short.csv");
    f << "0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1\n0.1,0.1,0.1\n";
  }
  struct Case {
    std::string args, expect;
  };
  const std::vector<Case> cases{
      {"--weights " + (dir / "nonsquare.csv").string(), "10 x 8"},
      {"--weights " + (dir / "nan.csv").string(), "nan.csv"},
      {"--inputs " + (dir / "short.csv").string(), "short.csv:2"},
      {"--r-seg -1", "--r-seg"},
      {"--r-drv -5", "--r-drv"},
      {"--v-max 0", "--v-max"},
      {"--engine hspice", "--engine"},
      {"--rows 0", "rows"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.args);
    const Run r = run(base + c.args);
    CAPTURE(r.output);
    CHECK(r.status == 2);
    CHECK(r.output.find(c.expect) != std::string::npos);
    CHECK_FALSE(fs::exists(out));
  }
  fs::remove_all(dir);
}

TEST_CASE("acceptance B: --json prints the error statistics, the file holds every vector") {
  const fs::path dir = scratchDir();
  const fs::path out = dir / "vmm.h5";
  const Run r = run("vmm --json -q --vectors 40 --seed 5 -o " + out.string());
  CAPTURE(r.output);
  REQUIRE(r.status == 0);
  for (const char* key : {"\"error_mean_pct\"", "\"error_sigma_pct\"", "\"error_max_pct\"",
                          "\"full_scale_a\"", "\"sneak_floating_error_pct\""}) {
    CHECK(r.output.find(key) != std::string::npos);
  }
  const ResultTree t = io::readResultFile(out);
  CHECK(t.datasets().at("/vmm/inputs_v").shape == std::vector<std::size_t>{40, 10});
  CHECK(t.datasets().at("/vmm/outputs_a").shape == std::vector<std::size_t>{40, 10});
  CHECK(t.datasets().at("/vmm/ideal_a").shape == std::vector<std::size_t>{40, 10});
  fs::remove_all(dir);
}

TEST_CASE("--engine spice reads the same devices as the nodal engine") {
  NullProgress quiet;
  app::VmmJob job = smallJob(false, true, 20);
  job.map_states = 3;
  job.map_voltages = 3;
  const ResultTree a = app::runVmmJob(job, quiet);
  job.engine = "spice";
  const ResultTree b = app::runVmmJob(job, quiet);
  const Eigen::MatrixXd ya = matrixOf(a, "/vmm/outputs_a"), yb = matrixOf(b, "/vmm/outputs_a");
  CHECK(matrixOf(a, "/vmm/conductances_s") == matrixOf(b, "/vmm/conductances_s"));
  const double diff = (ya - yb).cwiseAbs().maxCoeff() / ya.cwiseAbs().maxCoeff();
  CHECK(diff < 1e-9);
  CHECK(b.metricValue("error_max_pct") == doctest::Approx(a.metricValue("error_max_pct")).epsilon(1e-6));
  MESSAGE("spice vs nodal VMM outputs: max rel diff " << diff);
}
