// lowbit/eval/task_loaders.cpp — one reader per dataset format (the files in ../shared/data, see
// its SOURCES.md, and lowbit's native JSON lines), then rendering through the task's templates.
// defines: lowbit::load_task
//
// A reader turns each record into fields (strings named as in the templates), options (mc), the
// gold index or the accepted answers, and a subset. render_items() then applies the templates of
// the TaskSpec, with the formats' defaults following lm-evaluation-harness's task YAMLs.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/eval/tasks.hpp"

namespace lowbit {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Record {
  std::string id, subset, where;  // where: "file:line" for messages
  ItemType type = ItemType::MC;
  std::map<std::string, std::string> fields;
  std::vector<std::string> options;  // mc option texts (before the choice template)
  int gold = -1;
  std::vector<std::string> answers;  // cloze: {object}; gen: accepted answers
};

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> read_lines(const std::string& path) {
  std::string text = read_file(path);
  std::vector<std::string> lines;
  size_t p = 0;
  while (p < text.size()) {
    size_t e = text.find('\n', p);
    if (e == std::string::npos) e = text.size();
    std::string l = text.substr(p, e - p);
    if (!l.empty() && l.back() == '\r') l.pop_back();
    lines.push_back(std::move(l));
    p = e + 1;
  }
  return lines;
}

// Each non-empty line of a JSON-lines file, parsed; `fn(obj, where)`.
template <class F>
void for_each_jsonl(const std::string& path, F fn) {
  const auto lines = read_lines(path);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (trim(lines[i]).empty()) continue;
    const std::string where = cat(path, ":", i + 1);
    json j;
    try {
      j = json::parse(lines[i]);
    } catch (const json::exception& e) {
      LB_FAIL_INPUT(where, ": not valid JSON (", e.what(), ")");
    }
    LB_INPUT_CHECK(j.is_object(), where, ": expected a JSON object per line");
    fn(j, where);
  }
}

std::string get_str(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  LB_INPUT_CHECK(it != j.end(), where, ": missing field '", key, "'");
  LB_INPUT_CHECK(it->is_string(), where, ": field '", key, "' must be a string");
  return it->get<std::string>();
}

int label_index(const std::string& label, const std::vector<std::string>& labels, const std::string& where) {
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] == label) return int(i);
  LB_FAIL_INPUT(where, ": answer '", label, "' is not one of the choice labels");
}

// ---- readers ---------------------------------------------------------------------------------

void read_native(const std::string& path, std::vector<Record>& out) {
  for_each_jsonl(path, [&](const json& j, const std::string& where) {
    Record r;
    r.where = where;
    r.id = j.contains("id") ? (j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump()) : cat(out.size());
    const std::string type = get_str(j, "type", where);
    r.fields["context"] = get_str(j, "context", where);
    if (j.contains("subset")) r.subset = get_str(j, "subset", where);
    if (type == "mc") {
      r.type = ItemType::MC;
      LB_INPUT_CHECK(j.contains("choices") && j["choices"].is_array() && j["choices"].size() >= 2, where,
                     ": field 'choices' must be a list of at least 2 strings");
      for (const auto& c : j["choices"]) {
        LB_INPUT_CHECK(c.is_string() && !c.get<std::string>().empty(), where, ": 'choices' must be non-empty strings");
        r.options.push_back(c.get<std::string>());
      }
      LB_INPUT_CHECK(j.contains("answer") && j["answer"].is_number_integer(), where,
                     ": field 'answer' must be the index of the correct choice");
      r.gold = j["answer"].get<int>();
      LB_INPUT_CHECK(r.gold >= 0 && r.gold < int(r.options.size()), where, ": answer ", r.gold,
                     " is out of range for ", r.options.size(), " choices");
    } else if (type == "cloze") {
      r.type = ItemType::Cloze;
      r.answers.push_back(get_str(j, "answer", where));
      LB_INPUT_CHECK(!r.answers[0].empty(), where, ": field 'answer' is empty");
    } else if (type == "gen") {
      r.type = ItemType::Gen;
      LB_INPUT_CHECK(j.contains("answers") && j["answers"].is_array() && !j["answers"].empty(), where,
                     ": field 'answers' must be a non-empty list of strings");
      for (const auto& a : j["answers"]) {
        LB_INPUT_CHECK(a.is_string(), where, ": 'answers' must be strings");
        r.answers.push_back(a.get<std::string>());
      }
      r.fields["answer"] = r.answers[0];
    } else {
      LB_FAIL_INPUT(where, ": type '", type, "' is not mc, cloze or gen");
    }
    out.push_back(std::move(r));
  });
}

