// lowbit/plan/manifest.hpp — the YAML experiment manifest (schema in docs/MANIFEST.md) and its
// expansion into configurations. Validation happens before any work: every problem is reported
// with file:line:column and the key path, all at once (ConfigError, exit 2).
// defines: lowbit::plan::ModelEntry, MethodEntry, Manifest, RunConfig, load_manifest,
//          parse_manifest, expand, config_params
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lowbit/archive/record.hpp"

namespace lowbit::plan {

struct ModelEntry {
  std::string name, path, tokenizer, family;
};

// One entry of `methods:`; every sweep axis is a list (a scalar is a list of one).
struct MethodEntry {
  std::string method;                // fp | rtn | gptq | awq | magnitude | wanda | sparsegpt | haar
  std::vector<int> bits;             // quantization
  std::vector<int> group;            // quantization (-1 = per channel)
  std::vector<int> sym;              // 0/1
  std::vector<double> sparsity;      // pruning
  std::vector<std::string> nm;       // pruning, "2:4" ("" = unstructured)
  std::vector<int> nsamples;         // overrides calibration.nsamples for this method
  std::vector<std::string> models;   // restrict to these model names (empty = all)
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
  // Sections other parts of lowbit read (diagnostics, tasks, laws, resources), kept as YAML text.
  std::map<std::string, std::string> sections;
};

// A fully specified configuration: one unit of work, one group in the archive.
struct RunConfig {
  std::string id;        // stable, HDF5-safe: "stories260K.gptq.b4.g32.asym.n16.s0"
  int model = 0;         // index into Manifest::models
  std::string method;
  int bits = 0, group = 0, sym = 0;
  double sparsity = 0;
  std::string nm;
  int nsamples = 0, seqlen = 0;
  uint64_t seed = 0;
};

Manifest load_manifest(const std::string& path);
Manifest parse_manifest(const std::string& text, const std::string& path);
std::vector<RunConfig> expand(const Manifest& m);
// The parameters of a configuration as archive attributes.
archive::Group config_params(const Manifest& m, const RunConfig& c);

}  // namespace lowbit::plan
