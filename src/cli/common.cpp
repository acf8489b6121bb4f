// src/cli/common.cpp — option parsing, JSON output and path defaults shared by subcommands.
// defines: see cli.hpp
#include <dirent.h>

#include <cstdio>
#include <iostream>

#include "cli/cli.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/core/mapped_file.hpp"

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

void emit_json(const nlohmann::json& j) {
  std::string s = j.dump() + "\n";
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fflush(stdout);
}

std::string default_model_path() { return std::string(LOWBIT_DEFAULT_MODEL); }

std::string find_tokenizer_for(const std::string& model_path) {
  std::string dir = is_directory(model_path) ? model_path : model_path.substr(0, model_path.find_last_of('/') == std::string::npos ? 0 : model_path.find_last_of('/'));
  if (dir.empty()) dir = ".";
  for (const char* n : {"tokenizer.json", "tokenizer.model", "tokenizer.bin"})
    if (file_exists(dir + "/" + n)) return dir + "/" + n;
  if (DIR* d = ::opendir(dir.c_str())) {
    std::string best;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n.rfind("tok", 0) == 0 && n.size() > 4 && n.substr(n.size() - 4) == ".bin" && (best.empty() || n < best))
        best = n;
    }
    ::closedir(d);
    if (!best.empty()) return dir + "/" + best;
  }
  LB_FAIL_INPUT(model_path, ": no tokenizer found beside the model (tokenizer.json, tokenizer.model, tokenizer.bin or "
                "tok*.bin in ", dir, "); pass --tokenizer PATH");
}

}  // namespace lowbit::cli
