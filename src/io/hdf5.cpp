#include "io/hdf5.hpp"

#include <H5Cpp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <functional>
#include <optional>
#include <sstream>

#include "core/error.hpp"
#include "core/units.hpp"
#include "core/version.hpp"

namespace ecramsim::io {

namespace {

H5::StrType varString() {
  H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
  t.setCset(H5T_CSET_UTF8);
  return t;
}

void writeAttr(H5::H5Object& obj, const std::string& key, const AttrValue& value) {
  H5::DataSpace scalar(H5S_SCALAR);
  if (const auto* d = std::get_if<double>(&value)) {
    obj.createAttribute(key, H5::PredType::NATIVE_DOUBLE, scalar)
        .write(H5::PredType::NATIVE_DOUBLE, d);
  } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
    obj.createAttribute(key, H5::PredType::NATIVE_INT64, scalar)
        .write(H5::PredType::NATIVE_INT64, i);
  } else {
    const auto& s = std::get<std::string>(value);
    const H5::StrType t = varString();
    const char* ptr = s.c_str();
    obj.createAttribute(key, t, scalar).write(t, &ptr);
  }
}

/// Opens the group at `path`, creating it and every missing group above it.
H5::Group ensureGroup(H5::H5File& file, const std::string& path) {
  if (path == "/" || path.empty()) return file.openGroup("/");
  std::string cur;
  std::size_t start = 1;
  while (start <= path.size()) {
    const std::size_t slash = path.find('/', start);
    cur = path.substr(0, slash);
    if (!file.nameExists(cur)) file.createGroup(cur);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return file.openGroup(path);
}

std::string parentOf(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == 0 ? std::string("/") : path.substr(0, slash);
}

/// Values per write call of a large dataset: between calls the run's cancel token is checked, so
/// a long compressed write can be interrupted (Interrupted is thrown).
constexpr hsize_t kSlabValues = hsize_t{1} << 20;

/// Writes row-major `v` of shape `dims` into `ds` in slabs of whole chunks along the first axis
/// (`chunkRows` rows per chunk, 0 when not chunked).
template <typename T>
void writeSlabs(H5::DataSet& ds, const std::vector<T>& v, const std::vector<hsize_t>& dims,
                hsize_t chunkRows, const H5::PredType& type, const CancelToken* cancel) {
  const auto check = [cancel] {
    if (cancel != nullptr) cancel->throwIfCancelled();
  };
  if (dims.empty() || chunkRows == 0 || v.size() <= kSlabValues) {
    check();
    ds.write(v.data(), type);
    return;
  }
  const hsize_t rowValues = std::max<hsize_t>(v.size() / std::max<hsize_t>(dims[0], 1), 1);
  const hsize_t rowsPerSlab = chunkRows * std::max<hsize_t>(kSlabValues / (chunkRows * rowValues), 1);
  H5::DataSpace fileSpace = ds.getSpace();
  std::vector<hsize_t> start(dims.size(), 0), count = dims;
  for (hsize_t r0 = 0; r0 < dims[0]; r0 += rowsPerSlab) {
    check();
    start[0] = r0;
    count[0] = std::min(rowsPerSlab, dims[0] - r0);
    fileSpace.selectHyperslab(H5S_SELECT_SET, count.data(), start.data());
    const H5::DataSpace mem(static_cast<int>(count.size()), count.data());
    ds.write(v.data() + r0 * rowValues, type, mem, fileSpace);
  }
}

void writeDataset(H5::H5File& file, const std::string& path, const Dataset& d,
                  const CancelToken* cancel) {
  ensureGroup(file, parentOf(path));
  std::vector<hsize_t> dims(d.shape.begin(), d.shape.end());
  H5::DataSpace space = dims.empty() ? H5::DataSpace(H5S_SCALAR)
                                     : H5::DataSpace(static_cast<int>(dims.size()), dims.data());
  hsize_t count = 1;
  for (hsize_t n : dims) count *= n;
  H5::DSetCreatPropList dcpl;
  hsize_t chunkRows = 0;
  if (!dims.empty() && count > 64) {
    // Chunks of about 64 KiB along the first axis; whole rows kept together.
    std::vector<hsize_t> chunk = dims;
    hsize_t rowValues = 1;
    for (std::size_t k = 1; k < dims.size(); ++k) rowValues *= std::max<hsize_t>(dims[k], 1);
    chunk[0] = std::clamp<hsize_t>(8192 / std::max<hsize_t>(rowValues, 1), 1,
                                   std::max<hsize_t>(dims[0], 1));
    for (auto& c : chunk) c = std::max<hsize_t>(c, 1);
    chunkRows = chunk[0];
    dcpl.setChunk(static_cast<int>(chunk.size()), chunk.data());
    dcpl.setShuffle();
    dcpl.setDeflate(4);
  }
  H5::DataSet ds;
  if (const auto* v = std::get_if<std::vector<double>>(&d.data)) {
    ds = file.createDataSet(path, H5::PredType::NATIVE_DOUBLE, space, dcpl);
    if (!v->empty()) writeSlabs(ds, *v, dims, chunkRows, H5::PredType::NATIVE_DOUBLE, cancel);
  } else if (const auto* iv = std::get_if<std::vector<std::int64_t>>(&d.data)) {
    ds = file.createDataSet(path, H5::PredType::NATIVE_INT64, space, dcpl);
    if (!iv->empty()) writeSlabs(ds, *iv, dims, chunkRows, H5::PredType::NATIVE_INT64, cancel);
  } else {
    const auto& sv = std::get<std::vector<std::string>>(d.data);
    std::vector<const char*> ptrs;
    ptrs.reserve(sv.size());
    for (const auto& s : sv) ptrs.push_back(s.c_str());
    const H5::StrType t = varString();
    ds = file.createDataSet(path, t, space, dcpl);
    if (!ptrs.empty()) ds.write(ptrs.data(), t);
  }
  for (const auto& [k, val] : d.attrs) writeAttr(ds, k, val);
}

}  // namespace

std::string isoTimeNow() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

void writeResultFile(const ResultTree& tree, const std::filesystem::path& path,
                     const RunInfo& info) {
  namespace fs = std::filesystem;
  const fs::path tmp = path.string() + ".tmp-" + std::to_string(::getpid());
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  try {
    H5::Exception::dontPrint();
    H5::H5File file(tmp.string(), H5F_ACC_TRUNC);
    H5::Group root = file.openGroup("/");
    writeAttr(root, "tool_version", std::string(kToolVersion));
    writeAttr(root, "schema_version", static_cast<std::int64_t>(kSchemaVersion));
    writeAttr(root, "command_line", info.commandLine);
    writeAttr(root, "seed", static_cast<std::int64_t>(info.seed));
    writeAttr(root, "start_time", info.startTime);
    writeAttr(root, "status", info.status);
    writeAttr(root, "matrix_order", std::string("row-major (C order)"));
    for (const auto& [p, d] : tree.datasets()) writeDataset(file, p, d, info.cancel);
    for (const auto& [p, attrs] : tree.groupAttrs()) {
      H5::Group g = ensureGroup(file, p);
      for (const auto& [k, v] : attrs) {
        if (p == "/" && g.attrExists(k)) g.removeAttr(k);
        writeAttr(g, k, v);
      }
    }
    for (const auto& [p, link] : tree.externalLinks()) {
      H5::Group g = ensureGroup(file, parentOf(p));
      const std::string name = p.substr(p.rfind('/') + 1);
      if (H5Lcreate_external(link.file.c_str(), link.object.c_str(), g.getId(), name.c_str(),
                             H5P_DEFAULT, H5P_DEFAULT) < 0) {
        throw H5::Exception("H5Lcreate_external", "cannot create the external link " + p);
      }
    }
    file.close();
  } catch (const H5::Exception& e) {
    fs::remove(tmp, ec);
    throw IoError(path.string() + ": cannot write HDF5 file: " + e.getDetailMsg());
  } catch (const Interrupted&) {
    fs::remove(tmp, ec);
    throw;
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw IoError(path.string() + ": cannot move the finished file into place: " + ec.message());
  }
}

namespace {

AttrValue readAttr(const H5::Attribute& a) {
  const H5T_class_t cls = a.getTypeClass();
  if (cls == H5T_FLOAT) {
    double v = 0;
    a.read(H5::PredType::NATIVE_DOUBLE, &v);
    return v;
  }
  if (cls == H5T_INTEGER) {
    std::int64_t v = 0;
    a.read(H5::PredType::NATIVE_INT64, &v);
    return v;
  }
  std::string s;
  a.read(a.getStrType(), s);
  return s;
}

void readAttrs(const H5::H5Object& obj, std::map<std::string, AttrValue>& out) {
  const int n = obj.getNumAttrs();
  for (int i = 0; i < n; ++i) {
    H5::Attribute a = obj.openAttribute(static_cast<unsigned>(i));
    out[a.getName()] = readAttr(a);
  }
}

Dataset readDataset(const H5::DataSet& ds) {
  Dataset d;
  H5::DataSpace space = ds.getSpace();
  const int rank = space.getSimpleExtentNdims();
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0) space.getSimpleExtentDims(dims.data());
  hsize_t count = 1;
  for (hsize_t n : dims) count *= n;
  d.shape.assign(dims.begin(), dims.end());
  const H5T_class_t cls = ds.getTypeClass();
  if (cls == H5T_FLOAT) {
    std::vector<double> v(count);
    if (count > 0) ds.read(v.data(), H5::PredType::NATIVE_DOUBLE);
    d.data = std::move(v);
  } else if (cls == H5T_INTEGER) {
    std::vector<std::int64_t> v(count);
    if (count > 0) ds.read(v.data(), H5::PredType::NATIVE_INT64);
    d.data = std::move(v);
  } else {
    const H5::StrType t = varString();
    std::vector<char*> ptrs(count, nullptr);
    if (count > 0) ds.read(ptrs.data(), t);
    std::vector<std::string> v;
    for (char* p : ptrs) v.emplace_back(p ? p : "");
    if (count > 0) H5::DataSet::vlenReclaim(ptrs.data(), t, space);
    d.data = std::move(v);
  }
  readAttrs(ds, d.attrs);
  return d;
}

/// The target of the external link `name` in `g`, or nothing if it is not an external link.
std::optional<ExternalLink> externalLinkOf(const H5::Group& g, const std::string& name) {
  H5L_info_t info{};
  if (H5Lget_info(g.getId(), name.c_str(), &info, H5P_DEFAULT) < 0 ||
      info.type != H5L_TYPE_EXTERNAL) {
    return std::nullopt;
  }
  std::vector<char> buf(info.u.val_size);
  const char* file = nullptr;
  const char* object = nullptr;
  unsigned flags = 0;
  if (H5Lget_val(g.getId(), name.c_str(), buf.data(), buf.size(), H5P_DEFAULT) < 0 ||
      H5Lunpack_elink_val(buf.data(), buf.size(), &flags, &file, &object) < 0) {
    throw H5::Exception("H5Lget_val", "cannot read the external link " + name);
  }
  return ExternalLink{file ? file : "", object ? object : ""};
}

void walk(const H5::Group& g, const std::string& path,
          std::map<std::string, Dataset>& datasets,
          std::map<std::string, std::map<std::string, AttrValue>>& groups,
          std::map<std::string, ExternalLink>& links) {
  readAttrs(g, groups[path.empty() ? "/" : path]);
  const hsize_t n = g.getNumObjs();
  for (hsize_t i = 0; i < n; ++i) {
    const std::string name = g.getObjnameByIdx(i);
    const std::string child = path + "/" + name;
    if (auto link = externalLinkOf(g, name)) {  // listed, not followed
      links[child] = *link;
      continue;
    }
    const H5G_obj_t type = g.getObjTypeByIdx(i);
    if (type == H5G_GROUP) {
      walk(g.openGroup(name), child, datasets, groups, links);
    } else if (type == H5G_DATASET) {
      datasets[child] = readDataset(g.openDataSet(name));
    }
  }
}

std::string attrText(const AttrValue& v) {
  if (const auto* d = std::get_if<double>(&v)) return formatExact(*d);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  return std::get<std::string>(v);
}

}  // namespace

