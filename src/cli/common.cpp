// src/cli/common.cpp — option parsing, JSON output and path defaults shared by subcommands.
// defines: see cli.hpp
#include <dirent.h>

#include <cstdio>
#include <iostream>

#include "cli/cli.hpp"
#include "lowbit/core/blas.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/core/threads.hpp"

namespace lowbit::cli {

bool parse_or_help(const std::string& cmd, const std::string& usage, const std::string& details,
                   po::options_description& desc, const std::vector<std::string>& args, po::variables_map& vm,
                   CommonFlags& common, const po::positional_options_description* pos) {
  desc.add_options()("help,h", "show this help")("json", po::bool_switch(&common.json),
                                                   "print one JSON object with the results on stdout")(
      "quiet,q", po::bool_switch(&common.quiet), "no progress or log lines on stderr")(
      "verbose,v", po::bool_switch(&common.verbose), "debug log lines on stderr");
  try {
    auto parser = po::command_line_parser(args).options(desc);
    if (pos) parser.positional(*pos);
    po::store(parser.run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: lowbit " << cmd << " " << usage << "\n\n" << details << "\n\n" << desc << "\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    LB_FAIL_INPUT(e.what(), " (see lowbit ", cmd, " --help)");
  }
  set_log_level(common.quiet ? LogLevel::Quiet : common.verbose ? LogLevel::Debug : LogLevel::Info);
  return true;
}

namespace {

// The BLAS that computed (core/blas.hpp): vendor, version, core, selection, detected, threads.
nlohmann::json blas_json() {
  const BlasInfo& b = blas_info();
  return {{"vendor", b.vendor},       {"version", b.version},   {"core", b.core},
          {"selection", b.selection}, {"detected", b.detected}, {"threads", b.threads}};
}

// The thread policy that ran (core/threads.hpp): threads, source, cpus, local_ranks, wait_policy, wait_source.
nlohmann::json thread_policy_json() {
  const ThreadPolicy& p = thread_policy();
  return {{"threads", p.threads},         {"source", p.source},           {"cpus", p.cpus},
          {"local_ranks", p.local_ranks}, {"wait_policy", p.wait_policy}, {"wait_source", p.wait_source}};
}

}  // namespace

void add_run_info(nlohmann::json& j) {
  if (!j.is_object()) return;
  if (!j.contains("blas")) j["blas"] = blas_json();  // what ran the arithmetic
  if (!j.contains("thread_policy")) j["thread_policy"] = thread_policy_json();
}

void emit_json(const nlohmann::json& j_in) {
  nlohmann::json j = j_in;
  add_run_info(j);
  std::string s = j.dump() + "\n";
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fflush(stdout);
}

std::string default_model_path() { return std::string(LOWBIT_DEFAULT_MODEL); }


}  // namespace lowbit::cli
