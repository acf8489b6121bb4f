// tests/fuzz/fuzz_archive.cpp — libFuzzer target: HDF5 run archives, read the way `--resume`,
// `inspect` and `fit` read one (archive::read_group_file of the whole tree, RunArchive::read_run and
// complete_configs, fit::points_from_archive).
// defines: LLVMFuzzerTestOneInput
//
// Two modes, chosen by the first byte:
//  * raw (an empty input, or first byte 0x89, the first byte of the HDF5 signature, as in the h5py
//    seeds): the bytes are the file. libhdf5 is not instrumented and almost every mutation fails
//    H5Fis_hdf5, so this mode mostly checks that damaged files end in a user error.
//  * structured (any other first byte): the bytes are a program for a small deterministic builder
//    (FuzzedDataProvider) that writes a valid HDF5 file with the HDF5 C API: a tree of groups;
//    attributes of every type lowbit reads and many it does not (integers of other widths, f32,
//    fixed and variable strings, arrays, 2-D, null dataspaces, compounds, enums); datasets in the
//    archive's table layout (2-D f64 with `columns`/`units`/`rows`/`description`, lengths right or
//    wrong) and others (other ranks, dtypes, huge unallocated chunked extents); soft, hard and
//    external links (cycles included); and archive-shaped skeletons (/run, /configs/<id> with
//    eval and tasks/strata tables) so the readers past the HDF5 layer are reached. The file lives
//    in /dev/shm when it exists (else $TMPDIR) and is removed after each input.
//
// Every reader must return or throw a user error naming the file (an InternalError, another
// exception or a sanitizer report is a finding). Tables of an accepted tree have one unit per
// column, whole rows and one row name per row (or none); the tree is a tree (no group reached twice).
#include <fuzzer/FuzzedDataProvider.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fuzz_util.hpp"
#include "lowbit/archive/archive.hpp"
#include "lowbit/fit/archive_points.hpp"

namespace {

size_t walk(const lowbit::archive::Group& g, int depth) {
  if (depth > 64) std::abort();  // HDF5 groups are a tree; a cycle would have been followed
  size_t n = g.attrs.size();
  for (const auto& [name, t] : g.tables) {
    if (t.units.size() != t.columns.size()) std::abort();
    if (!t.columns.empty() && t.data.size() % t.columns.size() != 0) std::abort();
    if (!t.rows.empty() && t.rows.size() != t.nrows()) std::abort();
    n += t.data.size();
  }
  for (const auto& [name, sub] : g.groups) {
    if (name.empty()) std::abort();
    n += walk(sub, depth + 1);
  }
  return n;
}

// ---- the structured mode's builder ----
struct H {  // closes an HDF5 id (the builder ignores every HDF5 failure: an object it could not make is not made)
  hid_t id;
  herr_t (*close)(hid_t);
  H(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
  H(const H&) = delete;
  H& operator=(const H&) = delete;
  ~H() {
    if (id >= 0) close(id);
  }
  operator hid_t() const { return id; }
};

const char* const kNames[] = {"run", "configs", "fits", "layers", "eval", "timings", "tasks", "strata",
                              "diagnostics", "complete", "lowbit_schema_version", "lowbit_version", "id", "model",
                              "method", "bits", "group", "sym", "sparsity", "family", "calib_tokens", "n_params",
                              "vocab_size", "manifest_sha", "columns", "units", "rows", "description", "x", "m.rtn.b4",
                              "m.fp", "nll_per_token", "ppl", "score", "chance", "lm"};
const char* const kTexts[] = {"", "fp", "rtn", "gptq", "m", "lm", "nll_per_token", "ppl", "tokens", "windows", "score",
                              "chance", "reasoning", "h\xc3\xa9", "\xff\xfe", "sum of squares", "1"};

struct Builder {
  FuzzedDataProvider& p;
  std::string self;  // the file's own path (external links to it)
  int budget = 96;   // objects left to create

