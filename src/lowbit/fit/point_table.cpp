// lowbit/fit/point_table.cpp — CSV reading, row selection, configuration keys and stratum splits
// of the point table. defines: PointTable methods, read_point_csv, parse_point_csv, config_keys,
// split_by
#include "lowbit/fit/point_table.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "lowbit/core/error.hpp"

namespace lowbit::fit {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

// Split one CSV line; "…" quoting with "" for a literal quote.
std::vector<std::string> split_csv(const std::string& line, const std::string& where) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, was_quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = was_quoted = true;
    } else if (c == ',') {
      out.push_back(was_quoted ? cur : trim(cur));
      cur.clear();
      was_quoted = false;
    } else {
      cur += c;
    }
  }
  LB_INPUT_CHECK(!quoted, where, ": unterminated quoted field");
  out.push_back(was_quoted ? cur : trim(cur));
  return out;
}

// A number, or NaN for an empty/"nan"/"NA" cell; false if the cell is text.
bool parse_number(const std::string& s, double& v) {
  if (s.empty() || s == "nan" || s == "NaN" || s == "NA" || s == "na") {
    v = kNaN;
    return true;
  }
  char* end = nullptr;
  errno = 0;
  v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && errno != ERANGE;
}

std::string fmt_num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.10g", v);
  return b;
}

}  // namespace

const std::vector<double>& PointTable::numeric(const std::string& c) const {
  auto it = num.find(c);
  if (it != num.end()) return it->second;
  if (text.count(c)) LB_FAIL_INPUT(source, ": column '", c, "' holds text, a number is needed");
  LB_FAIL_INPUT(source, ": no column '", c, "'");
}

PointTable PointTable::select(const std::vector<size_t>& idx) const {
  PointTable t;
  t.source = source;
  t.columns = columns;
  t.nrows = idx.size();
  for (const auto& [k, v] : num) {
    auto& o = t.num[k];
    o.reserve(idx.size());
    for (size_t i : idx) o.push_back(v.at(i));
  }
  for (const auto& [k, v] : text) {
    auto& o = t.text[k];
    o.reserve(idx.size());
    for (size_t i : idx) o.push_back(v.at(i));
  }
  return t;
}

void PointTable::add_numeric(const std::string& name, std::vector<double> v) {
  LB_CHECK(!has(name), name);
  LB_CHECK(columns.empty() || v.size() == nrows, name);
  if (columns.empty()) nrows = v.size();
  columns.push_back(name);
  num[name] = std::move(v);
}

void PointTable::add_text(const std::string& name, std::vector<std::string> v) {
  LB_CHECK(!has(name), name);
  LB_CHECK(columns.empty() || v.size() == nrows, name);
  if (columns.empty()) nrows = v.size();
  columns.push_back(name);
  text[name] = std::move(v);
}

PointTable parse_point_csv(const std::string& content, const std::string& source) {
  std::istringstream in(content);
  std::string line;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> cells;  // per column
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    std::string where = cat(source, ":", lineno);
    auto f = split_csv(line, where);
    if (header.empty()) {
      std::set<std::string> seen;
      for (const auto& h : f) {
        LB_INPUT_CHECK(!h.empty(), where, ": empty column name in the header");
        LB_INPUT_CHECK(seen.insert(h).second, where, ": column '", h, "' appears twice in the header");
      }
      header = f;
      cells.resize(header.size());
      continue;
    }
    LB_INPUT_CHECK(f.size() == header.size(), where, ": ", f.size(), " fields, the header has ", header.size());
    for (size_t c = 0; c < f.size(); ++c) cells[c].push_back(f[c]);
  }
  LB_INPUT_CHECK(!header.empty(), source, ": no header row (expected e.g. model,family,method,N,B,G,C,stratum,acc)");
  PointTable t;
  t.source = source;
  t.nrows = cells[0].size();
  LB_INPUT_CHECK(t.nrows > 0, source, ": the table has a header but no rows");
  for (size_t c = 0; c < header.size(); ++c) {
    std::vector<double> v(t.nrows);
    bool numeric = true;
    for (size_t r = 0; r < t.nrows && numeric; ++r) numeric = parse_number(cells[c][r], v[r]);
    t.columns.push_back(header[c]);
    if (numeric)
      t.num[header[c]] = std::move(v);
    else
      t.text[header[c]] = std::move(cells[c]);
  }
  return t;
}

PointTable read_point_csv(const std::string& path) {
  std::ifstream f(path);
  if (!f) LB_THROW(IoError, path, ": cannot open the point table");
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_point_csv(ss.str(), path);
}

std::vector<std::string> config_keys(const PointTable& t) {
  std::vector<std::string> keys(t.nrows);
  auto cell = [&](const std::string& c, size_t r) -> std::string {
    if (t.is_text(c)) return t.text.at(c)[r];
    return fmt_num(t.num.at(c)[r]);
  };
  if (t.has("config")) {
    for (size_t r = 0; r < t.nrows; ++r) keys[r] = cell("config", r);
    return keys;
  }
  for (size_t r = 0; r < t.nrows; ++r) {
    std::string k;
    auto add = [&k](const std::string& part) {
      if (!k.empty()) k.push_back('|');
      k.append(part);
    };
    for (const char* c : {"model", "method"})
      if (t.has(c)) add(cell(c, r));
    for (const char* c : {"N", "B", "G", "C"})
      if (t.has(c)) add(cat(c, "=", cell(c, r)));
    keys[r] = k.empty() ? cat("row", r) : k;
  }
  return keys;
}

std::vector<std::pair<std::string, std::vector<size_t>>> split_by(const PointTable& t,
                                                                  const std::vector<std::string>& by) {
  for (const auto& c : by) LB_INPUT_CHECK(t.has(c), t.source, ": --group-by column '", c, "' is not in the table");
  std::vector<std::pair<std::string, std::vector<size_t>>> out;
  std::map<std::string, size_t> where;
  for (size_t r = 0; r < t.nrows; ++r) {
    std::string k;
    for (const auto& c : by) {
      std::string v = t.is_text(c) ? t.text.at(c)[r] : fmt_num(t.num.at(c)[r]);
      if (!k.empty()) k.push_back(',');
      k.append(cat(c, "=", v));
    }
    auto [it, fresh] = where.emplace(k, out.size());
    if (fresh) out.push_back({k, {}});
    out[it->second].second.push_back(r);
  }
  return out;
}

}  // namespace lowbit::fit
