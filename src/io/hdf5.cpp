#include "io/hdf5.hpp"

#include <H5Cpp.h>
#include <hdf5_hl.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <ctime>
#include <exception>
#include <functional>
#include <limits>
#include <sstream>
#include <utility>

#include "core/error.hpp"
#include "core/units.hpp"
#include "core/version.hpp"
#include "io/isolated.hpp"
#include "io/output_file.hpp"
#include "io/result_export.hpp"

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
  // netCDF's name for the description (xarray, ncdump and MATLAB's ncinfo show it).
  if (auto it = d.attrs.find("description"); it != d.attrs.end() && !d.attrs.count("long_name")) {
    writeAttr(ds, "long_name", it->second);
  }
}

/// The axes of a tree: every array's dimension names and the 1-D dataset holding each
/// dimension's coordinates (the dimension scale).
struct AxisPlan {
  std::map<std::string, std::vector<std::string>> scalesOf;  ///< array path -> scale per axis
  std::map<std::string, std::string> scales;                 ///< scale path -> dimension name
  std::map<std::string, std::size_t> generated;  ///< index coordinates to write: path -> length
};

std::string baseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

/// The coordinates of axis `name` (length `n`) of the array at `path`: a 1-D dataset of that
/// name in the array's group or a group above it (netCDF's scoping of dimensions), else an
/// index coordinate 0..n-1 generated in the array's group. A length that differs from the
/// coordinate's is a bug of the job that filled the tree (std::logic_error).
std::string scaleFor(const ResultTree& tree, AxisPlan& plan, const std::string& path,
                     const std::string& name, std::size_t n) {
  std::string group = parentOf(path);
  while (true) {
    const std::string candidate = (group == "/" ? "" : group) + "/" + name;
    std::size_t length = 0;
    bool found = false;
    if (auto it = tree.datasets().find(candidate); it != tree.datasets().end()) {
      if (it->second.shape.size() != 1) {
        throw std::logic_error(path + ": axis '" + name + "' names " + candidate +
                               ", which is not 1-D");
      }
      length = it->second.shape[0];
      found = true;
    } else if (auto g = plan.generated.find(candidate); g != plan.generated.end()) {
      length = g->second;
      found = true;
    }
    if (found) {
      if (length != n) {
        throw std::logic_error(path + ": axis '" + name + "' has " + std::to_string(n) +
                               " values, its coordinate " + candidate + " " +
                               std::to_string(length));
      }
      return candidate;
    }
    if (group == "/") break;
    group = parentOf(group);
  }
  const std::string made = (parentOf(path) == "/" ? "" : parentOf(path)) + "/" + name;
  plan.generated[made] = n;
  return made;
}

AxisPlan planAxes(const ResultTree& tree) {
  AxisPlan plan;
  for (const auto& [path, d] : tree.datasets()) {
    if (d.shape.empty()) continue;
    const std::vector<std::string> names = axisNames(path, d);
    if (names.size() != d.shape.size()) {
      throw std::logic_error(path + ": axis names do not match its rank");
    }
    std::vector<std::string>& scales = plan.scalesOf[path];
    for (std::size_t k = 0; k < names.size(); ++k) {
      scales.push_back(scaleFor(tree, plan, path, names[k], d.shape[k]));
      plan.scales[scales.back()] = names[k];
    }
  }
  for (const auto& [scale, name] : plan.scales) {
    const auto it = plan.scalesOf.find(scale);
    if (it != plan.scalesOf.end() && it->second != std::vector<std::string>{scale}) {
      throw std::logic_error(scale + " holds the coordinates of axis '" + name +
                             "' and cannot lie along another axis");
    }
  }
  return plan;
}

