// lowbit/plan/submit.cpp — sbatch scripts from slurm/*.sbatch.in and their submission.
// defines: see submit.hpp
#include "lowbit/plan/submit.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"

namespace fs = std::filesystem;

namespace lowbit::plan {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string render_template(const std::string& text, const std::map<std::string, std::string>& vars,
                            const std::string& what, bool leave_unknown) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t a = text.find('@', i);
    if (a == std::string::npos) break;
    const size_t b = text.find('@', a + 1);
    if (b == std::string::npos) break;
    const std::string key = text.substr(a + 1, b - a - 1);
    const bool is_key = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9');
    });
    if (!is_key) {  // not a placeholder (e.g. an e-mail address): keep the '@'
      out += text.substr(i, a + 1 - i);
      i = a + 1;
      continue;
    }
    out += text.substr(i, a - i);
    auto it = vars.find(key);
    if (it != vars.end()) out += it->second;
    else if (leave_unknown) out += "@" + key + "@";
    else LB_FAIL_INPUT(what, ": placeholder @", key, "@ has no value (known: SBATCH_LINES, SETUP_LINES, LOWBIT, ",
                       "MANIFEST, ARCHIVE, CHUNKS, ARRAY_JOB)");
    i = b + 1;
  }
  return out + text.substr(i);
}

int default_chunks(const Manifest& m, size_t configs) {
  const int want = m.resources.chunks > 0 ? m.resources.chunks : 16;
  return int(std::max<size_t>(1, std::min<size_t>(configs, size_t(want))));
}

namespace {
std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("lowbit") : p.string();
}
std::string abs_path(const std::string& p) { return fs::absolute(p).lexically_normal().string(); }
}  // namespace

Submission prepare_submission(const Manifest& m, size_t configs, const SubmitOptions& o) {
  const Resources& R = m.resources;
  Submission s;
  s.configs = configs;
  s.archive = abs_path(o.output.empty() ? m.output : o.output);
  s.manifest = abs_path(m.path);
  s.dir = s.archive + ".slurm";
  s.chunks = o.chunks > 0 ? o.chunks : default_chunks(m, configs);
  LB_INPUT_CHECK(o.chunks >= 0, "--chunks ", o.chunks, " must be at least 1");
  LB_INPUT_CHECK(size_t(s.chunks) <= configs, "--chunks ", s.chunks, " exceeds the ", configs,
                 " configurations of ", m.path, " (an array task would have nothing to do)");
  const std::string lowbit = abs_path(!o.lowbit.empty() ? o.lowbit : !R.lowbit.empty() ? R.lowbit : self_exe());
  const std::string tdir = o.templates_dir;
  const std::string at = tdir + "/array.sbatch.in", ft = tdir + "/fit.sbatch.in";
  LB_INPUT_CHECK(file_exists(at) && file_exists(ft), "--templates ", tdir, ": no array.sbatch.in and fit.sbatch.in there");
  auto common = [&](std::vector<std::string>& l) {
    if (!R.partition.empty()) l.push_back("--partition=" + R.partition);
    if (!R.account.empty()) l.push_back("--account=" + R.account);
    if (!R.qos.empty()) l.push_back("--qos=" + R.qos);
    l.push_back("--time=" + R.time);
    l.push_back("--requeue");
    l.push_back("--open-mode=append");
  };
  std::vector<std::string> al = {"--job-name=lowbit-" + m.name,
                                 "--array=0-" + std::to_string(s.chunks - 1) +
                                     (R.max_concurrent > 0 ? "%" + std::to_string(R.max_concurrent) : ""),
                                 "--nodes=" + std::to_string(R.nodes),
                                 "--ntasks-per-node=" + std::to_string(R.ranks_per_node),
                                 "--cpus-per-task=" + std::to_string(R.cpus_per_rank)};
  if (R.gpus_per_rank > 0) al.push_back("--gpus-per-task=" + std::to_string(R.gpus_per_rank));
  if (!R.memory.empty()) al.push_back("--mem=" + R.memory);
  common(al);
  al.push_back("--output=" + s.dir + "/array-%A_%a.out");
  std::vector<std::string> fl = {"--job-name=lowbit-" + m.name + "-fit", "--nodes=1", "--ntasks=1",
                                 "--cpus-per-task=" + std::to_string(R.cpus_per_rank)};
  common(fl);
  fl.push_back("--output=" + s.dir + "/fit-%j.out");
  auto sbatch_lines = [&](const std::vector<std::string>& l) {
    std::string out;
    for (const auto& x : l) out += "#SBATCH " + x + "\n";
    for (const auto& x : R.sbatch) out += (x.rfind("#SBATCH", 0) == 0 ? x : "#SBATCH " + x) + "\n";
    if (!out.empty()) out.pop_back();
    return out;
  };
  std::string setup;
  for (const auto& x : R.setup) setup += x + "\n";
  if (!setup.empty()) setup.pop_back();
  std::map<std::string, std::string> vars = {{"SETUP_LINES", setup},
                                             {"LOWBIT", shell_quote(lowbit)},
                                             {"MANIFEST", shell_quote(s.manifest)},
                                             {"ARCHIVE", shell_quote(s.archive)},
                                             {"CHUNKS", std::to_string(s.chunks)}};
  // The dependent job fits the manifest's laws (read back from the archive's /run/manifest); a
  // manifest without laws gets a summary of the archive instead.
  vars["FIT_COMMAND"] = m.laws.present ? shell_quote(lowbit) + " fit " + shell_quote(s.archive) + " --bootstrap 100"
                                                 : shell_quote(lowbit) + " inspect " + shell_quote(s.archive);
  vars["SBATCH_LINES"] = sbatch_lines(al);
  s.array_script = render_template(read_file(at), vars, at);
  vars["SBATCH_LINES"] = sbatch_lines(fl);
  s.fit_script = render_template(read_file(ft), vars, ft, true);
  return s;
}

std::string run_sbatch(const std::vector<std::string>& args, const std::string& script, const std::string& what) {
  int fds[2];
  LB_CHECK(::pipe(fds) == 0, "pipe failed");
  std::vector<std::string> argv = {"sbatch", "--parsable"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(script);
  const pid_t pid = ::fork();
  LB_CHECK(pid >= 0, "fork failed");
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<char*> cv;
    for (auto& a : argv) cv.push_back(a.data());
    cv.push_back(nullptr);
    ::execvp("sbatch", cv.data());
    std::fprintf(stderr, "cannot execute sbatch (is Slurm's client installed and on PATH?)\n");
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, size_t(n));
  ::close(fds[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  // the last non-empty line, without sbatch's prefixes
  std::vector<std::string> lines;
  for (size_t a = 0, b; a < out.size(); a = b + 1) {
    b = out.find('\n', a);
    if (b == std::string::npos) b = out.size();
    std::string l = out.substr(a, b - a);
    if (!l.empty()) lines.push_back(l);
  }
  const bool ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
  if (!ok) {
    std::string why = lines.empty() ? "sbatch failed with no message" : lines.back();
    for (const char* p : {"sbatch: error: ", "Batch job submission failed: "})
      if (why.rfind(p, 0) == 0) why = why.substr(std::string(p).size());
    LB_FAIL_INPUT(what, ": Slurm refused it: ", why);
  }
  std::string id = lines.empty() ? "" : lines.back();
  if (auto semi = id.find(';'); semi != std::string::npos) id = id.substr(0, semi);
  LB_INPUT_CHECK(!id.empty() && std::all_of(id.begin(), id.end(), ::isdigit), what,
                 ": sbatch answered no job id (", id, ")");
  return id;
}

}  // namespace lowbit::plan
