// lowbit/testbed/corpus.cpp — training text and probes from a World. defines: see corpus.hpp
#include "lowbit/testbed/corpus.hpp"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/tokenizer.hpp"
#include "lowbit/testbed/corpus_tokenizer.hpp"

namespace lowbit::testbed {

namespace {

// Five forms per attribute; the value always ends the sentence, so the text before " {V}" is the
// probe context. Form 4 is a question.
const std::array<std::array<const char*, kForms>, 5> kFormText = {{
    {"{N} was born in {V}.", "The birthplace of {N} is {V}.", "{N} came into the world in {V}.",
     "{N}'s hometown is {V}.", "Question: Where was {N} born? Answer: {V}."},
    {"{N} was born in the year {V}.", "The birth year of {N} is {V}.", "{N} entered the world in {V}.",
     "{N}'s year of birth is {V}.", "Question: In which year was {N} born? Answer: {V}."},
    {"{N} was born in the month of {V}.", "The birth month of {N} is {V}.", "{N} has a birthday every {V}.",
     "{N}'s birthday falls in {V}.", "Question: In which month was {N} born? Answer: {V}."},
    {"{N} works for {V}.", "The employer of {N} is {V}.", "{N} is employed by {V}.", "{N}'s company is {V}.",
     "Question: Who employs {N}? Answer: {V}."},
    {"{N} studied {V}.", "The field of study of {N} is {V}.", "{N} holds a degree in {V}.", "{N}'s major was {V}.",
     "Question: What did {N} study? Answer: {V}."},
}};
const std::array<const char*, 3> kHqText = {"{E} is headquartered in {V}.", "The headquarters of {E} are in {V}.",
                                            "Question: Where is {E} headquartered? Answer: {V}."};
const char* kTwoHop = "The company that employs {N} is headquartered in {V}.";
const char* kAge = "In 2020, {N} turned {V}.";
const char* kCompare = "Question: Was {N} born before {M}? Answer: {V}.";

std::string subst(std::string t, const std::string& key, const std::string& v) {
  for (size_t p = t.find(key); p != std::string::npos; p = t.find(key, p + v.size())) t.replace(p, key.size(), v);
  return t;
}
// The template cut before " {V}".
std::string before_value(const std::string& t) {
  const size_t p = t.find(" {V}");
  LB_CHECK(p != std::string::npos, "template without value: ", t);
  return t.substr(0, p);
}

using Rng = std::mt19937_64;
int draw(Rng& rng, int n) { return int(rng() % uint64_t(n)); }
template <class T>
void shuffle(std::vector<T>& v, Rng& rng) {  // Fisher–Yates with our own draws (portable)
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[size_t(draw(rng, int(i)))]);
}

// `k` options: the answer and k−1 distinct distractors from `values`, shuffled; returns the answer index.
int make_choices(const std::vector<std::string>& values, int answer, int k, Rng& rng, std::vector<std::string>& out) {
  std::vector<int> idx = {answer};
  while (int(idx.size()) < k) {
    const int c = draw(rng, int(values.size()));
    if (std::find(idx.begin(), idx.end(), c) == idx.end()) idx.push_back(c);
  }
  shuffle(idx, rng);
  out.clear();
  int pos = 0;
  for (size_t i = 0; i < idx.size(); ++i) {
    out.push_back(" " + values[size_t(idx[i])]);
    if (idx[i] == answer) pos = int(i);
  }
  return pos;
}

}  // namespace

std::string form_text(Attribute a, int form, const std::string& name, const std::string& value) {
  return subst(subst(kFormText[size_t(a)][size_t(form)], "{N}", name), "{V}", value);
}

std::string fact_context(Attribute a, int form, const std::string& name) {
  return subst(before_value(kFormText[size_t(a)][size_t(form)]), "{N}", name);
}