/// Writes the generated index coordinates of `plan`, then marks every coordinate dataset as
/// the dimension scale of its axis (H5DSset_scale) and attaches it to every array along it.
void writeAxes(H5::H5File& file, const AxisPlan& plan, const CancelToken* cancel) {
  for (const auto& [path, n] : plan.generated) {
    Dataset index;
    index.shape = {n};
    std::vector<std::int64_t> values(n);
    for (std::size_t i = 0; i < n; ++i) values[i] = static_cast<std::int64_t>(i);
    index.data = std::move(values);
    index.attrs["units"] = std::string("1");
    index.attrs["description"] = "index along the " + baseName(path) + " axis (from 0)";
    writeDataset(file, path, index, cancel);
  }
  std::map<std::string, H5::DataSet> open;
  for (const auto& [path, name] : plan.scales) {
    open[path] = file.openDataSet(path);
    if (H5DSset_scale(open[path].getId(), name.c_str()) < 0) {
      throw H5::Exception("H5DSset_scale", "cannot make " + path + " a dimension scale");
    }
  }
  for (const auto& [path, scales] : plan.scalesOf) {
    if (plan.scales.count(path)) continue;  // a coordinate: its own scale
    H5::DataSet ds = file.openDataSet(path);
    for (std::size_t k = 0; k < scales.size(); ++k) {
      if (H5DSattach_scale(ds.getId(), open.at(scales[k]).getId(), static_cast<unsigned>(k)) <
          0) {
        throw H5::Exception("H5DSattach_scale", "cannot attach " + scales[k] + " to " + path);
      }
    }
  }
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
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  OutputFile out(path);
  try {
    H5::Exception::dontPrint();
    H5::H5File file(out.temporary().string(), H5F_ACC_TRUNC);
    H5::Group root = file.openGroup("/");
    writeAttr(root, "tool_version", std::string(kToolVersion));
    writeAttr(root, "schema_version", static_cast<std::int64_t>(kSchemaVersion));
    writeAttr(root, "command_line", info.commandLine);
    writeAttr(root, "seed", static_cast<std::int64_t>(info.seed));
    writeAttr(root, "start_time", info.startTime);
    writeAttr(root, "status", info.status);
    writeAttr(root, "matrix_order", std::string("row-major (C order)"));
    const AxisPlan axes = planAxes(tree);
    for (const auto& [p, d] : tree.datasets()) writeDataset(file, p, d, info.cancel);
    writeAxes(file, axes, info.cancel);
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
    throw IoError(path.string() + ": cannot write HDF5 file: " + e.getDetailMsg());
  }  // Interrupted (info.cancel) propagates; ~OutputFile removes the temporary
  out.commit();
}

// Reading. Files are untrusted (a sweep folder may hold anything): every read goes through the
// C API with explicit checks, walks the tree with a depth limit and cycle detection, refuses
// datasets that declare far more data than the file holds, reads attributes in one pass, and
// runs in a forked child (io/isolated.hpp) so that a crash inside libhdf5 on a corrupt file
// becomes an IoError naming the file.

namespace {

constexpr int kMaxDepth = 32;                       ///< nested groups below the root
constexpr hsize_t kMaxAttributes = 1000;            ///< attributes read per object
constexpr hsize_t kSlackBytes = hsize_t{16} << 20;  ///< a dataset may declare this beyond storage
constexpr hsize_t kMaxCompression = 1100;           ///< deflate compresses at most 1032:1
constexpr hsize_t kMaxWidening = 8;                 ///< a 1-byte integer read as int64
constexpr std::size_t kStringBlock = 4096;          ///< variable-length strings read at once

/// A failed read of one object; withFile() prefixes the file name.
class ReadFailure : public std::runtime_error {
 public:
  ReadFailure(const std::string& object, const std::string& message)
      : std::runtime_error(object + ": " + message) {}
};

/// An HDF5 identifier, released on scope exit.
class Id {
 public:
  explicit Id(hid_t id) : id_(id) {}
  ~Id() {
    if (id_ >= 0) H5Idec_ref(id_);
  }
  Id(Id&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  Id& operator=(Id&&) = delete;
  [[nodiscard]] hid_t get() const { return id_; }
  [[nodiscard]] bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
};

/// `id`, or a ReadFailure if the call that made it failed.
hid_t check(const Id& id, const std::string& object, const char* what) {
  if (!id.valid()) throw ReadFailure(object, what);
  return id.get();
}

hsize_t saturatingProduct(hsize_t a, hsize_t b) {
  if (a != 0 && b > std::numeric_limits<hsize_t>::max() / a) {
    return std::numeric_limits<hsize_t>::max();
  }
  return a * b;
}

/// The dimensions of a dataspace ({} for a scalar) and its number of values (saturated).
struct Extent {
  std::vector<std::size_t> dims;
  hsize_t count = 1;
};

Extent extentOf(hid_t space, const std::string& object) {
  Extent e;
  const H5S_class_t cls = H5Sget_simple_extent_type(space);
  if (cls == H5S_SCALAR) return e;
  if (cls != H5S_SIMPLE) throw ReadFailure(object, "has no data (a null dataspace)");
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0 || rank > H5S_MAX_RANK) throw ReadFailure(object, "has an invalid rank");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0 && H5Sget_simple_extent_dims(space, dims.data(), nullptr) < 0) {
    throw ReadFailure(object, "has unreadable dimensions");
  }
  for (hsize_t n : dims) {
    e.count = saturatingProduct(e.count, n);
    e.dims.push_back(static_cast<std::size_t>(n));
  }
  return e;
}

enum class Kind { Float, Integer, String };

Kind kindOf(hid_t type, const std::string& object) {
  switch (H5Tget_class(type)) {
    case H5T_FLOAT: return Kind::Float;
    case H5T_INTEGER: return Kind::Integer;
    case H5T_STRING: return Kind::String;
    default: break;
  }
  throw ReadFailure(object, "has a type ecramsim does not read (not a number or a string)");
}

