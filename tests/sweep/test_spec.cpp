/// Sweep specs, points, shards, file names and the index table (pure library parts; issue 7 F).

#include <doctest/doctest.h>

#include <H5Cpp.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.hpp"
#include "io/hdf5.hpp"
#include "sweep/index.hpp"
#include "sweep/points.hpp"
#include "sweep/spec.hpp"
#include "sweep/store.hpp"

namespace fs = std::filesystem;
using namespace ecramsim;
using namespace ecramsim::sweep;

namespace {

const char* kHeader = "[sweep]\ncommand = \"device gate-iv\"\n";  // lines 1-2

/// The InputError message of parsing `text`, or "" when it parses.
std::string errorOf(const std::string& text) {
  try {
    (void)parseSpecText(text, "spec.toml");
  } catch (const InputError& e) {
    return e.what();
  }
  return {};
}

std::vector<std::string> texts(const std::vector<Point>& pts, std::size_t axis) {
  std::vector<std::string> out;
  for (const auto& p : pts) out.push_back(p.values.at(axis).text);
  return out;
}

fs::path scratch(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("ecramsim_sweep_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

}  // namespace

TEST_CASE("a spec parses: command, fixed args, axes, lines") {
  const Spec s = parseSpecText(
      "# comment\n"
      "[sweep]\n"
      "command = \"device gate-iv --points 21\"\n"
      "args = [\"--v-max\", \"6\"]\n"
      "metrics = [\"rate_ratio_v2\"]\n"
      "[[axis]]\n"
      "name = \"model.V0\"\n"
      "values = [0.1, \"200m\", 1]\n"
      "[[axis]]\n"
      "name = \"option.gate\"\n"
      "values = [\"floating\", \"grounded\"]\n",
      "spec.toml");
  CHECK(s.command == std::vector<std::string>{"device", "gate-iv", "--points", "21"});
  CHECK(s.args == std::vector<std::string>{"--v-max", "6"});
  CHECK(s.commandLine == 3);
  CHECK(s.argsLine == 4);
  CHECK(s.metrics == std::vector<std::string>{"rate_ratio_v2"});
  REQUIRE(s.axes.size() == 2);
  CHECK(s.axes[0].kind == AxisKind::Model);
  CHECK(s.axes[0].key == "v0");  // the table's spelling
  CHECK(s.axes[0].unit == "V");
  CHECK(s.axes[0].line == 6);
  CHECK(s.axes[0].values[1].text == "200m");
  CHECK(*s.axes[0].values[1].number == doctest::Approx(0.2));
  CHECK(s.axes[0].values[2].text == "1");
  CHECK(s.axes[1].kind == AxisKind::Option);
  CHECK_FALSE(s.axes[1].values[0].number.has_value());
}

TEST_CASE("acceptance F: every bad spec is an error naming its line") {
  struct Case {
    std::string body;  // after the two header lines
    std::string expect;
  };
  const std::vector<Case> cases{
      {"[[axis]]\nname = \"model.p_upp\"\nvalues = [1]\n",
       "spec.toml:4: axis 'model.p_upp': unknown parameter 'p_upp' of the ecram model; did you mean 'p_up'?"},
      {"[[axis]]\nname = \"model.v0\"\nvalues = []\n", "spec.toml:5: axis 'model.v0': empty axis"},
      {"[[axis]]\nname = \"model.v0\"\nlinspace = [0.1, 0.2, 0]\n", "spec.toml:5: axis 'model.v0': empty axis"},
      {"[[axis]]\nname = \"model.v0\"\nvalues = [0.1, -2]\n",
       "spec.toml:5: axis 'model.v0': value -2 outside the allowed range"},
      {"[[axis]]\nname = \"model.v0\"\nvalues = [\"fast\"]\n", "spec.toml:5: axis 'model.v0': value 'fast' is not a number"},
      {"[[axis]]\nname = \"model.v0\"\nvaluse = [0.1]\n", "spec.toml:5: [[axis]]: unknown key 'valuse'"},
      {"[[axis]]\nname = \"model.v0\"\n", "spec.toml:3: axis 'model.v0': no values"},
      {"[[axis]]\nvalues = [1]\n", "spec.toml:3: [[axis]]: no 'name'"},
      {"[[axis]]\nname = \"v0\"\nvalues = [1]\n", "spec.toml:4: axis 'v0': expected model.<key>"},
      {"[[axis]]\nname = \"option.out\"\nvalues = [\"x\"]\n", "spec.toml:4: axis 'option.out': -o/--out"},
      {"[[axis]]\nname = \"param.1r\"\nvalues = [1]\n", "spec.toml:4: axis 'param.1r'"},
      {"[[axis]]\nname = \"model.v0\"\nuniform = [0.1, 0.2]\n",
       "spec.toml:5: axis 'model.v0': 'uniform' draws at random; it needs mode = \"random\""},
      {"[[axis]]\nname = \"model.v0\"\nvalues = [0.1]\n[[axis]]\nname = \"model.V0\"\nvalues = [0.2]\n",
       "spec.toml:6: axis 'model.V0': given twice (first at line 3)"},
      {"[[axis]]\nname = \"model.v0\"\nvalues = [true]\n", "spec.toml:5: axis 'model.v0': true/false"},
      {"[[axis]]\nname = \"model.v0\"\nvalues = [0.1, 0.2\n", "spec.toml:"},
      {"[axis]\nname = \"model.v0\"\nvalues = [0.1]\n", "spec.toml:3: axis: write each axis as an [[axis]]"},
      {"", "spec.toml: [[axis]]: the spec has no axis"},
      {"[[axis]]\nname = \"model.v0\"\nvalues = [0.1]\ngroup = \"a\"\n[[axis]]\nname = \"model.i0\"\n"
       "values = [1e-9, 2e-9]\ngroup = \"a\"\n",
       "spec.toml:9: axis 'model.i0': axes of group 'a' of unequal length: 2 values here, 1 in 'model.v0' (line 5)"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.body);
    const std::string msg = errorOf(std::string(kHeader) + c.body);
    CHECK(msg.find(c.expect) != std::string::npos);
    CAPTURE(msg);
  }
  // [sweep] level.
  CHECK(errorOf("[sweep]\ncommand = \"device gate-iv\"\nmode = \"zip\"\n[[axis]]\nname = \"model.v0\"\n"
                "values = [0.1, 0.2]\n[[axis]]\nname = \"model.i0\"\nvalues = [1e-9, 2e-9, 3e-9]\n")
            .find("spec.toml:9: axis 'model.i0': zip axes of unequal length: 3 values here, 2 in "
                  "'model.v0' (line 6)") != std::string::npos);
  CHECK(errorOf("[sweep]\ncommand = \"device gate-iv\"\nmode = \"random\"\n[[axis]]\nname = \"model.v0\"\n"
                "values = [0.1]\n")
            .find("spec.toml:3: samples: mode = \"random\" needs samples") != std::string::npos);
  CHECK(errorOf("[sweep]\ncommand = \"device gate-iv\"\nmode = \"lattice\"\n").find(
            "spec.toml:3: mode: unknown mode 'lattice'") != std::string::npos);
  CHECK(errorOf("[sweep]\ncomand = \"device gate-iv\"\n").find(
            "spec.toml:2: [sweep]: unknown key 'comand'") != std::string::npos);
  CHECK(errorOf("[sweep]\nmode = \"grid\"\n").find("spec.toml:1: [sweep]: no 'command'") !=
        std::string::npos);
  CHECK(errorOf("[sweep]\ncommand = \"device gate-iv -o x.h5\"\n").find(
            "spec.toml:2: -o: -o/--out") != std::string::npos);
  CHECK(errorOf("[sweep]\ncommand = \"device gate-iv\"\nsamples = 3\n").find(
            "spec.toml:3: samples: only for mode = \"random\"") != std::string::npos);
  CHECK(errorOf("[[axis]]\nname = \"model.v0\"\nvalues = [0.1]\n").find(
            "spec.toml: [sweep]: missing") != std::string::npos);
}

TEST_CASE("grid: first axis slowest, a group advances together") {
  const Spec s = parseSpecText(std::string(kHeader) +
                                   "[[axis]]\nname = \"model.v0\"\nvalues = [0.1, 0.2, 0.3]\n"
                                   "[[axis]]\nname = \"option.points\"\nvalues = [11, 21]\n",
                               "spec.toml");
  const auto pts = generatePoints(s);
  REQUIRE(pts.size() == 6);
  CHECK(texts(pts, 0) == std::vector<std::string>{"0.1", "0.1", "0.2", "0.2", "0.3", "0.3"});
  CHECK(texts(pts, 1) == std::vector<std::string>{"11", "21", "11", "21", "11", "21"});
  for (std::size_t i = 0; i < pts.size(); ++i) CHECK(pts[i].index == i);
  CHECK(pointArguments(s, pts[3]) ==
        std::vector<std::string>{"device", "gate-iv", "--set", "v0=0.2", "--points", "21"});

  const Spec g = parseSpecText(std::string(kHeader) +
                                   "[[axis]]\nname = \"model.v0\"\nvalues = [0.1, 0.2]\ngroup = \"k\"\n"
                                   "[[axis]]\nname = \"option.points\"\nvalues = [11, 21, 31]\n"
                                   "[[axis]]\nname = \"model.i0\"\nvalues = [1e-9, 2e-9]\ngroup = \"k\"\n",
                               "spec.toml");
  const auto gp = generatePoints(g);
  REQUIRE(gp.size() == 6);
  CHECK(texts(gp, 0) == std::vector<std::string>{"0.1", "0.1", "0.1", "0.2", "0.2", "0.2"});
  CHECK(texts(gp, 2) == std::vector<std::string>{"1e-09", "1e-09", "1e-09", "2e-09", "2e-09", "2e-09"});
  CHECK(texts(gp, 1) == std::vector<std::string>{"11", "21", "31", "11", "21", "31"});
}

TEST_CASE("linspace, logspace, zip, flags and params") {
  const Spec s = parseSpecText(
      "[sweep]\ncommand = [\"run\", \"x.cir\"]\nmode = \"zip\"\n"
      "[[axis]]\nname = \"param.r_line\"\nlinspace = [0, 1, 11]\n"
      "[[axis]]\nname = \"model.i0\"\nlogspace = [1e-10, 1e-5, 11]\n"
      "[[axis]]\nname = \"option.no-variation\"\nvalues = [true, false, true, false, true, false, true, false, true, false, true]\n",
      "spec.toml");
  const auto pts = generatePoints(s);
  REQUIRE(pts.size() == 11);
  CHECK(texts(pts, 0)[3] == "0.3");  // no 0.30000000000000004
  CHECK(texts(pts, 1)[0] == "1e-10");
  CHECK(texts(pts, 1)[10] == "1e-05");
  CHECK(*pts[4].values[1].number == doctest::Approx(1e-8).epsilon(1e-12));
  CHECK(pointArguments(s, pts[0]) ==
        std::vector<std::string>{"run", "x.cir", "--param", "r_line=0", "--set", "i0=1e-10",
                                 "--no-variation"});
  CHECK(pointArguments(s, pts[1]).back() == "i0=3.1622776601683795e-10");
}

TEST_CASE("random: seeded and reproducible, within bounds") {
  const std::string body =
      "mode = \"random\"\nsamples = 200\nseed = SEED\n"
      "[[axis]]\nname = \"model.v0\"\nuniform = [0.1, 0.3]\n"
      "[[axis]]\nname = \"model.i0\"\nloguniform = [1e-10, 1e-8]\n"
      "[[axis]]\nname = \"option.seed\"\nintegers = [1, 6]\n"
      "[[axis]]\nname = \"option.gate\"\nvalues = [\"floating\", \"grounded\"]\n"
      "[[axis]]\nname = \"model.dg_c2c\"\nnormal = [0.02, 0.005]\n";
  auto withSeed = [&](const std::string& seed) {
    std::string b = body;
    b.replace(b.find("SEED"), 4, seed);
    return parseSpecText(std::string(kHeader) + b, "spec.toml");
  };
  const auto a = generatePoints(withSeed("7")), b = generatePoints(withSeed("7")),
             c = generatePoints(withSeed("8"));
  REQUIRE(a.size() == 200);
  bool same = true, differ = false;
  std::set<std::string> seeds, gates;
  double mean = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    same = same && a[i].values == b[i].values;
    differ = differ || !(a[i].values == c[i].values);
    const double v0 = *a[i].values[0].number, i0 = *a[i].values[1].number;
    CHECK((v0 >= 0.1 && v0 < 0.3));
    CHECK((i0 >= 1e-10 && i0 < 1e-8));
    seeds.insert(a[i].values[2].text);
    gates.insert(a[i].values[3].text);
    mean += *a[i].values[4].number / 200.0;
  }
  CHECK(same);
  CHECK(differ);
  CHECK(seeds == std::set<std::string>{"1", "2", "3", "4", "5", "6"});
  CHECK(gates == std::set<std::string>{"floating", "grounded"});
  CHECK(mean == doctest::Approx(0.02).epsilon(0.05));
  CHECK(specHash(withSeed("7"), a) == specHash(withSeed("7"), b));
  CHECK(specHash(withSeed("7"), a) != specHash(withSeed("8"), c));
}

TEST_CASE("spec hash: formatting and metrics do not count, values do") {
  const std::string axis = "[[axis]]\nname = \"model.v0\"\nvalues = [0.1, 0.2]\n";
  const Spec a = parseSpecText(std::string(kHeader) + axis, "a.toml");
  const Spec b = parseSpecText("# another comment\n" + std::string(kHeader) +
                                   "metrics = [\"rate_ratio_v2\"]\n" + axis,
                               "b.toml");
  const Spec c = parseSpecText(std::string(kHeader) + "[[axis]]\nname = \"model.v0\"\nvalues = [0.1, 0.25]\n",
                               "c.toml");
  CHECK(specHash(a, generatePoints(a)) == specHash(b, generatePoints(b)));
  CHECK(specHash(a, generatePoints(a)) != specHash(c, generatePoints(c)));
  CHECK(specHash(a, generatePoints(a)).size() == 16);
}

TEST_CASE("shards are disjoint and cover the sweep, names are stable") {
  const Shard s = parseShard("2/3");
  CHECK(s.k == 2);
  CHECK(s.n == 3);
  for (const char* bad : {"0/3", "4/3", "3", "a/b", "1/0", "", "1/3/4"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS((void)parseShard(bad), InputError);
  }
  for (std::size_t i = 0; i < 20; ++i) {
    int owners = 0;
    for (std::size_t k = 1; k <= 3; ++k) owners += Shard{k, 3}.contains(i);
    CHECK(owners == 1);
  }
  CHECK(pointFileName(7, 16) == "points/p00007.h5");
  CHECK(pointFileName(7, 100000) == "points/p00007.h5");
  CHECK(pointFileName(7, 100001) == "points/p000007.h5");
  CHECK(failureFileName(7, 16) == "points/p00007.err");
  CHECK(indexFileName({}) == "index.h5");
  CHECK(indexFileName({2, 3}) == "index.shard-2-of-3.h5");
}

TEST_CASE("index table: HDF5 round trip with external links, and CSV") {
  const fs::path dir = scratch("index");
  const Spec s = parseSpecText(std::string(kHeader) +
                                   "[[axis]]\nname = \"model.v0\"\nvalues = [0.1, 0.2, 0.3]\n"
                                   "[[axis]]\nname = \"option.gate\"\nvalues = [\"floating\"]\n",
                               "spec.toml");
  const auto pts = generatePoints(s);
  // Point 0 complete (a real file), 1 failed, 2 pending.
  ResultTree point;
  point.metric("rate_ratio_v2", 123.5, "1", "a ratio");
  io::writeResultFile(point, dir / pointFileName(0, 3), {"ecramsim x", 1, io::isoTimeNow(), "complete"});
  std::vector<PointRecord> recs(3);
  recs[0] = {0, PointStatus::Complete, 0, "", point.metrics()};
  recs[1] = {1, PointStatus::Failed, 2, "bad, \"value\"", {}};
  recs[2].index = 2;
  const IndexTable t = buildIndexTable(s, pts, recs, specHash(s, pts), {}, 3);
  io::writeResultFile(indexTree(t), dir / "index.h5", {"ecramsim sweep", 1, io::isoTimeNow(), "running"});

  const IndexTable r = readIndexFile(dir / "index.h5");
  CHECK(r.specHash == t.specHash);
  CHECK(r.status == std::vector<std::string>{"complete", "failed", "pending"});
  CHECK(r.exitStatus == std::vector<std::int64_t>{0, 2, -1});
  CHECK(r.error == t.error);
  CHECK(r.args[1] == "device gate-iv --set v0=0.2 --gate floating");
  REQUIRE(r.params.size() == 2);
  CHECK(r.params[0].numbers == std::vector<double>{0.1, 0.2, 0.3});
  CHECK(r.params[0].unit == "V");
  CHECK_FALSE(r.params[1].numeric);
  REQUIRE(r.metrics.size() == 1);
  CHECK(r.metrics[0].numbers[0] == 123.5);
  CHECK(std::isnan(r.metrics[0].numbers[1]));

  // The link is listed, not followed, and resolves to the point file's root.
  const ResultTree tree = io::readResultFile(dir / "index.h5");
  REQUIRE(tree.externalLinks().size() == 1);
  CHECK(tree.externalLinks().at("/links/p00000") == ExternalLink{"points/p00000.h5", "/"});
  CHECK_FALSE(tree.has("/links/p00000/metrics/rate_ratio_v2"));
  {
    H5::H5File f((dir / "index.h5").string(), H5F_ACC_RDONLY);
    double v = 0;
    f.openDataSet("/links/p00000/metrics/rate_ratio_v2").read(&v, H5::PredType::NATIVE_DOUBLE);
    CHECK(v == 123.5);
  }
  CHECK(io::describeResultFile(dir / "index.h5").find("/links/p00000  -> points/p00000.h5:/") !=
        std::string::npos);

  const std::string csv = indexCsv(r);
  CHECK(csv.rfind("index,status,exit_status,model.v0,option.gate,rate_ratio_v2,file,error\n", 0) == 0);
  CHECK(csv.find("0,complete,0,0.1,floating,123.5,points/p00000.h5,\n") != std::string::npos);
  CHECK(csv.find("1,failed,2,0.2,floating,,points/p00001.h5,\"bad, \"\"value\"\"\"\n") !=
        std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("point records: complete only with status and matching arguments, stray temporaries") {
  const fs::path dir = scratch("records");
  const Spec s = parseSpecText(std::string(kHeader) + "[[axis]]\nname = \"model.v0\"\nvalues = [0.1, 0.2]\n",
                               "spec.toml");
  const auto pts = generatePoints(s);
  ResultTree point;
  point.metric("m", 1.0, "1", "");
  const std::string args0 = joinArguments(pointArguments(s, pts[0]));
  io::writeResultFile(point, dir / pointFileName(0, 2),
                      {"/x/ecramsim " + args0 + " -o p.h5 --quiet", 1, io::isoTimeNow(), "complete"});
  // Point 1's file was made with other arguments: not this point's result.
  io::writeResultFile(point, dir / pointFileName(1, 2),
                      {"/x/ecramsim " + args0 + " -o p.h5 --quiet", 1, io::isoTimeNow(), "complete"});
  CHECK(readPointRecord(dir, s, pts[0], 2).status == PointStatus::Complete);
  CHECK(readPointRecord(dir, s, pts[1], 2).status == PointStatus::Pending);
  writeFailure(dir, 1, 2, 2, "line one\nline two");
  const PointRecord f = readPointRecord(dir, s, pts[1], 2);
  CHECK(f.status == PointStatus::Failed);
  CHECK(f.exitStatus == 2);
  CHECK(f.error == "line one\nline two");
  clearFailure(dir, 1, 2);
  CHECK(readPointRecord(dir, s, pts[1], 2).status == PointStatus::Pending);

  for (const char* n : {"points/p00000.h5.tmp-123", "points/p00001.err.tmp-9", "points/p00002.h5.tmp-5",
                        "index.h5.tmp-77"}) {
    std::ofstream(dir / n) << "x";
  }
  CHECK(removeStrayTemporaries(dir, {0, 1}, 3, "index.h5") == 3);
  CHECK(fs::exists(dir / "points/p00002.h5.tmp-5"));  // another shard's point
  fs::remove_all(dir);
}

TEST_CASE("random integers outside the exactly representable range are refused, naming the line") {
  const std::string head = "[sweep]\ncommand = \"device gate-iv\"\nmode = \"random\"\nsamples = 2\n"
                           "[[axis]]\nname = \"option.seed\"\n";  // lines 1-6
  for (const char* bounds : {"[1e300, 1e300]", "[-1e300, 1]", "[1, 9.3e18]", "[0, 1e19]"}) {
    CAPTURE(bounds);
    const std::string msg = errorOf(head + "integers = " + bounds + "\n");
    CHECK(msg.find("spec.toml:7: axis 'option.seed': integers") != std::string::npos);
    CHECK(msg.find("9007199254740992") != std::string::npos);
  }
  // The widest allowed range draws whole numbers in range, with no wrap-around.
  const Spec s = parseSpecText(head + "integers = [-9007199254740992, 9007199254740992]\n",
                               "spec.toml");
  for (const auto& p : generatePoints(s)) {
    CHECK(p.values[0].text.find('e') == std::string::npos);
    CHECK(std::fabs(*p.values[0].number) <= 9007199254740992.0);
  }
}

TEST_CASE("a 100,000-character axis name or value is echoed shortened, with its length") {
  const std::string z(100000, 'z');
  for (const std::string& body :
       {"[[axis]]\nname = \"model." + z + "\"\nvalues = [1]\n",
        "[[axis]]\nname = \"model.v0\"\nvalues = [\"" + z + "\"]\n",
        "[[axis]]\nname = \"model.v0\"\nvalues = [0.1]\n" + z + " = 1\n"}) {
    const std::string msg = errorOf(std::string(kHeader) + body);
    CAPTURE(msg.substr(0, 400));
    CHECK(msg.size() < 400);
    CHECK(msg.find("zzz... (100") != std::string::npos);
  }
}

TEST_CASE("a point's end: a late interrupt after its file is complete leaves it complete") {
  using sweep::PointEnd;
  // (cancelled, exit code, signalled, file complete)
  CHECK(sweep::classifyPointEnd(false, 0, false, true) == PointEnd::Complete);
  CHECK(sweep::classifyPointEnd(true, 130, false, true) == PointEnd::Complete);
  CHECK(sweep::classifyPointEnd(true, 130, true, true) == PointEnd::Complete);
  CHECK(sweep::classifyPointEnd(true, 130, false, false) == PointEnd::Interrupted);
  CHECK(sweep::classifyPointEnd(true, 137, true, false) == PointEnd::Interrupted);
  // Without the sweep's interrupt, status 130 is a failure, as is a nonzero status with a file.
  CHECK(sweep::classifyPointEnd(false, 130, false, false) == PointEnd::Failed);
  CHECK(sweep::classifyPointEnd(false, 130, false, true) == PointEnd::Failed);
  CHECK(sweep::classifyPointEnd(true, 1, false, true) == PointEnd::Failed);
  CHECK(sweep::classifyPointEnd(false, 0, false, false) == PointEnd::Failed);
}
