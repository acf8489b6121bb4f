// lowbit/run/studies.hpp — the manifest's study sections, read from their YAML text and run per
// configuration by the runner: `tasks:` (task harness, eval/tasks.hpp) and `diagnostics:`
// (failure-mode diagnostics, diagnose/config_run.hpp). Both are validated before any work.
// defines: lowbit::run::TasksSection, DiagSection, parse_tasks_section, parse_diag_section
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

namespace lowbit::run {

struct TasksSection {
  bool enabled = false;
  std::vector<TaskSpec> specs;
  TaskOptions options;
};

struct DiagSection {
  bool enabled = false;
  int eval_windows = 8, eval_seqlen = 64;
  std::string facts;
  bool tracing = false;
  std::string only;  // run only for configurations whose id contains this text ("" = all quantized)
};

// `text` is the section as YAML ("" = absent); `dir` resolves relative paths; `source_dir` is the
// project (for jobs/tasks/ and the default data root). ConfigError naming the manifest and key.
TasksSection parse_tasks_section(const std::string& text, const std::string& manifest, const std::string& dir,
                                 const std::string& source_dir);
DiagSection parse_diag_section(const std::string& text, const std::string& manifest, const std::string& dir);

}  // namespace lowbit::run