/// The type's name as `inspect` prints it: float64, int32, uint8, string, other.
std::string typeName(hid_t type) {
  const std::string bits = std::to_string(8 * H5Tget_size(type));
  switch (H5Tget_class(type)) {
    case H5T_FLOAT: return "float" + bits;
    case H5T_INTEGER: return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + bits;
    case H5T_STRING: return "string";
    default: break;
  }
  return "other";
}

/// A memory type for variable-length strings of the file type's character set.
Id variableStringType(hid_t fileType) {
  Id t(H5Tcopy(H5T_C_S1));
  if (t.valid()) {
    H5Tset_size(t.get(), H5T_VARIABLE);
    H5Tset_cset(t.get(), H5Tget_cset(fileType));
  }
  return t;
}

/// A fixed-length string of at most `size` bytes, ending at the first NUL.
std::string fixedString(const char* p, std::size_t size) {
  std::size_t n = 0;
  while (n < size && p[n] != '\0') ++n;
  return {p, n};
}

/// The value of a scalar (or one-element) attribute.
AttrValue readAttrValue(hid_t attr, const std::string& object) {
  Id space(H5Aget_space(attr));
  const Extent e = extentOf(check(space, object, "has no dataspace"), object);
  if (e.count != 1) {
    throw ReadFailure(object, "has " + std::to_string(e.count) +
                                  " values; ecramsim reads scalar attributes only");
  }
  Id type(H5Aget_type(attr));
  const hid_t ft = check(type, object, "has no type");
  switch (kindOf(ft, object)) {
    case Kind::Float: {
      double v = 0;
      if (H5Aread(attr, H5T_NATIVE_DOUBLE, &v) < 0) throw ReadFailure(object, "cannot be read");
      return v;
    }
    case Kind::Integer: {
      std::int64_t v = 0;
      if (H5Aread(attr, H5T_NATIVE_INT64, &v) < 0) throw ReadFailure(object, "cannot be read");
      return v;
    }
    case Kind::String: break;
  }
  if (H5Tis_variable_str(ft) > 0) {
    Id mem = variableStringType(ft);
    char* p = nullptr;
    if (H5Aread(attr, check(mem, object, "has a bad string type"), &p) < 0) {
      throw ReadFailure(object, "cannot be read");
    }
    std::string s = p != nullptr ? p : "";
    H5free_memory(p);
    return s;
  }
  const std::size_t size = H5Tget_size(ft);
  if (size == 0 || size > (std::size_t{1} << 20)) {
    throw ReadFailure(object, "is a string of " + std::to_string(size) + " bytes: refused");
  }
  Id mem(H5Tcopy(ft));
  std::vector<char> buf(size);
  if (H5Aread(attr, check(mem, object, "has a bad string type"), buf.data()) < 0) {
    throw ReadFailure(object, "cannot be read");
  }
  return fixedString(buf.data(), size);
}

/// The number of attributes of `obj`.
hsize_t attrCount(hid_t obj, const std::string& object) {
  H5O_info_t info{};
  if (H5Oget_info2(obj, &info, H5O_INFO_NUM_ATTRS) < 0) {
    throw ReadFailure(object, "cannot be examined");
  }
  return info.num_attrs;
}

/// Calls `each(name, attr)` for the first `atMost` attributes of `obj` (by name), in one pass:
/// opening attributes by index costs a pass over all of them per attribute.
void forEachAttr(hid_t obj, const std::string& object, hsize_t atMost,
                 const std::function<void(const std::string&, hid_t)>& each) {
  struct State {
    const std::function<void(const std::string&, hid_t)>* each;
    hsize_t left;
    std::exception_ptr error;
  } state{&each, atMost, nullptr};
  auto visit = [](hid_t loc, const char* name, const H5A_info_t*, void* data) -> herr_t {
    auto* st = static_cast<State*>(data);
    if (st->left == 0) return 1;
    --st->left;
    try {
      Id a(H5Aopen(loc, name, H5P_DEFAULT));
      if (!a.valid()) throw ReadFailure(std::string("@") + name, "cannot be opened");
      (*st->each)(name, a.get());
    } catch (...) {
      st->error = std::current_exception();
      return -1;
    }
    return 0;
  };
  hsize_t idx = 0;
  const herr_t rc = H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, visit, &state);
  if (state.error) std::rethrow_exception(state.error);
  if (rc < 0) throw ReadFailure(object, "has unreadable attributes");
}

void readAttrs(hid_t obj, const std::string& object, std::map<std::string, AttrValue>& out) {
  if (const hsize_t n = attrCount(obj, object); n > kMaxAttributes) {
    throw ReadFailure(object, "has " + std::to_string(n) + " attributes; ecramsim reads at most " +
                                  std::to_string(kMaxAttributes));
  }
  forEachAttr(obj, object, kMaxAttributes, [&](const std::string& name, hid_t a) {
    // Dimension-scale bookkeeping (object references): read as Dataset::dims instead.
    if (name == "DIMENSION_LIST" || name == "REFERENCE_LIST") return;
    out[name] = readAttrValue(a, object + " @" + name);
  });
}