// ARC and CommonsenseQA share the layout {question: {stem, choices: [{text, label}]}, answerKey}.
void read_arc_like(const std::string& path, std::vector<Record>& out) {
  for_each_jsonl(path, [&](const json& j, const std::string& where) {
    Record r;
    r.where = where;
    r.id = j.value("id", cat(out.size()));
    LB_INPUT_CHECK(j.contains("question") && j["question"].is_object(), where, ": missing object 'question'");
    const json& q = j["question"];
    r.fields["question"] = trim(get_str(q, "stem", where));
    LB_INPUT_CHECK(q.contains("choices") && q["choices"].is_array() && q["choices"].size() >= 2, where,
                   ": 'question.choices' must list at least 2 choices");
    std::vector<std::string> labels;
    for (const auto& c : q["choices"]) {
      r.options.push_back(trim(get_str(c, "text", where)));
      labels.push_back(get_str(c, "label", where));
    }
    r.gold = label_index(get_str(j, "answerKey", where), labels, where);
    out.push_back(std::move(r));
  });
}

void read_piqa(const std::string& path, std::vector<Record>& out) {
  std::string labels_path = path;
  const auto dot = labels_path.rfind(".jsonl");
  LB_INPUT_CHECK(dot != std::string::npos, path, ": a PIQA file must end in .jsonl (labels in -labels.lst beside it)");
  labels_path = labels_path.substr(0, dot) + "-labels.lst";
  LB_INPUT_CHECK(file_exists(labels_path), labels_path, ": PIQA labels file not found");
  std::vector<std::string> labels;
  for (auto& l : read_lines(labels_path))
    if (!trim(l).empty()) labels.push_back(trim(l));
  for_each_jsonl(path, [&](const json& j, const std::string& where) {
    Record r;
    r.where = where;
    r.id = cat(out.size());
    r.fields["goal"] = trim(get_str(j, "goal", where));
    r.options = {trim(get_str(j, "sol1", where)), trim(get_str(j, "sol2", where))};
    LB_INPUT_CHECK(out.size() < labels.size(), labels_path, ": fewer labels than items in ", path);
    const std::string& lab = labels[out.size()];
    LB_INPUT_CHECK(lab == "0" || lab == "1", labels_path, ":", out.size() + 1, ": label must be 0 or 1, got '", lab, "'");
    r.gold = lab == "1" ? 1 : 0;
    out.push_back(std::move(r));
  });
  LB_INPUT_CHECK(labels.size() == out.size(), labels_path, ": ", labels.size(), " labels for ", out.size(), " items");
}

bool bool_field(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  LB_INPUT_CHECK(it != j.end(), where, ": missing field '", key, "'");
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string()) {
    const std::string s = it->get<std::string>();
    if (s == "true" || s == "True") return true;
    if (s == "false" || s == "False") return false;
  }
  if (it->is_number_integer()) return it->get<int>() != 0;
  LB_FAIL_INPUT(where, ": field '", key, "' must be true or false");
}

void read_boolq(const std::string& path, std::vector<Record>& out) {
  for_each_jsonl(path, [&](const json& j, const std::string& where) {
    Record r;
    r.where = where;
    r.id = j.contains("idx") ? j["idx"].dump() : cat(out.size());
    r.fields["passage"] = trim(get_str(j, "passage", where));
    r.fields["question"] = trim(get_str(j, "question", where));
    r.options = {"no", "yes"};
    r.gold = bool_field(j, "label", where) ? 1 : 0;
    out.push_back(std::move(r));
  });
}

