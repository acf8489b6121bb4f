// lowbit/fit/law.hpp — a scaling law: an expression over sweep variables with named, bounded
// parameters (muParser syntax), read from a laws file or a manifest's `laws:` mapping, and its
// compiled form. Syntax and shipped forms: docs/FIT.md, jobs/laws.yaml.
// defines: lowbit::fit::LawParam, LogLinear, Law, parse_laws, load_laws, find_law, Expr, expr_names
#pragma once

#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace YAML {
class Node;
}
namespace mu {
class Parser;
}

namespace lowbit::fit {

struct LawParam {
  std::string name;
  std::vector<double> init;  // one value, or several: the multi-start grid is their product
  double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
};

// A declared linearization: log(expr) = log(scale) + Σ_k terms[k].param · terms[k].regressor(x),
// where each regressor is an expression over variables only. It must name every parameter; the
// fitter checks numerically that it reproduces expr before using it as the starting point.
struct LogLinear {
  std::string scale;
  std::vector<std::pair<std::string, std::string>> terms;  // (parameter, regressor expression)
};

struct Law {
  std::string name, description, expr, target;
  std::vector<LawParam> params;
  std::optional<LogLinear> log_linear;
  std::string where;  // "file:line:col" of the law, for messages
  int param_index(const std::string& p) const;  // -1 if absent
};

// Laws from a YAML mapping name -> {description, target, expr, params, log_linear}; `where` names
// the file (or manifest key) in errors. Unknown keys, a malformed expression, bounds with lo > hi or
// an init outside its bounds throw ConfigError with file:line:col.
std::vector<Law> parse_laws(const YAML::Node& laws, const std::string& where);
// A file whose top level has the key `laws:` (IoError if unreadable, ConfigError if malformed).
std::vector<Law> load_laws(const std::string& path);
const Law& find_law(const std::vector<Law>& laws, const std::string& name, const std::string& where);

// Every free name an expression refers to (variables and parameters), sorted. ConfigError
// prefixed by `who` on a syntax error.
std::vector<std::string> expr_names(const std::string& expr, const std::string& who);

// A compiled expression whose names are bound, in order, to the values passed to eval(). Not
// thread-safe; compile one per thread.
class Expr {
 public:
  Expr(const std::string& expr, const std::vector<std::string>& names, const std::string& who);
  Expr(Expr&&) noexcept;
  Expr& operator=(Expr&&) noexcept;
  ~Expr();
  // values[i] binds names[i].
  double eval(const double* values);
  // names = vars ++ params: bind x (vars) then theta (params).
  double eval(const double* x, size_t nx, const double* theta, size_t np);

 private:
  std::unique_ptr<mu::Parser> p_;
  std::vector<double> vals_;
};

}  // namespace lowbit::fit