/// The name of each axis of dataset `ds` (rank `rank`) from its dimension scales: a scale's
/// own name for a scale, {} when any axis has none.
std::vector<std::string> readDims(hid_t ds, const std::string& object, std::size_t rank,
                                  std::map<std::string, AttrValue>& attrs) {
  const auto lastPart = [](const std::string& p) { return p.substr(p.rfind('/') + 1); };
  if (rank == 0) return {};
  if (H5DSis_scale(ds) > 0) {
    attrs.erase("CLASS");  // written again by H5DSset_scale
    attrs.erase("NAME");
    return rank == 1 ? std::vector<std::string>{lastPart(object)} : std::vector<std::string>{};
  }
  if (H5Aexists(ds, "DIMENSION_LIST") <= 0) return {};
  std::vector<std::string> names;
  for (std::size_t k = 0; k < rank; ++k) {
    const auto axis = static_cast<unsigned>(k);
    if (H5DSget_num_scales(ds, axis) <= 0) return {};
    std::string name;
    auto visit = [](hid_t, unsigned, hid_t scale, void* data) -> herr_t {
      std::array<char, 1024> buf{};
      const ssize_t n = H5Iget_name(scale, buf.data(), buf.size());
      if (n <= 0) return -1;
      *static_cast<std::string*>(data) = buf.data();  // the last scale counts (as in netCDF)
      return 0;
    };
    if (H5DSiterate_scales(ds, axis, nullptr, visit, &name) < 0 || name.empty()) {
      throw ReadFailure(object, "has an unreadable dimension scale on axis " + std::to_string(k));
    }
    names.push_back(lastPart(name));
  }
  return names;
}

/// Memory a file may make us allocate, in all: what its datasets could hold at the highest
/// compression, plus some slack for small unwritten datasets.
class Budget {
 public:
  explicit Budget(hsize_t fileSize)
      : left_(4 * kSlackBytes + saturatingProduct(kMaxCompression, fileSize)) {}
  void take(hsize_t bytes, const std::string& object) {
    if (bytes > left_) {
      throw ReadFailure(object, "makes the file's data exceed what a file of its size can "
                                "hold: refused (corrupt or crafted)");
    }
    left_ -= bytes;
  }

 private:
  hsize_t left_;
};

/// Refuses a dataset that would need `bytes` of memory while holding far less in the file
/// (unwritten, or a corrupt or crafted size), and data kept outside the file.
void checkDeclaredSize(hid_t ds, const std::string& object, hsize_t bytes, Budget& budget) {
  Id dcpl(H5Dget_create_plist(ds));
  const H5D_layout_t layout = H5Pget_layout(check(dcpl, object, "has no creation properties"));
  if (layout == H5D_VIRTUAL || H5Pget_external_count(dcpl.get()) != 0) {
    throw ReadFailure(object, "keeps its data in other files: not read");
  }
  const hsize_t stored = H5Dget_storage_size(ds);
  const hsize_t ratio = layout == H5D_CHUNKED ? kMaxCompression : kMaxWidening;
  if (bytes > kSlackBytes && bytes > saturatingProduct(ratio, stored)) {
    throw ReadFailure(object, "declares " + std::to_string(bytes) + " bytes of data but the file " +
                                  "holds " + std::to_string(stored) +
                                  " bytes of it: refused (unwritten, corrupt or crafted)");
  }
  budget.take(bytes, object);
}

std::vector<std::string> readVariableStrings(hid_t ds, hid_t fileType, const Extent& e,
                                             const std::string& object, Budget& budget) {
  Id mem = variableStringType(fileType);
  Id fspace(H5Dget_space(ds));
  check(mem, object, "has a bad string type");
  check(fspace, object, "has no dataspace");
  // Blocks of whole rows along the first axis, about kStringBlock strings each.
  const hsize_t rows = e.dims.empty() ? 1 : e.dims[0];
  const hsize_t perRow = rows == 0 ? 0 : e.count / rows;
  const hsize_t step = std::max<hsize_t>(1, kStringBlock / std::max<hsize_t>(perRow, 1));
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(e.count));
  for (hsize_t r0 = 0; r0 < rows && perRow > 0; r0 += step) {
    hsize_t n = perRow;
    if (!e.dims.empty()) {
      std::vector<hsize_t> start(e.dims.size(), 0), count(e.dims.begin(), e.dims.end());
      start[0] = r0;
      count[0] = std::min(step, rows - r0);
      if (H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                              nullptr) < 0) {
        throw ReadFailure(object, "cannot be selected");
      }
      n = count[0] * perRow;
    }
    Id mspace(H5Screate_simple(1, &n, nullptr));
    std::vector<char*> ptrs(static_cast<std::size_t>(n), nullptr);
    if (H5Dread(ds, mem.get(), check(mspace, object, "cannot be read"),
                e.dims.empty() ? H5S_ALL : fspace.get(), H5P_DEFAULT, ptrs.data()) < 0) {
      throw ReadFailure(object, "cannot be read");
    }
    hsize_t bytes = 0;
    for (char* p : ptrs) {
      out.emplace_back(p != nullptr ? p : "");
      bytes += out.back().size();
    }
    H5Dvlen_reclaim(mem.get(), mspace.get(), H5P_DEFAULT, ptrs.data());
    budget.take(bytes, object);
  }
  return out;
}