void read_copa(const std::string& path, std::vector<Record>& out) {
  for_each_jsonl(path, [&](const json& j, const std::string& where) {
    Record r;
    r.where = where;
    r.id = j.contains("idx") ? j["idx"].dump() : cat(out.size());
    // lm-eval super_glue/copa: premise without its final period + " because"/" therefore", and the
    // choices with a lower-cased first letter.
    std::string premise = trim(get_str(j, "premise", where));
    if (!premise.empty()) premise.pop_back();
    const std::string q = get_str(j, "question", where);
    LB_INPUT_CHECK(q == "cause" || q == "effect", where, ": question must be 'cause' or 'effect', got '", q, "'");
    r.fields["premise"] = premise;
    r.fields["connector"] = q == "cause" ? "because" : "therefore";
    for (const char* k : {"choice1", "choice2"}) {
      std::string c = trim(get_str(j, k, where));
      if (!c.empty()) c[0] = char(std::tolower(static_cast<unsigned char>(c[0])));
      r.options.push_back(c);
    }
    LB_INPUT_CHECK(j.contains("label") && j["label"].is_number_integer(), where, ": field 'label' must be 0 or 1");
    r.gold = j["label"].get<int>();
    LB_INPUT_CHECK(r.gold == 0 || r.gold == 1, where, ": label must be 0 or 1");
    out.push_back(std::move(r));
  });
}

// OpenBookQA TSV: ID, Question Stem, Choices "(A) x (B) y (C) z (D) w", Complete Question, Answer Key.
void read_openbookqa(const std::string& path, std::vector<Record>& out) {
  const auto lines = read_lines(path);
  for (size_t i = 1; i < lines.size(); ++i) {
    if (trim(lines[i]).empty()) continue;
    const std::string where = cat(path, ":", i + 1);
    std::vector<std::string> cols;
    size_t p = 0;
    while (true) {
      size_t e = lines[i].find('\t', p);
      cols.push_back(lines[i].substr(p, e == std::string::npos ? std::string::npos : e - p));
      if (e == std::string::npos) break;
      p = e + 1;
    }
    LB_INPUT_CHECK(cols.size() == 5, where, ": expected 5 tab-separated columns, got ", cols.size());
    Record r;
    r.where = where;
    r.id = cols[0];
    r.fields["question"] = trim(cols[1]);
    const std::string& ch = cols[2];
    const char* marks[] = {"(A) ", "(B) ", "(C) ", "(D) "};
    std::vector<size_t> at;
    for (const char* m : marks) {
      size_t q = ch.find(m, at.empty() ? 0 : at.back());
      LB_INPUT_CHECK(q != std::string::npos, where, ": choice '", m, "' not found in '", ch, "'");
      at.push_back(q);
    }
    for (size_t k = 0; k < 4; ++k) {
      const size_t b = at[k] + 4, e = k + 1 < 4 ? at[k + 1] : ch.size();
      r.options.push_back(trim(ch.substr(b, e - b)));
    }
    r.gold = label_index(trim(cols[4]), {"A", "B", "C", "D"}, where);
    out.push_back(std::move(r));
  }
}

// RFC-4180 CSV (quotes, doubled quotes, newlines inside quotes).
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string cell;
  bool quoted = false, any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          cell += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        cell += c;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
      any = true;
    } else if (c == ',') {
      row.push_back(std::move(cell));
      cell.clear();
      any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (any || !cell.empty()) {
        row.push_back(std::move(cell));
        rows.push_back(std::move(row));
      }
      row.clear();
      cell.clear();
      any = false;
    } else {
      cell += c;
      any = true;
    }
  }
  if (any || !cell.empty()) {
    row.push_back(std::move(cell));
    rows.push_back(std::move(row));
  }
  return rows;
}

// MMLU: a folder of <subject>_<split>.csv (question, choice0..3, answer 0-3 with a header row) or
// one such file. The subject is the subset.
void read_mmlu(const std::string& path, std::vector<Record>& out) {
  std::vector<std::string> files;
  if (is_directory(path)) {
    for (const auto& e : fs::directory_iterator(path))
      if (e.path().extension() == ".csv") files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    LB_INPUT_CHECK(!files.empty(), path, ": no .csv files in the MMLU folder");
  } else {
    files.push_back(path);
  }
  for (const auto& f : files) {
    std::string subject = fs::path(f).stem().string();
    for (const char* suf : {"_test", "_dev", "_val"})
      if (subject.ends_with(suf)) subject = subject.substr(0, subject.size() - std::string(suf).size());
    std::string pretty = subject;
    std::replace(pretty.begin(), pretty.end(), '_', ' ');
    const auto rows = parse_csv(read_file(f));
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& row = rows[i];
      const std::string where = cat(f, ": row ", i + 1);
      LB_INPUT_CHECK(row.size() == 6, where, ": expected 6 columns (question, 4 choices, answer), got ", row.size());
      if (i == 0 && row[0] == "question") continue;  // header
      Record r;
      r.where = where;
      r.id = cat(subject, "/", i);
      r.subset = subject;
      r.fields["question"] = trim(row[0]);
      r.fields["subject"] = pretty;
      for (int k = 1; k <= 4; ++k) r.options.push_back(trim(row[size_t(k)]));
      const std::string a = trim(row[5]);
      if (a.size() == 1 && a[0] >= '0' && a[0] <= '3') r.gold = a[0] - '0';
      else if (a.size() == 1 && a[0] >= 'A' && a[0] <= 'D') r.gold = a[0] - 'A';
      else LB_FAIL_INPUT(where, ": answer must be 0-3 or A-D, got '", a, "'");
      out.push_back(std::move(r));
    }
  }
}

