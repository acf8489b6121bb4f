// src/cli/cli.hpp — shared plumbing of the `lowbit` subcommands.
// defines: lowbit::cli::Command, CommonFlags, parse_or_help, emit_json, default_model_path,
//          find_tokenizer_for
//
// Conventions (all subcommands): --help explains; --json prints exactly one JSON object with the
// results on stdout; logs and progress go to stderr; exit 0 ok, 2 bad input, 1 internal failure.
#pragma once

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lowbit/io/tokenizer.hpp"

namespace lowbit::cli {

namespace po = boost::program_options;

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args);
};

struct CommonFlags {
  bool json = false;
  bool quiet = false;
  bool verbose = false;
};

// Adds --help/--json/--quiet/--verbose to `desc`, parses `args`, prints help and returns false
// when --help was given. Unknown options and bad values throw InputError (exit 2).
bool parse_or_help(const std::string& cmd, const std::string& usage, const std::string& details,
                   po::options_description& desc, const std::vector<std::string>& args, po::variables_map& vm,
                   CommonFlags& common, const po::positional_options_description* pos = nullptr);

// Writes `j` as one line on stdout, after add_run_info(j).
void emit_json(const nlohmann::json& j);
// What ran the arithmetic, added to an object that lacks it: "blas" (vendor, version, core,
// selection, detected, threads; core/blas.hpp) and "thread_policy" (threads, source, cpus,
// local_ranks, wait_policy, wait_source; core/threads.hpp).
void add_run_info(nlohmann::json& j);
// The embedded default model shipped in models/ (stories260K).
std::string default_model_path();
// A tokenizer beside the model (lowbit::find_tokenizer_for, io/tokenizer.hpp).
using lowbit::find_tokenizer_for;

int cmd_ppl(const std::vector<std::string>& args);
int cmd_generate(const std::vector<std::string>& args);
int cmd_convert(const std::vector<std::string>& args);
int cmd_info(const std::vector<std::string>& args);
int cmd_quantize(const std::vector<std::string>& args);
int cmd_prune(const std::vector<std::string>& args);
int cmd_run(const std::vector<std::string>& args);
int cmd_inspect(const std::vector<std::string>& args);
int cmd_train(const std::vector<std::string>& args);
int cmd_testbed(const std::vector<std::string>& args);
int cmd_eval(const std::vector<std::string>& args);
int cmd_fit(const std::vector<std::string>& args);
int cmd_diagnose(const std::vector<std::string>& args);
int cmd_plan(const std::vector<std::string>& args);
int cmd_submit(const std::vector<std::string>& args);

}  // namespace lowbit::cli