Dataset readDataset(hid_t ds, const std::string& object, Budget& budget) {
  Dataset d;
  Id space(H5Dget_space(ds));
  const Extent e = extentOf(check(space, object, "has no dataspace"), object);
  d.shape = e.dims;
  Id type(H5Dget_type(ds));
  const hid_t ft = check(type, object, "has no type");
  const Kind kind = kindOf(ft, object);
  const bool variable = kind == Kind::String && H5Tis_variable_str(ft) > 0;
  const hsize_t width = kind == Kind::String && !variable ? H5Tget_size(ft) : 8;
  checkDeclaredSize(ds, object, saturatingProduct(e.count, width), budget);
  const auto n = static_cast<std::size_t>(e.count);
  if (kind == Kind::Float) {
    std::vector<double> v(n);
    if (n > 0 && H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0) {
      throw ReadFailure(object, "cannot be read");
    }
    d.data = std::move(v);
  } else if (kind == Kind::Integer) {
    std::vector<std::int64_t> v(n);
    if (n > 0 && H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0) {
      throw ReadFailure(object, "cannot be read");
    }
    d.data = std::move(v);
  } else if (variable) {
    d.data = readVariableStrings(ds, ft, e, object, budget);
  } else {
    const std::size_t size = H5Tget_size(ft);
    Id mem(H5Tcopy(ft));
    std::vector<char> buf(n * size);
    if (n > 0 && H5Dread(ds, check(mem, object, "has a bad string type"), H5S_ALL, H5S_ALL,
                         H5P_DEFAULT, buf.data()) < 0) {
      throw ReadFailure(object, "cannot be read");
    }
    std::vector<std::string> v;
    v.reserve(n);
    for (std::size_t i = 0; i < n; ++i) v.push_back(fixedString(buf.data() + i * size, size));
    d.data = std::move(v);
  }
  readAttrs(ds, object, d.attrs);
  d.dims = readDims(ds, object, d.shape.size(), d.attrs);
  return d;
}

/// The target of the external link `name` in group `g`.
ExternalLink externalLinkOf(hid_t g, const std::string& name, std::size_t size,
                            const std::string& object) {
  if (size == 0 || size > (std::size_t{1} << 16)) throw ReadFailure(object, "bad external link");
  std::vector<char> buf(size);
  const char* file = nullptr;
  const char* target = nullptr;
  unsigned flags = 0;
  if (H5Lget_val(g, name.c_str(), buf.data(), buf.size(), H5P_DEFAULT) < 0 ||
      H5Lunpack_elink_val(buf.data(), buf.size(), &flags, &file, &target) < 0) {
    throw ReadFailure(object, "is an unreadable external link");
  }
  return ExternalLink{file != nullptr ? file : "", target != nullptr ? target : ""};
}

/// What a walk reports: every group (the root as "/"), dataset and external link.
struct Visitor {
  std::function<void(const std::string& path, hid_t group)> group;
  std::function<void(const std::string& path, hid_t dataset)> dataset;
  std::function<void(const std::string& path, const ExternalLink& link)> link;
};

/// Visits the tree below the root once, depth first. External links are reported, not
/// followed; soft and hard links are followed. Refuses groups nested deeper than kMaxDepth, a
/// link back to an enclosing group (a cycle), and a second link to an object already visited.
class Walker {
 public:
  explicit Walker(const Visitor& v) : v_(v) {}

  void walk(hid_t file) {
    Id root(H5Gopen2(file, "/", H5P_DEFAULT));
    check(root, "/", "cannot open the root group");
    const Key k = keyOf(root.get(), "/");
    seen_[k] = "/";
    stack_.push_back(k);
    walkGroup(root.get(), "", 0);
  }

 private:
  struct Key {
    unsigned long fileno;
    haddr_t addr;
    auto operator<=>(const Key&) const = default;
  };
  struct Link {
    std::string name;
    H5L_type_t type;
    std::size_t valueSize;
  };

  static Key keyOf(hid_t obj, const std::string& object) {
    H5O_info_t info{};
    if (H5Oget_info2(obj, &info, H5O_INFO_BASIC) < 0) {
      throw ReadFailure(object, "cannot be examined");
    }
    return {info.fileno, info.addr};
  }

