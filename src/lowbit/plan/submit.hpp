// lowbit/plan/submit.hpp — rendering a manifest's Slurm submission (the sweep as a job array, the
// fit as a dependent job) from the templates in slurm/, and running sbatch.
// defines: lowbit::plan::SubmitOptions, Submission, shell_quote, render_template, default_chunks,
//          prepare_submission, run_sbatch
#pragma once

#include <map>
#include <string>
#include <vector>

#include "lowbit/plan/manifest.hpp"

namespace lowbit::plan {

struct SubmitOptions {
  std::string output;         // archive (default: the manifest's output)
  std::string templates_dir;  // folder with array.sbatch.in and fit.sbatch.in
  std::string lowbit;         // executable the jobs run (default: resources.lowbit, else this one)
  int chunks = 0;             // array tasks (default: resources.chunks, else min(configs, 16))
};

struct Submission {
  std::string archive;        // absolute
  std::string manifest;       // absolute
  std::string dir;            // ARCHIVE.slurm/: scripts and job logs
  int chunks = 0;
  size_t configs = 0;
  std::string array_script;   // rendered
  std::string fit_script;     // rendered, with @ARRAY_JOB@ still to fill (render_template again)
};

// 'text' as one single-quoted shell word.
std::string shell_quote(const std::string& s);
// Replaces every @KEY@ by vars[KEY]; an @KEY@ with no value is an InputError naming the template.
std::string render_template(const std::string& text, const std::map<std::string, std::string>& vars,
                            const std::string& what, bool leave_unknown = false);
int default_chunks(const Manifest& m, size_t configs);
// Validates the chunk count and renders both scripts (writes nothing).
Submission prepare_submission(const Manifest& m, size_t configs, const SubmitOptions& o);
// Runs `sbatch --parsable ARGS... SCRIPT`; returns the job id. A refusal by Slurm is an InputError
// (exit 2) with sbatch's reason on one line, prefixed by `what`.
std::string run_sbatch(const std::vector<std::string>& args, const std::string& script, const std::string& what);

}  // namespace lowbit::plan
