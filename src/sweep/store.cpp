#include "sweep/store.hpp"


#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "io/hdf5.hpp"
#include "io/output_file.hpp"
#include "sweep/index.hpp"

namespace fs = std::filesystem;

namespace ecramsim::sweep {

PointEnd classifyPointEnd(bool cancelled, int exitCode, bool signalled, bool fileComplete) {
  const bool interrupted = cancelled && (exitCode == 130 || signalled);
  if (fileComplete && (exitCode == 0 || interrupted)) return PointEnd::Complete;
  return interrupted ? PointEnd::Interrupted : PointEnd::Failed;
}

std::string_view statusName(PointStatus status) {
  switch (status) {
    case PointStatus::Complete: return "complete";
    case PointStatus::Failed: return "failed";
    case PointStatus::Pending: break;
  }
  return "pending";
}

namespace {

std::string withExtension(std::string name, const std::string& ext) {
  return name.substr(0, name.size() - 3) + ext;  // pointFileName() ends in ".h5"
}

const std::string* stringAttr(const ResultTree& tree, const std::string& key) {
  auto g = tree.groupAttrs().find("/");
  if (g == tree.groupAttrs().end()) return nullptr;
  auto a = g->second.find(key);
  if (a == g->second.end()) return nullptr;
  return std::get_if<std::string>(&a->second);
}

}  // namespace

std::string failureFileName(std::size_t index, std::size_t totalPoints) {
  return withExtension(pointFileName(index, totalPoints), ".err");
}

std::string logFileName(std::size_t index, std::size_t totalPoints) {
  return withExtension(pointFileName(index, totalPoints), ".log");
}

PointRecord readPointRecord(const fs::path& dir, const Spec& spec, const Point& point,
                            std::size_t totalPoints) {
  PointRecord r;
  r.index = point.index;
  const fs::path file = dir / pointFileName(point.index, totalPoints);
  std::error_code ec;
  if (fs::exists(file, ec)) {
    try {
      const ResultTree tree = io::readResultFile(file);
      const std::string* status = stringAttr(tree, "status");
      const std::string* cl = stringAttr(tree, "command_line");
      const std::string expected = " " + joinArguments(pointArguments(spec, point)) + " -o ";
      if (status != nullptr && *status == "complete" && cl != nullptr &&
          cl->find(expected) != std::string::npos) {
        r.status = PointStatus::Complete;
        r.exitStatus = 0;
        r.metrics = tree.metrics();
        return r;
      }
    } catch (const Error& e) {
      r.error = e.what();  // unreadable (corrupt, crafted): pending, run again; the index says why
    }
  }
  std::ifstream err(dir / failureFileName(point.index, totalPoints));
  if (err) {
    std::string head;
    std::getline(err, head);
    if (head.rfind("exit_status ", 0) == 0) {
      r.status = PointStatus::Failed;
      r.exitStatus = std::atoi(head.c_str() + 12);
      std::ostringstream rest;
      rest << err.rdbuf();
      r.error = rest.str();
      while (!r.error.empty() && (r.error.back() == '\n' || r.error.back() == '\r')) r.error.pop_back();
    }
  }
  return r;
}

void writeFailure(const fs::path& dir, std::size_t index, std::size_t totalPoints, int exitStatus,
                  const std::string& message) {
  const fs::path path = dir / failureFileName(index, totalPoints);
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  io::writeTextFile(path, "exit_status " + std::to_string(exitStatus) + "\n" + message + "\n");
}

void clearFailure(const fs::path& dir, std::size_t index, std::size_t totalPoints) {
  std::error_code ec;
  fs::remove(dir / failureFileName(index, totalPoints), ec);
}

std::size_t removeStrayTemporaries(const fs::path& dir, const std::vector<std::size_t>& indices,
                                   std::size_t totalPoints, const std::string& indexName) {
  std::set<std::string> stems;  // "p00007."
  for (std::size_t i : indices) {
    const std::string name = fs::path(pointFileName(i, totalPoints)).filename().string();
    stems.insert(name.substr(0, name.size() - 2));
  }
  std::size_t removed = 0;
  std::error_code ec;
  auto isTemp = [](const std::string& name) { return name.find(".tmp-") != std::string::npos; };
  for (const auto& e : fs::directory_iterator(dir / "points", ec)) {
    const std::string name = e.path().filename().string();
    if (!isTemp(name)) continue;
    const auto dot = name.find('.');
    if (dot == std::string::npos || stems.count(name.substr(0, dot + 1)) == 0) continue;
    std::error_code rec;
    if (fs::remove(e.path(), rec)) ++removed;
  }
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(indexName + ".tmp-", 0) == 0) {
      std::error_code rec;
      if (fs::remove(e.path(), rec)) ++removed;
    }
  }
  return removed;
}

