// lowbit/plan/manifest.cpp — manifest parsing, validation (all errors at once, with
// file:line:column and key path) and sweep expansion. One parse, section by section
// (ManifestParser), into the typed values the runner reads: the study sections too.
// defines: see manifest.hpp
#include "lowbit/plan/manifest.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "lowbit/archive/keys.hpp"
#include "lowbit/archive/params.hpp"
#include "lowbit/compress/driver.hpp"
#include "lowbit/compress/methods.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/fit/law.hpp"
#include "lowbit/io/tokenizer.hpp"

namespace fs = std::filesystem;

namespace lowbit::plan {

namespace {

struct Errors {
  std::string file;
  std::vector<std::pair<std::pair<int, int>, std::string>> list;  // (line, column) → message
  void add(const YAML::Node& n, const std::string& key, const std::string& msg) {
    const auto mk = n.Mark();
    if (mk.line >= 0)
      list.push_back({{mk.line, mk.column}, cat(file, ":", mk.line + 1, ":", mk.column + 1, ": ", key, ": ", msg)});
    else list.push_back({{-1, 0}, cat(file, ": ", key, ": ", msg)});
  }
  // A message that already names its place (file:line:col), sorted by the node's place.
  void raw(const YAML::Node& n, const std::string& msg) { list.push_back({{n.Mark().line, n.Mark().column}, msg}); }
};

// "file:line:col: key" of a node, for Manifest::locations.
std::string loc(const std::string& file, const YAML::Node& n, const std::string& key) {
  const auto mk = n.Mark();
  return mk.line >= 0 ? cat(file, ":", mk.line + 1, ":", mk.column + 1, ": ", key) : cat(file, ": ", key);
}

// yaml-cpp keeps the first of two equal keys and drops the second without a word: every mapping
// of the document is walked and a repeated key is a problem at the repeat.
void check_duplicate_keys(Errors& e, const YAML::Node& n, const std::string& where) {
  if (n.IsMap()) {
    std::unordered_set<std::string> seen;
    for (const auto& kv : n) {
      const std::string k = kv.first.as<std::string>("");
      const std::string kp = where.empty() ? k : where + "." + k;
      if (!seen.insert(k).second)
        e.add(kv.first, kp, "duplicate key (YAML would keep the first value and ignore this one silently)");
      check_duplicate_keys(e, kv.second, kp);
    }
  } else if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); ++i) check_duplicate_keys(e, n[i], cat(where, "[", i, "]"));
  }
}

// A path as a shell would read it: a leading ~/ is $HOME, ${NAME} is the environment variable and
// ${NAME:-default} falls back to `default` (itself expanded) when NAME is unset or empty; relative
// results are taken from `dir` (the manifest's folder). E.g. the real models that .ci/models caches:
// ${LOWBIT_CACHE:-~/.cache/lowbit}/models/SmolLM2-135M-Instruct.Q4_1.gguf
std::string expand_path(const std::string& p) {
  std::string out;
  for (size_t i = 0; i < p.size();) {
    if (p.compare(i, 2, "${") == 0) {
      // find the matching '}' (defaults may nest ${...})
      size_t j = i + 2;
      int depth = 1;
      for (; j < p.size() && depth; ++j) {
        if (p.compare(j, 2, "${") == 0) ++depth, ++j;
        else if (p[j] == '}') --depth;
      }
      if (depth) return out + p.substr(i);  // unbalanced: left as written (the file check names it)
      const std::string body = p.substr(i + 2, j - 1 - (i + 2));
      const size_t d = body.find(":-");
      const std::string name = body.substr(0, d);
      const char* v = std::getenv(name.c_str());
      if (v && *v) out += v;
      else if (d != std::string::npos) out += expand_path(body.substr(d + 2));
      i = j;
    } else {
      out += p[i++];
    }
  }
  if (out.rfind("~/", 0) == 0) {
    const char* h = std::getenv("HOME");
    out = std::string(h && *h ? h : "/root") + out.substr(1);
  }
  return out;
}

std::string resolve(const std::string& dir, const std::string& p0) {
  const std::string p = expand_path(p0);
  if (p.empty() || p[0] == '/') return p;
  return (fs::path(dir) / p).lexically_normal().string();
}

void check_keys(Errors& e, const YAML::Node& map, const std::string& where, const std::set<std::string>& allowed) {
  for (const auto& kv : map) {
    const std::string k = kv.first.as<std::string>("");
    if (!allowed.count(k)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      e.add(kv.first, where.empty() ? k : where + "." + k, "unknown key (expected one of: " + list + ")");
    }
  }
}