  void walkGroup(hid_t g, const std::string& path, int depth) {
    v_.group(path.empty() ? "/" : path, g);
    std::vector<Link> links;
    auto collect = [](hid_t, const char* name, const H5L_info_t* info, void* data) -> herr_t {
      try {
        static_cast<std::vector<Link>*>(data)->push_back(
            {name, info->type, info->type == H5L_TYPE_HARD ? 0 : info->u.val_size});
      } catch (...) {
        return -1;
      }
      return 0;
    };
    hsize_t idx = 0;
    if (H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, collect, &links) < 0) {
      throw ReadFailure(path.empty() ? "/" : path, "cannot list the group");
    }
    for (const Link& l : links) {
      const std::string child = path + "/" + l.name;
      if (l.type == H5L_TYPE_EXTERNAL) {  // listed, not followed
        v_.link(child, externalLinkOf(g, l.name, l.valueSize, child));
        continue;
      }
      if (l.type != H5L_TYPE_HARD && l.type != H5L_TYPE_SOFT) {
        throw ReadFailure(child, "is a link of an unknown kind");
      }
      Id obj(H5Oopen(g, l.name.c_str(), H5P_DEFAULT));
      check(obj, child, "cannot be opened (a dangling link or a corrupt object)");
      const Key k = keyOf(obj.get(), child);
      if (std::find(stack_.begin(), stack_.end(), k) != stack_.end()) {
        throw ReadFailure(child, "links back to an enclosing group (a cycle): refused");
      }
      if (auto [it, fresh] = seen_.emplace(k, child); !fresh) {
        throw ReadFailure(child, "is a second link to " + it->second + ": refused");
      }
      const H5I_type_t type = H5Iget_type(obj.get());
      if (type == H5I_GROUP) {
        if (depth + 1 > kMaxDepth) {
          throw ReadFailure(child, "lies more than " + std::to_string(kMaxDepth) +
                                       " groups deep: refused");
        }
        stack_.push_back(k);
        walkGroup(obj.get(), child, depth + 1);
        stack_.pop_back();
      } else if (type == H5I_DATASET) {
        v_.dataset(child, obj.get());
      }
    }
  }

  const Visitor& v_;
  std::map<Key, std::string> seen_;  ///< every object visited, with its first path
  std::vector<Key> stack_;           ///< the groups enclosing the current one
};

/// Opens `path` read-only and runs `read` on it; every failure is an IoError naming the file.
template <typename Read>
auto withFile(const std::filesystem::path& path, Read&& read) {
  try {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    if (!file.valid()) throw ReadFailure("/", "cannot be opened");
    return read(file.get());
  } catch (const ReadFailure& e) {
    throw IoError(path.string() + ": not a readable ecramsim HDF5 file: " + e.what());
  } catch (const std::bad_alloc&) {
    throw IoError(path.string() +
                  ": cannot be read within the memory allowed for a file of its size (corrupt?)");
  } catch (const std::exception& e) {
    throw IoError(path.string() + ": cannot be read: " + e.what());
  }
}

struct RawTree {
  std::map<std::string, Dataset> datasets;
  std::map<std::string, std::map<std::string, AttrValue>> groups;
  std::map<std::string, ExternalLink> links;
};

RawTree readRaw(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  Budget budget(ec ? 0 : size);
  return withFile(path, [&](hid_t file) {
    RawTree t;
    Visitor v;
    v.group = [&](const std::string& p, hid_t g) { readAttrs(g, p, t.groups[p]); };
    v.dataset = [&](const std::string& p, hid_t ds) { t.datasets[p] = readDataset(ds, p, budget); };
    v.link = [&](const std::string& p, const ExternalLink& l) { t.links[p] = l; };
    Walker(v).walk(file);
    return t;
  });
}

