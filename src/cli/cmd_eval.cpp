// src/cli/cmd_eval.cpp — `lowbit eval`: score a model on task YAMLs (multiple choice, cloze,
// generation) as lm-evaluation-harness does; per-task and per-stratum table or one JSON object.
// defines: cli::cmd_eval
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "cli/cli.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/eval/tasks.hpp"
#include "lowbit/io/load.hpp"

namespace lowbit::cli {

namespace {

// The checkout this executable was built from (the embedded model lives in <it>/models/...).
std::string source_dir() {
  return std::filesystem::path(default_model_path()).parent_path().parent_path().parent_path().string();
}

nlohmann::json metric_json(const MetricValue& v) {
  auto num = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); };
  return {{"value", num(v.value)}, {"stderr", num(v.stderr_)}, {"n", v.n}};
}

void print_table(const EvalResult& r) {
  std::printf("| %-24s | %-12s | %6s | %6s | %-9s | %9s |   | %7s | %7s |\n", "task", "stratum", "n-shot", "n",
              "metric", "value", "stderr", "chance");
  std::printf("|%s|%s|%s|%s|%s|%s|---|%s|%s|\n", std::string(26, '-').c_str(), std::string(14, '-').c_str(),
              std::string(8, '-').c_str(), std::string(8, '-').c_str(), std::string(11, '-').c_str(),
              std::string(11, '-').c_str(), std::string(9, '-').c_str(), std::string(9, '-').c_str());
  for (const auto& t : r.tasks) {
    bool first = true;
    // The primary metric first, marked with '*'.
    std::vector<std::string> order = {t.primary_metric};
    for (const auto& [k, v] : t.metrics)
      if (k != t.primary_metric) order.push_back(k);
    for (const auto& k : order) {
      const MetricValue& v = t.metrics.at(k);
      const std::string name = k + (k == t.primary_metric ? "*" : "");
      if (first)
        std::printf("| %-24s | %-12s | %6d | %6lld | %-9s | %9.4f | ± | %7.4f | %7.4f |\n", t.name.c_str(),
                    t.stratum.c_str(), t.fewshot, t.n_items, name.c_str(), v.value, v.stderr_, t.chance);
      else
        std::printf("| %-24s | %-12s | %6s | %6s | %-9s | %9.4f | ± | %7.4f | %7s |\n", "", "", "", "", name.c_str(),
                    v.value, v.stderr_, "");
      first = false;
    }
  }
  std::printf("\n| %-14s | %6s | %6s | %9s |   | %7s | %7s |\n", "stratum", "tasks", "n", "score", "stderr", "chance");
  std::printf("|%s|%s|%s|%s|---|%s|%s|\n", std::string(16, '-').c_str(), std::string(8, '-').c_str(),
              std::string(8, '-').c_str(), std::string(11, '-').c_str(), std::string(9, '-').c_str(),
              std::string(9, '-').c_str());
  for (const auto& s : r.strata)
    std::printf("| %-14s | %6zu | %6lld | %9.4f | ± | %7.4f | %7.4f |\n", s.name.c_str(), s.tasks.size(), s.n_items,
                s.score, s.stderr_, s.chance);
  std::printf("\n(* = the task's primary metric, used for the stratum score; stratum = unweighted mean over its "
              "tasks)\n");
}

}  // namespace

