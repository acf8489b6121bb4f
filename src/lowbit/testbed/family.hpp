// lowbit/testbed/family.hpp — a family of model sizes trained on one synthetic corpus, from a
// self-contained YAML (top-level keys corpus:, train:, family:; see jobs/testbed_family.yaml).
// defines: lowbit::testbed::MemberSpec, FamilySpec, load_family_spec, parse_world_config,
//          parse_train_options, run_family, FamilyOptions
//
// run_family builds the corpus, then per member: trains (seeded), writes DIR/models/<name>/
// model.bin (llama2.c format) + tokenizer.json + train_summary.json, measures the knowledge it
// stores (capacity.hpp) and scores the three probe sets with the task harness (lowbit::
// evaluate_tasks). A member whose train_summary.json exists is loaded, not retrained, so a killed
// run continues. DIR/summary.json gathers corpus bits, compute (tokens, 6·N·D FLOPs, seconds),
// probe accuracy per stratum and knowledge stored per member.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "lowbit/archive/record.hpp"
#include "lowbit/testbed/world.hpp"
#include "lowbit/train/trainer.hpp"

namespace lowbit::testbed {

struct MemberSpec {
  std::string name;
  int dim = 0, n_layers = 0, n_heads = 0, hidden_dim = 0;
  train::TrainOptions train;  // the family's train: section with this member's overrides
};

struct FamilySpec {
  std::string path;
  WorldConfig corpus;
  train::TrainOptions train;
  std::vector<MemberSpec> members;
  int threads = 0;  // family.threads: OpenMP/OpenBLAS threads (0 = library default)
};

// Fields of `node` (a map) into the config; unknown keys and bad values are ConfigErrors naming
// `file`, the key path and the line.
WorldConfig parse_world_config(const YAML::Node& node, const std::string& file);
void parse_train_options(const YAML::Node& node, const std::string& file, const std::string& path,
                         train::TrainOptions& o);
FamilySpec load_family_spec(const std::string& yaml_path);

struct FamilyOptions {
  std::string out_dir;
  bool evaluate = true;  // score probes with the task harness
  bool quiet = false;
};

// Runs (or continues) the family; returns the summary JSON (also written to out_dir/summary.json).
nlohmann::json run_family(const FamilySpec& spec, const FamilyOptions& o);

// The archive form of a family summary: attributes (recipe, corpus knowledge bits, chance per
// stratum, seconds), table "members" (one row per member: params, tokens, FLOPs, seconds, loss,
// accuracy ± stderr per stratum, bits stored) and one sub-group per member with its training
// curve (train::summary_group's table "curve").
archive::Group family_group(const nlohmann::json& summary);

}  // namespace lowbit::testbed
