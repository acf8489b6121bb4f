// lowbit/fit/law.cpp — reading laws from YAML and compiling their expressions with muParser.
// defines: parse_laws, load_laws, find_law, expr_names, Expr, Law::param_index
#include "lowbit/fit/law.hpp"

#include <muParser.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "lowbit/core/error.hpp"

namespace lowbit::fit {

namespace {

std::string at(const std::string& file, const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  if (m.line < 0) return file;
  return cat(file, ":", m.line + 1, ":", m.column + 1);
}

// A mapping key as text; a key that is itself a sequence or mapping (`{[1, 3]: …}`) is refused, not
// converted (yaml-cpp would throw its own exception, which no caller expects).
std::string key_of(const YAML::Node& k, const std::string& file, const std::string& path) {
  if (!k.IsScalar()) LB_THROW(ConfigError, at(file, k), ": ", path, ": a key must be a name, not a list or mapping");
  return k.as<std::string>();
}

void only_keys(const YAML::Node& n, const std::string& file, const std::string& path,
               std::initializer_list<const char*> keys) {
  if (!n.IsMap()) LB_THROW(ConfigError, at(file, n), ": ", path, " must be a mapping");
  for (const auto& kv : n) {
    std::string k = key_of(kv.first, file, path);
    bool ok = false;
    for (const char* a : keys) ok = ok || k == a;
    if (!ok) {
      std::string allowed;
      for (const char* a : keys) allowed += (allowed.empty() ? "" : ", ") + std::string(a);
      LB_THROW(ConfigError, at(file, kv.first), ": unknown key '", path, ".", k, "' (allowed: ", allowed, ")");
    }
  }
}

std::string scalar(const YAML::Node& n, const std::string& file, const std::string& path) {
  if (!n.IsScalar()) LB_THROW(ConfigError, at(file, n), ": ", path, " must be a string");
  return n.as<std::string>();
}

double number(const YAML::Node& n, const std::string& file, const std::string& path) {
  double v;
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, v))
    LB_THROW(ConfigError, at(file, n), ": ", path, " must be a number");
  return v;
}

bool valid_name(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

LawParam parse_param(const std::string& name, const YAML::Node& n, const std::string& file, const std::string& path) {
  LawParam p;
  p.name = name;
  if (!valid_name(name)) LB_THROW(ConfigError, at(file, n), ": ", path, ": '", name, "' is not a valid parameter name");
  only_keys(n, file, path, {"init", "bounds"});
  if (n["bounds"]) {
    const YAML::Node& b = n["bounds"];
    if (!b.IsSequence() || b.size() != 2)
      LB_THROW(ConfigError, at(file, b), ": ", path, ".bounds must be [lo, hi] (use .inf / -.inf for none)");
    p.lo = number(b[0], file, path + ".bounds[0]");
    p.hi = number(b[1], file, path + ".bounds[1]");
    if (!(p.lo < p.hi)) LB_THROW(ConfigError, at(file, b), ": ", path, ".bounds: lo ", p.lo, " must be below hi ", p.hi);
  }
  if (n["init"]) {
    const YAML::Node& i = n["init"];
    if (i.IsSequence()) {
      for (size_t k = 0; k < i.size(); ++k) p.init.push_back(number(i[k], file, cat(path, ".init[", k, "]")));
      if (p.init.empty()) LB_THROW(ConfigError, at(file, i), ": ", path, ".init is an empty list");
    } else {
      p.init.push_back(number(i, file, path + ".init"));
    }
    for (double v : p.init)
      if (!(v >= p.lo && v <= p.hi) || !std::isfinite(v))
        LB_THROW(ConfigError, at(file, i), ": ", path, ".init ", v, " is outside bounds [", p.lo, ", ", p.hi, "]");
  } else if (std::isfinite(p.lo) && std::isfinite(p.hi)) {
    // Geometric middle of a positive range spanning decades, else the arithmetic middle.
    p.init.push_back(p.lo > 0 && p.hi / p.lo > 100 ? std::sqrt(p.lo * p.hi) : 0.5 * (p.lo + p.hi));
  } else if (std::isfinite(p.lo)) {
    p.init.push_back(p.lo > 0 ? 2 * p.lo : p.lo + 1);
  } else if (std::isfinite(p.hi)) {
    p.init.push_back(p.hi < 0 ? 2 * p.hi : p.hi - 1);
  } else {
    p.init.push_back(0.0);
  }
  return p;
}

}  // namespace

int Law::param_index(const std::string& p) const {
  for (size_t i = 0; i < params.size(); ++i)
    if (params[i].name == p) return static_cast<int>(i);
  return -1;
}

std::vector<std::string> expr_names(const std::string& expr, const std::string& who) {
  mu::Parser p;
  try {
    p.SetExpr(expr);
    std::vector<std::string> out;
    for (const auto& kv : p.GetUsedVar()) out.push_back(kv.first);
    return out;
  } catch (const mu::Parser::exception_type& e) {
    LB_THROW(ConfigError, who, ": ", e.GetMsg(), " in '", expr, "'");
  }
}

