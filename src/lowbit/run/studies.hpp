// lowbit/run/studies.hpp — the manifest's study sections as the runner runs them per
// configuration: `tasks:` (task harness, eval/tasks.hpp) with its task files resolved and checked,
// and `diagnostics:` (failure-mode diagnostics, diagnose/config_run.hpp). plan::parse_manifest has
// parsed and checked both, with file:line:col (plan::TasksSection, plan::DiagSection).
// defines: lowbit::run::TaskStudy, resolve_tasks, diagnosed
//
//   tasks:                       # scored for every configuration, FP included (acc_fp for fits)
//     names: [lama, arc_easy]    # YAML files, a folder, or names in jobs/tasks/ ("all")
//     limit: 20                  # items per task (0 = all)
//     fewshot: 0                 # -1 = each task's own
//     data_root: ../shared/data  # default: $LOWBIT_DATA, else ../shared/data beside the project
//   diagnostics:                 # for every quantized configuration (rtn, gptq, awq)
//     eval_windows: 8
//     eval_seqlen: 64
//     facts: data/facts.jsonl    # optional cloze facts for causal tracing
//     only: gptq                 # only configurations whose id contains this text
#pragma once

#include <string>
#include <vector>

#include "lowbit/eval/tasks.hpp"
#include "lowbit/plan/manifest.hpp"

namespace lowbit::run {

struct TaskStudy {
  bool enabled = false;
  std::vector<TaskSpec> specs;
  TaskOptions options;
};

// The task files of `tasks:` resolved against `source_dir`'s jobs/tasks/ and the data root, each
// checked (spec and dataset); ConfigError "<file:line:col>: tasks.names: ..." otherwise.
TaskStudy resolve_tasks(const plan::Manifest& m, const std::string& source_dir);
// Whether configuration `c` is diagnosed: diagnostics enabled, a quantization method, and `only`
// (if set) in its id.
bool diagnosed(const plan::DiagSection& d, const plan::RunConfig& c);

}  // namespace lowbit::run