// A RawTree as bytes, to come back from the reader process.
class Packer {
 public:
  void u64(std::uint64_t v) { out_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void str(const std::string& s) {
    u64(s.size());
    out_ += s;
  }
  template <typename T>
  void raw(const std::vector<T>& v) {
    u64(v.size());
    out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  void attr(const AttrValue& a) {
    u64(a.index());
    if (const auto* d = std::get_if<double>(&a)) {
      raw(std::vector<double>{*d});
    } else if (const auto* i = std::get_if<std::int64_t>(&a)) {
      raw(std::vector<std::int64_t>{*i});
    } else {
      str(std::get<std::string>(a));
    }
  }
  void attrs(const std::map<std::string, AttrValue>& m) {
    u64(m.size());
    for (const auto& [k, v] : m) {
      str(k);
      attr(v);
    }
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Unpacker {
 public:
  explicit Unpacker(const std::string& in) : in_(in) {}
  std::uint64_t u64() {
    std::uint64_t v = 0;
    std::memcpy(&v, bytes(sizeof v), sizeof v);
    return v;
  }
  std::string str() {
    const std::uint64_t n = u64();
    return {bytes(n), static_cast<std::size_t>(n)};
  }
  template <typename T>
  std::vector<T> raw() {
    const std::uint64_t n = u64();
    if (n > in_.size() / sizeof(T)) throw std::length_error("truncated");
    std::vector<T> v(static_cast<std::size_t>(n));
    if (n > 0) std::memcpy(v.data(), bytes(n * sizeof(T)), n * sizeof(T));
    return v;
  }
  AttrValue attr() {
    switch (u64()) {
      case 0: return raw<double>().at(0);
      case 1: return raw<std::int64_t>().at(0);
      default: break;
    }
    return str();
  }
  std::map<std::string, AttrValue> attrs() {
    std::map<std::string, AttrValue> m;
    for (std::uint64_t n = u64(); n > 0; --n) {
      std::string k = str();
      m[k] = attr();
    }
    return m;
  }

 private:
  const char* bytes(std::uint64_t n) {
    if (n > in_.size() - pos_) throw std::length_error("truncated");
    const char* p = in_.data() + pos_;
    pos_ += static_cast<std::size_t>(n);
    return p;
  }
  const std::string& in_;
  std::size_t pos_ = 0;
};

std::string pack(const RawTree& t) {
  Packer p;
  p.u64(t.datasets.size());
  for (const auto& [path, d] : t.datasets) {
    p.str(path);
    std::vector<std::uint64_t> shape(d.shape.begin(), d.shape.end());
    p.raw(shape);
    p.u64(d.data.index());
    if (const auto* v = std::get_if<std::vector<double>>(&d.data)) {
      p.raw(*v);
    } else if (const auto* iv = std::get_if<std::vector<std::int64_t>>(&d.data)) {
      p.raw(*iv);
    } else {
      const auto& sv = std::get<std::vector<std::string>>(d.data);
      p.u64(sv.size());
      for (const auto& s : sv) p.str(s);
    }
    p.attrs(d.attrs);
    p.u64(d.dims.size());
    for (const auto& n : d.dims) p.str(n);
  }
  p.u64(t.groups.size());
  for (const auto& [path, attrs] : t.groups) {
    p.str(path);
    p.attrs(attrs);
  }
  p.u64(t.links.size());
  for (const auto& [path, l] : t.links) {
    p.str(path);
    p.str(l.file);
    p.str(l.object);
  }
  return p.take();
}

RawTree unpack(const std::string& bytes) {
  Unpacker u(bytes);
  RawTree t;
  for (std::uint64_t n = u.u64(); n > 0; --n) {
    const std::string path = u.str();
    Dataset d;
    for (std::uint64_t s : u.raw<std::uint64_t>()) d.shape.push_back(static_cast<std::size_t>(s));
    switch (u.u64()) {
      case 0: d.data = u.raw<double>(); break;
      case 1: d.data = u.raw<std::int64_t>(); break;
      default: {
        std::vector<std::string> sv;
        for (std::uint64_t k = u.u64(); k > 0; --k) sv.push_back(u.str());
        d.data = std::move(sv);
      }
    }
    d.attrs = u.attrs();
    for (std::uint64_t k = u.u64(); k > 0; --k) d.dims.push_back(u.str());
    t.datasets[path] = std::move(d);
  }
  for (std::uint64_t n = u.u64(); n > 0; --n) {
    const std::string path = u.str();
    t.groups[path] = u.attrs();
  }
  for (std::uint64_t n = u.u64(); n > 0; --n) {
    const std::string path = u.str();
    std::string file = u.str();
    t.links[path] = {std::move(file), u.str()};
  }
  return t;
}

std::string attrText(const AttrValue& v) {
  if (const auto* d = std::get_if<double>(&v)) return formatShort(*d);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  return std::get<std::string>(v);
}

/// The text of the attribute `name` of `obj` ("" if it has none or it is not a scalar).
std::string attrTextOf(hid_t obj, const char* name, const std::string& object) {
  if (H5Aexists(obj, name) <= 0) return {};
  Id a(H5Aopen(obj, name, H5P_DEFAULT));
  return attrText(readAttrValue(check(a, object, "has an unreadable attribute"),
                                object + " @" + name));
}

/// One line of `inspect`: path, shape, type, the value of a one-value number, units and
/// description. Reads no data beyond that one value.
std::string describeDataset(hid_t ds, const std::string& object) {
  Id space(H5Dget_space(ds));
  const Extent e = extentOf(check(space, object, "has no dataspace"), object);
  Id type(H5Dget_type(ds));
  const hid_t ft = check(type, object, "has no type");
  std::ostringstream out;
  out << object << "  ";
  if (e.dims.empty()) {
    out << "scalar";
  } else {
    out << "(";
    for (std::size_t k = 0; k < e.dims.size(); ++k) out << (k ? " x " : "") << e.dims[k];
    out << ")";
  }
  out << " " << typeName(ft);
  if (e.count == 1 && H5Tget_class(ft) == H5T_FLOAT) {
    double v = 0;
    if (H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) < 0) {
      throw ReadFailure(object, "cannot be read");
    }
    out << " = " << formatShort(v);
  }
  if (auto u = attrTextOf(ds, "units", object); !u.empty()) out << " [" << u << "]";
  if (!e.dims.empty()) {
    std::map<std::string, AttrValue> unused;
    const std::vector<std::string> names = readDims(ds, object, e.dims.size(), unused);
    for (std::size_t k = 0; k < names.size(); ++k) out << (k ? " x " : " along ") << names[k];
  }
  if (auto d = attrTextOf(ds, "description", object); !d.empty()) out << "  " << d;
  return out.str();
}

std::string describeRaw(const std::filesystem::path& path) {
  return withFile(path, [&](hid_t file) {
    std::ostringstream out;
    out << path.string() << "\n";
    std::map<std::string, std::string> rootAttrs;
    {
      Id root(H5Gopen2(file, "/", H5P_DEFAULT));
      const hsize_t n = attrCount(check(root, "/", "cannot open the root group"), "/");
      forEachAttr(root.get(), "/", kMaxAttributes, [&](const std::string& name, hid_t a) {
            Id space(H5Aget_space(a));
            Id type(H5Aget_type(a));
            const std::string object = "/ @" + name;
            const Extent e = extentOf(check(space, object, "has no dataspace"), object);
            rootAttrs[name] = e.count == 1 ? attrText(readAttrValue(a, object))
                                           : "(" + std::to_string(e.count) + " values) " +
                                                 typeName(check(type, object, "has no type"));
          });
      for (const auto& [k, v] : rootAttrs) out << "  @" << k << " = " << v << "\n";
      if (n > rootAttrs.size()) {
        out << "  ... and " << n - rootAttrs.size() << " more attributes\n";
      }
    }
    std::map<std::string, std::string> datasets;
    std::map<std::string, ExternalLink> links;
    Visitor v;
    v.group = [](const std::string&, hid_t) {};
    v.dataset = [&](const std::string& p, hid_t ds) { datasets[p] = describeDataset(ds, p); };
    v.link = [&](const std::string& p, const ExternalLink& l) { links[p] = l; };
    Walker(v).walk(file);
    for (const auto& [p, line] : datasets) out << line << "\n";
    for (const auto& [p, l] : links) {
      out << p << "  -> " << l.file << ":" << l.object << "  (external link)\n";
    }
    return out.str();
  });
}

/// Checks that `path` is a regular file; returns limits for the process reading it: memory for
/// its data at the highest compression (twice: the tree and its copy sent back) plus slack,
/// and `cpuSeconds` of CPU time plus one second per 10 MB.
ChildLimits readerLimits(const std::filesystem::path& path, unsigned cpuSeconds) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw IoError(path.string() + ": no such file");
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw IoError(path.string() + ": not a regular file");
  }
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  ChildLimits limits;
  const hsize_t slack = hsize_t{256} << 20;
  const hsize_t data = saturatingProduct(2 * kMaxCompression, size);
  limits.extraMemoryBytes =
      data > std::numeric_limits<hsize_t>::max() - slack ? data : data + slack;
  limits.cpuSeconds = cpuSeconds + static_cast<unsigned>(size / 10'000'000);
  return limits;
}

}  // namespace

