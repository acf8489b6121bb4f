// lowbit/run/runner.hpp — `lowbit run`: a manifest's configurations executed by rank groups that
// take them from a dynamic work queue, each written whole into the run archive.
// defines: lowbit::run::RunOptions, RunSummary, run_manifest, run_config, validate_run, validate_configs,
//          kMaxCalibrationBytes, WorkQueue
#pragma once

#include <memory>
#include <string>

#include "lowbit/archive/record.hpp"
#include "lowbit/compress/driver.hpp"
#include "lowbit/plan/manifest.hpp"
#include "lowbit/run/studies.hpp"

namespace lowbit::dist { class Comm; }

namespace lowbit::run {

struct RunOptions {
  std::string manifest;
  std::string output;      // overrides the manifest's output
  bool resume = false;     // continue an existing archive (or start one): never redo a complete config
  int group_size = 0;      // ranks per configuration; 0 = the manifest's execution.group_size
  long long limit = 0;     // stop after this many configurations on this run (0 = all)
  std::string only;        // run only configurations whose id contains this text
  // Job arrays: run only slice `chunk_index` of `chunk_count` (plan::chunk_of over the full
  // configuration list, so slices are disjoint and stable; completed configurations are skipped).
  int chunk_index = 0, chunk_count = 0;  // chunk_count 0 = no slicing
};

struct RunSummary {
  std::string archive;
  int total = 0;           // configurations in the manifest
  int already = 0;         // complete before this run started
  int done = 0;            // completed by this run (all groups)
  int groups = 1, ranks = 1;
  double seconds = 0;
  double collective_seconds = 0;  // max over ranks
  double compute_seconds = 0;     // Σ over configs of their wall time
};

// Collective over `world`. Validates everything before any work (all ranks throw the same
// error), then runs, then commits the archive.
RunSummary run_manifest(const RunOptions& opt, dist::Comm& world);

// One configuration on the ranks of `group`; returns its archive group (identical on every rank
// of the group, timings aside). With a `spill_dir`, compressed blocks are streamed through it
// (CompressOptions::spill_dir) and evaluation reads one block at a time.
struct Studies {
  TaskStudy tasks;
  plan::DiagSection diag;
};
// The manifest's study sections as run: the task files resolved and checked (ConfigError before
// any work), the diagnostics section as parsed.
Studies load_studies(const plan::Manifest& m);
archive::Group run_config(const plan::Manifest& m, const plan::RunConfig& c, dist::Comm& group,
                          const std::string& spill_dir = "", const Studies& studies = {});

// The compression options of one configuration, and the check of every configuration against its
// model (group sizes, N:M patterns, positions; diagnosed configurations: context and calibration)
// before any work; ConfigError lists every problem, each named by its manifest key (methods[1].nm,
// not --nm).
// The models and tokenizers load, the corpus is long enough for every seqlen, calibration sizes fit
// kMaxCalibrationBytes — each problem named with the manifest's file:line:col where it has one.
CompressOptions compress_options(const plan::Manifest& m, const plan::RunConfig& c);
void validate_configs(const plan::Manifest& m, const std::vector<plan::RunConfig>& all);
// Every check `lowbit run` makes on its inputs before writing anything (validate_configs, then the
// study sections); `lowbit plan` calls it too, so plan refuses what run would. Returns the studies.
Studies validate_run(const plan::Manifest& m, const std::vector<plan::RunConfig>& all);

// Calibration data one rank holds for one configuration (tokens + its share of the activations):
// beyond 1 TiB no node has the memory, and an nsamples typo would otherwise allocate until killed.
inline constexpr long long kMaxCalibrationBytes = 1LL << 40;

// A shared counter handing out work items: MPI one-sided fetch-and-add on rank 0 of the world
// (no dedicated master rank), or a local counter for one process.
class WorkQueue {
 public:
  explicit WorkQueue(dist::Comm& world);
  ~WorkQueue();
  long long next();  // called by one rank per group
 private:
  struct Impl;
  std::unique_ptr<Impl> p_;
};

}  // namespace lowbit::run
