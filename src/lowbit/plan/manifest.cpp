// lowbit/plan/manifest.cpp — manifest parsing, validation (all errors at once, with
// file:line:column and key path) and sweep expansion. defines: see manifest.hpp
#include "lowbit/plan/manifest.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>

#include "lowbit/compress/driver.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"
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
};

std::string resolve(const std::string& dir, const std::string& p) {
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

bool valid_name(const std::string& s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

const std::set<std::string> kMethods = {"fp", "rtn", "gptq", "awq", "magnitude", "wanda", "sparsegpt", "haar"};

}  // namespace

Manifest parse_manifest(const std::string& text, const std::string& path) {
  Errors e{path, {}};
  Manifest m;
  m.path = path;
  m.dir = fs::path(path).parent_path().string();
  if (m.dir.empty()) m.dir = ".";
  m.text = text;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& ex) {
    LB_THROW(ConfigError, path, ":", ex.mark.line + 1, ":", ex.mark.column + 1, ": YAML syntax error: ", ex.msg);
  }
  if (!root.IsMap()) LB_THROW(ConfigError, path, ": the manifest must be a YAML mapping (key: value) at the top level");
  check_keys(e, root, "", {"name", "output", "models", "calibration", "evaluation", "methods", "seeds", "execution",
                           "diagnostics", "tasks", "laws", "resources", "testbed", "description"});
  get(e, root, "", "name", m.name, true);
  if (!m.name.empty() && !valid_name(m.name)) e.add(root["name"], "name", "use letters, digits, '_', '-', '.'");
  std::string out = m.name.empty() ? "run" : m.name;
  out += ".h5";
  get(e, root, "", "output", out);
  m.output = resolve(m.dir, out);
  // models
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
        if (!file_exists(me.path) && !is_directory(me.path)) e.add(mn["path"], kp + ".path", "no such file or folder: " + me.path);
      }
      if (!me.tokenizer.empty()) {
        me.tokenizer = resolve(m.dir, me.tokenizer);
        if (!file_exists(me.tokenizer)) e.add(mn["tokenizer"], kp + ".tokenizer", "no such file: " + me.tokenizer);
      } else if (!me.path.empty() && (file_exists(me.path) || is_directory(me.path))) {
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
  // calibration
  if (const YAML::Node c = root["calibration"]) {
    if (!c.IsMap()) e.add(c, "calibration", "must be a mapping {path, nsamples, seqlen}");
    else {
      check_keys(e, c, "calibration", {"path", "nsamples", "seqlen"});
      get(e, c, "calibration", "path", m.calib_path, true);
      get_axis(e, c, "calibration", "nsamples", m.calib_nsamples);
      get(e, c, "calibration", "seqlen", m.calib_seqlen);
      if (!m.calib_path.empty()) {
        m.calib_path = resolve(m.dir, m.calib_path);
        if (!file_exists(m.calib_path)) e.add(c["path"], "calibration.path", "no such file: " + m.calib_path);
      }
      for (int v : m.calib_nsamples)
        if (v < 1) e.add(c["nsamples"], "calibration.nsamples", cat(v, " must be at least 1"));
      if (m.calib_seqlen < 2) e.add(c["seqlen"] ? c["seqlen"] : c, "calibration.seqlen", cat(m.calib_seqlen, " must be at least 2"));
    }
  }
  get_axis(e, root, "", "seeds", m.seeds);
  // evaluation
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
          get(e, p, "evaluation.ppl", "max_windows", m.eval_max_windows);
          if (!m.eval_path.empty()) {
            m.eval_path = resolve(m.dir, m.eval_path);
            if (!file_exists(m.eval_path)) e.add(p["path"], "evaluation.ppl.path", "no such file: " + m.eval_path);
          }
          if (m.eval_ctx < 0) e.add(p["ctx"], "evaluation.ppl.ctx", "must be >= 0 (0 = the model's context)");
        }
      }
    }
  }
  // methods
  const YAML::Node meth = root["methods"];
  if (!meth) e.add(root, "methods", "missing (required): a list of {method, ...axes}");
  else if (!meth.IsSequence() || meth.size() == 0) e.add(meth, "methods", "must be a non-empty list");
  else {
    for (size_t i = 0; i < meth.size(); ++i) {
      const YAML::Node mn = meth[i];
      const std::string kp = cat("methods[", i, "]");
      if (!mn.IsMap()) {
        e.add(mn, kp, "must be a mapping with a `method` key");
        continue;
      }
      MethodEntry me;
      get(e, mn, kp, "method", me.method, true);
      if (!me.method.empty() && !kMethods.count(me.method)) {
        e.add(mn["method"], kp + ".method", "'" + me.method + "' is not a method (fp, rtn, gptq, awq, magnitude, wanda, sparsegpt, haar)");
        continue;
      }
      const bool q = is_quant_method(me.method), pr = is_prune_method(me.method);
      std::set<std::string> keys = {"method", "models", "nsamples"};
      if (q) keys.insert({"bits", "group", "sym"});
      if (pr) keys.insert({"sparsity", "nm"});
      check_keys(e, mn, kp, keys);
      get_axis(e, mn, kp, "models", me.models);
      get_axis(e, mn, kp, "nsamples", me.nsamples);
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
        for (int g : me.group)
          if (g == 0 || g < -1) e.add(mn["group"], kp + ".group", cat(g, " must be positive or -1 (per channel)"));
      }
      if (pr) {
        me.sparsity = {0.5};
        me.nm = {""};
        get_axis(e, mn, kp, "sparsity", me.sparsity);
        get_axis(e, mn, kp, "nm", me.nm);
        for (double s : me.sparsity)
          if (!(s >= 0 && s < 1)) e.add(mn["sparsity"], kp + ".sparsity", cat(s, " must be in [0, 1)"));
      }
      for (const auto& name : me.models)
        if (std::none_of(m.models.begin(), m.models.end(), [&](const ModelEntry& x) { return x.name == name; }))
          e.add(mn["models"], kp + ".models", "'" + name + "' is not a model of this manifest");
      const bool needs_calib = me.method == "gptq" || me.method == "awq" || me.method == "wanda" || me.method == "sparsegpt";
      if (needs_calib && m.calib_path.empty() && root["calibration"].IsNull())
        e.add(mn, kp + ".method", me.method + " needs calibration data: add a `calibration:` section");
      m.methods.push_back(me);
    }
  }
  // execution
  if (const YAML::Node x = root["execution"]) {
    if (!x.IsMap()) e.add(x, "execution", "must be a mapping {group_size, micro_batch}");
    else {
      check_keys(e, x, "execution", {"group_size", "micro_batch"});
      get(e, x, "execution", "group_size", m.group_size);
      get(e, x, "execution", "micro_batch", m.micro_batch);
      if (m.group_size < 1) e.add(x["group_size"], "execution.group_size", "must be at least 1");
      if (m.micro_batch < 1) e.add(x["micro_batch"], "execution.micro_batch", "must be at least 1");
    }
  }
  for (const char* k : {"diagnostics", "tasks", "laws", "resources", "testbed"})
    if (const YAML::Node s = root[k]) {
      YAML::Emitter em;
      em << s;
      m.sections[k] = em.c_str();
    }
  if (m.calib_path.empty())
    for (const auto& me : m.methods)
      if (me.method == "gptq" || me.method == "awq" || me.method == "wanda" || me.method == "sparsegpt") {
        if (root["calibration"]) break;  // reported above
        e.add(root, "calibration", "missing: method " + me.method + " needs calibration data");
        break;
      }
  if (!e.list.empty()) {
    std::stable_sort(e.list.begin(), e.list.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string msg = cat(e.list.size(), " problem", e.list.size() > 1 ? "s" : "", " in ", path, ":");
    for (const auto& s : e.list) msg += "\n  " + s.second;
    LB_THROW(ConfigError, msg);
  }
  return m;
}

