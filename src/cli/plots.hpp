#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ecramsim::cli {

/// Runs a plot script of tools/plot/ with Debian's python (ECRAMSIM_PYTHON, overridable by the
/// environment variable of the same name) and the given arguments. Returns the exit status;
/// the script's output goes to stderr.
int runPlotScript(const std::string& script, const std::vector<std::string>& args, bool quiet);

}  // namespace ecramsim::cli
