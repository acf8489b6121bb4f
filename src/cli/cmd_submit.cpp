// src/cli/cmd_submit.cpp — `lowbit submit MANIFEST`: the sweep as a Slurm job array (each task an
// MPI job running one slice with --resume) and the fit as a job that depends on it.
// defines: cli::cmd_submit
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/cli.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/plan/manifest.hpp"
#include "lowbit/plan/submit.hpp"

namespace fs = std::filesystem;

namespace lowbit::cli {

namespace {
std::string default_templates() {
  // The checkout this lowbit was built from: <src>/models/stories260K/stories260K.bin -> <src>/slurm
  return (fs::path(default_model_path()).parent_path().parent_path().parent_path() / "slurm").string();
}
void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  LB_INPUT_CHECK(f.good(), path, ": cannot write");
  f << text;
  LB_INPUT_CHECK(f.good(), path, ": cannot write");
}
}  // namespace

int cmd_submit(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string manifest;
  plan::SubmitOptions o;
  bool dry = false, no_files = false;
  desc.add_options()("manifest", po::value(&manifest)->required(), "the experiment manifest (YAML)")(
      "dry-run", po::bool_switch(&dry), "print the sbatch scripts; submit nothing, write nothing")(
      "chunks", po::value(&o.chunks)->default_value(0),
      "array tasks the configurations are dealt to (default: resources.chunks, else min(configurations, 16))")(
      "output,o", po::value(&o.output), "archive path (default: the manifest's `output`)")(
      "templates", po::value(&o.templates_dir)->default_value(default_templates()),
      "folder with array.sbatch.in and fit.sbatch.in")(
      "lowbit", po::value(&o.lowbit), "the lowbit executable the jobs run (default: resources.lowbit, else this one)")(
      "no-file-checks", po::bool_switch(&no_files),
      "do not require the manifest's files to exist here (they must exist where the jobs run)");
  po::positional_options_description pos;
  pos.add("manifest", 1);
  po::variables_map vm;
  CommonFlags common;
  if (!parse_or_help("submit", "MANIFEST [--dry-run] [--chunks N] [--output ARCHIVE]",
                     "Submits an experiment manifest to Slurm (docs: slurm/README.md):\n"
                     "  1. the sweep as a job array of N tasks; task I runs, as one MPI job,\n"
                     "       srun --mpi=pmix lowbit run MANIFEST --output ARCHIVE --resume --chunk I/N\n"
                     "     (configuration k belongs to task k mod N). Tasks are requeueable (--requeue): a\n"
                     "     requeued task resumes and never redoes a completed configuration;\n"
                     "  2. the fit, a job with --dependency=afterok:<array job>.\n"
                     "Resources per array task come from the manifest's `resources:` section. Scripts and job\n"
                     "logs go to ARCHIVE.slurm/. Prints the job ids. A request the cluster cannot satisfy is\n"
                     "refused by Slurm at submission: exit 2 with its reason.\n"
                     "Example: lowbit submit jobs/study_scaling_laws.yaml --dry-run",
                     desc, args, vm, common, &pos))
    return 0;
  plan::ParseOptions popt;
  popt.check_files = !no_files;
  const plan::Manifest m = plan::load_manifest(manifest, popt);
  const auto cs = plan::expand(m);
  LB_INPUT_CHECK(!cs.empty(), manifest, ": the manifest expands to no configuration");
  plan::Submission s = plan::prepare_submission(m, cs.size(), o);
  if (dry) {
    const std::string fit = plan::render_template(s.fit_script, {{"ARRAY_JOB", "<array job id>"}}, "fit.sbatch");
    if (common.json) {
      emit_json({{"dry_run", true}, {"configs", cs.size()}, {"chunks", s.chunks}, {"archive", s.archive},
                 {"array_script", s.array_script}, {"fit_script", fit},
                 {"fit_dependency", "afterok:<array job id>"}});
    } else {
      std::printf("# %s: %zu configurations in %d array task%s -> %s\n", m.path.c_str(), cs.size(), s.chunks,
                  s.chunks == 1 ? "" : "s", s.archive.c_str());
      std::printf("# ---- %s/array.sbatch  (sbatch --parsable array.sbatch)\n%s", s.dir.c_str(), s.array_script.c_str());
      std::printf("# ---- %s/fit.sbatch  (sbatch --parsable --dependency=afterok:<array job id> fit.sbatch)\n%s",
                  s.dir.c_str(), fit.c_str());
    }
    return 0;
  }
  std::error_code ec;
  const std::string adir = fs::path(s.archive).parent_path().string();
  fs::create_directories(adir, ec);
  LB_INPUT_CHECK(!ec, "--output ", s.archive, ": cannot create its folder ", adir, " (", ec.message(), ")");
  fs::create_directories(s.dir, ec);
  LB_INPUT_CHECK(!ec, "--output ", s.archive, ": cannot create ", s.dir, " (", ec.message(), ")");
  const std::string as = s.dir + "/array.sbatch", fsb = s.dir + "/fit.sbatch";
  write_text(as, s.array_script);
  const auto& R = m.resources;
  const std::string asked =
      cat(m.path, ": array job (", R.nodes, " node", R.nodes == 1 ? "" : "s", " x ", R.ranks_per_node, " rank",
          R.ranks_per_node == 1 ? "" : "s", "/node, ", R.cpus_per_rank, " CPU(s)/rank",
          R.gpus_per_rank ? cat(", ", R.gpus_per_rank, " GPU(s)/rank") : std::string(), ", time ", R.time,
          R.partition.empty() ? std::string() : ", partition " + R.partition,
          R.account.empty() ? std::string() : ", account " + R.account, R.qos.empty() ? std::string() : ", qos " + R.qos,
          ")");
  const std::string array_id = plan::run_sbatch({}, as, asked);
  write_text(fsb, plan::render_template(s.fit_script, {{"ARRAY_JOB", array_id}}, fsb));
  const std::string fit_id = plan::run_sbatch({"--dependency=afterok:" + array_id}, fsb, m.path + ": fit job");
  if (common.json) {
    emit_json({{"array_job", array_id}, {"fit_job", fit_id}, {"chunks", s.chunks}, {"configs", cs.size()},
               {"archive", s.archive}, {"scripts", s.dir}});
  } else {
    std::printf("array job %s: %zu configurations in %d task%s (0-%d)\nfit job %s: after array job %s succeeds\n"
                "archive %s; scripts and logs in %s\n",
                array_id.c_str(), cs.size(), s.chunks, s.chunks == 1 ? "" : "s", s.chunks - 1, fit_id.c_str(),
                array_id.c_str(), s.archive.c_str(), s.dir.c_str());
  }
  return 0;
}

}  // namespace lowbit::cli
