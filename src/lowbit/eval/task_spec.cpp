// lowbit/eval/task_spec.cpp — task definitions: reading and checking one task YAML, resolving
// dataset paths against the data root, and expanding a task list (file, directory, names; the caller names
// its surface: --tasks, or tasks.names in a manifest).
// defines: lowbit::load_task_spec, resolve_task_specs, default_data_root, item_type_name
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>

#include "lowbit/core/error.hpp"
#include "lowbit/eval/tasks.hpp"

namespace lowbit {

namespace fs = std::filesystem;

const char* item_type_name(ItemType t) {
  switch (t) {
    case ItemType::MC: return "mc";
    case ItemType::Cloze: return "cloze";
    case ItemType::Gen: return "gen";
  }
  return "?";
}

std::string default_data_root(const std::string& override_root, const std::string& source_dir) {
  if (!override_root.empty()) return override_root;
  if (const char* e = std::getenv("LOWBIT_DATA"); e && *e) return e;
  return (fs::path(source_dir) / ".." / "shared" / "data").lexically_normal().string();
}

namespace {

const std::set<std::string> kFormats = {"native", "arc",   "piqa",       "boolq",   "copa",
                                        "commonsenseqa", "openbookqa", "mmlu", "logiqa",
                                        "strategyqa", "lama", "nq_open", "gsm8k"};
const std::vector<std::string> kKeys = {
    "name",           "stratum",          "dataset",         "format",          "type",
    "metric",         "template",         "choice_template", "target_template", "target_delimiter",
    "fewshot_delimiter", "description",   "until",           "max_gen_tokens",  "extract",
    "fewshot_dataset", "relations",       "templates",       "num_fewshot",     "limit_per_subset",
    "dataset_root"};

// The type a format produces ("" = per item, native).
std::string format_type(const std::string& f) {
  if (f == "native") return "";
  if (f == "lama") return "cloze";
  if (f == "nq_open" || f == "gsm8k") return "gen";
  return "mc";
}

std::string where(const std::string& file, const YAML::Node& n) {
  return cat(file, ":", n.Mark().line + 1);
}

std::string scalar(const std::string& file, const YAML::Node& root, const char* key) {
  const YAML::Node n = root[key];
  if (!n.IsScalar()) LB_THROW(ConfigError, where(file, n), ": key '", key, "' must be a string");
  return n.as<std::string>();
}

int integer(const std::string& file, const YAML::Node& root, const char* key) {
  const YAML::Node n = root[key];
  try {
    return n.as<int>();
  } catch (const YAML::Exception&) {
    LB_THROW(ConfigError, where(file, n), ": key '", key, "' must be an integer, got '", n.Scalar(), "'");
  }
}

std::string resolve(const fs::path& base, const std::string& p) {
  fs::path q(p);
  return (q.is_absolute() ? q : base / q).lexically_normal().string();
}

}  // namespace

TaskSpec load_task_spec(const std::string& yaml_path, const std::string& data_root) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(yaml_path);
  } catch (const YAML::BadFile&) {
    LB_THROW(IoError, yaml_path, ": cannot read the task file");
  } catch (const YAML::Exception& e) {
    LB_THROW(ConfigError, yaml_path, ":", e.mark.line + 1, ": not valid YAML: ", e.msg);
  }
  if (!root.IsMap()) LB_THROW(ConfigError, yaml_path, ": a task file must be a mapping (name:, stratum:, ...)");
  for (const auto& kv : root) {
    const std::string k = kv.first.as<std::string>();
    if (std::find(kKeys.begin(), kKeys.end(), k) == kKeys.end()) {
      std::string known;
      for (const auto& s : kKeys) known += (known.empty() ? "" : ", ") + s;
      LB_THROW(ConfigError, where(yaml_path, kv.first), ": unknown key '", k, "' (known: ", known, ")");
    }
  }
  for (const char* k : {"name", "stratum", "dataset", "format"})
    if (!root[k]) LB_THROW(ConfigError, yaml_path, ": missing key '", k, "'");

  TaskSpec s;
  s.yaml_path = yaml_path;
  s.name = scalar(yaml_path, root, "name");
  s.stratum = scalar(yaml_path, root, "stratum");
  s.format = scalar(yaml_path, root, "format");
  if (!kFormats.count(s.format)) {
    std::string known;
    for (const auto& f : kFormats) known += (known.empty() ? "" : ", ") + f;
    LB_THROW(ConfigError, where(yaml_path, root["format"]), ": unknown format '", s.format, "' (known: ", known, ")");
  }
  LB_INPUT_CHECK(!s.name.empty() && s.name.find_first_of(" /,") == std::string::npos, yaml_path,
                 ": name '", s.name, "' must be non-empty without spaces, '/' or ','");
  if (s.stratum.empty()) LB_THROW(ConfigError, yaml_path, ": key 'stratum' is empty");

  // Paths: native datasets (and dataset_root: yaml) are relative to the YAML's folder; the shipped
  // tasks' datasets are relative to the data root.
  const fs::path yaml_dir = fs::absolute(fs::path(yaml_path)).parent_path();
  std::string root_kind = s.format == "native" ? "yaml" : "data";
  if (root["dataset_root"]) root_kind = scalar(yaml_path, root, "dataset_root");
  if (root_kind != "yaml" && root_kind != "data")
    LB_THROW(ConfigError, where(yaml_path, root["dataset_root"]), ": dataset_root must be 'yaml' or 'data', got '",
             root_kind, "'");
  const fs::path base = root_kind == "yaml" ? yaml_dir : fs::path(data_root);
  s.dataset = resolve(base, scalar(yaml_path, root, "dataset"));
  if (root["fewshot_dataset"]) s.fewshot_dataset = resolve(base, scalar(yaml_path, root, "fewshot_dataset"));
  if (root["relations"]) s.relations = resolve(base, scalar(yaml_path, root, "relations"));

  s.type = format_type(s.format);
  if (root["type"]) {
    const std::string t = scalar(yaml_path, root, "type");
    if (t != "mc" && t != "cloze" && t != "gen")
      LB_THROW(ConfigError, where(yaml_path, root["type"]), ": type must be mc, cloze or gen, got '", t, "'");
    if (!s.type.empty() && t != s.type)
      LB_THROW(ConfigError, where(yaml_path, root["type"]), ": format ", s.format, " gives ", s.type,
               " items, not ", t);
    s.type = t;
  }
  if (root["metric"]) {
    s.metric = scalar(yaml_path, root, "metric");
    static const std::set<std::string> mc = {"acc", "acc_norm"}, cloze = {"acc", "logprob", "mrr"}, gen = {"em"};
    const std::set<std::string>* ok = s.type == "mc" ? &mc : s.type == "cloze" ? &cloze : s.type == "gen" ? &gen : nullptr;
    const bool known = ok ? ok->count(s.metric) > 0 : (mc.count(s.metric) || cloze.count(s.metric) || gen.count(s.metric));
    if (!known)
      LB_THROW(ConfigError, where(yaml_path, root["metric"]), ": metric '", s.metric, "' is not one of ",
               s.type == "mc" ? "acc, acc_norm" : s.type == "cloze" ? "acc, logprob, mrr" : s.type == "gen" ? "em"
               : "acc, acc_norm, logprob, mrr, em", " for ", s.type.empty() ? "native" : s.type, " items");
  }
  if (root["template"]) s.context_template = scalar(yaml_path, root, "template");
  if (root["choice_template"]) s.choice_template = scalar(yaml_path, root, "choice_template");
  if (root["target_template"]) s.target_template = scalar(yaml_path, root, "target_template");
  if (s.format == "native") s.target_delimiter = "";
  if (root["target_delimiter"]) s.target_delimiter = scalar(yaml_path, root, "target_delimiter");
  if (root["fewshot_delimiter"]) s.fewshot_delimiter = scalar(yaml_path, root, "fewshot_delimiter");
  if (root["description"]) s.description = scalar(yaml_path, root, "description");
  if (root["until"]) {
    const YAML::Node u = root["until"];
    s.until.clear();
    if (u.IsScalar()) {
      s.until.push_back(u.as<std::string>());
    } else if (u.IsSequence()) {
      for (const auto& x : u) {
        if (!x.IsScalar()) LB_THROW(ConfigError, where(yaml_path, x), ": 'until' entries must be strings");
        s.until.push_back(x.as<std::string>());
      }
    } else {
      LB_THROW(ConfigError, where(yaml_path, u), ": 'until' must be a string or a list of strings");
    }
    for (const auto& x : s.until)
      if (x.empty()) LB_THROW(ConfigError, where(yaml_path, u), ": 'until' has an empty stop string");
  }
  if (root["max_gen_tokens"]) {
    s.max_gen_tokens = integer(yaml_path, root, "max_gen_tokens");
    if (s.max_gen_tokens < 1)
      LB_THROW(ConfigError, where(yaml_path, root["max_gen_tokens"]), ": max_gen_tokens must be >= 1");
  }
  if (root["extract"]) {
    s.extract = scalar(yaml_path, root, "extract");
    if (s.extract != "gsm8k" && s.extract != "none")
      LB_THROW(ConfigError, where(yaml_path, root["extract"]), ": extract must be 'gsm8k' or 'none', got '",
               s.extract, "'");
    if (s.extract == "none") s.extract.clear();
  }
  if (root["num_fewshot"]) {
    s.num_fewshot = integer(yaml_path, root, "num_fewshot");
    if (s.num_fewshot < 0) LB_THROW(ConfigError, where(yaml_path, root["num_fewshot"]), ": num_fewshot must be >= 0");
  }
  if (root["limit_per_subset"]) {
    try {
      s.limit_per_subset = root["limit_per_subset"].as<bool>();
    } catch (const YAML::Exception&) {
      LB_THROW(ConfigError, where(yaml_path, root["limit_per_subset"]), ": limit_per_subset must be true or false");
    }
  }
  if (root["templates"]) {
    const YAML::Node t = root["templates"];
    if (!t.IsMap()) LB_THROW(ConfigError, where(yaml_path, t), ": 'templates' must map relation ids to templates");
    for (const auto& kv : t) s.templates[kv.first.as<std::string>()] = kv.second.as<std::string>();
  }
  if (s.format == "lama" && s.relations.empty())
    LB_THROW(ConfigError, yaml_path, ": format lama needs key 'relations' (the templates file)");

  // The data must be there before any scoring starts.
  std::error_code ec;
  LB_INPUT_CHECK(fs::exists(s.dataset, ec), yaml_path, ": dataset not found: ", s.dataset,
                 root_kind == "data" ? " (data root " + data_root + "; set --data-root or LOWBIT_DATA)" : "");
  if (!s.fewshot_dataset.empty())
    LB_INPUT_CHECK(fs::exists(s.fewshot_dataset, ec), yaml_path, ": fewshot_dataset not found: ", s.fewshot_dataset);
  if (!s.relations.empty())
    LB_INPUT_CHECK(fs::exists(s.relations, ec), yaml_path, ": relations file not found: ", s.relations);
  return s;
}