ResultTree readResultFile(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw IoError(path.string() + ": no such file");
  std::map<std::string, Dataset> datasets;
  std::map<std::string, std::map<std::string, AttrValue>> groups;
  std::map<std::string, ExternalLink> links;
  try {
    H5::Exception::dontPrint();
    H5::H5File file(path.string(), H5F_ACC_RDONLY);
    walk(file.openGroup("/"), "", datasets, groups, links);
  } catch (const H5::Exception& e) {
    throw IoError(path.string() + ": not a readable HDF5 file: " + e.getDetailMsg());
  }
  ResultTree tree;
  for (auto& [p, d] : datasets) {
    if (auto* v = std::get_if<std::vector<double>>(&d.data)) {
      if (p.rfind("/metrics/", 0) == 0 && d.shape.empty()) {
        const auto unit = d.attrs.count("units") ? attrText(d.attrs.at("units")) : "";
        const auto desc = d.attrs.count("description") ? attrText(d.attrs.at("description")) : "";
        tree.metric(p.substr(9), v->empty() ? 0.0 : v->front(), unit, desc);
      }
    }
    tree.dataset(p, std::move(d));
  }
  for (auto& [p, attrs] : groups) {
    for (auto& [k, v] : attrs) tree.attribute(p, k, v);
  }
  for (auto& [p, l] : links) tree.externalLink(p, l.file, l.object);
  return tree;
}

