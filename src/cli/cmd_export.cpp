#include <iostream>

#include "cli/common.hpp"
#include "core/error.hpp"
#include "io/output_file.hpp"
#include "io/result_export.hpp"

namespace ecramsim::cli {

void addResultExportCommand(CLI::App& app) {
  struct Options {
    std::string file, format, group, out;
    bool binary = false;
    bool quiet = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "export",
      "Write a result file in a format other tools read: CSV (spreadsheets, numpy, pandas) of "
      "one group, or an ngspice raw file of a `run` file's waveforms (ngspice's `load`, KiCad, "
      "waveform viewers).\n"
      "Examples: ecramsim export run.h5 --format csv --group /waveforms -o run.csv\n"
      "          ecramsim export run.h5 --format raw -o run.raw   (then in ngspice: load run.raw)");
  cmd->add_option("FILE", o->file, "HDF5 result file")->required();
  cmd->add_option("--format", o->format,
                  "csv: one row per point of the group's first axis (time, pulse, row...), a "
                  "header row with names and units; raw: ngspice raw file of /waveforms (time, "
                  "v(node), i(source), and x(cell), g(cell), i_ion, i_ds, v_gs, v_gd per cell)")
      ->check(CLI::IsMember({"csv", "raw"}))
      ->required();
  cmd->add_option("--group", o->group,
                  "csv: the group (or one dataset) to write, e.g. /waveforms, /maps, /training "
                  "(default: /waveforms)")
      ->default_str("/waveforms");
  cmd->add_flag("--binary", o->binary,
                "raw: binary values (float64) instead of ASCII; both load in ngspice");
  cmd->add_option("-o,--out", o->out, "File to write (default: stdout)");
  cmd->add_flag("-q,--quiet", o->quiet, "No notes on stderr (arrays left out of the CSV)");
  cmd->callback([o] {
    const ResultTree tree = io::readResultFile(o->file);
    std::string text;
    if (o->format == "csv") {
      if (o->binary) throw InputError({}, "--binary", "applies to --format raw only");
      const std::string group = o->group.empty() ? "/waveforms" : o->group;
      const io::CsvExport csv = io::csvOfGroup(tree, group, o->file);
      if (!o->quiet) {
        for (const auto& p : csv.skipped) {
          std::cerr << "export: " << p << " left out (not along the row axis " << csv.rowAxis
                    << "; name it with --group)\n";
        }
      }
      text = csv.text;
    } else {
      if (!o->group.empty() && o->group != "/waveforms") {
        throw InputError({}, "--group", "a raw file always holds /waveforms");
      }
      text = io::rawOfRun(tree, o->binary, o->file);
    }
    if (o->out.empty()) {
      std::cout << text << std::flush;
    } else {
      io::writeTextFile(o->out, text);
    }
  });
}

}  // namespace ecramsim::cli