std::vector<TaskSpec> resolve_task_specs(const std::string& tasks_arg, const std::string& tasks_dir,
                                         const std::string& data_root) {
  LB_INPUT_CHECK(!tasks_arg.empty(), "no tasks given (a YAML file, a directory or task names)");
  std::vector<std::string> files;
  auto yamls_in = [](const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) {
      const auto ext = e.path().extension();
      if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  std::error_code ec;
  if (fs::is_directory(tasks_arg, ec)) {
    files = yamls_in(tasks_arg);
    LB_INPUT_CHECK(!files.empty(), tasks_arg, ": no .yaml task files in this directory");
  } else if (fs::is_regular_file(tasks_arg, ec)) {
    files.push_back(tasks_arg);
  } else {
    std::stringstream ss(tasks_arg);
    std::string name;
    while (std::getline(ss, name, ',')) {
      if (name.empty()) continue;
      if (name == "all") {
        LB_INPUT_CHECK(fs::is_directory(tasks_dir, ec), "'all': the task directory ", tasks_dir, " does not exist");
        for (auto& f : yamls_in(tasks_dir)) files.push_back(f);
        continue;
      }
      const bool looks_like_path = name.find('/') != std::string::npos || name.ends_with(".yaml") || name.ends_with(".yml");
      if (looks_like_path) {
        LB_INPUT_CHECK(fs::is_regular_file(name, ec), "task file not found: ", name);
        files.push_back(name);
        continue;
      }
      const std::string f = (fs::path(tasks_dir) / (name + ".yaml")).string();
      LB_INPUT_CHECK(fs::is_regular_file(f, ec), "unknown task '", name, "' (no ", f,
                     "; give a YAML file, a directory, or names from ", tasks_dir, ")");
      files.push_back(f);
    }
  }
  LB_INPUT_CHECK(!files.empty(), "'", tasks_arg, "' names no task");
  std::vector<TaskSpec> specs;
  std::set<std::string> seen;
  for (const auto& f : files) {
    TaskSpec s = load_task_spec(f, data_root);
    LB_INPUT_CHECK(seen.insert(s.name).second, f, ": task name '", s.name, "' is used twice");
    specs.push_back(std::move(s));
  }
  return specs;
}

}  // namespace lowbit