std::string describeResultFile(const std::filesystem::path& path) {
  const ResultTree tree = readResultFile(path);
  std::ostringstream out;
  out << path.string() << "\n";
  if (auto it = tree.groupAttrs().find("/"); it != tree.groupAttrs().end()) {
    for (const auto& [k, v] : it->second) out << "  @" << k << " = " << attrText(v) << "\n";
  }
  for (const auto& [p, d] : tree.datasets()) {
    out << p << "  ";
    if (d.shape.empty()) {
      out << "scalar";
    } else {
      out << "(";
      for (std::size_t k = 0; k < d.shape.size(); ++k) out << (k ? " x " : "") << d.shape[k];
      out << ")";
    }
    if (const auto* v = std::get_if<std::vector<double>>(&d.data)) {
      out << " float64";
      if (v->size() == 1) out << " = " << formatExact(v->front());
    } else if (std::holds_alternative<std::vector<std::int64_t>>(d.data)) {
      out << " int64";
    } else {
      out << " string";
    }
    if (auto u = d.attrs.find("units"); u != d.attrs.end()) out << " [" << attrText(u->second) << "]";
    if (auto ds = d.attrs.find("description"); ds != d.attrs.end()) {
      out << "  " << attrText(ds->second);
    }
    out << "\n";
  }
  for (const auto& [p, l] : tree.externalLinks()) {
    out << p << "  -> " << l.file << ":" << l.object << "  (external link)\n";
  }
  return out.str();
}

}  // namespace ecramsim::io
