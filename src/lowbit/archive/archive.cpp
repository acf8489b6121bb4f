// lowbit/archive/archive.cpp — HDF5 reading and writing of Group trees, and the run archive's
// staging/commit protocol. defines: see archive.hpp
#include "lowbit/archive/archive.hpp"

#include <hdf5.h>
#include <mpi.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string_view>

#include "lowbit/archive/keys.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/dist/comm.hpp"
#include "lowbit/dist/tree_reduce.hpp"

namespace fs = std::filesystem;

namespace lowbit::archive {

namespace {

// ---- small RAII for hid_t ----
struct H {
  hid_t id = -1;
  herr_t (*close)(hid_t) = nullptr;
  H(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
  H(const H&) = delete;
  H& operator=(const H&) = delete;
  ~H() {
    if (id >= 0 && close) close(id);
  }
  operator hid_t() const { return id; }
};

void quiet_hdf5() {
  static bool done = false;
  if (!done) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    done = true;
  }
}

#define H5_OK(expr, ...)                                          \
  do {                                                            \
    if ((expr) < 0) LB_THROW(IoError, __VA_ARGS__);               \
  } while (0)

hid_t vl_string_type() {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

struct WriteCtx {
  std::string file;
  bool collective = false;
  int rank = 0, size = 1;
  long long counter = 0;  // dataset counter: owner = counter % size
};

void write_attr(hid_t loc, const std::string& name, const Attr& v, const WriteCtx& w) {
  if (std::holds_alternative<int64_t>(v)) {
    H sp(H5Screate(H5S_SCALAR), H5Sclose);
    H a(H5Acreate2(loc, name.c_str(), H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    H5_OK(a.id, w.file, ": cannot create attribute ", name);
    const int64_t x = std::get<int64_t>(v);
    H5_OK(H5Awrite(a, H5T_NATIVE_INT64, &x), w.file, ": cannot write attribute ", name);
  } else if (std::holds_alternative<double>(v)) {
    H sp(H5Screate(H5S_SCALAR), H5Sclose);
    H a(H5Acreate2(loc, name.c_str(), H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    H5_OK(a.id, w.file, ": cannot create attribute ", name);
    const double x = std::get<double>(v);
    H5_OK(H5Awrite(a, H5T_NATIVE_DOUBLE, &x), w.file, ": cannot write attribute ", name);
  } else if (std::holds_alternative<std::string>(v)) {
    H t(vl_string_type(), H5Tclose);
    H sp(H5Screate(H5S_SCALAR), H5Sclose);
    H a(H5Acreate2(loc, name.c_str(), t, sp, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    H5_OK(a.id, w.file, ": cannot create attribute ", name);
    const char* s = std::get<std::string>(v).c_str();
    H5_OK(H5Awrite(a, t, &s), w.file, ": cannot write attribute ", name);
  } else {
    const auto& vec = std::get<std::vector<double>>(v);
    hsize_t n = vec.size();
    H sp(H5Screate_simple(1, &n, nullptr), H5Sclose);
    H a(H5Acreate2(loc, name.c_str(), H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    H5_OK(a.id, w.file, ": cannot create attribute ", name);
    H5_OK(H5Awrite(a, H5T_NATIVE_DOUBLE, vec.data()), w.file, ": cannot write attribute ", name);
  }
}

void write_string_list(hid_t loc, const std::string& name, const std::vector<std::string>& v, const WriteCtx& w) {
  std::vector<const char*> p;
  for (const auto& s : v) p.push_back(s.c_str());
  hsize_t n = p.size();
  H t(vl_string_type(), H5Tclose);
  H sp(H5Screate_simple(1, &n, nullptr), H5Sclose);
  H a(H5Acreate2(loc, name.c_str(), t, sp, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  H5_OK(a.id, w.file, ": cannot create attribute ", name);
  if (n) H5_OK(H5Awrite(a, t, p.data()), w.file, ": cannot write attribute ", name);
}

void write_table(hid_t loc, const std::string& name, const Table& t, WriteCtx& w) {
  LB_CHECK(t.units.size() == t.columns.size(), "table ", name, ": ", t.units.size(), " units for ",
           t.columns.size(), " columns");
  LB_CHECK(t.columns.empty() ? t.data.empty() : t.data.size() % t.columns.size() == 0, "table ", name,
           ": data is not a whole number of rows");
  hsize_t dims[2] = {hsize_t(t.nrows()), hsize_t(t.ncols())};
  H sp(H5Screate_simple(2, dims, nullptr), H5Sclose);
  H d(H5Dcreate2(loc, name.c_str(), H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  H5_OK(d.id, w.file, ": cannot create dataset ", name);
  const bool mine = (w.counter++ % w.size) == w.rank;
  if (dims[0] * dims[1] > 0) {
    H xfer(H5Pcreate(H5P_DATASET_XFER), H5Pclose);
    if (w.collective) H5Pset_dxpl_mpio(xfer, H5FD_MPIO_COLLECTIVE);
    H fsp(H5Dget_space(d), H5Sclose);
    H msp(H5Screate_simple(2, dims, nullptr), H5Sclose);
    if (!mine) {  // collective transfer: every rank takes part, only the owner selects data
      H5Sselect_none(fsp);
      H5Sselect_none(msp);
    }
    H5_OK(H5Dwrite(d, H5T_NATIVE_DOUBLE, msp, fsp, xfer, t.data.data()), w.file, ": cannot write dataset ", name);
  }
  write_string_list(d, keys::table::kColumns, t.columns, w);
  write_string_list(d, keys::table::kUnits, t.units, w);
  if (!t.rows.empty()) write_string_list(d, keys::table::kRows, t.rows, w);
  if (!t.description.empty()) write_attr(d, keys::table::kDescription, t.description, w);
}

// Sub-groups first, then tables, then attributes: a "complete" attribute is written last.
void write_tree(hid_t loc, const Group& g, WriteCtx& w) {
  for (const auto& [name, t] : g.tables)
    LB_CHECK(!g.groups.count(name), w.file, ": '", name, "' is both a table and a group (HDF5 names are unique)");
  for (const auto& [name, sub] : g.groups) {
    H gid(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
    H5_OK(gid.id, w.file, ": cannot create group ", name);
    write_tree(gid, sub, w);
  }
  for (const auto& [name, t] : g.tables) write_table(loc, name, t, w);
  for (const auto& [name, v] : g.attrs)
    if (name != keys::config::kComplete) write_attr(loc, name, v, w);
  if (auto it = g.attrs.find(keys::config::kComplete); it != g.attrs.end()) write_attr(loc, keys::config::kComplete, it->second, w);
}

// ---- reading ----
std::vector<std::string> read_string_list(hid_t a) {
  H sp(H5Aget_space(a), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(sp);
  std::vector<std::string> out;
  if (n <= 0) return out;
  H t(vl_string_type(), H5Tclose);
  std::vector<char*> p(static_cast<size_t>(n), nullptr);
  if (H5Aread(a, t, p.data()) < 0) return out;
  for (auto* s : p) out.emplace_back(s ? s : "");
  H5Dvlen_reclaim(t, sp, H5P_DEFAULT, p.data());
  return out;
}

Attr read_attr(hid_t a, const std::string& file, const std::string& name) {
  H t(H5Aget_type(a), H5Tclose);
  H sp(H5Aget_space(a), H5Sclose);
  const H5T_class_t cls = H5Tget_class(t);
  const int nd = H5Sget_simple_extent_ndims(sp);
  const hssize_t n = H5Sget_simple_extent_npoints(sp);
  if (cls == H5T_INTEGER && nd == 0) {
    int64_t x = 0;
    H5_OK(H5Aread(a, H5T_NATIVE_INT64, &x), file, ": cannot read attribute ", name);
    return x;
  }
  if (cls == H5T_FLOAT && nd == 0) {
    double x = 0;
    H5_OK(H5Aread(a, H5T_NATIVE_DOUBLE, &x), file, ": cannot read attribute ", name);
    return x;
  }
  if (cls == H5T_FLOAT && nd == 1) {
    std::vector<double> v(static_cast<size_t>(n));
    if (n) H5_OK(H5Aread(a, H5T_NATIVE_DOUBLE, v.data()), file, ": cannot read attribute ", name);
    return v;
  }
  if (cls == H5T_STRING && nd == 0) {
    if (H5Tis_variable_str(t) > 0) {
      H mt(vl_string_type(), H5Tclose);
      char* s = nullptr;
      H5_OK(H5Aread(a, mt, &s), file, ": cannot read attribute ", name);
      std::string out(s ? s : "");
      H5free_memory(s);
      return out;
    }
    std::string out(H5Tget_size(t), '\0');
    H5_OK(H5Aread(a, t, out.data()), file, ": cannot read attribute ", name);
    return std::string(out.c_str());
  }
  LB_THROW(InputError, file, ": attribute ", name, " has a type lowbit does not read");
}

// Where an object lives: its file and address. Links make an HDF5 file a graph (a hard link to an
// ancestor, a soft or external link back into the tree); the reader follows links, so it refuses a
// group it has already read instead of reading it forever (a cycle) or again and again (a DAG).
std::string object_key(hid_t obj) {
#if H5_VERSION_GE(1, 12, 0)
  H5O_info2_t oi;
  if (H5Oget_info3(obj, &oi, H5O_INFO_BASIC) < 0) return {};
  return std::to_string(oi.fileno) + ":" + std::string(reinterpret_cast<const char*>(&oi.token), sizeof oi.token);
#else
  H5O_info_t oi;
  if (H5Oget_info2(obj, &oi, H5O_INFO_BASIC) < 0) return {};
  return std::to_string(oi.fileno) + ":" + std::to_string(oi.addr);
#endif
}

// `seen`: the groups read so far (object_key → path).
Group read_tree(hid_t loc, const std::string& file, const std::string& where, std::map<std::string, std::string>& seen) {
  const std::string key = object_key(loc);
  LB_INPUT_CHECK(!key.empty(), file, ": cannot identify group ", where);
  const auto [at, fresh] = seen.emplace(key, where);
  LB_INPUT_CHECK(fresh, file, ": group ", where, " is a second link to ", at->second,
                 ", which was already read (a link cycle, or two links to one group): a lowbit archive is a tree");
  Group g;
  // attributes
  const int na = H5Aget_num_attrs(loc);
  for (int i = 0; i < na; ++i) {
    H a(H5Aopen_by_idx(loc, ".", H5_INDEX_NAME, H5_ITER_INC, hsize_t(i), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    char name[512];
    H5Aget_name(a, sizeof name, name);
    g.attrs[name] = read_attr(a, file, where + "@" + name);
  }
  // children
  H5G_info_t info;
  H5_OK(H5Gget_info(loc, &info), file, ": cannot list ", where);
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    char name[1024];
    H5Lget_name_by_idx(loc, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT);
    H obj(H5Oopen(loc, name, H5P_DEFAULT), H5Oclose);
    H5_OK(obj.id, file, ": cannot open ", where, "/", name);
    const std::string path = (where == "/" ? "" : where) + "/" + name;
    if (H5Iget_type(obj) == H5I_GROUP) {
      g.groups[name] = read_tree(obj, file, path, seen);
    } else if (H5Iget_type(obj) == H5I_DATASET) {
      Table t;
      H sp(H5Dget_space(obj), H5Sclose);
      hsize_t dims[2] = {0, 0};
      const int nd = H5Sget_simple_extent_ndims(sp);
      LB_INPUT_CHECK(nd == 2, file, ": dataset ", path, " is not a 2-D table");
      H5Sget_simple_extent_dims(sp, dims, nullptr);
      // lowbit stores tables uncompressed, so a table cannot hold more values than its file has
      // bytes / 8; checked before allocating: a dataset header may claim any extent (a chunked
      // dataset never written takes no space), and R x C may overflow.
      hsize_t file_bytes = 0;
      {
        H fid(H5Iget_file_id(obj), H5Fclose);
        H5_OK(fid.id, file, ": cannot read dataset ", path);
        H5_OK(H5Fget_filesize(fid, &file_bytes), file, ": cannot read dataset ", path);
      }
      LB_INPUT_CHECK(dims[1] == 0 || dims[0] <= file_bytes / sizeof(double) / dims[1], file, ": dataset ", path, " is ",
                     dims[0], " x ", dims[1], " values, more than a file of ", file_bytes, " bytes holds");
      t.data.resize(size_t(dims[0] * dims[1]));
      if (!t.data.empty())
        H5_OK(H5Dread(obj, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data.data()), file,
              ": cannot read dataset ", path);
      if (H5Aexists(obj, keys::table::kColumns) > 0) {
        H a(H5Aopen(obj, keys::table::kColumns, H5P_DEFAULT), H5Aclose);
        t.columns = read_string_list(a);
      }
      if (H5Aexists(obj, keys::table::kUnits) > 0) {
        H a(H5Aopen(obj, keys::table::kUnits, H5P_DEFAULT), H5Aclose);
        t.units = read_string_list(a);
      }
      if (H5Aexists(obj, keys::table::kRows) > 0) {
        H a(H5Aopen(obj, keys::table::kRows, H5P_DEFAULT), H5Aclose);
        t.rows = read_string_list(a);
      }
      if (H5Aexists(obj, keys::table::kDescription) > 0) {
        H a(H5Aopen(obj, keys::table::kDescription, H5P_DEFAULT), H5Aclose);
        auto v = read_attr(a, file, path + "@description");
        if (auto* s = std::get_if<std::string>(&v)) t.description = *s;
      }
      LB_INPUT_CHECK(t.columns.size() == size_t(dims[1]), file, ": dataset ", path, " has ", dims[1],
                     " columns but names ", t.columns.size());
      LB_INPUT_CHECK(t.rows.empty() || t.rows.size() == t.nrows(), file, ": dataset ", path, " has ", t.nrows(),
                     " rows but names ", t.rows.size());
      t.units.resize(t.columns.size());
      g.tables[name] = std::move(t);
    }
  }
  return g;
}

void fsync_path(const std::string& p, bool dir) {
  const int fd = ::open(p.c_str(), dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::string parent_dir(const std::string& p) {
  const auto d = fs::path(p).parent_path();
  return d.empty() ? "." : d.string();
}

// Write `root` to `path` through a temporary file; collective when `comm` is MPI with > 1 rank.
void write_file_atomic(const std::string& path, const Group& root, dist::Comm* comm) {
  quiet_hdf5();
  const std::string tmp = path + ".tmp";
  WriteCtx w;
  w.file = path;
  H fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (comm && comm->mpi_handle()) {
    w.collective = true;
    w.rank = comm->rank();
    w.size = comm->size();
    H5Pset_fapl_mpio(fapl, *static_cast<MPI_Comm*>(comm->mpi_handle()), MPI_INFO_NULL);
    H5Pset_all_coll_metadata_ops(fapl, true);
    H5Pset_coll_metadata_write(fapl, true);
  }
  {
    H f(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), H5Fclose);
    if (f.id < 0) LB_THROW(IoError, path, ": cannot create ", tmp, " (is the folder writable?)");
    write_tree(f, root, w);
    H5_OK(H5Fflush(f, H5F_SCOPE_GLOBAL), path, ": cannot flush");
  }
  if (comm) comm->barrier();
  if (!comm || comm->is_root()) {
    fsync_path(tmp, false);
    LB_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "cannot rename ", tmp, " to ", path);
    fsync_path(parent_dir(path), true);
  }
  if (comm) comm->barrier();
}

void ser(dist::ByteWriter& w, const Group& g) {
  w.put<uint64_t>(g.attrs.size());
  for (const auto& [k, v] : g.attrs) {
    w.put_str(k);
    w.put<uint8_t>(uint8_t(v.index()));
    if (auto* i = std::get_if<int64_t>(&v)) w.put(*i);
    else if (auto* d = std::get_if<double>(&v)) w.put(*d);
    else if (auto* s = std::get_if<std::string>(&v)) w.put_str(*s);
    else w.put_vec(std::get<std::vector<double>>(v));
  }
  auto put_strs = [&](const std::vector<std::string>& v) {
    w.put<uint64_t>(v.size());
    for (const auto& s : v) w.put_str(s);
  };
  w.put<uint64_t>(g.tables.size());
  for (const auto& [k, t] : g.tables) {
    w.put_str(k);
    put_strs(t.columns);
    put_strs(t.units);
    put_strs(t.rows);
    w.put_vec(t.data);
    w.put_str(t.description);
  }
  w.put<uint64_t>(g.groups.size());
  for (const auto& [k, sub] : g.groups) {
    w.put_str(k);
    ser(w, sub);
  }
}

Group deser(dist::ByteReader& r) {
  Group g;
  for (auto n = r.get<uint64_t>(); n--;) {
    std::string k = r.get_str();
    switch (r.get<uint8_t>()) {
      case 0: g.attrs[k] = r.get<int64_t>(); break;
      case 1: g.attrs[k] = r.get<double>(); break;
      case 2: g.attrs[k] = r.get_str(); break;
      default: g.attrs[k] = r.get_vec<double>(); break;
    }
  }
  auto get_strs = [&] {
    std::vector<std::string> v(size_t(r.get<uint64_t>()));
    for (auto& s : v) s = r.get_str();
    return v;
  };
  for (auto n = r.get<uint64_t>(); n--;) {
    std::string k = r.get_str();
    Table t;
    t.columns = get_strs();
    t.units = get_strs();
    t.rows = get_strs();
    t.data = r.get_vec<double>();
    t.description = r.get_str();
    g.tables[k] = std::move(t);
  }
  for (auto n = r.get<uint64_t>(); n--;) {
    std::string k = r.get_str();
    g.groups[k] = deser(r);
  }
  return g;
}

}  // namespace

std::vector<char> serialize(const Group& g) {
  dist::ByteWriter w;
  ser(w, g);
  return std::move(w.buf);
}
Group deserialize(const std::vector<char>& bytes) {
  dist::ByteReader r(bytes);
  return deser(r);
}

void write_group_file(const std::string& path, const Group& root) { write_file_atomic(path, root, nullptr); }

Group read_group_file(const std::string& path, const std::string& group) {
  quiet_hdf5();
  LB_INPUT_CHECK(file_exists(path), path, ": no such file");
  LB_INPUT_CHECK(H5Fis_hdf5(path.c_str()) > 0, path, ": not an HDF5 file (truncated or another format)");
  H f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  LB_INPUT_CHECK(f.id >= 0, path, ": HDF5 cannot open it (truncated or damaged)");
  H g(H5Gopen2(f, group.c_str(), H5P_DEFAULT), H5Gclose);
  LB_INPUT_CHECK(g.id >= 0, path, ": has no group ", group);
  std::map<std::string, std::string> seen;
  return read_tree(g, path, group, seen);
}

std::string safe_name(const std::string& id) {
  std::string s = id;
  for (char& ch : s)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-' || ch == '+' || ch == '='))
      ch = '_';
  return s;
}

RunArchive::RunArchive(std::string path) : path_(std::move(path)) {}

bool RunArchive::exists() const { return file_exists(path_); }

void RunArchive::check_writable() const {
  std::error_code ec;
  const std::string dir = parent_dir(path_);
  if (!fs::is_directory(dir, ec)) fs::create_directories(dir, ec);  // like mkdir -p; refused if impossible
  LB_INPUT_CHECK(fs::is_directory(dir, ec), "--output ", path_, ": cannot create the folder ", dir);
  fs::create_directories(staging_dir(), ec);
  LB_INPUT_CHECK(!ec, "--output ", path_, ": cannot create ", staging_dir(), " (", ec.message(), ")");
  const std::string probe = staging_dir() + "/.write-probe";
  FILE* f = std::fopen(probe.c_str(), "w");
  LB_INPUT_CHECK(f != nullptr, "--output ", path_, ": folder ", dir, " is not writable");
  std::fclose(f);
  std::remove(probe.c_str());
  if (exists()) {
    FILE* g = std::fopen(path_.c_str(), "r+");
    LB_INPUT_CHECK(g != nullptr, "--output ", path_, ": the archive is not writable");
    std::fclose(g);
  }
}

int64_t schema_of(const Group& root, const std::string& source) {
  auto it = root.attrs.find(keys::root::kSchemaVersion);
  LB_INPUT_CHECK(it != root.attrs.end() && std::holds_alternative<int64_t>(it->second), source,
                 ": not a lowbit archive (no ", keys::root::kSchemaVersion, " attribute)");
  const int64_t v = std::get<int64_t>(it->second);
  LB_INPUT_CHECK(v <= kSchemaVersion, source, ": written with archive schema ", v,
                 " by a newer lowbit; this lowbit reads schema <= ", kSchemaVersion);
  return v;
}

int64_t staged_schema(const Group& staged_root) {
  auto it = staged_root.attrs.find(keys::root::kSchemaVersion);
  const int64_t* v = it == staged_root.attrs.end() ? nullptr : std::get_if<int64_t>(&it->second);
  return v ? *v : 1;
}

namespace {

void upgrade_config_v1(Group& config) {
  auto d = config.groups.find(keys::config::kDiagnostics);
  if (d == config.groups.end()) return;
  for (const auto& r : keys::kV1Renames) {
    if (std::string_view(r.record) != "diag") continue;
    auto& attrs = d->second.attrs;
    if (auto it = attrs.find(r.old_name); it != attrs.end() && !attrs.count(r.new_name)) {
      attrs[r.new_name] = std::move(it->second);
      attrs.erase(it);
    }
  }
}
}  // namespace

void upgrade_v1(Group& root) {
  if (auto c = root.groups.find(keys::root::kConfigs); c != root.groups.end())
    for (auto& [name, config] : c->second.groups) upgrade_config_v1(config);
}

Group RunArchive::read_run() const {
  Group root = read_group_file(path_);
  schema_of(root, path_);
  LB_INPUT_CHECK(root.groups.count(keys::root::kRun), path_, ": has no /run group");
  return root.groups.at(keys::root::kRun);
}

int64_t RunArchive::schema() const { return schema_of(read_group_file(path_), path_); }

void RunArchive::check_resumable() const {
  const int64_t v = schema();
  LB_INPUT_CHECK(v == kSchemaVersion, path_, ": written with archive schema ", v, "; this lowbit writes schema ",
                 kSchemaVersion, " and does not add to an older archive (its key names differ: docs/ARCHIVE.md); "
                 "start a new --output (nothing was changed)");
}

std::set<std::string> RunArchive::staged_configs() const {
  std::set<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(staging_dir(), ec)) return out;
  for (const auto& e : fs::directory_iterator(staging_dir(), ec)) {
    const auto name = e.path().filename().string();
    if (name.size() > 3 && name.ends_with(".h5")) out.insert(name.substr(0, name.size() - 3));
  }
  return out;
}

std::set<std::string> RunArchive::complete_configs() const {
  std::set<std::string> out = staged_configs();
  if (!exists()) return out;
  Group root = read_group_file(path_);
  if (auto it = root.groups.find(keys::root::kConfigs); it != root.groups.end())
    for (const auto& [name, g] : it->second.groups) {
      if (g.number(keys::config::kComplete, 0) == 1) out.insert(name);
    }
  return out;
}

void RunArchive::stage(const std::string& id, const Group& config) const {
  const std::string name = safe_name(id);
  Group root;
  root.attrs[keys::root::kSchemaVersion] = kSchemaVersion;  // what check_staging compares
  root.groups[name] = config;
  root.groups[name].attrs[keys::config::kComplete] = int64_t(1);
  write_group_file(staging_dir() + "/" + name + ".h5", root);
}

Group RunArchive::read_all() const {
  Group root;
  if (exists()) {
    root = read_group_file(path_);
    if (schema_of(root, path_) == 1) upgrade_v1(root);
  }
  for (const auto& name : staged_configs()) {
    Group s = read_group_file(staging_dir() + "/" + name + ".h5");
    if (!s.groups.count(name)) continue;
    if (staged_schema(s) == 1) upgrade_config_v1(s.groups[name]);
    root.groups[keys::root::kConfigs].groups[name] = std::move(s.groups[name]);
  }
  return root;
}

namespace {
std::mutex g_lock_mu;
std::map<std::string, std::pair<int, int>> g_locks;  // lock file -> (fd, depth)
}  // namespace

std::unique_ptr<RunArchive::Lock> RunArchive::lock() const {
  const std::string key = fs::absolute(lock_path()).lexically_normal().string();
  std::lock_guard<std::mutex> g(g_lock_mu);
  auto it = g_locks.find(key);
  if (it != g_locks.end()) {
    ++it->second.second;
    return std::make_unique<Lock>(key);
  }
  const int fd = ::open(key.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) LB_THROW(IoError, path_, ": cannot open the lock file ", key);
  int rc;
  while ((rc = ::flock(fd, LOCK_EX)) != 0 && errno == EINTR) {}
  if (rc != 0) {
    ::close(fd);
    LB_THROW(IoError, path_, ": cannot lock ", key);
  }
  g_locks[key] = {fd, 1};
  return std::make_unique<Lock>(key);
}

RunArchive::Lock::~Lock() {
  std::lock_guard<std::mutex> g(g_lock_mu);
  auto it = g_locks.find(key_);
  if (it == g_locks.end() || --it->second.second > 0) return;
  ::flock(it->second.first, LOCK_UN);
  ::close(it->second.first);
  g_locks.erase(it);
}

void RunArchive::commit(dist::Comm& world, const Group& run, const std::map<std::string, Group>& extra) const {
  std::vector<char> bytes;
  std::set<std::string> merged;
  std::unique_ptr<Lock> held;  // rank 0 of each job; the other ranks wait at the broadcast
  if (world.is_root()) {
    held = lock();
    merged = staged_configs();
    Group root = read_all();
    root.attrs[keys::root::kSchemaVersion] = kSchemaVersion;  // read_all gave this schema's names
    root.attrs[keys::root::kLowbitVersion] = std::string(LOWBIT_VERSION);
    root.groups[keys::root::kRun] = run;
    auto& configs = root.groups[keys::root::kConfigs];  // always present
    // Under the lock the merged tree is the truth: with several jobs on one archive, /run@complete
    // is decided by what is merged, not by what one job saw before it committed.
    if (auto t = run.attrs.find(keys::run::kConfigsTotal); t != run.attrs.end() && std::holds_alternative<int64_t>(t->second)) {
      int64_t n = 0;
      for (const auto& [name, g] : configs.groups)
        if (g.number(keys::config::kComplete, 0) == 1) ++n;
      root.groups[keys::root::kRun].attrs[keys::run::kComplete] = int64_t(n >= std::get<int64_t>(t->second) ? 1 : 0);
    }
    for (const auto& [k, g] : extra) root.groups[k] = g;
    bytes = serialize(root);
  }
  world.broadcast_vector(bytes, 0);
  const Group root = deserialize(bytes);
  write_file_atomic(path_, root, &world);
  if (world.is_root()) {
    for (const auto& name : merged) std::remove((staging_dir() + "/" + name + ".h5").c_str());
    fsync_path(staging_dir(), true);
  }
  world.barrier();
}

}  // namespace lowbit::archive
