// lowbit/eval/tasks.hpp — the task harness: task definitions (YAML), dataset loaders, scoring as
// lm-evaluation-harness does it, per-task and per-stratum results, and their archive Group.
// defines: lowbit::ItemType, TaskItem, TaskSpec, Task, TaskOptions, ItemResult, MetricValue,
//          TaskResult, StratumResult, EvalResult, load_task_spec, resolve_task_specs, load_task,
//          default_data_root, score_task, evaluate_tasks, eval_to_group, loglikelihood_pair,
//          LoglikResult, encode_pair, normalize_answer, extract_gsm8k_number, mean_stderr
//
// Files: tasks.hpp (this API), task_spec.cpp (YAML), task_loaders.cpp (one loader per dataset
// format), task_scoring.cpp (log-likelihoods, greedy generation, metrics), task_report.cpp
// (aggregation, the archive Group). Conventions followed are written down in docs/TASKS.md.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lowbit/archive/record.hpp"
#include "lowbit/io/tokenizer.hpp"
#include "lowbit/model/model.hpp"

namespace lowbit {

// mc: choose among continuations by log-likelihood. cloze: log-probability, greedy match and rank of
// one continuation (the object). gen: greedy generation until a stop sequence, exact match.
enum class ItemType { MC, Cloze, Gen };
const char* item_type_name(ItemType t);

// One evaluation item, already rendered through the task's templates (without few-shot examples).
struct TaskItem {
  std::string id;
  ItemType type = ItemType::MC;
  std::string context;               // the prompt
  std::vector<std::string> choices;  // mc: continuations as scored (delimiter included); cloze: {object}
  std::vector<double> choice_len;    // mc: acc_norm normaliser per choice (lm-eval: len(choice text))
  int answer = 0;                    // mc: index of the gold choice
  std::vector<std::string> answers;  // gen: accepted answers (gsm8k: the final number)
  std::string target;                // what follows `context` when this item is a few-shot example
  std::string subset;                // e.g. MMLU subject or LAMA relation (--limit can apply per subset)
  std::string description;           // lm-eval "description": text before the few-shot block
};

// A task definition: one YAML file (see docs/TASKS.md for every key).
struct TaskSpec {
  std::string name, stratum;
  std::string yaml_path;        // where it was read from ("" if built in code)
  std::string dataset;          // resolved path (file or directory)
  std::string format;           // native, arc, piqa, boolq, copa, commonsenseqa, openbookqa, mmlu,
                                // logiqa, strategyqa, lama, nq_open, gsm8k
  std::string type;             // "" = the format's own (native: per item)
  std::string metric;           // primary metric; "" = acc for mc/cloze, em for gen
  std::string context_template; // "" = the format's default
  std::string choice_template;  // mc: each choice; "" = the format's default
  std::string target_template;  // gen: the few-shot target; "" = the format's default
  std::string target_delimiter = " ";
  std::string fewshot_delimiter = "\n\n";
  std::string description;      // template; may use the item's fields (e.g. {subject})
  std::vector<std::string> until = {"\n"};  // gen stop sequences
  int max_gen_tokens = 32;
  std::string extract;          // gen: "" (whole answer) or "gsm8k" (the final number)
  std::string fewshot_dataset;  // resolved path; "" = sample from the task's own items (minus the item)
  std::string relations;        // lama: the templates file (relations.jsonl), resolved
  std::map<std::string, std::string> templates;  // lama: extra relation -> template (Google-RE)
  int num_fewshot = 0;          // default k (overridden by --fewshot)
  bool limit_per_subset = false;  // --limit N takes N items from each subset (MMLU subject, LAMA relation)
};

struct Task {
  TaskSpec spec;
  std::vector<TaskItem> items;
  std::vector<TaskItem> fewshot_pool;  // empty = sample from `items`
};

// The data root: `override_root` if non-empty, else $LOWBIT_DATA, else <source dir>/../shared/data.
std::string default_data_root(const std::string& override_root, const std::string& source_dir);
// Read one task YAML. Dataset paths are resolved against `data_root` for the shipped tasks, and
// against the YAML's folder for paths starting with "./" or "../" or for format: native. Throws
// ConfigError naming the file and key for unknown keys, missing keys, unknown formats, and
// InputError for a missing dataset.
TaskSpec load_task_spec(const std::string& yaml_path, const std::string& data_root);
// --tasks: a YAML file, a directory of YAMLs, or comma-separated names of YAMLs in `tasks_dir`
// ("all" = every YAML there). Each entry is checked (spec and dataset) before any scoring.
std::vector<TaskSpec> resolve_task_specs(const std::string& tasks_arg, const std::string& tasks_dir,
                                         const std::string& data_root);
// Load and render a task's items. Throws InputError naming the file and line of a malformed item.
Task load_task(const TaskSpec& spec);

// ---- scoring ---------------------------------------------------------------------------------

struct TaskOptions {
  long long limit = 0;   // items per task (per subset when the task says limit_per_subset); 0 = all
  int fewshot = -1;      // -1 = each task's num_fewshot
  uint64_t seed = 1234;  // few-shot sampling (lm-eval's default seed)
  int max_length = 0;    // 0 = the model's context
  bool add_bos = true;   // BOS before each prompt when the tokenizer has one (lm-eval 0.4: add_bos_token=False)
};

// lm-eval's _encode_pair: trailing whitespace of the context moves to the continuation; the
// context is encoded alone (with BOS when add_bos and the tokenizer has one) and the continuation
// tokens are whole[len(context_enc):] of the encoded concatenation. An empty context becomes the
// prefix token (BOS, else EOS), the continuation encoded alone.
void encode_pair(const Tokenizer& tok, const std::string& context, const std::string& continuation,
                 std::vector<int>& context_enc, std::vector<int>& continuation_enc, bool add_bos = true);

struct LoglikResult {
  double logprob = 0;    // sum of log p(continuation token | prefix), natural log
  bool is_greedy = true; // every continuation token is the argmax
  int first_rank = 0;    // 1-based rank of the first continuation token among the vocabulary
  int tokens = 0;
};
// Log-likelihood of `cont` after `ctx` (token ids), lm-eval's way: the input is
// (ctx + cont)[-(max_length+1):][:-1] and the last |cont| logits are scored.
LoglikResult loglikelihood_pair(const Model& m, const std::vector<int>& ctx, const std::vector<int>& cont,
                                int max_length);
// The same for several continuations of one context, sharing the context's KV cache (falls back
// to one full forward per continuation when truncation is needed). Results equal loglikelihood_pair
// up to float rounding.
std::vector<LoglikResult> loglikelihood_choices(const Model& m, const std::vector<int>& ctx,
                                                const std::vector<std::vector<int>>& conts, int max_length);
// Greedy generation after `ctx` until a stop string appears in the decoded text (cut before it),
// EOS, or max_new tokens. The context is left-truncated to max_length - max_new tokens.
std::string generate_until(const Model& m, const Tokenizer& tok, const std::vector<int>& ctx,
                           const std::vector<std::string>& until, int max_new, int max_length);

// SQuAD-style answer normalisation: lower case, drop punctuation, drop articles (a, an, the),
// collapse whitespace.
std::string normalize_answer(const std::string& s);
// GSM8K: the number after "####" if present (strict), else the last number in the text (flexible);
// commas, "$" and a trailing "." removed. "" when there is none.
std::string extract_gsm8k_number(const std::string& s);
// Sample mean and lm-eval's stderr: sample standard deviation (n-1) / sqrt(n).
void mean_stderr(const std::vector<double>& v, double& mean, double& stderr_);

struct MetricValue {
  double value = 0, stderr_ = 0;
  long long n = 0;
};

struct ItemResult {
  std::string id;
  std::vector<double> logprobs;  // mc: per choice; cloze: {object}
  int pred = -1;                 // mc: argmax (acc)
  std::string generated;         // gen
  std::map<std::string, double> metrics;
};

struct TaskResult {
  std::string name, stratum, format, type, primary_metric, dataset;
  long long n_items = 0;         // scored
  long long n_available = 0;     // in the dataset
  int fewshot = 0;
  double chance = 0;             // the primary metric's expected value for random guessing
  std::map<std::string, MetricValue> metrics;
  std::vector<ItemResult> items;
  double seconds = 0;
  const MetricValue& primary() const;
};

struct StratumResult {
  std::string name;
  std::vector<std::string> tasks;
  double score = 0, stderr_ = 0;  // unweighted mean of the tasks' primary metrics; sqrt(Σse²)/k
  double chance = 0;              // mean of the tasks' chance levels
  long long n_items = 0;
};

struct EvalResult {
  std::string model;
  std::vector<TaskResult> tasks;
  std::vector<StratumResult> strata;
  TaskOptions options;
  double seconds = 0;
};

// The prompt of item `idx` with k examples (lm-eval layout): description, then k examples drawn
// without replacement (from the item's subset when the pool has enough, never the item itself),
// each context + target + fewshot_delimiter, then the item's context. The draw depends only on
// (seed, task name, idx), so it does not change with --limit.
std::string fewshot_prompt(const Task& task, size_t idx, int k, uint64_t seed);
// Score one loaded task.
TaskResult score_task(const Model& m, const Tokenizer& tok, const Task& task, const TaskOptions& o);
// Score loaded tasks, then aggregate per stratum (strata in order of first appearance).
EvalResult evaluate_tasks(const Model& m, const Tokenizer& tok, const std::vector<Task>& tasks, const TaskOptions& o);
// The same from specs: every dataset is loaded (and so checked) before any scoring.
EvalResult evaluate_tasks(const Model& m, const Tokenizer& tok, const std::vector<TaskSpec>& specs,
                          const TaskOptions& o);
void aggregate_strata(EvalResult& r);
// The archive form: attrs (model, limit, seed, fewshot), table "tasks" (one row per task: n, chance,
// primary, primary_stderr, fewshot, and every metric with its stderr; NaN where a task lacks it),
// table "strata", and per task a sub-group "by_task/<name>" (and "by_stratum/<name>") with its attributes and metrics;
// wall times only in the sub-group "timings" (total_s, <task>_s).
archive::Group eval_to_group(const EvalResult& r);

}  // namespace lowbit