int cmd_eval(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string model, tok, tasks_arg, data_root_arg, tasks_dir, items_out;
  TaskOptions o;
  long long seed = 1234;
  bool no_bos = false;
  desc.add_options()("model,m", po::value(&model)->default_value(default_model_path()),
                     "llama2.c .bin, GGUF file, or Hugging Face folder (config.json + safetensors)")(
      "tokenizer,t", po::value(&tok), "tokenizer file (default: found beside the model)")(
      "tasks", po::value(&tasks_arg)->required(),
      "a task YAML, a directory of YAMLs, or comma-separated task names from --tasks-dir (\"all\" = all of them)")(
      "tasks-dir", po::value(&tasks_dir), "where task names are looked up (default: jobs/tasks of this checkout)")(
      "limit", po::value(&o.limit)->default_value(0),
      "score at most N items per task (per subject/relation for MMLU and LAMA); 0 = all")(
      "fewshot", po::value(&o.fewshot)->default_value(-1), "k-shot examples per prompt (-1 = each task's num_fewshot)")(
      "seed", po::value(&seed)->default_value(1234), "seed of the few-shot sampling")(
      "data-root", po::value(&data_root_arg),
      "folder the shipped tasks' datasets are relative to (default: $LOWBIT_DATA, else ../shared/data beside the "
      "checkout)")(
      "max-length", po::value(&o.max_length)->default_value(0),
      "context length; longer prompts are cut from the left (0 = the model's context)")(
      "items", po::value(&items_out),
      "also write per-item results (JSON lines: task, id, logprobs, pred, generated, metrics) to this file")(
      "no-bos", po::bool_switch(&no_bos),
      "no BOS before the prompt (lm-eval 0.4's default for HF causal models; lowbit's default adds BOS when the "
      "tokenizer has one, as llama2.c models are trained)");
  po::variables_map vm;
  CommonFlags common;
  if (!parse_or_help("eval", "--tasks FILE.yaml|DIR|name,... [--model PATH] [--limit N] [--fewshot K] [options]",
                     "Scores a model on tasks as lm-evaluation-harness does: multiple choice by the summed\n"
                     "log-likelihood of each continuation (acc) and per character (acc_norm); cloze facts by\n"
                     "greedy match (acc), log-probability and reciprocal rank of the object; short answers by\n"
                     "greedy generation up to a stop string and exact match after normalisation (GSM8K: the\n"
                     "final number). Prints a per-task and per-stratum table with standard errors and chance\n"
                     "levels. Task files and conventions: docs/TASKS.md.\n"
                     "Example: lowbit eval --tasks arc_easy,copa --limit 50\n"
                     "         lowbit eval --tasks all --limit 20 --json",
                     desc, args, vm, common))
    return 0;
  LB_INPUT_CHECK(o.limit >= 0, "--limit ", o.limit, " must be >= 0");
  LB_INPUT_CHECK(o.fewshot >= -1, "--fewshot ", o.fewshot, " must be >= 0 (or -1 for each task's default)");
  LB_INPUT_CHECK(o.max_length >= 0, "--max-length ", o.max_length, " must be >= 0");
  o.seed = uint64_t(seed);
  o.add_bos = !no_bos;
  const std::string src = source_dir();
  const std::string data_root = default_data_root(data_root_arg, src);
  if (tasks_dir.empty()) tasks_dir = src + "/jobs/tasks";

  // Everything about the input is checked before the model is loaded or anything is scored.
  if (!items_out.empty()) {
    const auto parent = std::filesystem::absolute(items_out).parent_path();
    LB_INPUT_CHECK(std::filesystem::is_directory(parent), "--items ", items_out, ": folder ", parent.string(),
                   " does not exist");
  }
  std::vector<TaskSpec> specs;
  try {  // the library names no flag; this surface's name for the list is --tasks
    specs = resolve_task_specs(tasks_arg, tasks_dir, data_root);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::Internal) throw;
    LB_FAIL_INPUT("--tasks: ", e.what());
  }
  std::vector<Task> tasks;
  for (const auto& s : specs) tasks.push_back(load_task(s));
  if (tok.empty()) tok = find_tokenizer_for(model);
  auto m = load_model(model);
  auto t = load_tokenizer(tok);
  check_tokenizer_fits(*t, tok, *m);
  log_info("eval: ", model, " on ", tasks.size(), " task(s), data root ", data_root);

  EvalResult r = evaluate_tasks(*m, *t, tasks, o);
  r.model = model;
  if (!items_out.empty()) {
    std::string lines;
    for (const auto& x : r.tasks)
      for (const auto& it : x.items) {
        nlohmann::json j = {{"task", x.name}, {"id", it.id}, {"metrics", it.metrics}};
        if (!it.logprobs.empty()) j["logprobs"] = it.logprobs;
        if (it.pred >= 0) j["pred"] = it.pred;
        if (x.type == "gen") j["generated"] = it.generated;
        lines += j.dump() + "\n";
      }
    write_file_atomic(items_out, lines);
  }
  if (common.json) {
    nlohmann::json jt = nlohmann::json::object(), js = nlohmann::json::object();
    for (const auto& x : r.tasks) {
      nlohmann::json mets = nlohmann::json::object();
      for (const auto& [k, v] : x.metrics) mets[k] = metric_json(v);
      const auto p = metric_json(x.primary());
      jt[x.name] = {{"stratum", x.stratum},   {"format", x.format},         {"type", x.type},
                    {"dataset", x.dataset},   {"n", x.n_items},             {"n_available", x.n_available},
                    {"fewshot", x.fewshot},   {"chance", x.chance},         {"primary_metric", x.primary_metric},
                    {"primary", p["value"]},  {"primary_stderr", p["stderr"]}, {"metrics", mets},
                    {"seconds", x.seconds}};
    }
    for (const auto& s : r.strata)
      js[s.name] = {{"score", s.score}, {"stderr", s.stderr_}, {"chance", s.chance}, {"tasks", s.tasks},
                    {"n_items", s.n_items}};
    emit_json({{"model", model},
               {"tokenizer", tok},
               {"data_root", data_root},
               {"limit", o.limit},
               {"fewshot", o.fewshot},
               {"seed", seed},
               {"add_bos", o.add_bos},
               {"tasks", jt},
               {"strata", js},
               {"seconds", r.seconds}});
  } else {
    print_table(r);
  }
  return 0;
}

}  // namespace lowbit::cli