Manifest load_manifest(const std::string& path) {
  LB_INPUT_CHECK(file_exists(path), path, ": no such manifest file");
  return parse_manifest(read_file(path), path);
}

namespace {
std::string fmt_num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}
}  // namespace

std::vector<RunConfig> expand(const Manifest& m) {
  std::vector<RunConfig> out;
  std::set<std::string> seen;
  for (int mi = 0; mi < int(m.models.size()); ++mi) {
    const auto& model = m.models[size_t(mi)];
    for (const auto& me : m.methods) {
      if (!me.models.empty() && std::find(me.models.begin(), me.models.end(), model.name) == me.models.end()) continue;
      RunConfig base;
      base.model = mi;
      base.method = me.method;
      base.seqlen = m.calib_seqlen;
      const bool q = is_quant_method(me.method), pr = is_prune_method(me.method);
      const bool calib = !m.calib_path.empty() && me.method != "fp" && me.method != "magnitude" && me.method != "haar";
      const std::vector<int> ns = calib ? (me.nsamples.empty() ? m.calib_nsamples : me.nsamples) : std::vector<int>{0};
      const std::vector<uint64_t> seeds = calib ? m.seeds : std::vector<uint64_t>{0};
      std::vector<RunConfig> variants;
      if (q) {
        for (int b : me.bits)
          for (int g : me.group)
            for (int s : me.sym) {
              RunConfig c = base;
              c.bits = b, c.group = g, c.sym = s;
              c.id = cat(model.name, ".", me.method, ".b", b, ".g", g, s ? ".sym" : ".asym");
              variants.push_back(c);
            }
      } else if (pr) {
        for (double sp : me.sparsity)
          for (const auto& nm : me.nm) {
            RunConfig c = base;
            c.sparsity = sp, c.nm = nm;
            std::string nmid = nm;
            std::replace(nmid.begin(), nmid.end(), ':', '-');
            c.id = cat(model.name, ".", me.method, ".sp", fmt_num(sp), nm.empty() ? "" : ".nm" + nmid);
            variants.push_back(c);
          }
      } else {
        RunConfig c = base;
        c.id = model.name + ".fp";
        variants.push_back(c);
      }
      for (auto& v : variants)
        for (int n : ns)
          for (uint64_t sd : seeds) {
            RunConfig c = v;
            c.nsamples = n;
            c.seed = sd;
            if (calib) c.id += cat(".n", n, ".s", sd);
            if (seen.insert(c.id).second) out.push_back(c);
          }
    }
  }
  return out;
}

archive::Group config_params(const Manifest& m, const RunConfig& c) {
  archive::Group g;
  const auto& model = m.models[size_t(c.model)];
  g.set("id", c.id);
  g.set("model", model.name);
  g.set("model_path", model.path);
  g.set("family", model.family);
  g.set("method", c.method);
  if (is_quant_method(c.method)) {
    g.set("bits", int64_t(c.bits));
    g.set("group", int64_t(c.group));
    g.set("sym", int64_t(c.sym));
  }
  if (is_prune_method(c.method)) {
    g.set("sparsity", c.sparsity);
    g.set("nm", c.nm);
  }
  g.set("calib_samples", int64_t(c.nsamples));
  g.set("calib_seqlen", int64_t(c.nsamples ? c.seqlen : 0));
  g.set("calib_tokens", int64_t(c.nsamples) * (c.nsamples ? c.seqlen : 0));
  g.set("seed", int64_t(c.seed));
  return g;
}

}  // namespace lowbit::plan