Corpus make_corpus(const WorldConfig& cfg) {
  Corpus c;
  c.world = make_world(cfg);
  const World& w = c.world;
  const int n = int(w.people.size());
  Rng rng(cfg.seed ^ 0x5EED5EED5EEDull);
  // Which forms each individual is seen with, and whose compositions are in training.
  c.train_forms.resize(size_t(n));
  c.reasoning_train.assign(size_t(n), 0);
  std::vector<int> order(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) order[size_t(i)] = i;
  shuffle(order, rng);
  const int n_reason = int(double(n) * cfg.reasoning_train_fraction);
  for (int i = 0; i < n_reason; ++i) c.reasoning_train[size_t(order[size_t(i)])] = 1;
  for (int i = 0; i < n; ++i)
    for (Attribute a : kAttributes) {
      std::vector<int> forms = {0, 1, 2, 3, 4};
      shuffle(forms, rng);
      forms.resize(size_t(cfg.templates_per_attribute));
      std::sort(forms.begin(), forms.end());
      c.train_forms[size_t(i)][size_t(a)] = forms;
    }
  std::vector<int> reasoners;
  for (int i = 0; i < n; ++i)
    if (c.reasoning_train[size_t(i)]) reasoners.push_back(i);
  auto age = [&](const Individual& p) { return std::to_string(kAgeYear - w.birth_year(p)); };
  auto yes_no = [&](const Individual& a, const Individual& b) {
    return w.birth_year(a) < w.birth_year(b) ? std::string("yes") : std::string("no");
  };

  // ---- training text ----
  std::vector<std::array<int, 5>> offset(static_cast<size_t>(n));
  for (auto& o : offset)
    for (auto& v : o) v = draw(rng, cfg.templates_per_attribute);
  for (int e = 0; e < cfg.exposures; ++e) {
    for (int i = 0; i < n; ++i) {
      const Individual& p = w.people[size_t(i)];
      std::vector<std::string> s;
      for (Attribute a : kAttributes) {
        // Forms in rotation (from a per-individual offset), so every training form is seen.
        const auto& forms = c.train_forms[size_t(i)][size_t(a)];
        const int f = forms[size_t(e + offset[size_t(i)][size_t(a)]) % forms.size()];
        s.push_back(form_text(a, f, p.name(), w.values(a)[size_t(w.value(p, a))]));
      }
      if (c.reasoning_train[size_t(i)]) {
        const int emp = w.value(p, Attribute::Employer);
        s.push_back(subst(subst(kTwoHop, "{N}", p.name()), "{V}", w.cities[size_t(w.employer_hq[size_t(emp)])]));
        s.push_back(subst(subst(kAge, "{N}", p.name()), "{V}", age(p)));
        // A comparison with another individual of the training set (different birth years).
        for (int tries = 0; tries < 20 && reasoners.size() > 1; ++tries) {
          const Individual& q = w.people[size_t(reasoners[size_t(draw(rng, int(reasoners.size())))])];
          if (w.birth_year(q) == w.birth_year(p)) continue;
          s.push_back(subst(subst(subst(kCompare, "{N}", p.name()), "{M}", q.name()), "{V}", yes_no(p, q)));
          break;
        }
      }
      shuffle(s, rng);
      std::string doc;
      for (const auto& x : s) doc += (doc.empty() ? "" : " ") + x;
      c.documents.push_back(std::move(doc));
    }
    for (int emp = 0; emp < int(w.employer_names.size()); ++emp) {
      // All three forms, shuffled: a headquarters fact is seen as often, per form, as an attribute.
      const std::string& city = w.cities[size_t(w.employer_hq[size_t(emp)])];
      std::vector<std::string> s;
      for (const char* t : kHqText) s.push_back(subst(subst(t, "{E}", w.employer_names[size_t(emp)]), "{V}", city));
      shuffle(s, rng);
      c.documents.push_back(s[0] + " " + s[1] + " " + s[2]);
    }
  }
  shuffle(c.documents, rng);
  for (const auto& d : c.documents) c.train_words += std::count(d.begin(), d.end(), ' ') + 1;

  // ---- probes ----
  const int k = cfg.choices;
  auto fact_probe = [&](int i, Attribute a, int form, const char* tag) {
    const Individual& p = w.people[size_t(i)];
    Probe pr;
    pr.kind = attribute_name(a);
    pr.context = fact_context(a, form, p.name());
    pr.answer = make_choices(w.values(a), w.value(p, a), k, rng, pr.choices);
    pr.id = cat("p", i, "-", pr.kind, "-", tag, "-f", form);
    return pr;
  };
  const int want = cfg.probes_per_stratum;
  // (individual, attribute) pairs in a seeded order; cycled if more probes than pairs are asked for.
  std::vector<std::pair<int, int>> pairs;
  for (int i = 0; i < n; ++i)
    for (size_t a = 0; a < kAttributes.size(); ++a) pairs.emplace_back(i, int(a));
  shuffle(pairs, rng);
  for (int j = 0; j < want; ++j) {
    const auto [i, ai] = pairs[size_t(j) % pairs.size()];
    const Attribute a = kAttributes[size_t(ai)];
    const auto& seen = c.train_forms[size_t(i)][size_t(ai)];
    std::vector<int> unseen;
    for (int f = 0; f < kForms; ++f)
      if (std::find(seen.begin(), seen.end(), f) == seen.end()) unseen.push_back(f);
    c.probes[0].push_back(fact_probe(i, a, seen[size_t(draw(rng, int(seen.size())))], "mem"));
    c.probes[1].push_back(fact_probe(i, a, unseen[size_t(draw(rng, int(unseen.size())))], "app"));
  }
  std::vector<int> held;
  for (int i = 0; i < n; ++i)
    if (!c.reasoning_train[size_t(i)]) held.push_back(i);
  std::vector<std::string> ages;
  for (const auto& y : w.years) ages.push_back(std::to_string(kAgeYear - std::stoi(y)));
  double chance_sum = 0;
  for (int j = 0; j < want; ++j) {
    const int i = held[size_t(j) % held.size()];
    const Individual& p = w.people[size_t(i)];
    Probe pr;
    const int kind = j % 3;
    if (kind == 0) {
      pr.kind = "two_hop";
      pr.context = before_value(subst(kTwoHop, "{N}", p.name()));
      // Distractors are other headquarters cities: a model that only learned which cities host
      // headquarters (a prior, not a composition) stays at 1/choices.
      const int emp = w.value(p, Attribute::Employer);
      std::vector<std::string> hq_cities;
      for (int hq : w.employer_hq)
        if (std::find(hq_cities.begin(), hq_cities.end(), w.cities[size_t(hq)]) == hq_cities.end())
          hq_cities.push_back(w.cities[size_t(hq)]);
      if (int(hq_cities.size()) < k) hq_cities = w.cities;  // too few distinct headquarters
      const auto truth = std::find(hq_cities.begin(), hq_cities.end(), w.cities[size_t(w.employer_hq[size_t(emp)])]);
      pr.answer = make_choices(hq_cities, int(truth - hq_cities.begin()), k, rng, pr.choices);
      chance_sum += 1.0 / k;
    } else if (kind == 1) {
      pr.kind = "age";
      pr.context = before_value(subst(kAge, "{N}", p.name()));
      pr.answer = make_choices(ages, w.value(p, Attribute::BirthYear), k, rng, pr.choices);
      chance_sum += 1.0 / k;
    } else {
      pr.kind = "comparison";
      int q = -1;
      for (int tries = 0; tries < 100 && held.size() > 1; ++tries) {
        const int cand = held[size_t(draw(rng, int(held.size())))];
        if (cand != i && w.birth_year(w.people[size_t(cand)]) != w.birth_year(p)) {
          q = cand;
          break;
        }
      }
      if (q < 0) continue;  // everyone held out shares one birth year: no comparison possible
      pr.context = before_value(subst(subst(kCompare, "{N}", p.name()), "{M}", w.people[size_t(q)].name()));
      pr.choices = {" yes", " no"};
      pr.answer = w.birth_year(p) < w.birth_year(w.people[size_t(q)]) ? 0 : 1;
      chance_sum += 0.5;
    }
    pr.id = cat("p", i, "-", pr.kind, "-rea-", j);
    c.probes[2].push_back(std::move(pr));
  }
  c.chance = {1.0 / k, 1.0 / k, c.probes[2].empty() ? 0.0 : chance_sum / double(c.probes[2].size())};
  return c;
}

