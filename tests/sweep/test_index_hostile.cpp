/// Hostile sweep folders (issue 11, items 4, 6, 9): an index whose columns differ in length, a
/// point file that crashed the old reader during `sweep merge`, and `sweep export` into a FIFO.
/// Run through the CLI where the old code crashed, so a crash fails the test.

#include <doctest/doctest.h>

#include <fcntl.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "../support/cli.hpp"
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

fs::path scratch(const std::string& name) {
  const fs::path d = fs::temp_directory_path() /
                     ("ecramsim_sweep_hostile_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

/// A sweep folder of three complete points (model.v0 = 0.1, 0.2, 0.3, each with metric m) and
/// its index.h5, made without running anything.
struct Folder {
  Spec spec;
  std::vector<Point> points;
  IndexTable table;
};

Folder makeFolder(const fs::path& dir) {
  Folder f;
  f.spec = parseSpecText("[sweep]\ncommand = \"device gate-iv\"\n"
                         "[[axis]]\nname = \"model.v0\"\nvalues = [0.1, 0.2, 0.3]\n",
                         "spec.toml");
  f.points = generatePoints(f.spec);
  std::vector<PointRecord> records;
  for (const auto& p : f.points) {
    ResultTree point;
    point.metric("m", static_cast<double>(p.index), "1", "");
    const std::string cl = "ecramsim " + joinArguments(pointArguments(f.spec, p)) + " -o p.h5";
    io::writeResultFile(point, dir / pointFileName(p.index, 3),
                        {cl, 1, io::isoTimeNow(), "complete"});
    records.push_back(readPointRecord(dir, f.spec, p, 3));
    REQUIRE(records.back().status == PointStatus::Complete);
  }
  f.table = buildIndexTable(f.spec, f.points, records, specHash(f.spec, f.points), {}, 3);
  io::writeResultFile(indexTree(f.table), dir / "index.h5",
                      {"ecramsim sweep", 1, io::isoTimeNow(), "complete"});
  return f;
}

}  // namespace

TEST_CASE("item 4: an index whose columns differ in length is refused, naming the column") {
  const fs::path dir = scratch("columns");
  const Folder f = makeFolder(dir);
  struct Case {
    const char* column;
    std::function<void(ResultTree&)> corrupt;
  };
  const std::vector<Case> cases = {
      {"/points/status",
       [](ResultTree& t) { t.integers("/points/index", std::vector<std::int64_t>(5000, 0), "1"); }},
      {"/points/file", [](ResultTree& t) { t.strings("/points/file", {"points/p00000.h5"}); }},
      {"/params/model.v0", [](ResultTree& t) { t.vector("/params/model.v0", {0.1}, "V"); }},
      {"/metrics/m", [](ResultTree& t) { t.vector("/metrics/m", {}, "1"); }},
  };
  for (const auto& c : cases) {
    CAPTURE(c.column);
    ResultTree tree = indexTree(f.table);
    c.corrupt(tree);
    io::writeResultFile(tree, dir / "index.h5", {"ecramsim sweep", 1, io::isoTimeNow(), "x"});
    CHECK_THROWS_WITH_AS((void)readIndexFile(dir / "index.h5"), doctest::Contains(c.column),
                         InputError);
    // The old export read past the shorter columns' ends.
    const test::Run r = test::run("sweep export " + dir.string());
    CAPTURE(r.output);
    CHECK(r.status == 2);
    CHECK(r.output.find((dir / "index.h5").string()) != std::string::npos);
    CHECK(r.output.find(std::string(c.column) + ": has ") != std::string::npos);
  }
  fs::remove_all(dir);
}

TEST_CASE("item 9: sweep merge reads each point file apart: a hostile one stays pending") {
  const fs::path in = scratch("merge_in");
  const fs::path out = scratch("merge_out");
  const Folder f = makeFolder(in);
  // Point 1 gets a root attribute of 64 doubles: it smashed the old reader's stack.
  {
    const fs::path p1 = in / pointFileName(1, 3);
    const hid_t file = H5Fopen(p1.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(file >= 0);
    const hsize_t n = 64;
    const std::vector<double> v(n, 1.0);
    const hid_t s = H5Screate_simple(1, &n, nullptr);
    const hid_t a = H5Acreate2(file, "big", H5T_NATIVE_DOUBLE, s, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_DOUBLE, v.data());
    H5Aclose(a);
    H5Sclose(s);
    H5Fclose(file);
  }
  const test::Run r = test::run("sweep merge " + in.string() + " -o " + out.string());
  CAPTURE(r.output);
  CHECK(r.status == 3);  // some points pending
  CHECK(r.output.find("2 complete, 0 failed, 1 pending") != std::string::npos);
  CHECK(fs::exists(out / pointFileName(0, 3)));
  CHECK_FALSE(fs::exists(out / pointFileName(1, 3)));
  CHECK(fs::exists(out / pointFileName(2, 3)));
  const IndexTable merged = readIndexFile(out / "index.h5");
  CHECK(merged.status == std::vector<std::string>{"complete", "pending", "complete"});
  // Read in place, the pending point's record says why.
  const PointRecord hostile = readPointRecord(in, f.spec, f.points[1], 3);
  CHECK(hostile.status == PointStatus::Pending);
  CHECK(hostile.error.find(pointFileName(1, 3) + ": ") != std::string::npos);
  fs::remove_all(in);
  fs::remove_all(out);
}

TEST_CASE("item 6: sweep export -o FIFO writes into the FIFO and leaves it one") {
  const fs::path dir = scratch("export_fifo");
  (void)makeFolder(dir);
  const fs::path fifo = dir / "out.csv";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(fd >= 0);
  const test::Run r = test::run("sweep export " + dir.string() + " -o " + fifo.string());
  CAPTURE(r.output);
  CHECK(r.status == 0);
  struct stat st {};
  REQUIRE(::lstat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  std::string csv;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) {
    csv.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  CHECK(csv.rfind("index,status,exit_status,model.v0,m,file,error\n", 0) == 0);
  fs::remove_all(dir);
}

TEST_CASE("item 9: sweep merge skips an unreadable shard index, merges the rest, exits 1") {
  const fs::path good = scratch("merge_good");
  const fs::path bad = scratch("merge_bad");
  const fs::path out = scratch("merge_both");
  (void)makeFolder(good);
  {
    std::ofstream f(bad / "index.h5", std::ios::binary);
    f << std::string("\x89HDF\r\n\x1a\n", 8) << std::string(4000, '\x7f');  // a corrupt index
  }
  const test::Run r =
      test::run("sweep merge " + bad.string() + " " + good.string() + " -o " + out.string());
  CAPTURE(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.find("error: " + (bad / "index.h5").string() + ": ") != std::string::npos);
  CHECK(r.output.find("3 complete, 0 failed, 0 pending") != std::string::npos);
  const IndexTable merged = readIndexFile(out / "index.h5");
  CHECK(merged.status == std::vector<std::string>{"complete", "complete", "complete"});
  for (const auto& d : {good, bad, out}) fs::remove_all(d);
}