// LogiQA: items of 8 lines (blank, answer letter, context, question, "A." .. "D." options).
void read_logiqa(const std::string& path, std::vector<Record>& out) {
  const auto lines = read_lines(path);
  size_t i = 0;
  while (i < lines.size()) {
    if (trim(lines[i]).empty()) {
      ++i;
      continue;
    }
    const std::string where = cat(path, ":", i + 1);
    LB_INPUT_CHECK(i + 6 <= lines.size(), where, ": truncated item (need answer, context, question, 4 options)");
    Record r;
    r.where = where;
    r.id = cat(out.size());
    const std::string a = trim(lines[i]);
    LB_INPUT_CHECK(a.size() == 1 && a[0] >= 'a' && a[0] <= 'd', where, ": answer letter a-d expected, got '", a, "'");
    r.gold = a[0] - 'a';
    r.fields["context"] = trim(lines[i + 1]);
    r.fields["question"] = trim(lines[i + 2]);
    for (int k = 0; k < 4; ++k) {
      std::string o = trim(lines[i + 3 + size_t(k)]);
      LB_INPUT_CHECK(o.size() >= 2 && o[0] == char('A' + k) && o[1] == '.', path, ":", i + 4 + size_t(k),
                     ": option ", char('A' + k), ". expected");
      r.options.push_back(trim(o.substr(2)));
    }
    out.push_back(std::move(r));
    i += 7;
  }
}

void read_strategyqa(const std::string& path, std::vector<Record>& out) {
  json j;
  try {
    j = json::parse(read_file(path));
  } catch (const json::exception& e) {
    LB_FAIL_INPUT(path, ": not valid JSON (", e.what(), ")");
  }
  LB_INPUT_CHECK(j.is_array(), path, ": expected a JSON array of questions");
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string where = cat(path, ": item ", i);
    Record r;
    r.where = where;
    r.id = j[i].value("qid", cat(i));
    r.fields["question"] = trim(get_str(j[i], "question", where));
    r.options = {"no", "yes"};
    r.gold = bool_field(j[i], "answer", where) ? 1 : 0;
    out.push_back(std::move(r));
  }
}

// LAMA: facts {predicate_id, sub_label, obj_label} + relations.jsonl {relation, template}; the
// cloze context is the template up to [Y] with [X] filled in; relations whose template starts with
// [Y] (nothing to condition on) are skipped.
void read_lama(const TaskSpec& s, std::vector<Record>& out) {
  std::map<std::string, std::string> templates;
  for_each_jsonl(s.relations, [&](const json& j, const std::string& where) {
    templates[get_str(j, "relation", where)] = get_str(j, "template", where);
  });
  for (const auto& [k, v] : s.templates) templates[k] = v;
  std::map<std::string, long long> skipped;
  for_each_jsonl(s.dataset, [&](const json& j, const std::string& where) {
    const std::string rel = get_str(j, "predicate_id", where);
    auto it = templates.find(rel);
    LB_INPUT_CHECK(it != templates.end(), where, ": relation '", rel, "' has no template in ", s.relations,
                   " or the task's 'templates'");
    const std::string& t = it->second;
    const size_t y = t.find("[Y]"), x = t.find("[X]");
    LB_INPUT_CHECK(y != std::string::npos && x != std::string::npos, s.relations, ": template of ", rel,
                   " lacks [X] or [Y]: '", t, "'");
    std::string prefix = t.substr(0, y);
    if (x > y || trim(prefix).empty()) {
      ++skipped[rel];
      return;
    }
    prefix.replace(x, 3, get_str(j, "sub_label", where));
    Record r;
    r.where = where;
    r.type = ItemType::Cloze;
    r.id = j.value("uuid", cat(out.size()));
    r.subset = rel;
    r.fields["context"] = trim(prefix);
    r.answers.push_back(trim(get_str(j, "obj_label", where)));
    r.fields["answer"] = r.answers[0];
    out.push_back(std::move(r));
  });
  for (const auto& [rel, n] : skipped)
    log_info("tasks: ", s.name, ": skipped ", n, " facts of ", rel, " (template has [Y] before [X])");
}