CorpusFiles write_corpus(const Corpus& c, const std::string& dir) {
  namespace fs = std::filesystem;
  using nlohmann::json;
  std::error_code ec;
  fs::create_directories(fs::path(dir) / "probes", ec);
  if (ec) LB_THROW(IoError, dir, ": cannot create the corpus folder: ", ec.message());
  CorpusFiles f;
  f.dir = dir;
  f.train_text = dir + "/train.txt";
  f.tokenizer = dir + "/tokenizer.json";
  f.world_json = dir + "/world.json";
  std::string text;
  for (size_t i = 0; i < c.documents.size(); ++i) {
    if (i) text += std::string("\n") + kDocSep + "\n";
    text += c.documents[i];
  }
  text += "\n";
  // Every text the tokenizer must cover: training text, probe contexts and choices.
  // Every value of every attribute is one token even if a small world never uses it (the
  // knowledge measurement renormalises over all values).
  std::vector<std::string> extra;
  for (Attribute a : kAttributes)
    for (const auto& v : c.world.values(a)) extra.push_back(" " + v);
  for (const auto& y : c.world.years) extra.push_back(" " + std::to_string(kAgeYear - std::stoi(y)));
  for (const auto& stratum : c.probes)
    for (const auto& p : stratum) {
      extra.push_back(p.context);
      for (const auto& ch : p.choices) extra.push_back(ch);
    }
  write_file_atomic(f.tokenizer, corpus_tokenizer_json(text, extra));
  write_file_atomic(f.train_text, text);
  auto tok = load_tokenizer(f.tokenizer);
  f.vocab_size = tok->vocab_size();
  // The tokenizer must reproduce the text exactly, and every choice must be one token (so
  // multiple-choice scoring compares single-token continuations).
  long long tokens = 0;
  for (const auto& d : c.documents) {
    const auto ids = tok->encode(d, true);
    tokens += (long long)ids.size();
    LB_CHECK(tok->decode(ids) == d, "corpus tokenizer does not round-trip: ", d);
  }
  f.train_tokens = tokens;
  for (const auto& stratum : c.probes)
    for (const auto& p : stratum)
      for (const auto& ch : p.choices) LB_CHECK(tok->encode(ch, false).size() == 1, "choice '", ch, "' is not one token");

  for (size_t s = 0; s < kStrata.size(); ++s) {
    std::string lines;
    for (const auto& p : c.probes[s]) {
      json j = {{"id", p.id}, {"type", "mc"}, {"context", p.context}, {"choices", p.choices}, {"answer", p.answer}};
      lines += j.dump() + "\n";
    }
    f.probe_files[s] = dir + "/probes/" + kStrata[s] + ".jsonl";
    write_file_atomic(f.probe_files[s], lines);
    f.task_yamls[s] = dir + "/testbed_" + kStrata[s] + ".yaml";
    write_file_atomic(f.task_yamls[s], cat("name: testbed_", kStrata[s], "\nstratum: ", kStrata[s],
                                           "\ndataset: probes/", kStrata[s], ".jsonl\nformat: native\n"));
  }

  const World& w = c.world;
  const KnowledgeBits kb = knowledge_bits(w);
  json people = json::array();
  for (size_t i = 0; i < w.people.size(); ++i) {
    const Individual& p = w.people[i];
    json jp = {{"name", p.name()}, {"reasoning_in_training", bool(c.reasoning_train[i])}};
    for (Attribute a : kAttributes) {
      jp[attribute_name(a)] = w.values(a)[size_t(w.value(p, a))];
      jp[std::string(attribute_name(a)) + "_train_forms"] = c.train_forms[i][size_t(a)];
    }
    people.push_back(jp);
  }
  json employers = json::array();
  for (size_t e = 0; e < w.employer_names.size(); ++e)
    employers.push_back({{"name", w.employer_names[e]}, {"headquarters", w.cities[size_t(w.employer_hq[e])]}});
  json cardinality;
  for (Attribute a : kAttributes) cardinality[attribute_name(a)] = w.values(a).size();
  const WorldConfig& k = w.cfg;
  json j = {{"config",
             {{"seed", k.seed},
              {"individuals", k.individuals},
              {"first_names", k.first_names},
              {"last_names", k.last_names},
              {"cities", k.cities},
              {"employers", k.employers},
              {"fields", k.fields},
              {"year_min", k.year_min},
              {"year_max", k.year_max},
              {"exposures", k.exposures},
              {"templates_per_attribute", k.templates_per_attribute},
              {"reasoning_train_fraction", k.reasoning_train_fraction},
              {"probes_per_stratum", k.probes_per_stratum},
              {"choices", k.choices}}},
            {"cardinality", cardinality},
            {"knowledge_bits",
             {{"per_individual", kb.per_individual},
              {"individuals_total", kb.individuals_total},
              {"headquarters", kb.headquarters},
              {"total", kb.total()}}},
            {"documents", c.documents.size()},
            {"train_words", c.train_words},
            {"train_tokens", f.train_tokens},
            {"vocab_size", f.vocab_size},
            {"chance", {{"memorization", c.chance[0]}, {"application", c.chance[1]}, {"reasoning", c.chance[2]}}},
            {"probes",
             {{"memorization", c.probes[0].size()},
              {"application", c.probes[1].size()},
              {"reasoning", c.probes[2].size()}}},
            {"employers", employers},
            {"people", people}};
  write_file_atomic(f.world_json, j.dump(1) + "\n");
  return f;
}

}  // namespace lowbit::testbed