std::string lastLines(const fs::path& file, std::size_t maxLines) {
  std::ifstream in(file);
  if (!in) return {};
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  std::string out;
  const std::size_t first = lines.size() > maxLines ? lines.size() - maxLines : 0;
  for (std::size_t i = first; i < lines.size(); ++i) out += (out.empty() ? "" : "\n") + lines[i];
  if (out.size() > 1000) out = "..." + out.substr(out.size() - 1000);
  return out;
}

namespace {

std::vector<fs::path> indexFilesIn(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("index", 0) == 0 && name.size() > 3 &&
        name.compare(name.size() - 3, 3, ".h5") == 0) {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

void checkFolderSpec(const fs::path& dir, const std::string& hash) {
  for (const auto& f : indexFilesIn(dir)) {
    const IndexTable t = readIndexFile(f);
    if (t.specHash != hash) {
      throw InputError({f.string(), 0}, "",
                       "this folder holds a sweep of another spec (" + t.specFile + ", hash " +
                           t.specHash + "; this spec's hash is " + hash +
                           "): use another output folder (-o), or delete this one to start over");
    }
  }
}

MergeResult mergeInto(const std::vector<fs::path>& inputs, const fs::path& outDir) {
  struct Source {
    fs::path dir;
    IndexTable table;
    fs::path file;
  };
  std::vector<Source> sources;
  MergeResult r;
  auto add = [&](const fs::path& dir, const fs::path& file) {
    try {
      sources.push_back({dir, readIndexFile(file), file});
    } catch (const IoError& e) {
      r.unreadable.emplace_back(e.what());
    }
  };
  for (const auto& in : inputs) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      const auto files = indexFilesIn(in);
      if (files.empty()) throw InputError({in.string(), 0}, "", "no index*.h5 in this folder");
      for (const auto& f : files) add(in, f);
    } else if (fs::exists(in, ec)) {
      add(in.parent_path().empty() ? fs::path(".") : in.parent_path(), in);
    } else {
      throw InputError({in.string(), 0}, "", "no such folder or index file");
    }
  }
  if (sources.empty() && !r.unreadable.empty()) throw IoError(r.unreadable.front());
  if (sources.empty()) throw InputError("sweep merge: no inputs");
  const Source& first = sources.front();
  for (const auto& s : sources) {
    if (s.table.specHash != first.table.specHash) {
      throw InputError({s.file.string(), 0}, "",
                       "holds another sweep (hash " + s.table.specHash + ") than " +
                           first.file.string() + " (hash " + first.table.specHash +
                           "); only shards of one spec can be merged");
    }
  }
  r.spec = parseSpecText(first.table.specText, first.table.specFile);
  r.points = generatePoints(r.spec);
  r.hash = specHash(r.spec, r.points);
  if (r.hash != first.table.specHash) {
    throw InputError({first.file.string(), 0}, "",
                     "its stored spec no longer gives its hash (made by another version?)");
  }
  checkFolderSpec(outDir, r.hash);
  const std::size_t total = r.points.size();
  std::error_code ec;
  fs::create_directories(outDir / "points", ec);
  for (const auto& s : sources) {
    if (fs::equivalent(s.dir, outDir, ec)) continue;
    for (std::int64_t idx : s.table.index) {
      const auto i = static_cast<std::size_t>(idx);
      if (i >= total) continue;
      if (readPointRecord(outDir, r.spec, r.points[i], total).status == PointStatus::Complete) {
        continue;
      }
      const PointRecord src = readPointRecord(s.dir, r.spec, r.points[i], total);
      if (src.status == PointStatus::Pending) continue;
      for (const std::string& name :
           {pointFileName(i, total), failureFileName(i, total), logFileName(i, total)}) {
        const fs::path from = s.dir / name, to = outDir / name;
        if (!fs::exists(from, ec)) {
          fs::remove(to, ec);  // e.g. a stale .err when the source point is complete
          continue;
        }
        io::OutputFile out(to);
        fs::copy_file(from, out.temporary(), fs::copy_options::overwrite_existing, ec);
        if (ec) throw IoError(to.string() + ": cannot copy from " + from.string());
        out.commit();
      }
      ++r.copied;
    }
  }
  return r;
}

}  // namespace ecramsim::sweep
