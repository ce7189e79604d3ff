#include <doctest/doctest.h>

#include <hdf5.h>
#include <hdf5_hl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "core/error.hpp"
#include "io/hdf5.hpp"
#include "io/result_export.hpp"

using namespace ecramsim;
namespace fs = std::filesystem;

namespace {
fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("ecramsim_axes_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

/// A waveform group: time (s), node names, a 3 x 2 node_v; a 2 x 3 map with index axes.
ResultTree waveTree() {
  ResultTree t;
  t.vector("/w/time", {0.0, 1e-3, 2.5e-3}, "s", "time points");
  t.strings("/w/node", {"a", "out,1"}, "node names");
  t.matrix("/w/node_v", 3, 2, {1.0, 2.0, 3.0, 4.0, 0.1, -5e-7}, "V", "node voltages");
  t.dimensions("/w/node_v", {"time", "node"});
  t.matrix("/maps/g_s", 2, 3, {1, 2, 3, 4, 5, 6}, "S", "a map");
  t.dimensions("/maps/g_s", {"row", "col"});
  t.vector("/maps/sub/g_row_s", {7, 8}, "S", "along the row axis of the group above");
  t.dimensions("/maps/sub/g_row_s", {"row"});
  return t;
}
}  // namespace

TEST_CASE("arrays get HDF5 dimension scales: named axes, coordinates, read back as dims") {
  const fs::path path = scratch("axes.h5");
  io::writeResultFile(waveTree(), path, {"test", 1, "2026-01-01T00:00:00Z", "complete"});
  {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    REQUIRE(f >= 0);
    const hid_t time = H5Dopen2(f, "/w/time", H5P_DEFAULT);
    const hid_t v = H5Dopen2(f, "/w/node_v", H5P_DEFAULT);
    const hid_t row = H5Dopen2(f, "/maps/row", H5P_DEFAULT);  // generated index coordinate
    CHECK(H5DSis_scale(time) > 0);
    CHECK(H5DSis_scale(row) > 0);
    CHECK(H5DSis_attached(v, time, 0) > 0);
    CHECK(H5DSget_num_scales(v, 1) == 1);
    std::int64_t rows[2] = {-1, -1};
    H5Dread(row, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows);
    CHECK(rows[0] == 0);
    CHECK(rows[1] == 1);
    CHECK(H5Lexists(f, "/maps/sub/row", H5P_DEFAULT) == 0);  // the group above holds it
    for (hid_t id : {time, v, row}) H5Dclose(id);
    H5Fclose(f);
  }
  const ResultTree r = io::readResultFile(path);
  CHECK(r.datasets().at("/w/node_v").dims == std::vector<std::string>{"time", "node"});
  CHECK(r.datasets().at("/w/time").dims == std::vector<std::string>{"time"});
  CHECK(r.datasets().at("/maps/sub/g_row_s").dims == std::vector<std::string>{"row"});
  CHECK(r.datasets().at("/maps/col").dims == std::vector<std::string>{"col"});
  const auto& attrs = r.datasets().at("/w/time").attrs;
  CHECK(attrs.count("CLASS") == 0);  // dimension-scale bookkeeping is not an attribute
  CHECK(std::get<std::string>(attrs.at("long_name")) == "time points");
  CHECK(std::get<std::string>(attrs.at("units")) == "s");
  CHECK(io::describeResultFile(path).find("/w/node_v  (3 x 2) float64 [V] along time x node") !=
        std::string::npos);
  // A tree read back is written again unchanged (a sweep merge or resume does this).
  const fs::path again = scratch("again.h5");
  io::writeResultFile(r, again, {"test", 1, "2026-01-01T00:00:00Z", "complete"});
  CHECK(io::readResultFile(again).datasets().at("/w/node_v").dims ==
        std::vector<std::string>{"time", "node"});
  fs::remove_all(path.parent_path());
}

TEST_CASE("an axis whose length differs from its coordinates is refused, no file left") {
  ResultTree t = waveTree();
  t.vector("/w/short", {1.0, 2.0}, "1");
  t.dimensions("/w/short", {"time"});  // time has 3 values
  const fs::path path = scratch("bad_axes.h5");
  CHECK_THROWS_AS(io::writeResultFile(t, path, {"test", 1, "", "complete"}), std::logic_error);
  CHECK_FALSE(fs::exists(path));
  CHECK_THROWS_AS(t.dimensions("/w/short", {"time", "node"}), std::logic_error);
  fs::remove_all(path.parent_path());
}

TEST_CASE("CSV export: a header with names and units, one column per node, shortest numbers") {
  const ResultTree t = waveTree();
  const io::CsvExport csv = io::csvOfGroup(t, "/w", "f.h5");
  CHECK(csv.rowAxis == "time");
  CHECK(csv.text ==
        "time [s],node_v.a [V],\"node_v.out,1 [V]\"\n"
        "0,1,2\n"
        "0.001,3,4\n"
        "0.0025,0.1,-5e-7\n");
  CHECK(csv.skipped.empty());  // /w/node labels the node_v columns
  CHECK(io::csvOfGroup(t, "/maps/g_s", "f.h5").text ==
        "g_s.0 [S],g_s.1 [S],g_s.2 [S]\n1,2,3\n4,5,6\n");
  // Read back from a file, the map has the index coordinates row and col.
  const fs::path path = scratch("csv.h5");
  io::writeResultFile(t, path, {"test", 1, "", "complete"});
  CHECK(io::csvOfGroup(io::readResultFile(path), "/maps", "csv.h5").text ==
        "row [1],g_s.0 [S],g_s.1 [S],g_s.2 [S]\n0,1,2,3\n1,4,5,6\n");
  fs::remove_all(path.parent_path());
  CHECK_THROWS_AS((void)io::csvOfGroup(t, "/nothing", "f.h5"), InputError);
}

TEST_CASE("ngspice raw export: ASCII and binary, one variable per node, source and cell state") {
  ResultTree t;
  t.vector("/waveforms/time_s", {0.0, 1e-3}, "s");
  t.strings("/waveforms/node_names", {"g"});
  t.matrix("/waveforms/node_v", 2, 1, {0.0, 5.0}, "V");
  t.strings("/waveforms/source_names", {"vg"});
  t.matrix("/waveforms/source_i_a", 2, 1, {0.0, -1e-9}, "A");
  t.strings("/waveforms/cell_names", {"n1"});
  for (const char* m : {"cell_x", "cell_g_s", "cell_i_ion_a", "cell_i_ds_a", "cell_v_gs_v",
                        "cell_v_gd_v"}) {
    t.matrix(std::string("/waveforms/") + m, 2, 1, {0.25, 1.0 / 3.0}, "1");
  }
  t.attribute("/waveforms", "analysis", std::string("tran"));
  const std::string ascii = io::rawOfRun(t, false, "run.h5");
  CHECK(ascii.find("Plotname: Transient Analysis\nFlags: real\nNo. Variables: 9\nNo. Points: 2\n"
                   "Variables:\n\t0\ttime\ttime\n\t1\tv(g)\tvoltage\n\t2\ti(vg)\tcurrent\n"
                   "\t3\tx(n1)\tnotype\n\t4\tg(n1)\tadmittance\n") != std::string::npos);
  CHECK(ascii.find("Values:\n 0\t0\n\t0\n\t0\n\t0.25\n") != std::string::npos);
  CHECK(ascii.find(" 1\t0.001\n\t5\n\t-1.0000000000000001e-09\n\t0.33333333333333331\n") !=
        std::string::npos);
  const std::string binary = io::rawOfRun(t, true, "run.h5");
  const std::size_t data = binary.find("Binary:\n") + 8;
  REQUIRE(binary.size() == data + 2 * 9 * sizeof(double));
  double x1 = 0;  // point 1, variable 3
  std::memcpy(&x1, binary.data() + data + (9 + 3) * sizeof(double), sizeof x1);
  CHECK(x1 == 1.0 / 3.0);
  ResultTree notRun;
  notRun.vector("/pulses/g_s", {1.0}, "S");
  CHECK_THROWS_AS((void)io::rawOfRun(notRun, false, "dev.h5"), InputError);
}
