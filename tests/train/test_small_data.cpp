/// Data too small for the train/test split is refused before training: the error names the
/// data file and the number of rows the split needs (not a test accuracy of 0 from no rows).

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "../support/cli.hpp"
#include "../support/mushroom.hpp"

namespace fs = std::filesystem;

using ecramsim::test::mushroomCopy;
using ecramsim::test::Run;
using ecramsim::test::run;

TEST_CASE("a one-row data file is refused, naming the file and the rows the split needs") {
  const fs::path dir = fs::temp_directory_path() / ("ecramsim_small_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path out = dir / "out.h5";
  const std::string common = " train mushroom -q --no-plot --epochs 1 -o " + out.string();
  struct Case {
    std::string file;
    int rows;
    std::string flags;
    std::string expect;
  };
  for (const Case& c : {Case{"one.csv", 1, "", "1 row is too few"},
                        Case{"three.csv", 3, " --folds 5", "3 rows are too few"}}) {
    const auto data = mushroomCopy(dir, c.file, c.rows);
    const Run r = run(common + c.flags + " --data " + data.string());
    CAPTURE(r.output);
    CHECK(r.status == 2);
    CHECK(r.output.find(data.string()) != std::string::npos);
    CHECK(r.output.find(c.expect) != std::string::npos);
  }
  // The rows the split needs: round(0.2 n) >= 1 test row and one training row; one per fold.
  CHECK(run(common + " --data " + mushroomCopy(dir, "one.csv", 1).string())
            .output.find("at least 3 rows of one class") != std::string::npos);
  CHECK(run(common + " --folds 5 --data " + mushroomCopy(dir, "three.csv", 3).string())
            .output.find("at least 5 rows of one class") != std::string::npos);
  CHECK_FALSE(fs::exists(out));
  fs::remove_all(dir);
}