std::vector<Law> parse_laws(const YAML::Node& laws, const std::string& file) {
  if (!laws.IsMap() || laws.size() == 0)
    LB_THROW(ConfigError, at(file, laws), ": laws must be a non-empty mapping name -> {expr, target, params}");
  std::vector<Law> out;
  for (const auto& kv : laws) {
    Law L;
    L.name = key_of(kv.first, file, "laws");
    L.where = at(file, kv.second);
    std::string path = "laws." + L.name;
    const YAML::Node& n = kv.second;
    only_keys(n, file, path, {"description", "target", "expr", "params", "log_linear"});
    for (const char* req : {"expr", "target", "params"})
      if (!n[req]) LB_THROW(ConfigError, L.where, ": ", path, " has no '", req, "'");
    if (n["description"]) L.description = scalar(n["description"], file, path + ".description");
    L.expr = scalar(n["expr"], file, path + ".expr");
    L.target = scalar(n["target"], file, path + ".target");
    const YAML::Node& ps = n["params"];
    if (!ps.IsMap() || ps.size() == 0) LB_THROW(ConfigError, at(file, ps), ": ", path, ".params must be a non-empty mapping");
    for (const auto& pk : ps) {
      std::string pn = key_of(pk.first, file, path + ".params");
      L.params.push_back(parse_param(pn, pk.second, file, path + ".params." + pn));
    }
    std::string ewho = cat(at(file, n["expr"]), ": ", path, ".expr");
    auto names = expr_names(L.expr, ewho);
    for (const auto& p : L.params)
      if (std::find(names.begin(), names.end(), p.name) == names.end())
        LB_THROW(ConfigError, at(file, ps), ": ", path, ".params.", p.name, " does not appear in expr '", L.expr, "'");
    if (n["log_linear"]) {
      const YAML::Node& ll = n["log_linear"];
      std::string lp = path + ".log_linear";
      only_keys(ll, file, lp, {"scale", "terms"});
      if (!ll["scale"] || !ll["terms"]) LB_THROW(ConfigError, at(file, ll), ": ", lp, " needs 'scale' and 'terms'");
      LogLinear lin;
      lin.scale = scalar(ll["scale"], file, lp + ".scale");
      const YAML::Node& terms = ll["terms"];
      if (!terms.IsMap()) LB_THROW(ConfigError, at(file, terms), ": ", lp, ".terms must map parameter -> regressor");
      std::set<std::string> covered{lin.scale};
      for (const auto& t : terms) {
        std::string pn = key_of(t.first, file, lp + ".terms");
        std::string reg = scalar(t.second, file, lp + ".terms." + pn);
        if (!covered.insert(pn).second) LB_THROW(ConfigError, at(file, t.first), ": ", lp, ".terms.", pn, " given twice");
        for (const auto& v : expr_names(reg, cat(at(file, t.second), ": ", lp, ".terms.", pn)))
          if (L.param_index(v) >= 0)
            LB_THROW(ConfigError, at(file, t.second), ": ", lp, ".terms.", pn, ": a regressor may not use parameter '", v, "'");
        lin.terms.push_back({pn, reg});
      }
      for (const auto& c : covered)
        if (L.param_index(c) < 0) LB_THROW(ConfigError, at(file, ll), ": ", lp, " names '", c, "', which is not a parameter");
      for (const auto& p : L.params)
        if (!covered.count(p.name))
          LB_THROW(ConfigError, at(file, ll), ": ", lp, " leaves parameter '", p.name,
                   "' out (a linearization must determine every parameter)");
      if (L.params[L.param_index(lin.scale)].lo < 0)
        LB_THROW(ConfigError, at(file, ll), ": ", lp, ".scale '", lin.scale, "' must have bounds >= 0 (its log is the intercept)");
      L.log_linear = lin;
    }
    out.push_back(std::move(L));
  }
  return out;
}

std::vector<Law> load_laws(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    LB_THROW(IoError, path, ": cannot open the laws file");
  } catch (const YAML::Exception& e) {
    LB_THROW(ConfigError, path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg);
  }
  if (!root.IsMap() || !root["laws"]) LB_THROW(ConfigError, path, ": expected a top-level 'laws:' mapping");
  only_keys(root, path, "(top level)", {"laws"});
  return parse_laws(root["laws"], path);
}

const Law& find_law(const std::vector<Law>& laws, const std::string& name, const std::string& where) {
  std::string known;
  for (const auto& l : laws) {
    if (l.name == name) return l;
    known += (known.empty() ? "" : ", ") + l.name;
  }
  LB_THROW(ConfigError, where, ": no law named '", name, "' (the file has: ", known, ")");
}

Expr::Expr(const std::string& expr, const std::vector<std::string>& names, const std::string& who)
    : p_(std::make_unique<mu::Parser>()), vals_(names.size(), 0.0) {
  try {
    for (size_t i = 0; i < names.size(); ++i) p_->DefineVar(names[i], &vals_[i]);
    p_->SetExpr(expr);
    p_->Eval();  // compile now so that errors surface here, not inside the solver
  } catch (const mu::Parser::exception_type& e) {
    LB_THROW(ConfigError, who, ": ", e.GetMsg(), " in '", expr, "'");
  }
}
Expr::Expr(Expr&&) noexcept = default;
Expr& Expr::operator=(Expr&&) noexcept = default;
Expr::~Expr() = default;

double Expr::eval(const double* values) {
  std::copy(values, values + vals_.size(), vals_.begin());
  try {
    return p_->Eval();
  } catch (const mu::Parser::exception_type&) {
    return std::numeric_limits<double>::quiet_NaN();  // e.g. a domain error: the solver rejects the step
  }
}

double Expr::eval(const double* x, size_t nx, const double* theta, size_t np) {
  std::copy(x, x + nx, vals_.begin());
  std::copy(theta, theta + np, vals_.begin() + static_cast<long>(nx));
  try {
    return p_->Eval();
  } catch (const mu::Parser::exception_type&) {
    return std::numeric_limits<double>::quiet_NaN();
  }
}

}  // namespace lowbit::fit
