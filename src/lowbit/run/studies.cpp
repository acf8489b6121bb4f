// lowbit/run/studies.cpp — reading the manifest's tasks: and diagnostics: sections. Their keys and
// types were validated (with file:line:column) by plan::parse_manifest; this turns them into
// options and resolves the task files. defines: see studies.hpp
#include "lowbit/run/studies.hpp"

#include <yaml-cpp/yaml.h>

#include <filesystem>

#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"

namespace lowbit::run {

namespace {
std::string resolve(const std::string& dir, const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  return (std::filesystem::path(dir) / p).lexically_normal().string();
}
template <class T>
T get(const YAML::Node& n, const char* key, T def, const std::string& manifest, const std::string& sec) {
  if (!n[key]) return def;
  try {
    return n[key].as<T>();
  } catch (const YAML::Exception&) {
    LB_THROW(ConfigError, manifest, ": ", sec, ".", key, ": wrong type");
  }
}
}  // namespace

TasksSection parse_tasks_section(const std::string& text, const std::string& manifest, const std::string& dir,
                                 const std::string& source_dir) {
  TasksSection s;
  if (text.empty()) return s;
  const YAML::Node n = YAML::Load(text);
  LB_INPUT_CHECK(n.IsMap(), manifest, ": tasks: must be a mapping {names, limit, fewshot, data_root}");
  std::string names;
  if (n["names"] && n["names"].IsSequence()) {
    for (const auto& x : n["names"]) {
      std::string v = x.as<std::string>();
      if (v.find(".yaml") != std::string::npos || v.find('/') != std::string::npos) v = resolve(dir, v);
      names += (names.empty() ? "" : ",") + v;
    }
  } else {
    names = get<std::string>(n, "names", "", manifest, "tasks");
  }
  LB_INPUT_CHECK(!names.empty(), manifest, ": tasks.names: missing (task names, files or a folder)");
  s.options.limit = get<long long>(n, "limit", 0, manifest, "tasks");
  s.options.fewshot = get<int>(n, "fewshot", -1, manifest, "tasks");
  s.options.seed = get<uint64_t>(n, "seed", 1234, manifest, "tasks");
  std::string root = get<std::string>(n, "data_root", "", manifest, "tasks");
  if (!root.empty()) root = resolve(dir, root);
  root = default_data_root(root, source_dir);
  try {
    s.specs = resolve_task_specs(names, source_dir + "/jobs/tasks", root);
  } catch (const Error& e) {
    LB_THROW(ConfigError, manifest, ": tasks: ", e.what());
  }
  s.enabled = !s.specs.empty();
  return s;
}

DiagSection parse_diag_section(const std::string& text, const std::string& manifest, const std::string& dir) {
  DiagSection s;
  if (text.empty()) return s;
  const YAML::Node n = YAML::Load(text);
  if (n.IsScalar()) {
    s.enabled = n.as<bool>(false);
    return s;
  }
  LB_INPUT_CHECK(n.IsMap(), manifest, ": diagnostics: must be true/false or a mapping");
  s.enabled = get<bool>(n, "enabled", true, manifest, "diagnostics");
  s.eval_windows = get<int>(n, "eval_windows", 8, manifest, "diagnostics");
  s.eval_seqlen = get<int>(n, "eval_seqlen", 64, manifest, "diagnostics");
  s.facts = get<std::string>(n, "facts", "", manifest, "diagnostics");
  s.only = get<std::string>(n, "only", "", manifest, "diagnostics");
  if (!s.facts.empty()) {
    s.facts = resolve(dir, s.facts);
    LB_INPUT_CHECK(file_exists(s.facts), manifest, ": diagnostics.facts: no such file: ", s.facts);
    s.tracing = true;
  }
  LB_INPUT_CHECK(s.eval_windows >= 1 && s.eval_seqlen >= 2, manifest,
                 ": diagnostics: eval_windows must be >= 1 and eval_seqlen >= 2");
  return s;
}

}  // namespace lowbit::run