  std::string name() {
    if (p.ConsumeBool()) return kNames[p.ConsumeIntegralInRange<size_t>(0, std::size(kNames) - 1)];
    return p.ConsumeRandomLengthString(16);  // may be empty, contain '/' or '.', or not be UTF-8
  }
  std::string text() {
    if (p.ConsumeBool()) return kTexts[p.ConsumeIntegralInRange<size_t>(0, std::size(kTexts) - 1)];
    return p.ConsumeRandomLengthString(32);
  }
  double real() {
    switch (p.ConsumeIntegralInRange<int>(0, 7)) {
      case 0: return std::numeric_limits<double>::quiet_NaN();
      case 1: return std::numeric_limits<double>::infinity();
      case 2: return -std::numeric_limits<double>::infinity();
      case 3: return 1e308;
      case 4: return -0.0;
      case 5: return double(p.ConsumeIntegralInRange<int>(-3, 3));
      case 6: return std::numeric_limits<double>::denorm_min();
      default: return p.ConsumeFloatingPoint<double>();
    }
  }
  int64_t integer() {
    switch (p.ConsumeIntegralInRange<int>(0, 3)) {
      case 0: return p.ConsumeIntegralInRange<int64_t>(-2, 4);
      case 1: return std::numeric_limits<int64_t>::min();
      case 2: return std::numeric_limits<int64_t>::max();
      default: return p.ConsumeIntegral<int64_t>();
    }
  }

