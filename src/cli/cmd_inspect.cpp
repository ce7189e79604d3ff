#include <iostream>

#include "cli/common.hpp"

namespace ecramsim::cli {

void addInspectCommand(CLI::App& app) {
  struct Options {
    std::string file;
    CommonFlags flags;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "inspect", "Print what an ecramsim HDF5 file holds: root attributes, datasets, units");
  cmd->add_option("FILE", o->file, "HDF5 result file")->required();
  addCommonFlags(*cmd, o->flags);
  cmd->callback([o] {
    if (o->flags.json) {
      const ResultTree tree = io::readResultFile(o->file);
      printJsonSummary(o->file, tree);
    } else {
      std::cout << io::describeResultFile(o->file);
    }
  });
}

}  // namespace ecramsim::cli