ResultTree readResultFile(const std::filesystem::path& path, const ReadBounds& bounds) {
  const ChildLimits limits = readerLimits(path, bounds.cpuSeconds);
  RawTree raw;
  const std::string bytes = runIsolated(path.string(), limits, [&] { return pack(readRaw(path)); });
  try {
    raw = unpack(bytes);
  } catch (const std::exception&) {
    throw IoError(path.string() + ": the reader process returned a truncated reply");
  }
  ResultTree tree;
  for (auto& [p, d] : raw.datasets) {
    if (auto* v = std::get_if<std::vector<double>>(&d.data)) {
      if (p.rfind("/metrics/", 0) == 0 && d.shape.empty()) {
        const auto unit = d.attrs.count("units") ? attrText(d.attrs.at("units")) : "";
        const auto desc = d.attrs.count("description") ? attrText(d.attrs.at("description")) : "";
        tree.metric(p.substr(9), v->empty() ? 0.0 : v->front(), unit, desc);
      }
    }
    tree.dataset(p, std::move(d));
  }
  for (auto& [p, attrs] : raw.groups) {
    for (auto& [k, v] : attrs) tree.attribute(p, k, v);
  }
  for (auto& [p, l] : raw.links) tree.externalLink(p, l.file, l.object);
  return tree;
}

std::string describeResultFile(const std::filesystem::path& path) {
  const ChildLimits limits = readerLimits(path, ReadBounds{}.cpuSeconds);
  return runIsolated(path.string(), limits, [&] { return describeRaw(path); });
}

}  // namespace ecramsim::io