  static hid_t vl_string(bool utf8) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
    return t;
  }
  hid_t fixed_string(size_t n) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, n);
    const H5T_str_t pads[] = {H5T_STR_NULLTERM, H5T_STR_NULLPAD, H5T_STR_SPACEPAD};
    H5Tset_strpad(t, pads[p.ConsumeIntegralInRange<int>(0, 2)]);
    return t;
  }

  void attr_raw(hid_t loc, const std::string& n, hid_t file_type, hid_t space, hid_t mem_type, const void* buf) {
    H a(H5Acreate2(loc, n.c_str(), file_type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    if (a.id >= 0 && buf) H5Awrite(a, mem_type, buf);
  }
  void string_list(hid_t loc, const std::string& n, const std::vector<std::string>& v) {
    std::vector<const char*> ptr;
    for (const auto& s : v) ptr.push_back(s.c_str());
    hsize_t len = ptr.size();
    H t(vl_string(true), H5Tclose);
    H sp(H5Screate_simple(1, &len, nullptr), H5Sclose);
    attr_raw(loc, n, t, sp, t, ptr.empty() ? nullptr : ptr.data());
  }

  // One attribute of a type chosen by the input.
  void attribute(hid_t loc, const std::string& n) {
    const int kind = p.ConsumeIntegralInRange<int>(0, 13);
    H scalar(H5Screate(H5S_SCALAR), H5Sclose);
    switch (kind) {
      case 0: {  // int64, the type lowbit writes
        const int64_t x = integer();
        attr_raw(loc, n, H5T_STD_I64LE, scalar, H5T_NATIVE_INT64, &x);
        break;
      }
      case 1: {  // another integer width or signedness, converted on read
        const hid_t types[] = {H5T_STD_I8LE, H5T_STD_U8LE, H5T_STD_I32BE, H5T_STD_U64LE, H5T_STD_I16LE};
        const int64_t x = integer();
        attr_raw(loc, n, types[p.ConsumeIntegralInRange<int>(0, 4)], scalar, H5T_NATIVE_INT64, &x);
        break;
      }
      case 2: {
        const double x = real();
        attr_raw(loc, n, p.ConsumeBool() ? H5T_IEEE_F64LE : H5T_IEEE_F32BE, scalar, H5T_NATIVE_DOUBLE, &x);
        break;
      }
      case 3: {  // variable-length string
        const std::string s = text();
        const char* c = s.c_str();
        H t(vl_string(p.ConsumeBool()), H5Tclose);
        attr_raw(loc, n, t, scalar, t, &c);
        break;
      }
      case 4: {  // fixed-length string
        std::string s = text();
        const size_t len = p.ConsumeIntegralInRange<size_t>(1, 48);
        s.resize(len, p.ConsumeBool() ? '\0' : ' ');
        H t(fixed_string(len), H5Tclose);
        attr_raw(loc, n, t, scalar, t, s.data());
        break;
      }
      case 5: {  // f64 array (possibly empty)
        std::vector<double> v(p.ConsumeIntegralInRange<size_t>(0, 12));
        for (auto& x : v) x = real();
        hsize_t len = v.size();
        H sp(H5Screate_simple(1, &len, nullptr), H5Sclose);
        attr_raw(loc, n, H5T_IEEE_F64LE, sp, H5T_NATIVE_DOUBLE, v.empty() ? nullptr : v.data());
        break;
      }
      case 6: {  // string array (columns / units / rows)
        std::vector<std::string> v(p.ConsumeIntegralInRange<size_t>(0, 8));
        for (auto& s : v) s = text();
        string_list(loc, n, v);
        break;
      }
      case 7: {  // int array, 2-D reals
        hsize_t d[2] = {p.ConsumeIntegralInRange<hsize_t>(0, 4), p.ConsumeIntegralInRange<hsize_t>(1, 3)};
        const int rank = p.ConsumeBool() ? 1 : 2;
        std::vector<double> v(size_t(d[0] * (rank == 2 ? d[1] : 1)), 0.5);
        H sp(H5Screate_simple(rank, d, nullptr), H5Sclose);
        attr_raw(loc, n, p.ConsumeBool() ? H5T_STD_I32LE : H5T_IEEE_F64LE, sp, H5T_NATIVE_DOUBLE,
                 v.empty() ? nullptr : v.data());
        break;
      }
      case 8: {  // null dataspace: a type without a value
        H sp(H5Screate(H5S_NULL), H5Sclose);
        const int t = p.ConsumeIntegralInRange<int>(0, 2);
        H st(vl_string(true), H5Tclose);
        attr_raw(loc, n, t == 0 ? H5T_STD_I64LE : t == 1 ? H5T_IEEE_F64LE : hid_t(st), sp, H5T_NATIVE_INT, nullptr);
        break;
      }
      case 9: {  // compound {int64 a; double b}
        struct C {
          int64_t a;
          double b;
        } c{integer(), real()};
        H t(H5Tcreate(H5T_COMPOUND, sizeof(C)), H5Tclose);
        H5Tinsert(t, "a", HOFFSET(C, a), H5T_NATIVE_INT64);
        H5Tinsert(t, "b", HOFFSET(C, b), H5T_NATIVE_DOUBLE);
        attr_raw(loc, n, t, scalar, t, &c);
        break;
      }
      case 10: {  // enum (h5py's bool), opaque, bitfield
        const int which = p.ConsumeIntegralInRange<int>(0, 2);
        int8_t x = int8_t(p.ConsumeIntegral<uint8_t>() & 1);
        if (which == 0) {
          H t(H5Tenum_create(H5T_NATIVE_INT8), H5Tclose);
          int8_t f = 0, tr = 1;
          H5Tenum_insert(t, "FALSE", &f);
          H5Tenum_insert(t, "TRUE", &tr);
          attr_raw(loc, n, t, scalar, t, &x);
        } else if (which == 1) {
          H t(H5Tcreate(H5T_OPAQUE, 1), H5Tclose);
          attr_raw(loc, n, t, scalar, t, &x);
        } else {
          attr_raw(loc, n, H5T_STD_B8LE, scalar, H5T_NATIVE_B8, &x);
        }
        break;
      }
      case 11: {  // fixed-length string array
        const size_t len = p.ConsumeIntegralInRange<size_t>(1, 8);
        hsize_t cnt = p.ConsumeIntegralInRange<hsize_t>(0, 4);
        std::string buf(size_t(cnt) * len, 'c');
        H t(fixed_string(len), H5Tclose);
        H sp(H5Screate_simple(1, &cnt, nullptr), H5Sclose);
        attr_raw(loc, n, t, sp, t, cnt ? buf.data() : nullptr);
        break;
      }
      case 12: {  // vlen sequence of doubles, an array type
        if (p.ConsumeBool()) {
          std::vector<double> v(p.ConsumeIntegralInRange<size_t>(0, 4), 1.0);
          hvl_t h{v.size(), v.empty() ? nullptr : v.data()};
          H t(H5Tvlen_create(H5T_NATIVE_DOUBLE), H5Tclose);
          attr_raw(loc, n, t, scalar, t, &h);
        } else {
          hsize_t k = 3;
          const double v[3] = {1, 2, 3};
          H t(H5Tarray_create2(H5T_NATIVE_DOUBLE, 1, &k), H5Tclose);
          attr_raw(loc, n, t, scalar, t, v);
        }
        break;
      }
      default: {  // scalar string "1"-like value where a number is expected, or a 1-element f64 array
        hsize_t one = 1;
        const double x = real();
        H sp(H5Screate_simple(1, &one, nullptr), H5Sclose);
        attr_raw(loc, n, H5T_IEEE_F64LE, sp, H5T_NATIVE_DOUBLE, &x);
        break;
      }
    }
  }

  // A dataset in the archive's table layout: R x C doubles with `columns`, `units`, `rows`,
  // `description`, each of the right length or not, present or not. `names` (if given) are the
  // column names to use when the input asks for real ones.
  void table(hid_t loc, const std::string& n, const std::vector<std::string>& names = {}) {
    const hsize_t rows = p.ConsumeIntegralInRange<hsize_t>(0, 6);
    hsize_t cols = names.empty() ? p.ConsumeIntegralInRange<hsize_t>(0, 5) : hsize_t(names.size());
    if (!names.empty() && p.ConsumeIntegralInRange<int>(0, 7) == 0) cols = p.ConsumeIntegralInRange<hsize_t>(0, 5);
    hsize_t d[2] = {rows, cols};
    H sp(H5Screate_simple(2, d, nullptr), H5Sclose);
    H ds(H5Dcreate2(loc, n.c_str(), H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
    if (ds.id < 0) return;
    std::vector<double> v(size_t(rows * cols));
    for (auto& x : v) x = p.ConsumeBool() ? real() : double(p.ConsumeIntegralInRange<int>(0, 100)) / 10;
    if (!v.empty()) H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
    auto count = [&](hsize_t want) -> int {  // -1: leave the attribute out
      switch (p.ConsumeIntegralInRange<int>(0, 5)) {
        case 0: return -1;
        case 1: return int(want) + 1;
        case 2: return want ? int(want) - 1 : 0;
        default: return int(want);
      }
    };
    const int nc = count(cols), nu = count(cols), nr = p.ConsumeBool() ? -1 : count(rows);
    if (nc >= 0) {
      std::vector<std::string> c;
      for (int i = 0; i < nc; ++i) c.push_back(size_t(i) < names.size() && p.ConsumeIntegralInRange<int>(0, 7) ? names[size_t(i)] : text());
      if (p.ConsumeIntegralInRange<int>(0, 9)) string_list(ds, "columns", c);
      else attribute(ds, "columns");  // a wrong type
    }
    if (nu >= 0) {
      std::vector<std::string> u(static_cast<size_t>(nu));
      for (auto& s : u) s = p.ConsumeBool() ? "" : text();
      if (p.ConsumeIntegralInRange<int>(0, 9)) string_list(ds, "units", u);
      else attribute(ds, "units");
    }
    if (nr >= 0) {
      std::vector<std::string> r(static_cast<size_t>(nr));
      for (auto& s : r) s = text();
      if (p.ConsumeIntegralInRange<int>(0, 9)) string_list(ds, "rows", r);
      else attribute(ds, "rows");
    }
    if (p.ConsumeBool()) attribute(ds, "description");
  }

  // Another dataset: rank 0..3, other dtypes, unwritten (fill value) data, huge chunked extents.
  void odd_dataset(hid_t loc, const std::string& n) {
    const int rank = p.ConsumeIntegralInRange<int>(0, 3);
    hsize_t d[3] = {1, 1, 1};
    bool huge = false;
    for (int i = 0; i < rank; ++i) {
      switch (p.ConsumeIntegralInRange<int>(0, 7)) {
        case 0: d[i] = hsize_t(1) << 32; huge = true; break;
        case 1: d[i] = hsize_t(1) << 40; huge = true; break;
        case 2: d[i] = (hsize_t(1) << 63) + 1; huge = true; break;
        case 3: d[i] = 0; break;
        default: d[i] = p.ConsumeIntegralInRange<hsize_t>(1, 7);
      }
    }
    H sp(rank ? H5Screate_simple(rank, d, nullptr) : H5Screate(H5S_SCALAR), H5Sclose);
    H dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    if (huge || p.ConsumeBool()) {  // chunked: nothing is allocated until written
      hsize_t c[3] = {1, 1, 1};
      if (rank) H5Pset_chunk(dcpl, rank, c);
      if (p.ConsumeBool()) {
        const double fill = real();
        H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &fill);
      }
    }
    const hid_t types[] = {H5T_IEEE_F64LE, H5T_IEEE_F32LE, H5T_STD_I32LE, H5T_STD_I64BE, H5T_STD_U8LE};
    const int ti = p.ConsumeIntegralInRange<int>(0, 5);
    H st(vl_string(true), H5Tclose);
    const hid_t ft = ti < 5 ? types[ti] : hid_t(st);
    H ds(H5Dcreate2(loc, n.c_str(), ft, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT), H5Dclose);
    if (ds.id < 0) return;
    const hsize_t elems = d[0] * d[1] * d[2];
    if (!huge && ti < 5 && elems > 0 && elems <= 512 && p.ConsumeBool()) {
      std::vector<double> v(size_t(elems), real());
      H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
    }
    if (p.ConsumeBool()) {
      std::vector<std::string> c(size_t(rank >= 2 ? std::min<hsize_t>(d[1], 8) : 1), "c");
      string_list(ds, "columns", c);
      string_list(ds, "units", c);
    }
  }

  // A link to something already in the file (cycles included), a dangling one, or another file.
  void link(hid_t loc, const std::string& n, const std::vector<hid_t>& ancestors) {
    switch (p.ConsumeIntegralInRange<int>(0, 4)) {
      case 0: {
        const char* targets[] = {"/", ".", "..", "/configs", "/run", "/configs/m.fp", "no_such", "/a/b/c"};
        const std::string t = p.ConsumeBool() ? targets[p.ConsumeIntegralInRange<int>(0, 7)] : p.ConsumeRandomLengthString(12);
        H5Lcreate_soft(t.c_str(), loc, n.c_str(), H5P_DEFAULT, H5P_DEFAULT);
        break;
      }
      case 1:
      case 2: {  // a hard link to an ancestor: a cycle
        const hid_t a = ancestors[p.ConsumeIntegralInRange<size_t>(0, ancestors.size() - 1)];
        H5Lcreate_hard(a, ".", loc, n.c_str(), H5P_DEFAULT, H5P_DEFAULT);
        break;
      }
      case 3: {  // a second hard link to an existing child of this group (a DAG, not a tree)
        H5G_info_t info;
        if (H5Gget_info(loc, &info) < 0 || info.nlinks == 0) break;
        char child[256];
        if (H5Lget_name_by_idx(loc, ".", H5_INDEX_NAME, H5_ITER_INC, p.ConsumeIntegralInRange<hsize_t>(0, info.nlinks - 1),
                               child, sizeof child, H5P_DEFAULT) <= 0)
          break;
        H5Lcreate_hard(loc, child, loc, n.c_str(), H5P_DEFAULT, H5P_DEFAULT);
        break;
      }
      default: {
        const std::string files[] = {self, "no_such.h5", "/dev/null"};
        H5Lcreate_external(files[p.ConsumeIntegralInRange<int>(0, 2)].c_str(), p.ConsumeBool() ? "/" : "/configs", loc,
                           n.c_str(), H5P_DEFAULT, H5P_DEFAULT);
      }
    }
  }

  // A configuration-shaped group: the attributes fit and inspect read, an eval table and
  // tasks/strata, each value of the right type or not.
  void config(hid_t loc, const std::string& n) {
    H g(H5Gcreate2(loc, n.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
    if (g.id < 0) return;
    H scalar(H5Screate(H5S_SCALAR), H5Sclose);
    const char* keys[] = {"id", "model", "method", "family", "bits", "group", "sym", "sparsity", "calib_tokens",
                          "n_params", "vocab_size", "complete", "manifest_sha"};
    for (const char* k : keys) {
      const int how = p.ConsumeIntegralInRange<int>(0, 3);
      if (how == 0) continue;
      if (how == 3) {
        attribute(g, k);
        continue;
      }
      const std::string_view key = k;
      if (key == "id" || key == "model" || key == "method" || key == "family" || key == "manifest_sha") {
        const std::string s = key == "method" && how == 1 ? (p.ConsumeBool() ? "fp" : "rtn") : key == "model" && how == 1 ? "m" : text();
        const char* c = s.c_str();
        H t(vl_string(true), H5Tclose);
        attr_raw(g, k, t, scalar, t, &c);
      } else if (how == 1) {
        const int64_t x = key == "complete" ? 1 : key == "vocab_size" ? 32 : p.ConsumeIntegralInRange<int64_t>(-1, 8);
        attr_raw(g, k, H5T_STD_I64LE, scalar, H5T_NATIVE_INT64, &x);
      } else {
        const double x = real();
        attr_raw(g, k, H5T_IEEE_F64LE, scalar, H5T_NATIVE_DOUBLE, &x);
      }
    }
    if (p.ConsumeBool()) table(g, "eval", {"nll_per_token", "ppl", "tokens", "windows"});
    if (p.ConsumeBool()) table(g, "layers", {"layer", "out_features", "in_features", "out_error"});
    if (p.ConsumeBool()) {
      H t(H5Gcreate2(g, "tasks", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
      if (t.id >= 0) table(t, "strata", {"score", "chance"});
    }
    if (p.ConsumeBool()) {
      H t(H5Gcreate2(g, "timings", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
      if (t.id >= 0) attribute(t, "total_s");
    }
  }

  void group(hid_t loc, std::vector<hid_t>& ancestors, int depth) {
    const int n = p.ConsumeIntegralInRange<int>(0, 6);
    for (int i = 0; i < n && budget > 0 && p.remaining_bytes() > 0; ++i) {
      --budget;
      const int op = p.ConsumeIntegralInRange<int>(0, 9);
      const std::string nm = name();
      switch (op) {
        case 0:
        case 1:
        case 2: attribute(loc, nm); break;
        case 3: table(loc, nm); break;
        case 4: odd_dataset(loc, nm); break;
        case 5: link(loc, nm, ancestors); break;
        case 6: config(loc, nm); break;
        default:
          if (depth < 6) {
            H g(H5Gcreate2(loc, nm.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
            if (g.id >= 0) {
              ancestors.push_back(g);
              group(g, ancestors, depth + 1);
              ancestors.pop_back();
            }
          }
      }
    }
  }

  // The archive's skeleton (each part present or not), then free-form content.
  void file(hid_t f) {
    const uint8_t parts = p.ConsumeIntegral<uint8_t>();
    H scalar(H5Screate(H5S_SCALAR), H5Sclose);
    if (parts & 1) {
      const int64_t v = (parts & 2) ? 1 : integer();
      attr_raw(f, "lowbit_schema_version", H5T_STD_I64LE, scalar, H5T_NATIVE_INT64, &v);
    }
    std::vector<hid_t> ancestors{f};
    if (parts & 4) {
      H r(H5Gcreate2(f, "run", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
      if (r.id >= 0) {
        ancestors.push_back(r);
        group(r, ancestors, 1);
        ancestors.pop_back();
      }
    }
    if (parts & 8) {
      H c(H5Gcreate2(f, "configs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
      if (c.id >= 0) {
        if (parts & 16) config(c, "m.fp");
        const int n = p.ConsumeIntegralInRange<int>(0, 4);
        for (int i = 0; i < n; ++i) config(c, p.ConsumeBool() ? "m.rtn.b" + std::to_string(i) : name());
        ancestors.push_back(c);
        group(c, ancestors, 1);
        ancestors.pop_back();
      }
    }
    group(f, ancestors, 0);
  }
};

// Where the structured mode writes its file: /dev/shm (no disk traffic) when it is there.
const std::string& h5_dir() {
  static const std::string dir = [] {
    if (access("/dev/shm", W_OK) == 0) {
      std::string tmpl = "/dev/shm/lowbit-fuzz-XXXXXX";
      if (mkdtemp(tmpl.data())) return tmpl;
    }
    return lowbit::fuzz::scratch_dir();
  }();
  return dir;
}

// Builds the file the input describes; false if HDF5 could not create it.
bool build_file(const std::string& path, const uint8_t* data, size_t size) {
  FuzzedDataProvider p(data, size);
  const uint8_t opts = p.ConsumeIntegral<uint8_t>();
  H fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);  // closing the file closes whatever was left open
  if (opts & 1) H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);  // v2 headers, dense attributes
  H fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
  if (opts & 2) H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  if (opts & 4) H5Pset_attr_creation_order(fcpl, H5P_CRT_ORDER_TRACKED);
  const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl, fapl);
  if (f < 0) return false;
  Builder b{p, path};
  b.file(f);
  return H5Fclose(f) >= 0;
}

void read_archive(const std::string& path) {
  try {
    const lowbit::archive::Group root = lowbit::archive::read_group_file(path);
    volatile size_t n = walk(root, 0);
    (void)n;
    // what `fit ARCHIVE` does with the tree
    try {
      (void)lowbit::fit::points_from_archive(root, path);
    } catch (const lowbit::Error& e) {
      lowbit::fuzz::expect_user_error(e);
    }
  } catch (const lowbit::Error& e) {
    lowbit::fuzz::expect_user_error(e);
    return;
  }
  // what `--resume` and `inspect` do first (each reads the file again)
  const lowbit::archive::RunArchive ar(path);
  try {
    (void)ar.read_run();
  } catch (const lowbit::Error& e) {
    lowbit::fuzz::expect_user_error(e);
  }
  try {
    (void)ar.complete_configs();
  } catch (const lowbit::Error& e) {
    lowbit::fuzz::expect_user_error(e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] { return H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr) >= 0; }();
  (void)quiet;
  if (size == 0 || data[0] == 0x89) {
    read_archive(lowbit::fuzz::write_scratch("archive.h5", std::string_view(reinterpret_cast<const char*>(data), size)));
    return 0;
  }
  const std::string path = h5_dir() + "/archive.h5";
  if (build_file(path, data + 1, size - 1)) read_archive(path);
  std::remove(path.c_str());
  return 0;
}
