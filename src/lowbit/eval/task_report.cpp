// lowbit/eval/task_report.cpp — running a list of tasks, per-stratum aggregation, and the archive
// Group of an evaluation.
// defines: lowbit::evaluate_tasks, aggregate_strata, eval_to_group
#include <chrono>
#include <cmath>
#include <set>

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
  archive::Group g;
  g.set("kind", std::string("task_eval"));
  g.set("model", r.model);
  g.set("limit", int64_t(r.options.limit));
  g.set("fewshot", int64_t(r.options.fewshot));
  g.set("seed", int64_t(r.options.seed));
  // Wall times are run-dependent: they go under timings/, like every timing in the archive (the
  // rest of the group is a deterministic function of model and options).
  archive::Group& tm = g.group("timings");
  tm.set("total_s", r.seconds);
  for (const auto& t : r.tasks) tm.set(t.name + "_s", t.seconds);

  std::set<std::string> names;
  for (const auto& t : r.tasks)
    for (const auto& [k, v] : t.metrics) names.insert(k);
  archive::Table& tt = g.tables["tasks"];
  tt.description = "one row per task: primary metric, chance level, every metric with its stderr (NaN = not "
                   "measured for this task)";
  for (const char* c : {"n_items", "n_available", "fewshot", "chance", "primary", "primary_stderr"}) tt.add_column(c, "");
  for (const auto& k : names) {
    const std::string unit = k == "logprob" ? "nats" : "";
    tt.add_column(k, unit);
    tt.add_column(k + "_stderr", unit);
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

    archive::Group& tg = g.group("by_task").group(t.name);
    tg.set("stratum", t.stratum);
    tg.set("format", t.format);
    tg.set("type", t.type);
    tg.set("dataset", t.dataset);
    tg.set("primary_metric", t.primary_metric);
    tg.set("chance", t.chance);
    tg.set("n_items", int64_t(t.n_items));
    tg.set("fewshot", int64_t(t.fewshot));
    for (const auto& [k, v] : t.metrics) {
      tg.set(k, v.value);
      tg.set(k + "_stderr", v.stderr_);
    }
  }
  archive::Table& st = g.tables["strata"];
  st.description = "one row per stratum: unweighted mean of its tasks' primary metrics, stderr sqrt(sum se^2)/k, "
                   "mean chance level";
  for (const char* c : {"score", "stderr", "chance", "n_tasks", "n_items"}) st.add_column(c, "");
  for (const auto& s : r.strata) {
    st.add_row({s.score, s.stderr_, s.chance, double(s.tasks.size()), double(s.n_items)}, s.name);
    std::string list;
    for (const auto& t : s.tasks) list += (list.empty() ? "" : ",") + t;
    g.group("by_stratum").group(s.name).set("tasks", list);
  }
  return g;
}

}  // namespace lowbit
