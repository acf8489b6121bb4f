// lowbit/run/studies.cpp — the study sections as the runner runs them: task files resolved, the
// diagnosed configurations chosen. Keys and types were checked by plan::parse_manifest.
// defines: see studies.hpp
#include "lowbit/run/studies.hpp"

#include "lowbit/compress/methods.hpp"
#include "lowbit/core/error.hpp"

namespace lowbit::run {

TaskStudy resolve_tasks(const plan::Manifest& m, const std::string& source_dir) {
  TaskStudy s;
  const plan::TasksSection& t = m.tasks;
  if (!t.present) return s;
  s.options = t.options;
  try {
    s.specs = resolve_task_specs(t.names, source_dir + "/jobs/tasks", default_data_root(t.data_root, source_dir));
  } catch (const Error& e) {
    LB_THROW(ConfigError, m.where("tasks.names"), ": ", e.what());
  }
  s.enabled = !s.specs.empty();
  return s;
}

bool diagnosed(const plan::DiagSection& d, const plan::RunConfig& c) {
  return d.enabled && is_quant_method(c.method) && (d.only.empty() || c.id.find(d.only) != std::string::npos);
}

}  // namespace lowbit::run
