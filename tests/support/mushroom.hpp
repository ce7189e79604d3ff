#pragma once
/// A cut of the shipped mushroom table for tests that need a small or a broken data file.

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace ecramsim::test {

/// Writes dir/name: the header and the first `rows` data lines of data/mushroom.csv, edited by
/// `edit` when given. Returns the path.
inline std::filesystem::path mushroomCopy(
    const std::filesystem::path& dir, const std::string& name, int rows,
    const std::function<void(std::vector<std::string>&)>& edit = {}) {
  std::ifstream in(std::string(ECRAMSIM_SOURCE_DIR) + "/data/mushroom.csv");
  std::vector<std::string> lines;
  std::string line;
  while (static_cast<int>(lines.size()) <= rows && std::getline(in, line)) lines.push_back(line);
  if (edit) edit(lines);
  const std::filesystem::path p = dir / name;
  std::ofstream out(p);
  for (const auto& l : lines) out << l << "\n";
  return p;
}

}  // namespace ecramsim::test
