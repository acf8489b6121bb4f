// lowbit/fit/archive_points.cpp — run archive → point table. defines: see archive_points.hpp
#include "lowbit/fit/archive_points.hpp"

#include <cmath>
#include <map>

#include "lowbit/archive/keys.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/model/compressed.hpp"  // QuantSpec::kPerChannel, the value of archives' `group`

namespace lowbit::fit {

namespace {
namespace kc = archive::keys::config;
namespace kp = archive::keys::params;
double num(const archive::Group& g, const std::string& k, double def = std::nan("")) { return g.number(k, def); }
std::string str(const archive::Group& g, const std::string& k) { return g.text(k); }
// stratum → (score, chance) of one configuration: task strata and "lm".
std::map<std::string, std::pair<double, double>> strata_of(const archive::Group& c) {
  std::map<std::string, std::pair<double, double>> out;
  if (auto it = c.tables.find(kc::kEval); it != c.tables.end() && it->second.nrows() > 0) {
    const int k = it->second.col(archive::keys::eval::kNllPerToken);
    const double vocab = num(c, kc::kVocabSize, 0);
    if (k >= 0 && vocab > 0) out["lm"] = {std::exp(-it->second.at(0, size_t(k))), 1.0 / vocab};
  }
  if (auto it = c.groups.find(kc::kTasks); it != c.groups.end())
    if (auto st = it->second.tables.find(archive::keys::tasks::kStrata); st != it->second.tables.end()) {
      const auto& t = st->second;
      const int s = t.col(archive::keys::strata::kScore), ch = t.col(archive::keys::strata::kChance);
      // a table without either column has nothing to give (t.at(r, size_t(-1)) read outside it)
      for (size_t r = 0; s >= 0 && ch >= 0 && r < t.nrows() && r < t.rows.size(); ++r)
        out[t.rows[r]] = {t.at(r, size_t(s)), t.at(r, size_t(ch))};
    }
  return out;
}
}  // namespace

PointTable points_from_archive(const archive::Group& root, const std::string& source) {
  auto cit = root.groups.find(archive::keys::root::kConfigs);
  LB_INPUT_CHECK(cit != root.groups.end() && !cit->second.groups.empty(), source, ": the archive has no configurations");
  const auto& configs = cit->second.groups;
  // FP reference per model.
  std::map<std::string, std::map<std::string, std::pair<double, double>>> fp;
  for (const auto& [name, c] : configs)
    if (str(c, kp::kMethod) == "fp") fp[str(c, kc::kModel)] = strata_of(c);
  std::vector<std::string> config, model, family, method, stratum;
  std::vector<double> N, B, G, C, sparsity, acc, chance, acc_fp;
  for (const auto& [name, c] : configs) {
    const std::string meth = str(c, kp::kMethod);
    // The laws are over the quantization axes (N, B, G, C): FP is the reference, pruning (B = 16,
    // a sparsity axis instead) is the Haar study's and stays out of the point table.
    if (meth == "fp" || c.attrs.count(kp::kSparsity)) continue;
    const std::string mdl = str(c, kc::kModel);
    auto f = fp.find(mdl);
    LB_INPUT_CHECK(f != fp.end(), source, ": configuration ", name, " has no FP configuration of model '", mdl,
                   "' to compare with (add `- method: fp` to the manifest)");
    for (const auto& [s, v] : strata_of(c)) {
      auto r = f->second.find(s);
      if (r == f->second.end()) continue;
      config.push_back(name);
      model.push_back(mdl);
      family.push_back(str(c, kc::kFamily).empty() ? mdl : str(c, kc::kFamily));
      method.push_back(meth);
      stratum.push_back(s);
      N.push_back(num(c, kc::kNParams));
      B.push_back(num(c, kp::kBits, 16));
      // QuantSpec::kPerChannel (0) since the group fix; archives written before hold the manifest's
      // spelling -1 at /configs/<id>@group: both are per channel, G = 0 (derived.cpp: G <= 0).
      const double g = num(c, kp::kGroup, QuantSpec::kPerChannel);
      G.push_back(g == QuantSpec::kPerChannelSpelling ? QuantSpec::kPerChannel : g);
      C.push_back(num(c, kp::kCalibTokens, 0));
      sparsity.push_back(num(c, kp::kSparsity, 0));
      acc.push_back(v.first);
      chance.push_back(v.second);
      acc_fp.push_back(r->second.first);
    }
  }
  LB_INPUT_CHECK(!config.empty(), source,
                 ": no compressed configuration has evaluation results to fit (needs `eval` or `tasks` results)");
  PointTable t;
  t.source = source;
  t.add_text("config", config);
  t.add_text("model", model);
  t.add_text("family", family);
  t.add_text("method", method);
  t.add_text("stratum", stratum);
  t.add_numeric("N", N);
  t.add_numeric("B", B);
  t.add_numeric("G", G);
  t.add_numeric("C", C);
  t.add_numeric("sparsity", sparsity);
  t.add_numeric("acc", acc);
  t.add_numeric("chance", chance);
  t.add_numeric("acc_fp", acc_fp);
  return t;
}

}  // namespace lowbit::fit