void read_nq_open(const std::string& path, std::vector<Record>& out) {
  for_each_jsonl(path, [&](const json& j, const std::string& where) {
    Record r;
    r.where = where;
    r.type = ItemType::Gen;
    r.id = cat(out.size());
    r.fields["question"] = trim(get_str(j, "question", where));
    LB_INPUT_CHECK(j.contains("answer") && j["answer"].is_array() && !j["answer"].empty(), where,
                   ": field 'answer' must be a non-empty list");
    for (const auto& a : j["answer"]) {
      LB_INPUT_CHECK(a.is_string(), where, ": 'answer' entries must be strings");
      r.answers.push_back(a.get<std::string>());
    }
    r.fields["answer"] = r.answers[0];
    out.push_back(std::move(r));
  });
}

void read_gsm8k(const std::string& path, std::vector<Record>& out) {
  for_each_jsonl(path, [&](const json& j, const std::string& where) {
    Record r;
    r.where = where;
    r.type = ItemType::Gen;
    r.id = cat(out.size());
    r.fields["question"] = trim(get_str(j, "question", where));
    r.fields["answer"] = trim(get_str(j, "answer", where));
    const std::string gold = extract_gsm8k_number(r.fields["answer"]);
    LB_INPUT_CHECK(!gold.empty(), where, ": no final number in 'answer'");
    r.answers.push_back(gold);
    out.push_back(std::move(r));
  });
}

void read_records(const TaskSpec& s, const std::string& path, std::vector<Record>& out) {
  const std::string& f = s.format;
  if (f == "native") read_native(path, out);
  else if (f == "arc" || f == "commonsenseqa") read_arc_like(path, out);
  else if (f == "piqa") read_piqa(path, out);
  else if (f == "boolq") read_boolq(path, out);
  else if (f == "copa") read_copa(path, out);
  else if (f == "openbookqa") read_openbookqa(path, out);
  else if (f == "mmlu") read_mmlu(path, out);
  else if (f == "logiqa") read_logiqa(path, out);
  else if (f == "strategyqa") read_strategyqa(path, out);
  else if (f == "lama") {
    TaskSpec t = s;
    t.dataset = path;
    read_lama(t, out);
  } else if (f == "nq_open") read_nq_open(path, out);
  else if (f == "gsm8k") read_gsm8k(path, out);
  else LB_THROW(ConfigError, s.yaml_path, ": unknown format '", f, "'");
}

// ---- templates -------------------------------------------------------------------------------

struct Defaults {
  std::string context, choice, target;
};

Defaults format_defaults(const std::string& f) {
  if (f == "native") return {"{context}", "{choice}", " {answer}"};
  if (f == "arc") return {"Question: {question}\nAnswer:", "{choice}", "{answer}"};
  if (f == "piqa") return {"Question: {goal}\nAnswer:", "{choice}", "{answer}"};
  if (f == "boolq") return {"{passage}\nQuestion: {question}?\nAnswer:", "{choice}", "{answer}"};
  if (f == "copa") return {"{premise} {connector}", "{choice}", "{answer}"};
  if (f == "commonsenseqa")
    return {"Question: {question}\nA. {choice0}\nB. {choice1}\nC. {choice2}\nD. {choice3}\nE. {choice4}\nAnswer:",
            "{label}", "{answer}"};
  if (f == "openbookqa") return {"{question}", "{choice}", "{answer}"};
  if (f == "mmlu")
    return {"{question}\nA. {choice0}\nB. {choice1}\nC. {choice2}\nD. {choice3}\nAnswer:", "{label}", "{answer}"};
  if (f == "logiqa")
    return {"Passage: {context}\nQuestion: {question}\nChoices:\nA. {choice0}\nB. {choice1}\nC. {choice2}\nD. "
            "{choice3}\nAnswer:",
            "{choice}", "{answer}"};
  if (f == "strategyqa") return {"Question: {question}\nAnswer:", "{choice}", "{answer}"};
  if (f == "lama") return {"{context}", "{choice}", "{answer}"};
  if (f == "nq_open") return {"Q: {question}?\nA:", "{choice}", "{answer}"};
  if (f == "gsm8k") return {"Question: {question}\nAnswer:", "{choice}", "{answer}"};
  return {"{context}", "{choice}", "{answer}"};
}

