// lowbit/eval/task_report.cpp — running a list of tasks, per-stratum aggregation, and the archive
// Group of an evaluation.
// defines: lowbit::evaluate_tasks, aggregate_strata, eval_to_group
#include <chrono>
#include <cmath>
#include <set>

#include "lowbit/archive/keys.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/eval/tasks.hpp"

namespace lowbit {

EvalResult evaluate_tasks(const Model& m, const Tokenizer& tok, const std::vector<TaskSpec>& specs,
                          const TaskOptions& o) {
  std::vector<Task> tasks;
  for (const auto& s : specs) tasks.push_back(load_task(s));
  return evaluate_tasks(m, tok, tasks, o);
}

EvalResult evaluate_tasks(const Model& m, const Tokenizer& tok, const std::vector<Task>& tasks, const TaskOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  EvalResult r;
  r.model = m.path;
  r.options = o;
  for (const auto& t : tasks) {
    log_info("eval: ", t.spec.name, " (", t.spec.stratum, ", ", t.items.size(), " items in ", t.spec.dataset, ")");
    r.tasks.push_back(score_task(m, tok, t, o));
  }
  aggregate_strata(r);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

void aggregate_strata(EvalResult& r) {
  r.strata.clear();
  for (const auto& t : r.tasks) {
    StratumResult* s = nullptr;
    for (auto& x : r.strata)
      if (x.name == t.stratum) s = &x;
    if (!s) {
      r.strata.push_back({});
      s = &r.strata.back();
      s->name = t.stratum;
    }
    s->tasks.push_back(t.name);
  }
  for (auto& s : r.strata) {
    double sum = 0, var = 0, chance = 0;
    size_t k = 0;
    for (const auto& t : r.tasks) {
      if (t.stratum != s.name) continue;
      const MetricValue& p = t.primary();
      sum += p.value;
      var += std::isfinite(p.stderr_) ? p.stderr_ * p.stderr_ : 0.0;
      chance += t.chance;
      s.n_items += t.n_items;
      ++k;
    }
    s.score = sum / double(k);
    s.stderr_ = std::sqrt(var) / double(k);
    s.chance = chance / double(k);
  }
}

archive::Group eval_to_group(const EvalResult& r) {
  namespace kg = archive::keys::tasks;
  namespace kc = archive::keys::task_cols;
  namespace kb = archive::keys::by_task;
  namespace ks = archive::keys::strata;
  archive::Group g;
  g.set(kg::kKind, std::string(kg::kTaskEval));
  g.set(kg::kModel, r.model);
  g.set(kg::kLimit, int64_t(r.options.limit));
  g.set(kg::kFewshot, int64_t(r.options.fewshot));
  g.set(kg::kSeed, int64_t(r.options.seed));
  // Wall times are run-dependent: they go under timings/, like every timing in the archive (the
  // rest of the group is a deterministic function of model and options).
  archive::Group& tm = g.group(kg::kTimings);
  tm.set(archive::keys::task_timings::kTotalS, r.seconds);
  for (const auto& t : r.tasks) tm.set(t.name + archive::keys::task_timings::kTaskSecondsSuffix, t.seconds);

  std::set<std::string> names;
  for (const auto& t : r.tasks)
    for (const auto& [k, v] : t.metrics) names.insert(k);
  archive::Table& tt = g.tables[kg::kTasks];
  tt.description = "one row per task: primary metric, chance level, every metric with its stderr (NaN = not "
                   "measured for this task)";
  for (const char* c : {kc::kNItems, kc::kNAvailable, kc::kFewshot, kc::kChance, kc::kPrimary, kc::kPrimaryStderr})
    tt.add_column(c, "");
  for (const auto& k : names) {
    const std::string unit = k == "logprob" ? "nats" : "";
    tt.add_column(k, unit);
    tt.add_column(k + kc::kStderrSuffix, unit);
  }
  for (const auto& t : r.tasks) {
    std::vector<double> row = {double(t.n_items), double(t.n_available), double(t.fewshot), t.chance,
                               t.primary().value, t.primary().stderr_};
    for (const auto& k : names) {
      auto it = t.metrics.find(k);
      row.push_back(it == t.metrics.end() ? std::nan("") : it->second.value);
      row.push_back(it == t.metrics.end() ? std::nan("") : it->second.stderr_);
    }
    tt.add_row(row, t.name);

    archive::Group& tg = g.group(kg::kByTask).group(t.name);
    tg.set(kb::kStratum, t.stratum);
    tg.set(kb::kFormat, t.format);
    tg.set(kb::kType, t.type);
    tg.set(kb::kDataset, t.dataset);
    tg.set(kb::kPrimaryMetric, t.primary_metric);
    tg.set(kb::kChance, t.chance);
    tg.set(kb::kNItems, int64_t(t.n_items));
    tg.set(kb::kFewshot, int64_t(t.fewshot));
    for (const auto& [metric, v] : t.metrics) {
      tg.set(metric, v.value);
      tg.set(metric + kc::kStderrSuffix, v.stderr_);
    }
  }
  archive::Table& st = g.tables[kg::kStrata];
  st.description = "one row per stratum: unweighted mean of its tasks' primary metrics, stderr sqrt(sum se^2)/k, "
                   "mean chance level";
  for (const char* c : {ks::kScore, ks::kStderr, ks::kChance, ks::kNTasks, ks::kNItems}) st.add_column(c, "");
  for (const auto& s : r.strata) {
    st.add_row({s.score, s.stderr_, s.chance, double(s.tasks.size()), double(s.n_items)}, s.name);
    std::string list;
    for (const auto& t : s.tasks) list += (list.empty() ? "" : ",") + t;
    g.group(kg::kByStratum).group(s.name).set(archive::keys::by_stratum::kTasks, list);
  }
  return g;
}

}  // namespace lowbit
