// lowbit/plan/manifest.hpp — the YAML experiment manifest (schema in docs/MANIFEST.md) and its
// expansion into configurations. Validation happens before any work: every problem is reported
// with file:line:column and the key path, all at once (ConfigError, exit 2).
// defines: lowbit::plan::ModelEntry, MethodEntry, Resources, TasksSection, DiagSection, LawsSection,
//          Manifest, RunConfig, ParseOptions,
//          load_manifest, parse_manifest, expand, config_params, chunk_of, kMaxManifestBytes,
//          kMaxConfigurations
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lowbit/archive/record.hpp"
#include "lowbit/compress/quant.hpp"  // QuantSpec::kPerChannel
#include "lowbit/eval/tasks.hpp"      // TaskOptions
#include "lowbit/fit/law.hpp"         // fit::Law

namespace lowbit::plan {

// Limits that keep a typo from taking the machine; refused before parsing or expanding.
// A manifest is a few KB of YAML; 16 MiB is far beyond any real one and still parses in seconds.
inline constexpr long long kMaxManifestBytes = 16LL << 20;
// One configuration is minutes of work: a million is already years of compute, more is a typo.
inline constexpr unsigned long long kMaxConfigurations = 1000000ULL;

struct ModelEntry {
  std::string name, path, tokenizer, family;
};

// One entry of `methods:`; every sweep axis is a list (a scalar is a list of one).
struct MethodEntry {
  std::string method;                // fp | rtn | gptq | awq | magnitude | wanda | sparsegpt | haar
  std::vector<int> bits;             // quantization
  std::vector<int> group;            // quantization, QuantSpec::group values: the YAML spelling -1 is
                                     // converted once, at parse, to QuantSpec::kPerChannel
  std::vector<int> sym;              // 0/1
  std::vector<double> sparsity;      // pruning
  std::vector<std::string> nm;       // pruning, "2:4" ("" = unstructured)
  std::vector<int> nsamples;         // overrides calibration.nsamples for this method
  std::vector<uint64_t> seeds;       // overrides the top-level seeds for this method
  std::vector<int> seqlen;           // overrides calibration.seqlen for this method
  std::vector<std::string> models;   // restrict to these model names (empty = all)
  // Axes that vary together (element i of each) instead of being crossed; each inner list names
  // two or more axes of equal length.
  std::vector<std::vector<std::string>> zip;
  // Configurations to drop: one entry matches a configuration when every axis it names has one
  // of the listed values (values kept as given; compared numerically for numeric axes).
  std::vector<std::map<std::string, std::vector<std::string>>> exclude;
};

// `resources:` — what one array task of `lowbit submit` asks Slurm for.
struct Resources {
  int nodes = 1;
  int ranks_per_node = 1;
  int gpus_per_rank = 0;
  int cpus_per_rank = 1;
  std::string time = "01:00:00";     // Slurm time limit: MM, HH:MM:SS or D-HH:MM:SS
  std::string partition, account, qos;
  std::string memory;                // per node, Slurm syntax (e.g. 64G); "" = the partition default
  int chunks = 0;                    // array tasks; 0 = min(configurations, 16)
  int max_concurrent = 0;            // array throttle (%N); 0 = no limit
  std::vector<std::string> sbatch;   // extra sbatch options ("--constraint=a100" or "#SBATCH ...")
  std::vector<std::string> setup;    // shell lines before srun (module load, venv, ...)
  std::string lowbit;                // the lowbit executable on the cluster ("" = this one)
  int ranks() const { return nodes * ranks_per_node; }
};

// `tasks:` — scored for every configuration, FP included. The task files are resolved (and their
// datasets checked) by run::load_studies, which names tasks.names' place on failure.
struct TasksSection {
  bool present = false;
  std::string names;         // as resolve_task_specs reads them: comma-separated names, YAML files
                             // or folders (a list's files resolved against the manifest's folder)
  TaskOptions options;       // limit, fewshot, seed (defaults: TaskOptions')
  std::string data_root;     // resolved; "" = default_data_root's choice
};

// `diagnostics:` — failure-mode diagnostics of the quantized configurations (diagnose/config_run).
struct DiagSection {
  bool enabled = false;      // `diagnostics: true`, or a mapping without `enabled: false`
  int eval_windows = 8, eval_seqlen = 64;
  std::string facts;         // resolved; non-empty enables causal tracing
  std::string only;          // only configurations whose id contains this text ("" = all quantized)
};

// `laws:` — what `lowbit fit` fits; parsed by fit's own parser at plan time.
struct LawsSection {
  bool present = false;
  std::string file;              // the laws file ("" = given inline)
  std::vector<fit::Law> laws;    // empty when a laws file was not read (--no-file-checks)
};

struct Manifest {
  std::string path;   // the YAML file
  std::string dir;    // its folder: relative paths in it resolve here
  std::string text;   // verbatim (stored in the archive; compared on --resume)
  std::string name;
  std::string output;  // archive path (resolved)
  std::vector<ModelEntry> models;
  // calibration
  std::string calib_path;
  std::vector<int> calib_nsamples{16};
  int calib_seqlen = 64;
  std::vector<uint64_t> seeds{0};
  // evaluation
  std::string eval_path;  // perplexity text ("" = the calibration corpus's held-out part)
  int eval_ctx = 0;
  long long eval_max_windows = 0;
  std::vector<MethodEntry> methods;
  // execution
  int group_size = 1;     // ranks per configuration (a rank group)
  int micro_batch = 8;
  Resources resources;
  // the study sections (`testbed:` is only checked to be a mapping: lowbit testbed reads its own files)
  TasksSection tasks;
  DiagSection diagnostics;
  LawsSection laws;
  // "file:line:col: key" of the fields later checks name (models[0].path, calibration.seqlen,
  // methods[1].nsamples, ...), so errors found after parsing still point into the YAML.
  std::map<std::string, std::string> locations;
  std::string where(const std::string& key) const {
    const auto it = locations.find(key);
    return it != locations.end() ? it->second : path + ": " + key;
  }
};

// A fully specified configuration: one unit of work, one group in the archive.
struct RunConfig {
  std::string id;        // stable, HDF5-safe: "stories260K.gptq.b4.g32.asym.n16.s0"; a name, not values
                         // to parse back (per channel is spelled ".g-1", whatever QuantSpec's value)
  int model = 0;         // index into Manifest::models
  std::string method;
  int bits = 0, group = QuantSpec::kPerChannel, sym = 0;  // group: as QuantSpec::group
  double sparsity = 0;
  std::string nm;
  int nsamples = 0, seqlen = 0;
  uint64_t seed = 0;
  int entry = -1;        // index into Manifest::methods (the entry that produced it)
};

struct ParseOptions {
  // false: do not require the files the manifest names to exist (planning on a login node);
  // everything else is still checked.
  bool check_files = true;
};

Manifest load_manifest(const std::string& path, const ParseOptions& po = {});
Manifest parse_manifest(const std::string& text, const std::string& path, const ParseOptions& po = {});
std::vector<RunConfig> expand(const Manifest& m);
// The parameters of a configuration as archive attributes (keys::config identity, then
// keys::params through archive::write_params, the writer diagnostics/ shares).
archive::Group config_params(const Manifest& m, const RunConfig& c);
// Deterministic slicing for job arrays: configuration k of expand()'s list belongs to chunk
// k mod n. Slices are of the full list (not of what is pending), so they never overlap and do not
// move when other tasks finish or a task is requeued.
inline int chunk_of(size_t k, int n) { return int(k % size_t(n)); }

}  // namespace lowbit::plan