// Replace {name} by fields[name]; a '{' not starting "{identifier}" is literal. An unknown name is
// a ConfigError naming the task file and the template key.
std::string render(const std::string& tpl, const std::map<std::string, std::string>& fields, const TaskSpec& s,
                   const char* key, const std::string& where) {
  std::string out;
  size_t i = 0;
  while (i < tpl.size()) {
    if (tpl[i] == '{') {
      size_t e = i + 1;
      while (e < tpl.size() && (std::isalnum(static_cast<unsigned char>(tpl[e])) || tpl[e] == '_')) ++e;
      if (e < tpl.size() && tpl[e] == '}' && e > i + 1) {
        const std::string name = tpl.substr(i + 1, e - i - 1);
        auto it = fields.find(name);
        if (it == fields.end()) {
          std::string known;
          for (const auto& [k, v] : fields) known += (known.empty() ? "" : ", ") + k;
          LB_THROW(ConfigError, s.yaml_path.empty() ? s.name : s.yaml_path, ": ", key, " uses {", name,
                   "}, which format ", s.format, " does not provide at ", where, " (fields: ", known, ")");
        }
        out += it->second;
        i = e + 1;
        continue;
      }
    }
    out += tpl[i++];
  }
  return out;
}

size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::vector<TaskItem> render_items(const TaskSpec& s, std::vector<Record>& recs) {
  const Defaults d = format_defaults(s.format);
  const std::string& ctx_t = s.context_template.empty() ? d.context : s.context_template;
  const std::string& choice_t = s.choice_template.empty() ? d.choice : s.choice_template;
  const std::string& target_t = s.target_template.empty() ? d.target : s.target_template;
  std::vector<TaskItem> items;
  items.reserve(recs.size());
  for (auto& r : recs) {
    for (size_t k = 0; k < r.options.size(); ++k) r.fields[cat("choice", k)] = r.options[k];
    for (size_t k = 0; k < r.answers.size() && r.type == ItemType::Gen; ++k) r.fields[cat("answer", k)] = r.answers[k];
    TaskItem it;
    it.id = r.id;
    it.type = r.type;
    it.subset = r.subset;
    it.context = render(ctx_t, r.fields, s, "template", r.where);
    if (!s.description.empty()) it.description = render(s.description, r.fields, s, "description", r.where);
    if (r.type == ItemType::MC) {
      for (size_t k = 0; k < r.options.size(); ++k) {
        auto f = r.fields;
        f["choice"] = r.options[k];
        f["label"] = std::string(1, char('A' + k));
        const std::string c = render(choice_t, f, s, "choice_template", r.where);
        it.choices.push_back(s.target_delimiter + c);
        it.choice_len.push_back(double(utf8_length(c)));
      }
      it.answer = r.gold;
      it.target = it.choices[size_t(r.gold)];
    } else if (r.type == ItemType::Cloze) {
      it.choices.push_back(s.target_delimiter + r.answers[0]);
      it.target = it.choices[0];
    } else {
      it.answers = r.answers;
      it.target = s.target_delimiter + render(target_t, r.fields, s, "target_template", r.where);
    }
    items.push_back(std::move(it));
  }
  return items;
}

}  // namespace

Task load_task(const TaskSpec& spec) {
  Task t;
  t.spec = spec;
  std::vector<Record> recs;
  read_records(spec, spec.dataset, recs);
  LB_INPUT_CHECK(!recs.empty(), spec.dataset, ": no items");
  if (spec.format == "native" && !spec.type.empty())
    for (const auto& r : recs)
      LB_INPUT_CHECK(item_type_name(r.type) == spec.type, r.where, ": item type ", item_type_name(r.type),
                     " but the task (", spec.yaml_path, ") says type ", spec.type);
  t.items = render_items(spec, recs);
  if (!spec.fewshot_dataset.empty()) {
    std::vector<Record> pool;
    read_records(spec, spec.fewshot_dataset, pool);
    t.fewshot_pool = render_items(spec, pool);
  }
  return t;
}

}  // namespace lowbit