template <class T>
bool scalar_as(const YAML::Node& n, T& out) {
  if (!n.IsScalar()) return false;
  try {
    out = n.as<T>();
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}

const char* type_name(int) { return "an integer"; }
const char* type_name(uint64_t) { return "a non-negative integer"; }
const char* type_name(long long) { return "an integer"; }
const char* type_name(double) { return "a number"; }
const char* type_name(const std::string&) { return "a string"; }
const char* type_name(bool) { return "true or false"; }

template <class T>
void get(Errors& e, const YAML::Node& map, const std::string& where, const std::string& key, T& out,
         bool required = false) {
  const YAML::Node n = map[key];
  const std::string kp = where.empty() ? key : where + "." + key;
  if (!n) {
    if (required) e.add(map, kp, "missing (required)");
    return;
  }
  if (!scalar_as(n, out)) e.add(n, kp, std::string("must be ") + type_name(out));
}

// A sweep axis: a scalar or a list of scalars.
template <class T>
void get_axis(Errors& e, const YAML::Node& map, const std::string& where, const std::string& key, std::vector<T>& out) {
  const YAML::Node n = map[key];
  const std::string kp = where + "." + key;
  if (!n) return;
  out.clear();
  T v{};
  if (n.IsScalar()) {
    if (scalar_as(n, v)) out.push_back(v);
    else e.add(n, kp, std::string("must be ") + type_name(v) + " or a list of them");
    return;
  }
  if (!n.IsSequence() || n.size() == 0) {
    e.add(n, kp, std::string("must be ") + type_name(v) + " or a non-empty list of them");
    return;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    if (scalar_as(n[i], v)) out.push_back(v);
    else e.add(n[i], cat(kp, "[", i, "]"), std::string("must be ") + type_name(v));
  }
}

// `group:` as a manifest spells it: a positive group size, or -1 for per channel (0 is refused, as
// it always was: it is no group size, and only the CLI took it for per channel).
bool group_spelling_ok(int g) { return g > 0 || g == QuantSpec::kPerChannelSpelling; }
std::string group_spelling_problem(int g) {
  return cat(g, " must be positive or ", QuantSpec::kPerChannelSpelling, " (per channel)");
}

bool valid_name(const std::string& s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

// A manifest's methods: the reference, quantization and pruning rows of the method table (the
// diagnostics controls are not configurations).
const MethodRow* manifest_method(const std::string& name) {
  const MethodRow* r = find_method(name);
  return r && r->kind != MethodKind::Control ? r : nullptr;
}
std::string manifest_method_names() {
  std::string s;
  for (const auto& r : method_table())
    if (r.kind != MethodKind::Control) s += (s.empty() ? "" : ", ") + std::string(r.name);
  return s;
}
bool needs_calibration(const std::string& method) { return method_row(method).needs_calibration; }
// Methods that read no calibration data at all (no nsamples/seeds/seqlen axes).
bool calibration_free(const std::string& method) { return !method_row(method).reads_calibration; }

std::string fmt_num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// Slurm time limits: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S (all numbers).
bool valid_slurm_time(const std::string& t) {
  if (t.empty()) return false;
  std::string rest = t;
  const auto dash = t.find('-');
  if (dash != std::string::npos) {
    const std::string d = t.substr(0, dash);
    if (d.empty() || !std::all_of(d.begin(), d.end(), ::isdigit)) return false;
    rest = t.substr(dash + 1);
  }
  int parts = 0;
  size_t a = 0;
  while (true) {
    const size_t b = rest.find(':', a);
    const std::string f = rest.substr(a, b == std::string::npos ? std::string::npos : b - a);
    if (f.empty() || !std::all_of(f.begin(), f.end(), ::isdigit)) return false;
    ++parts;
    if (b == std::string::npos) break;
    a = b + 1;
  }
  return parts <= 3;
}

// One sweep axis of one method, values as canonical text.
struct Axis {
  std::string name;
  std::vector<std::string> vals;
  bool numeric = true;
};

template <class T>
std::vector<std::string> texts(const std::vector<T>& v) {
  std::vector<std::string> out;
  for (const auto& x : v) {
    if constexpr (std::is_same_v<T, std::string>) out.push_back(x);
    else if constexpr (std::is_same_v<T, double>) out.push_back(fmt_num(x));
    else out.push_back(std::to_string(x));
  }
  return out;
}

// The axes of one method against one manifest, in expansion order (outermost first).
std::vector<Axis> method_axes(const Manifest& m, const MethodEntry& me) {
  std::vector<Axis> ax;
  if (is_quant_method(me.method)) {
    ax.push_back({"bits", texts(me.bits)});
    ax.push_back({"group", texts(me.group)});
    ax.push_back({"sym", texts(me.sym)});
  } else if (is_prune_method(me.method)) {
    ax.push_back({"sparsity", texts(me.sparsity)});
    ax.push_back({"nm", texts(me.nm), false});
  }
  const bool calib = !m.calib_path.empty() && !calibration_free(me.method);
  if (calib) {
    ax.push_back({"nsamples", texts(me.nsamples.empty() ? m.calib_nsamples : me.nsamples)});
    ax.push_back({"seeds", texts(me.seeds.empty() ? m.seeds : me.seeds)});
    ax.push_back({"seqlen", texts(me.seqlen.empty() ? std::vector<int>{m.calib_seqlen} : me.seqlen)});
  }
  return ax;
}

// The group part of a configuration id. Ids are names, kept stable so existing archives and
// --resume stay valid: per channel is spelled as the manifest spells it (".g-1"), not with
// QuantSpec::kPerChannel, the value that reaches the archive's `group` attributes.
std::string group_id_name(int group) {
  return group == QuantSpec::kPerChannel ? std::to_string(QuantSpec::kPerChannelSpelling) : std::to_string(group);
}

bool same_value(const Axis& a, const std::string& x, const std::string& y) {
  if (!a.numeric) return x == y;
  try {
    return std::stod(x) == std::stod(y);
  } catch (const std::exception&) {
    return false;
  }
}

// Units: a zip group (its members advance together) or a single axis; placed where their first
// axis stands, so a manifest without zips expands in the plain nested order. `len` is each unit's
// number of steps.
struct Units {
  std::vector<std::vector<int>> units;
  std::vector<size_t> len;
};
Units sweep_units(const std::vector<Axis>& ax, const MethodEntry& me) {
  Units U;
  auto& units = U.units;
  std::vector<int> unit_of(ax.size(), -1);
  for (size_t i = 0; i < ax.size(); ++i) {
    if (unit_of[i] >= 0) continue;
    std::vector<int> u{int(i)};
    for (const auto& z : me.zip)
      if (std::find(z.begin(), z.end(), ax[i].name) != z.end())
        for (size_t j = i + 1; j < ax.size(); ++j)
          if (std::find(z.begin(), z.end(), ax[j].name) != z.end()) u.push_back(int(j));
    for (int j : u) unit_of[size_t(j)] = int(units.size());
    units.push_back(u);
  }
  U.len.resize(units.size());
  for (size_t u = 0; u < units.size(); ++u) {
    U.len[u] = ax[size_t(units[u][0])].vals.size();
    for (int j : units[u]) U.len[u] = std::min(U.len[u], ax[size_t(j)].vals.size());
  }
  return U;
}

// The configurations one method entry sweeps for one model, before excludes: the product of its
// units' lengths, computed without expanding. A double: exact to 2^53 and never overflowing (a
// 16 MiB manifest holds a few million values, whose product may pass 2^64). `factors` shows it.
double sweep_count(const Manifest& m, const MethodEntry& me, std::string* factors = nullptr) {
  const auto ax = method_axes(m, me);
  const Units U = sweep_units(ax, me);
  double n = 1;
  for (size_t u = 0; u < U.len.size(); ++u) {
    n *= double(U.len[u]);
    if (factors) *factors += cat(u ? " x " : "", U.len[u], " ", ax[size_t(U.units[u][0])].name);
  }
  return n;
}
std::string count_text(double n) {
  char b[64];
  std::snprintf(b, sizeof b, "%.0f", n);
  return b;
}

// The configurations of one method for one model; `hits[i]` counts what exclude[i] removed.
// Up to kMaxConfigurations of them, so everything that depends on one axis value only (the excludes'
// verdicts, the typed values, the id fragments) is worked out once per value, not per configuration:
// the odometer then only indexes arrays (the id is the one string built per configuration).
std::vector<RunConfig> expand_method(const Manifest& m, const MethodEntry& me, int entry, int mi,
                                     const std::string& model_name, std::vector<int>* hits = nullptr) {
  const std::vector<Axis> ax = method_axes(m, me);
  const auto [units, len] = sweep_units(ax, me);
  if (hits) hits->assign(me.exclude.size(), 0);
  std::vector<RunConfig> out;
  for (size_t l : len)
    if (l == 0) return out;
  std::vector<size_t> unit_of(ax.size(), 0);
  for (size_t u = 0; u < units.size(); ++u)
    for (int j : units[u]) unit_of[size_t(j)] = u;
  auto axis_index = [&](const std::string& name) -> int {
    for (size_t j = 0; j < ax.size(); ++j)
      if (ax[j].name == name) return int(j);
    return -1;
  };
  // An exclude entry matches a configuration when, for every axis it names, the configuration's
  // value is one of the listed ones; an entry naming an axis this method lacks matches nothing.
  struct Term {
    size_t axis;
    std::vector<char> match;  // per value of the axis
  };
  struct Rule {
    bool never = false;
    std::vector<Term> terms;
  };
  std::vector<Rule> rules(me.exclude.size());
  for (size_t e = 0; e < me.exclude.size(); ++e) {
    if (me.exclude[e].empty()) rules[e].never = true;  // an entry that failed validation (reported)
    for (const auto& [k, want] : me.exclude[e]) {
      const int a = axis_index(k);
      if (a < 0) {
        rules[e].never = true;
        break;
      }
      Term t{size_t(a), std::vector<char>(ax[size_t(a)].vals.size(), 0)};
      for (size_t x = 0; x < t.match.size(); ++x)
        t.match[x] = std::any_of(want.begin(), want.end(),
                                 [&](const std::string& w) { return same_value(ax[size_t(a)], ax[size_t(a)].vals[x], w); });
      rules[e].terms.push_back(std::move(t));
    }
  }
  // Typed values and id fragments, per axis value; what the id spells is what cat() prints.
  const bool quant = is_quant_method(me.method), prune = is_prune_method(me.method);
  const int a_bits = axis_index("bits"), a_group = axis_index("group"), a_sym = axis_index("sym");
  const int a_sparsity = axis_index("sparsity"), a_nm = axis_index("nm");
  const int a_n = axis_index("nsamples"), a_seed = axis_index("seeds"), a_len = axis_index("seqlen");
  std::vector<std::string> frag_bits, frag_group, frag_sparsity, frag_nm, frag_n, frag_seed, frag_len;
  std::vector<double> sparsity;
  if (quant) {
    for (int b : me.bits) frag_bits.push_back(cat(".b", b));
    for (int g : me.group) frag_group.push_back(".g" + group_id_name(g));
  } else if (prune) {
    for (const auto& t : ax[size_t(a_sparsity)].vals) {
      sparsity.push_back(std::strtod(t.c_str(), nullptr));  // the text's value (what the id spells)
      frag_sparsity.push_back(".sp" + fmt_num(sparsity.back()));
    }
    for (const auto& nm : ax[size_t(a_nm)].vals) {
      std::string nmid = nm;
      std::replace(nmid.begin(), nmid.end(), ':', '-');
      frag_nm.push_back(nm.empty() ? "" : ".nm" + nmid);
    }
  }
  const bool calib = a_n >= 0;
  std::vector<int> nsamples, seqlen;
  std::vector<uint64_t> seeds;
  if (calib) {
    nsamples = me.nsamples.empty() ? m.calib_nsamples : me.nsamples;
    seeds = me.seeds.empty() ? m.seeds : me.seeds;
    seqlen = me.seqlen.empty() ? std::vector<int>{m.calib_seqlen} : me.seqlen;
    for (int n : nsamples) frag_n.push_back(cat(".n", n));
    for (uint64_t s : seeds) frag_seed.push_back(cat(".s", s));
    for (int l : seqlen) frag_len.push_back(l != m.calib_seqlen ? cat(".L", l) : std::string());
  }
  const std::string head = quant || prune ? cat(model_name, ".", me.method) : model_name + ".fp";
  size_t count = 1;  // the sweep's size: callers expand only sweeps within kMaxConfigurations
  for (size_t l : len) count = count > kMaxConfigurations / l ? size_t(kMaxConfigurations) : count * l;
  out.reserve(std::min(count, size_t(kMaxConfigurations)));
  std::vector<size_t> idx(units.size(), 0);
  auto at = [&](int a) { return idx[unit_of[size_t(a)]]; };
  while (true) {
    bool excluded = false;
    for (size_t e = 0; e < rules.size(); ++e) {
      if (rules[e].never) continue;
      const bool all = std::all_of(rules[e].terms.begin(), rules[e].terms.end(),
                                   [&](const Term& t) { return t.match[at(int(t.axis))] != 0; });
      if (all) {
        excluded = true;
        if (hits) ++(*hits)[e];
      }
    }
    if (!excluded) {
      RunConfig c;
      c.model = mi;
      c.entry = entry;
      c.method = me.method;
      c.seqlen = m.calib_seqlen;
      c.id = head;
      if (quant) {
        const size_t b = at(a_bits), g = at(a_group), s = at(a_sym);
        c.bits = me.bits[b];
        c.group = me.group[g];
        c.sym = me.sym[s];
        c.id += frag_bits[b];
        c.id += frag_group[g];
        c.id += c.sym ? ".sym" : ".asym";
      } else if (prune) {
        const size_t s = at(a_sparsity), n = at(a_nm);
        c.sparsity = sparsity[s];
        c.nm = ax[size_t(a_nm)].vals[n];
        c.id += frag_sparsity[s];
        c.id += frag_nm[n];
      }
      if (calib) {
        const size_t n = at(a_n), s = at(a_seed), l = at(a_len);
        c.nsamples = nsamples[n];
        c.seed = seeds[s];
        c.seqlen = seqlen[l];
        c.id += frag_n[n];
        c.id += frag_seed[s];
        c.id += frag_len[l];
      }
      out.push_back(std::move(c));
    }
    // odometer: the last unit moves fastest
    int u = int(units.size()) - 1;
    for (; u >= 0; --u) {
      if (++idx[size_t(u)] < len[size_t(u)]) break;
      idx[size_t(u)] = 0;
    }
    if (u < 0) break;
  }
  return out;
}

// The laws as `lowbit fit` reads them (expressions compiled, parameters against bounds): what fit
// would refuse later is a problem now. fit's messages carry their own file:line:col.
template <class F>
void check_laws(Errors& e, const YAML::Node& n, F&& parse) {
  try {
    parse();
  } catch (const Error& ex) {
    e.raw(n, ex.what());
  }
}

void check_manifest_size(const std::string& path, long long bytes) {
  if (bytes > kMaxManifestBytes)
    LB_THROW(ConfigError, path, ": the manifest is ", bytes, " bytes, more than the limit of ", kMaxManifestBytes,
             " bytes (16 MiB); it was not parsed");
}

// The line (1-based) of the `---` that starts the second document: the first marker, or the second
// when the file opens with one (comments, blank lines and %directives before it aside).
int second_document_line(const std::string& text) {
  std::istringstream in(text);
  std::string l;
  bool content = false;
  for (int n = 1; std::getline(in, l); ++n) {
    const bool marker = l.rfind("---", 0) == 0 && (l.size() == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\r');
    if (marker && content) return n;
    if (marker || !(l.empty() || l[0] == '#' || l[0] == '%')) content = true;
  }
  return 1;
}

// The manifest's one YAML document; a second one (after `---`) would be ignored silently.
YAML::Node load_one_document(const std::string& text, const std::string& path) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::ParserException& ex) {
    LB_THROW(ConfigError, path, ":", ex.mark.line + 1, ":", ex.mark.column + 1, ": YAML syntax error: ", ex.msg);
  }
  if (docs.size() > 1)
    LB_THROW(ConfigError, path, ":", second_document_line(text), ":1: a second YAML document (after `---`): ",
             "a manifest is one document, the rest would be ignored");
  return docs.empty() ? YAML::Node() : docs[0];
}

// Where a duplicated value of `axis` was written: the method's own key, else the manifest-wide one.
std::pair<YAML::Node, std::string> axis_node(const YAML::Node& root, const YAML::Node& mn, const std::string& kp,
                                             const std::string& axis) {
  if (mn[axis]) return {mn[axis], kp + "." + axis};
  if (axis == "seeds" && root["seeds"]) return {root["seeds"], "seeds"};
  if (axis == "nsamples" && root["calibration"] && root["calibration"].IsMap() && root["calibration"]["nsamples"])
    return {root["calibration"]["nsamples"], "calibration.nsamples"};
  return {mn, kp + "." + axis};
}

// Every id of the entries checked so far (views into their id sets, whose nodes do not move) → entry.
using IdIndex = std::unordered_multimap<std::string_view, size_t>;

// Two configurations with one id would run once (expand keeps the first): refused, naming the
// values that print alike (bits [4, 4], sparsity 0.1234561 and 0.1234562) or the other entry.
void check_unique_ids(Errors& e, const YAML::Node& root, const Manifest& m, size_t i, const YAML::Node& mn,
                      const std::string& kp, std::vector<RunConfig>& cs,
                      std::vector<std::unordered_set<std::string>>& ids_of, IdIndex& index) {
  const MethodEntry& me = m.methods[i];
  std::string dup;
  ids_of[i].reserve(cs.size());
  for (auto& c : cs) {  // the ids move into ids_of[i]: up to kMaxConfigurations strings not copied
    const auto [at, fresh] = ids_of[i].insert(std::move(c.id));
    if (!fresh && dup.empty()) dup = at->substr(2);
  }
  if (!dup.empty()) {
    bool named = false;
    for (const auto& a : method_axes(m, me)) {
      if (std::any_of(me.zip.begin(), me.zip.end(), [&](const auto& z) { return std::count(z.begin(), z.end(), a.name); }))
        continue;
      for (size_t x = 0; x < a.vals.size() && !named; ++x)
        for (size_t y = x + 1; y < a.vals.size() && !named; ++y)
          if (a.vals[x] == a.vals[y]) {
            const auto [n, key] = axis_node(root, mn, kp, a.name);
            const std::string full = cat(loc(e.file, n, key), ": values [", x, "] and [", y, "] both give '", a.vals[x],
                                         "' in the configuration id: one configuration would be dropped silently");
            if (std::none_of(e.list.begin(), e.list.end(), [&](const auto& p) { return p.second == full; })) e.raw(n, full);
            named = true;
          }
    }
    if (!named) e.add(mn, kp, "configuration id '" + dup + "' occurs twice: one configuration would be dropped silently");
  }
  // The first earlier entry that sweeps one of these ids for a model both sweep, and the smallest
  // such id: one lookup per id in `index` (every earlier entry's ids), not one per id and entry.
  std::vector<char> shared(i, 0);
  for (size_t j = 0; j < i; ++j) {
    const auto& o = m.methods[j].models;
    shared[j] = me.models.empty() || o.empty() ||
                std::any_of(me.models.begin(), me.models.end(), [&](const std::string& x) { return std::count(o.begin(), o.end(), x); });
  }
  size_t other = i;
  const std::string* first = nullptr;
  for (const auto& id : ids_of[i]) {
    const auto [b, end] = index.equal_range(id);
    for (auto it = b; it != end; ++it)
      if (shared[it->second] && (it->second < other || (it->second == other && id < *first))) {
        other = it->second;
        first = &id;
      }
  }
  if (i + 1 < m.methods.size())
    for (const auto& id : ids_of[i]) index.emplace(id, i);
  if (first)
    e.add(mn, kp, cat("configuration id '", first->substr(2), "' is also swept by methods[", other,
                      "]: it would run once (remove one of the two)"));
}

// Zipped axes of equal length (false and reported otherwise).
bool zip_lengths_ok(Errors& e, const Manifest& m, const MethodEntry& me, const YAML::Node& mn, const std::string& kp) {
  const auto ax = method_axes(m, me);
  bool ok = true;
  for (const auto& z : me.zip) {
    std::string desc;
    size_t n0 = 0;
    bool same = true;
    for (const auto& a : z) {
      const auto it = std::find_if(ax.begin(), ax.end(), [&](const Axis& x) { return x.name == a; });
      if (it == ax.end()) continue;
      if (desc.empty()) n0 = it->vals.size();
      else if (it->vals.size() != n0) same = false;
      desc += cat(desc.empty() ? "" : ", ", a, " has ", it->vals.size());
    }
    if (!same) {
      e.add(mn["zip"], kp + ".zip", "zipped axes must have equal lengths (" + desc + ")");
      ok = false;
    }
  }
  return ok;
}

// Bounded sweeps (counted as products before anything is expanded: 10^12 is refused at once);
// then, expanded: excludes that match something, methods that keep a configuration, and
// configuration ids that no other configuration also gets.
void check_sweeps(Errors& e, const YAML::Node& root, const YAML::Node& meth, const Manifest& m,
                  const std::vector<std::pair<YAML::Node, std::string>>& nodes) {
  double total = 0;
  std::vector<char> ok(m.methods.size(), 0);
  for (size_t i = 0; i < m.methods.size(); ++i) {
    const auto& me = m.methods[i];
    const auto& [mn, kp] = nodes[i];
    if (!zip_lengths_ok(e, m, me, mn, kp)) continue;
    std::string factors;
    const double n = sweep_count(m, me, &factors);
    total += n * double(me.models.empty() ? m.models.size() : me.models.size());
    ok[i] = n <= double(kMaxConfigurations);
    if (!ok[i])
      e.add(mn, kp, cat("sweeps ", count_text(n), " configurations (", factors, "), more than the limit of ",
                        kMaxConfigurations));
  }
  if (total > double(kMaxConfigurations)) {
    if (std::all_of(ok.begin(), ok.end(), [](char x) { return x; }))
      e.add(meth, "methods", cat("the manifest sweeps ", count_text(total), " configurations in all (models x entries x axes), ",
                                 "more than the limit of ", kMaxConfigurations));
    return;
  }
  // Hash sets: up to kMaxConfigurations ids of one method, which share long prefixes.
  std::vector<std::unordered_set<std::string>> ids_of(m.methods.size());
  IdIndex index;
  for (size_t i = 0; i < m.methods.size(); ++i) {
    if (!ok[i]) continue;
    const auto& me = m.methods[i];
    const auto& [mn, kp] = nodes[i];
    std::vector<int> hits;
    auto cs = expand_method(m, me, int(i), 0, "x", &hits);
    for (size_t j = 0; j < hits.size(); ++j)
      if (hits[j] == 0 && !me.exclude[j].empty())
        e.add(mn["exclude"][j], cat(kp, ".exclude[", j, "]"), "matches no configuration of this method (a typo?)");
    if (cs.empty() && !me.exclude.empty())
      e.add(mn["exclude"], kp + ".exclude", "excludes every configuration of this method");
    check_unique_ids(e, root, m, i, mn, kp, cs, ids_of, index);
  }
}




// The manifest's sections, one function each; problems collect in `e` (all reported at once).
class ManifestParser {
 public:
  ManifestParser(Manifest& m, const std::string& path, bool files) : e{path, {}}, m(m), path(path), files(files) {}
  void top(const YAML::Node& root);
  void models(const YAML::Node& root);
  void calibration(const YAML::Node& root);
  void evaluation(const YAML::Node& root);
  void methods(const YAML::Node& root);
  void execution(const YAML::Node& root);
  void resources(const YAML::Node& root);
  void diagnostics(const YAML::Node& root);
  void tasks(const YAML::Node& root);
  void laws(const YAML::Node& root);
  void finish(const YAML::Node& root);  // cross-section checks; ConfigError listing every problem

 private:
  Errors e;
  Manifest& m;
  const std::string& path;
  const bool files;  // false: --no-file-checks
  void need_file(const YAML::Node& n, const std::string& kp, const std::string& p, bool dir_ok);
  void method_entry(const YAML::Node& mn, const std::string& kp, std::vector<std::pair<YAML::Node, std::string>>& nodes);
  std::set<std::string> method_keys(const YAML::Node& mn, const std::string& kp, const MethodEntry& me);
  void method_values(const YAML::Node& mn, const std::string& kp, MethodEntry& me);
  void method_zip(const YAML::Node& mn, const std::string& kp, MethodEntry& me, const std::set<std::string>& axes);
  void method_exclude(const YAML::Node& mn, const std::string& kp, MethodEntry& me, const std::set<std::string>& axes);
  bool exclude_value(const YAML::Node& vn, const std::string& vkp, const std::string& axis, std::string& sv);
  void resource_lines(const YAML::Node& r);
};

// A file the manifest names must exist (skipped with --no-file-checks).
void ManifestParser::need_file(const YAML::Node& n, const std::string& kp, const std::string& p, bool dir_ok) {
  if (!files || p.empty()) return;
  m.locations[kp] = loc(path, n, kp);
  if (!dir_ok && is_directory(p)) return e.add(n, kp, "is a folder, not a file: " + p);
  if (file_exists(p)) return;
  e.add(n, kp, (dir_ok ? "no such file or folder: " : "no such file: ") + p);
}

void ManifestParser::top(const YAML::Node& root) {
  check_duplicate_keys(e, root, "");
  check_keys(e, root, "", {"name", "output", "models", "calibration", "evaluation", "methods", "seeds", "execution",
                           "diagnostics", "tasks", "laws", "resources", "testbed", "description"});
  get(e, root, "", "name", m.name, true);
  if (root["name"] && root["name"].IsScalar() && m.name.empty()) e.add(root["name"], "name", "must not be empty");
  if (!m.name.empty() && !valid_name(m.name)) e.add(root["name"], "name", "use letters, digits, '_', '-', '.'");
  std::string out = m.name.empty() ? "run" : m.name;
  out += ".h5";
  get(e, root, "", "output", out);
  m.output = resolve(m.dir, out);
  if (const YAML::Node d = root["description"]; d && !d.IsScalar()) e.add(d, "description", "must be a string");
}

void ManifestParser::models(const YAML::Node& root) {
  const YAML::Node models = root["models"];
  if (!models) e.add(root, "models", "missing (required): a list of {name, path}");
  else if (!models.IsSequence() || models.size() == 0) e.add(models, "models", "must be a non-empty list of {name, path}");
  else {
    std::set<std::string> names;
    for (size_t i = 0; i < models.size(); ++i) {
      const YAML::Node mn = models[i];
      const std::string kp = cat("models[", i, "]");
      if (!mn.IsMap()) {
        e.add(mn, kp, "must be a mapping with name and path");
        continue;
      }
      check_keys(e, mn, kp, {"name", "path", "tokenizer", "family"});
      ModelEntry me;
      get(e, mn, kp, "name", me.name, true);
      get(e, mn, kp, "path", me.path, true);
      get(e, mn, kp, "tokenizer", me.tokenizer);
      get(e, mn, kp, "family", me.family);
      if (!me.name.empty() && !valid_name(me.name)) e.add(mn["name"], kp + ".name", "use letters, digits, '_', '-', '.'");
      if (!me.name.empty() && !names.insert(me.name).second) e.add(mn["name"], kp + ".name", "duplicate model name '" + me.name + "'");
      if (!me.path.empty()) {
        me.path = resolve(m.dir, me.path);
        need_file(mn["path"], kp + ".path", me.path, true);
      }
      if (!me.tokenizer.empty()) {
        me.tokenizer = resolve(m.dir, me.tokenizer);
        need_file(mn["tokenizer"], kp + ".tokenizer", me.tokenizer, false);
      } else if (files && !me.path.empty() && (file_exists(me.path) || is_directory(me.path))) {
        try {
          me.tokenizer = find_tokenizer_for(me.path);
        } catch (const Error&) {
          e.add(mn, kp + ".tokenizer", "missing, and no tokenizer was found beside " + me.path);
        }
      }
      if (me.family.empty()) me.family = me.name;
      m.models.push_back(me);
    }
  }
}

void ManifestParser::calibration(const YAML::Node& root) {
  if (const YAML::Node c = root["calibration"]) {
    if (!c.IsMap()) e.add(c, "calibration", "must be a mapping {path, nsamples, seqlen}");
    else {
      check_keys(e, c, "calibration", {"path", "nsamples", "seqlen"});
      get(e, c, "calibration", "path", m.calib_path, true);
      get_axis(e, c, "calibration", "nsamples", m.calib_nsamples);
      get(e, c, "calibration", "seqlen", m.calib_seqlen);
      for (const char* k : {"nsamples", "seqlen"})
        m.locations[cat("calibration.", k)] = loc(path, c[k] ? c[k] : c, cat("calibration.", k));
      if (!m.calib_path.empty()) {
        m.calib_path = resolve(m.dir, m.calib_path);
        need_file(c["path"], "calibration.path", m.calib_path, false);
      }
      for (int v : m.calib_nsamples)
        if (v < 1) e.add(c["nsamples"], "calibration.nsamples", cat(v, " must be at least 1"));
      if (m.calib_seqlen < 2) e.add(c["seqlen"] ? c["seqlen"] : c, "calibration.seqlen", cat(m.calib_seqlen, " must be at least 2"));
    }
  }
  get_axis(e, root, "", "seeds", m.seeds);
}

void ManifestParser::evaluation(const YAML::Node& root) {
  if (const YAML::Node ev = root["evaluation"]) {
    if (!ev.IsMap()) e.add(ev, "evaluation", "must be a mapping {ppl: {path, ctx, max_windows}}");
    else {
      check_keys(e, ev, "evaluation", {"ppl"});
      if (const YAML::Node p = ev["ppl"]) {
        if (!p.IsMap()) e.add(p, "evaluation.ppl", "must be a mapping {path, ctx, max_windows}");
        else {
          check_keys(e, p, "evaluation.ppl", {"path", "ctx", "max_windows"});
          get(e, p, "evaluation.ppl", "path", m.eval_path);
          get(e, p, "evaluation.ppl", "ctx", m.eval_ctx);
          if (p["ctx"]) m.locations["evaluation.ppl.ctx"] = loc(path, p["ctx"], "evaluation.ppl.ctx");
          get(e, p, "evaluation.ppl", "max_windows", m.eval_max_windows);
          if (!m.eval_path.empty()) {
            m.eval_path = resolve(m.dir, m.eval_path);
            need_file(p["path"], "evaluation.ppl.path", m.eval_path, false);
          }
          if (m.eval_ctx < 0) e.add(p["ctx"], "evaluation.ppl.ctx", "must be >= 0 (0 = the model's context)");
          if (m.eval_max_windows < 0) e.add(p["max_windows"], "evaluation.ppl.max_windows", "must be >= 0 (0 = all)");
        }
      }
    }
  }
}

void ManifestParser::methods(const YAML::Node& root) {
  const YAML::Node meth = root["methods"];
  std::vector<std::pair<YAML::Node, std::string>> method_nodes;
  if (!meth) e.add(root, "methods", "missing (required): a list of {method, ...axes}");
  else if (!meth.IsSequence() || meth.size() == 0) e.add(meth, "methods", "must be a non-empty list");
  else
    for (size_t i = 0; i < meth.size(); ++i) method_entry(meth[i], cat("methods[", i, "]"), method_nodes);
  if (meth && meth.IsSequence()) check_sweeps(e, root, meth, m, method_nodes);
}

// One entry of `methods:`, appended to m.methods (and its node to `nodes`) when its method is known.
void ManifestParser::method_entry(const YAML::Node& mn, const std::string& kp,
                                  std::vector<std::pair<YAML::Node, std::string>>& nodes) {
  if (!mn.IsMap()) return e.add(mn, kp, "must be a mapping with a `method` key");
  MethodEntry me;
  get(e, mn, kp, "method", me.method, true);
  if (me.method.empty()) return;
  if (!manifest_method(me.method))
    return e.add(mn["method"], kp + ".method", "'" + me.method + "' is not a method (" + manifest_method_names() + ")");
  const std::set<std::string> axes = method_keys(mn, kp, me);
  method_values(mn, kp, me);
  method_zip(mn, kp, me, axes);
  method_exclude(mn, kp, me, axes);
  m.locations[kp] = loc(path, mn, kp);
  for (const char* k : {"method", "bits", "group", "sym", "sparsity", "nm"})  // fields validate_configs names
    if (mn[k]) m.locations[cat(kp, ".", k)] = loc(path, mn[k], cat(kp, ".", k));
  nodes.push_back({mn, kp});
  m.methods.push_back(me);
}

// The keys an entry of this method may have (unknown ones and the other kind's are problems);
// returns its sweep axes.
std::set<std::string> ManifestParser::method_keys(const YAML::Node& mn, const std::string& kp, const MethodEntry& me) {
  const bool q = is_quant_method(me.method), pr = is_prune_method(me.method);
  const bool free = calibration_free(me.method);
  std::set<std::string> keys = {"method", "models", "zip", "exclude"};
  std::set<std::string> axes;
  if (q) axes.insert({"bits", "group", "sym"});
  if (pr) axes.insert({"sparsity", "nm"});
  if (!free) axes.insert({"nsamples", "seeds", "seqlen"});
  keys.insert(axes.begin(), axes.end());
  if (free)
    for (const char* k : {"nsamples", "seeds", "seqlen"})
      if (mn[k]) e.add(mn[k], kp + "." + k, me.method + " reads no calibration data: " + k + " does not apply");
  for (const auto& kv : mn) {
    const std::string k = kv.first.as<std::string>("");
    if (keys.count(k) || (free && (k == "nsamples" || k == "seeds" || k == "seqlen"))) continue;
    std::string list;
    for (const auto& a : keys) list += (list.empty() ? "" : ", ") + a;
    const bool other_kind = k == "bits" || k == "group" || k == "sym" || k == "sparsity" || k == "nm";
    e.add(kv.first, kp + "." + k,
          other_kind ? cat("does not apply to ", me.method, " (", q ? "a quantization" : pr ? "a pruning" : "the unquantized",
                           " method; its keys: ", list, ")")
                     : "unknown key (expected one of: " + list + ")");
  }
  return axes;
}

// The entry's axis values (defaults where absent), checked.
void ManifestParser::method_values(const YAML::Node& mn, const std::string& kp, MethodEntry& me) {
  const bool q = is_quant_method(me.method), pr = is_prune_method(me.method);
  const bool free = calibration_free(me.method);
  get_axis(e, mn, kp, "models", me.models);
  if (!free) {
    get_axis(e, mn, kp, "nsamples", me.nsamples);
    get_axis(e, mn, kp, "seeds", me.seeds);
    get_axis(e, mn, kp, "seqlen", me.seqlen);
    for (const char* k : {"nsamples", "seqlen"})
      if (mn[k]) m.locations[cat(kp, ".", k)] = loc(path, mn[k], cat(kp, ".", k));
    for (int v : me.nsamples)
      if (v < 1) e.add(mn["nsamples"], kp + ".nsamples", cat(v, " must be at least 1"));
    for (int v : me.seqlen)
      if (v < 2) e.add(mn["seqlen"], kp + ".seqlen", cat(v, " must be at least 2"));
  }
  if (q) {
    me.bits = {4};
    me.group = {128};
    me.sym = {0};
    get_axis(e, mn, kp, "bits", me.bits);
    get_axis(e, mn, kp, "group", me.group);
    std::vector<bool> sym;
    get_axis(e, mn, kp, "sym", sym);
    if (!sym.empty()) {
      me.sym.clear();
      for (bool b : sym) me.sym.push_back(b ? 1 : 0);
    }
    for (int b : me.bits)
      if (b < 2 || b > 8) e.add(mn["bits"], kp + ".bits", cat(b, " is outside 2..8"));
    for (int& g : me.group) {
      if (!group_spelling_ok(g)) e.add(mn["group"], kp + ".group", group_spelling_problem(g));
      g = QuantSpec::from_user_group(g);  // the one conversion of the manifest's spelling
    }
  }
  if (pr) {
    me.sparsity = {0.5};
    me.nm = {""};
    get_axis(e, mn, kp, "sparsity", me.sparsity);
    get_axis(e, mn, kp, "nm", me.nm);
    for (double s : me.sparsity)
      if (!(s >= 0 && s < 1)) e.add(mn["sparsity"], kp + ".sparsity", cat(s, " must be in [0, 1)"));
    for (const auto& nm : me.nm) {
      if (nm.empty()) continue;
      if (!method_row(me.method).supports_nm)
        e.add(mn["nm"], kp + ".nm", "haar prunes wavelet coefficients, not weights: N:M patterns do not apply (use sparsity)");
      else if (!parse_nm(nm)) e.add(mn["nm"], kp + ".nm", nm_syntax_problem(nm));
    }
  }
  for (const auto& name : me.models)
    if (std::none_of(m.models.begin(), m.models.end(), [&](const ModelEntry& x) { return x.name == name; }))
      e.add(mn["models"], kp + ".models", "'" + name + "' is not a model of this manifest");
}

void ManifestParser::method_zip(const YAML::Node& mn, const std::string& kp, MethodEntry& me,
                                const std::set<std::string>& axes) {
  // zip: a list of axis names, or a list of such lists
  if (const YAML::Node z = mn["zip"]) {
    std::vector<std::pair<YAML::Node, std::vector<std::string>>> groups;
    auto names_of = [&](const YAML::Node& g, const std::string& gkp) {
      std::vector<std::string> v;
      if (!g.IsSequence()) {
        e.add(g, gkp, "must be a list of axis names");
        return;
      }
      for (size_t j = 0; j < g.size(); ++j) {
        std::string a;
        if (!scalar_as(g[j], a)) e.add(g[j], cat(gkp, "[", j, "]"), "must be an axis name");
        else v.push_back(a);
      }
      groups.push_back({g, v});
    };
    if (z.IsSequence() && z.size() > 0 && z[0].IsSequence())
      for (size_t j = 0; j < z.size(); ++j) names_of(z[j], cat(kp, ".zip[", j, "]"));
    else names_of(z, kp + ".zip");
    std::set<std::string> used;
    for (size_t j = 0; j < groups.size(); ++j) {
      const auto& [gn, v] = groups[j];
      const std::string gkp = groups.size() > 1 || (z.size() && z[0].IsSequence()) ? cat(kp, ".zip[", j, "]") : kp + ".zip";
      bool ok = v.size() >= 2;
      if (!ok) e.add(gn, gkp, "zip needs two or more axes");
      for (const auto& a : v) {
        if (!axes.count(a)) {
          std::string list;
          for (const auto& x : axes) list += (list.empty() ? "" : ", ") + x;
          e.add(gn, gkp, cat("'", a, "' is not a sweep axis of ", me.method, " (axes: ", list, ")"));
          ok = false;
        } else if (!used.insert(a).second) {
          e.add(gn, gkp, cat("axis '", a, "' is zipped twice"));
          ok = false;
        }
      }
      if (ok) me.zip.push_back(v);
    }
  }
}

void ManifestParser::method_exclude(const YAML::Node& mn, const std::string& kp, MethodEntry& me,
                                    const std::set<std::string>& axes) {
  // exclude: a list of {axis: value or [values]}
  const YAML::Node x = mn["exclude"];
  if (!x) return;
  if (!x.IsSequence() || x.size() == 0) return e.add(x, kp + ".exclude", "must be a non-empty list of {axis: value(s)}");
  for (size_t j = 0; j < x.size(); ++j) {
    const std::string xkp = cat(kp, ".exclude[", j, "]");
    const YAML::Node xe = x[j];
    if (!xe.IsMap() || xe.size() == 0) {
      e.add(xe, xkp, "must be a mapping {axis: value or [values]}");
      continue;
    }
    std::map<std::string, std::vector<std::string>> ent;
    bool ok = true;
    for (const auto& kv : xe) {
      const std::string a = kv.first.as<std::string>("");
      if (!axes.count(a)) {
        std::string list;
        for (const auto& y : axes) list += (list.empty() ? "" : ", ") + y;
        e.add(kv.first, xkp + "." + a, cat("is not a sweep axis of ", me.method, " (axes: ", list, ")"));
        ok = false;
        continue;
      }
      std::vector<std::string>& vals = ent[a];
      auto add_val = [&](const YAML::Node& vn, const std::string& vkp) {
        std::string sv;
        if (exclude_value(vn, vkp, a, sv)) vals.push_back(sv);
        else ok = false;
      };
      if (kv.second.IsSequence())
        for (size_t k = 0; k < kv.second.size(); ++k) add_val(kv.second[k], cat(xkp, ".", a, "[", k, "]"));
      else add_val(kv.second, xkp + "." + a);
    }
    if (ok) me.exclude.push_back(ent);
    else me.exclude.push_back({});  // keeps indices aligned; skipped by expand_method
  }
}

// One value of an exclude entry for `axis`, as the axis's canonical text (sym as 1/0, group
// converted like the axis); false (and reported) when it is not one.
bool ManifestParser::exclude_value(const YAML::Node& vn, const std::string& vkp, const std::string& axis, std::string& sv) {
  if (!scalar_as(vn, sv)) return e.add(vn, vkp, "must be a value or a list of values"), false;
  if (axis == "sym") {
    bool b = false;
    if (!scalar_as(vn, b)) return e.add(vn, vkp, "must be true or false"), false;
    sv = b ? "1" : "0";
  } else if (axis == "group") {  // spelled as the axis, compared with its converted values
    int g = 0;
    if (!scalar_as(vn, g)) return e.add(vn, vkp, "must be an integer"), false;
    if (!group_spelling_ok(g)) return e.add(vn, vkp, group_spelling_problem(g)), false;
    sv = std::to_string(QuantSpec::from_user_group(g));
  } else if (axis != "nm") {
    double d = 0;
    if (!scalar_as(vn, d)) return e.add(vn, vkp, "must be a number"), false;
  }
  return true;
}

void ManifestParser::execution(const YAML::Node& root) {
  if (const YAML::Node x = root["execution"]) {
    if (!x.IsMap()) e.add(x, "execution", "must be a mapping {group_size, micro_batch}");
    else {
      check_keys(e, x, "execution", {"group_size", "micro_batch"});
      get(e, x, "execution", "group_size", m.group_size);
      get(e, x, "execution", "micro_batch", m.micro_batch);
      m.locations["execution.micro_batch"] = loc(path, x["micro_batch"] ? x["micro_batch"] : x, "execution.micro_batch");
      if (m.group_size < 1) e.add(x["group_size"], "execution.group_size", "must be at least 1");
      if (m.micro_batch < 1) e.add(x["micro_batch"], "execution.micro_batch", "must be at least 1");
    }
  }
}

void ManifestParser::resources(const YAML::Node& root) {
  if (const YAML::Node r = root["resources"]) {
    Resources& R = m.resources;
    if (!r.IsMap()) e.add(r, "resources", "must be a mapping {nodes, ranks_per_node, gpus_per_rank, time, ...}");
    else {
      const std::string w = "resources";
      check_keys(e, r, w, {"nodes", "ranks_per_node", "gpus_per_rank", "cpus_per_rank", "time", "partition", "account",
                           "qos", "memory", "chunks", "max_concurrent", "sbatch", "setup", "lowbit"});
      get(e, r, w, "nodes", R.nodes);
      get(e, r, w, "ranks_per_node", R.ranks_per_node);
      get(e, r, w, "gpus_per_rank", R.gpus_per_rank);
      get(e, r, w, "cpus_per_rank", R.cpus_per_rank);
      get(e, r, w, "time", R.time);
      get(e, r, w, "partition", R.partition);
      get(e, r, w, "account", R.account);
      get(e, r, w, "qos", R.qos);
      get(e, r, w, "memory", R.memory);
      get(e, r, w, "chunks", R.chunks);
      get(e, r, w, "max_concurrent", R.max_concurrent);
      get(e, r, w, "lowbit", R.lowbit);
      auto at_least = [&](const char* k, int v, int lo) {
        if (r[k] && v < lo) e.add(r[k], cat(w, ".", k), cat(v, " must be at least ", lo));
      };
      at_least("nodes", R.nodes, 1);
      at_least("ranks_per_node", R.ranks_per_node, 1);
      at_least("gpus_per_rank", R.gpus_per_rank, 0);
      at_least("cpus_per_rank", R.cpus_per_rank, 1);
      at_least("chunks", R.chunks, 1);
      at_least("max_concurrent", R.max_concurrent, 1);
      if (r["time"] && r["time"].IsScalar() && !valid_slurm_time(R.time))
        e.add(r["time"], w + ".time", "'" + R.time + "' is not a Slurm time limit (MM, HH:MM:SS or D-HH:MM:SS)");
      if (r["memory"] && r["memory"].IsScalar()) {
        const std::string& s = R.memory;
        size_t k = 0;
        while (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) ++k;
        const std::string unit = s.substr(k);
        if (k == 0 || !(unit.empty() || unit == "K" || unit == "M" || unit == "G" || unit == "T"))
          e.add(r["memory"], w + ".memory", "'" + s + "' is not a Slurm memory size (e.g. 64G, 512M)");
      }
      for (const char* k : {"partition", "account", "qos"})
        if (r[k] && r[k].IsScalar()) {
          const std::string s = r[k].as<std::string>("");
          if (s.empty() || s.find_first_of(" \t\n'\"`$;") != std::string::npos)
            e.add(r[k], cat(w, ".", k), "'" + s + "' must be one word (no spaces or shell characters)");
        }
      resource_lines(r);
      if (!R.lowbit.empty()) R.lowbit = resolve(m.dir, R.lowbit);
      if (R.ranks() >= 1 && m.group_size >= 1 && R.ranks() % m.group_size != 0)
        e.add(r, w, cat("nodes x ranks_per_node = ", R.ranks(), " ranks is not a multiple of execution.group_size ", m.group_size));
    }
  }
}

// resources.sbatch and resources.setup: one line each; sbatch lines are options lowbit submit
// does not write itself.
void ManifestParser::resource_lines(const YAML::Node& r) {
  Resources& R = m.resources;
  const std::string w = "resources";
  auto lines = [&](const char* k, std::vector<std::string>& out) {
    const YAML::Node n = r[k];
    if (!n) return;
    if (!n.IsSequence()) {
      e.add(n, cat(w, ".", k), "must be a list of strings");
      return;
    }
    for (size_t j = 0; j < n.size(); ++j) {
      std::string s;
      if (!scalar_as(n[j], s)) e.add(n[j], cat(w, ".", k, "[", j, "]"), "must be a string");
      else if (s.find('\n') != std::string::npos) e.add(n[j], cat(w, ".", k, "[", j, "]"), "must be one line");
      else out.push_back(s);
    }
  };
  lines("sbatch", R.sbatch);
  lines("setup", R.setup);
  for (size_t j = 0; j < R.sbatch.size(); ++j) {
    const std::string& s = R.sbatch[j];
    if (!(s.rfind("--", 0) == 0 || s.rfind("#SBATCH ", 0) == 0))
      e.add(r["sbatch"][j], cat(w, ".sbatch[", j, "]"), "'" + s + "' must be an sbatch option (--constraint=a100) or an '#SBATCH ...' line");
    for (const char* own : {"--array", "--dependency", "--job-name", "--output", "--error", "--nodes", "--ntasks"})
      if (s.find(own) != std::string::npos)
        e.add(r["sbatch"][j], cat(w, ".sbatch[", j, "]"), cat("sets ", own, ", which lowbit submit writes itself (use the resources keys)"));
  }
}

// `diagnostics:` true/false, or a mapping (enabled unless it says `enabled: false`).
void ManifestParser::diagnostics(const YAML::Node& root) {
  const YAML::Node d = root["diagnostics"];
  if (!d) return;
  DiagSection& D = m.diagnostics;
  m.locations["diagnostics"] = loc(path, d, "diagnostics");
  const char* shape = "must be true/false or a mapping {eval_windows, eval_seqlen, facts, only}";
  if (d.IsScalar()) {
    if (!scalar_as(d, D.enabled)) e.add(d, "diagnostics", shape);
    return;
  }
  if (!d.IsMap()) return e.add(d, "diagnostics", shape);
  check_keys(e, d, "diagnostics", {"enabled", "eval_windows", "eval_seqlen", "facts", "only"});
  D.enabled = true;
  get(e, d, "diagnostics", "enabled", D.enabled);
  get(e, d, "diagnostics", "eval_windows", D.eval_windows);
  get(e, d, "diagnostics", "eval_seqlen", D.eval_seqlen);
  if (D.eval_windows < 1) e.add(d["eval_windows"], "diagnostics.eval_windows", "must be at least 1");
  if (D.eval_seqlen < 2) e.add(d["eval_seqlen"], "diagnostics.eval_seqlen", "must be at least 2");
  m.locations["diagnostics.eval_seqlen"] = loc(path, d["eval_seqlen"] ? d["eval_seqlen"] : d, "diagnostics.eval_seqlen");
  get(e, d, "diagnostics", "only", D.only);
  get(e, d, "diagnostics", "facts", D.facts);
  if (!D.facts.empty()) {
    D.facts = resolve(m.dir, D.facts);
    need_file(d["facts"], "diagnostics.facts", D.facts, false);
  }
}

// `tasks:` {names, limit, fewshot, seed, data_root}; the task files are resolved by the runner.
void ManifestParser::tasks(const YAML::Node& root) {
  const YAML::Node t = root["tasks"];
  if (!t) return;
  if (!t.IsMap()) return e.add(t, "tasks", "must be a mapping {names, limit, fewshot, data_root}");
  TasksSection& T = m.tasks;
  T.present = true;
  check_keys(e, t, "tasks", {"names", "limit", "fewshot", "data_root", "seed"});
  if (!t["names"]) e.add(t, "tasks.names", "missing (required): a list of task names or task YAML files");
  std::vector<std::string> names;
  get_axis(e, t, "tasks", "names", names);
  for (auto v : names) {  // a list's files resolve against the manifest's folder; a scalar is taken as is
    if (t["names"].IsSequence() && (v.find(".yaml") != std::string::npos || v.find('/') != std::string::npos))
      v = resolve(m.dir, v);
    T.names += (T.names.empty() ? "" : ",") + v;
  }
  m.locations["tasks.names"] = loc(path, t["names"] ? t["names"] : t, "tasks.names");
  get(e, t, "tasks", "limit", T.options.limit);
  if (t["limit"] && T.options.limit < 0) e.add(t["limit"], "tasks.limit", "must be >= 0 (0 = all items)");
  get(e, t, "tasks", "fewshot", T.options.fewshot);
  if (t["fewshot"] && T.options.fewshot < -1) e.add(t["fewshot"], "tasks.fewshot", "must be >= -1 (-1 = each task's own)");
  get(e, t, "tasks", "seed", T.options.seed);
  get(e, t, "tasks", "data_root", T.data_root);
  if (!T.data_root.empty()) {
    T.data_root = resolve(m.dir, T.data_root);
    if (files && !is_directory(T.data_root)) e.add(t["data_root"], "tasks.data_root", "no such folder: " + T.data_root);
  }
}

// `laws:` a laws file or a mapping, read by fit's own parser now (what fit would refuse later is a
// problem now, with fit's file:line:col).
void ManifestParser::laws(const YAML::Node& root) {
  const YAML::Node l = root["laws"];
  if (!l) return;
  LawsSection& W = m.laws;
  W.present = true;
  if (l.IsScalar()) {
    W.file = resolve(m.dir, l.as<std::string>(""));
    const size_t before = e.list.size();
    need_file(l, "laws", W.file, false);
    if (files && e.list.size() == before) check_laws(e, l, [&] { W.laws = fit::load_laws(W.file); });
    return;
  }
  if (!l.IsMap() || l.size() == 0)
    return e.add(l, "laws", "must be a laws file path or a non-empty mapping {name: {target, expr, params}}");
  for (const auto& kv : l) {
    const std::string k = "laws." + kv.first.as<std::string>("");
    if (!kv.second.IsMap()) {
      e.add(kv.second, k, "must be a mapping {target, expr, params}");
      continue;
    }
    check_keys(e, kv.second, k, {"description", "target", "expr", "params", "log_linear", "group_by"});
    for (const char* req : {"target", "expr", "params"})
      if (!kv.second[req]) e.add(kv.second, k + "." + req, "missing (required)");
    if (kv.second["params"] && (!kv.second["params"].IsMap() || kv.second["params"].size() == 0))
      e.add(kv.second["params"], k + ".params", "must be a non-empty mapping {name: {init, bounds}}");
  }
  if (e.list.empty()) check_laws(e, l, [&] { W.laws = fit::parse_laws(l, path); });
}

void ManifestParser::finish(const YAML::Node& root) {
  if (const YAML::Node tb = root["testbed"]; tb && !tb.IsMap()) e.add(tb, "testbed", "must be a mapping");
  if (m.calib_path.empty() && !root["calibration"])
    for (const auto& me : m.methods)
      if (needs_calibration(me.method)) {
        e.add(root, "calibration", "missing: method " + me.method + " needs calibration data (add a `calibration:` section)");
        break;
      }
  if (e.list.empty()) return;
  std::stable_sort(e.list.begin(), e.list.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string msg = cat(e.list.size(), " problem", e.list.size() > 1 ? "s" : "", " in ", path, ":");
  for (const auto& s : e.list) msg += "\n  " + s.second;
  LB_THROW(ConfigError, msg);
}

}  // namespace

Manifest parse_manifest(const std::string& text, const std::string& path, const ParseOptions& popt) {
  Manifest m;
  m.path = path;
  m.dir = fs::path(path).parent_path().string();
  if (m.dir.empty()) m.dir = ".";
  m.text = text;
  check_manifest_size(path, (long long)text.size());
  const YAML::Node root = load_one_document(text, path);
  if (!root.IsMap()) LB_THROW(ConfigError, path, ": the manifest must be a YAML mapping (key: value) at the top level");
  ManifestParser p(m, path, popt.check_files);
  p.top(root);
  p.models(root);
  p.calibration(root);
  p.evaluation(root);
  p.methods(root);
  p.execution(root);
  p.resources(root);
  p.diagnostics(root);
  p.tasks(root);
  p.laws(root);
  p.finish(root);
  return m;
}

Manifest load_manifest(const std::string& path, const ParseOptions& po) {
  LB_INPUT_CHECK(file_exists(path), path, ": no such manifest file");
  LB_INPUT_CHECK(!is_directory(path), path, ": is a folder, not a manifest file");
  std::error_code ec;
  const auto bytes = fs::file_size(path, ec);
  if (!ec) check_manifest_size(path, (long long)bytes);  // before reading it
  return parse_manifest(read_file(path), path, po);
}

std::vector<RunConfig> expand(const Manifest& m) {
  std::vector<RunConfig> out;
  std::unordered_set<std::string> seen;
  for (int mi = 0; mi < int(m.models.size()); ++mi) {
    const auto& model = m.models[size_t(mi)];
    for (size_t i = 0; i < m.methods.size(); ++i) {
      const auto& me = m.methods[i];
      if (!me.models.empty() && std::find(me.models.begin(), me.models.end(), model.name) == me.models.end()) continue;
      auto cs = expand_method(m, me, int(i), mi, model.name);
      if (out.capacity() < out.size() + cs.size()) out.reserve(std::max(2 * out.capacity(), out.size() + cs.size()));
      if (seen.empty()) seen.reserve(cs.size());  // later entries: the set's own doubling (a reserve per entry rehashes every time)
      for (auto& c : cs)
        if (seen.insert(c.id).second) out.push_back(std::move(c));
    }
  }
  return out;
}

archive::Group config_params(const Manifest& m, const RunConfig& c) {
  namespace k = archive::keys::config;
  archive::Group g;
  const auto& model = m.models[size_t(c.model)];
  g.set(k::kId, c.id);
  g.set(k::kModel, model.name);
  g.set(k::kModelPath, model.path);
  g.set(k::kFamily, model.family);
  archive::CompressParams p;
  p.method = c.method;
  p.quant = is_quant_method(c.method);
  p.prune = is_prune_method(c.method);
  p.bits = c.bits;
  p.group = c.group;
  p.sym = c.sym;
  p.sparsity = c.sparsity;
  p.nm = c.nm;
  p.calib_samples = c.nsamples;
  p.calib_seqlen = c.nsamples ? c.seqlen : 0;
  p.calib_tokens = int64_t(c.nsamples) * p.calib_seqlen;
  p.seed = int64_t(c.seed);
  archive::write_params(g, p);
  return g;
}

}  // namespace lowbit::plan
