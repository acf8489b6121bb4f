// lowbit/testbed/capacity.cpp — bits of the world's facts a model holds. defines: see capacity.hpp
#include "lowbit/testbed/capacity.hpp"

#include <algorithm>
#include <cmath>

#include "lowbit/core/error.hpp"
#include "lowbit/model/forward.hpp"

namespace lowbit::testbed {

namespace {

// Single token id of " value" (write_corpus guarantees it).
std::vector<int> value_tokens(const Tokenizer& tok, const std::vector<std::string>& values) {
  std::vector<int> ids;
  for (const auto& v : values) {
    const auto e = tok.encode(" " + v, false);
    LB_INPUT_CHECK(e.size() == 1, "tokenizer: value ' ", v, "' is not one token (not this corpus's tokenizer?)");
    ids.push_back(e[0]);
  }
  return ids;
}

// log2 p(values[truth]) renormalised over `ids`, and whether it is the argmax, after `context`.
void score(const Model& m, const Tokenizer& tok, const std::string& context, const std::vector<int>& ids, int truth,
           double& log2p, bool& top) {
  const auto t = tok.encode(context, true);
  LB_INPUT_CHECK(int(t.size()) <= m.cfg.max_seq_len, "context longer than the model's window: ", context);
  Tensor logits;
  forward_logits(m, t.data(), 1, int(t.size()), logits);
  const float* z = logits.row(logits.rows() - 1);
  double mx = -INFINITY;
  for (int id : ids) mx = std::max(mx, double(z[id]));
  double s = 0;
  for (int id : ids) s += std::exp(double(z[id]) - mx);
  log2p = (double(z[ids[size_t(truth)]]) - mx - std::log(s)) / std::log(2.0);
  top = true;
  for (size_t i = 0; i < ids.size(); ++i)
    if (int(i) != truth && z[ids[i]] > z[ids[size_t(truth)]]) top = false;
}

}  // namespace

KnowledgeStored measure_knowledge(const Model& m, const Tokenizer& tok, const Corpus& c) {
  const World& w = c.world;
  KnowledgeStored out;
  m.materialize_all();
  for (Attribute a : kAttributes) {
    const auto& values = w.values(a);
    const auto ids = value_tokens(tok, values);
    AttributeKnowledge k;
    k.name = attribute_name(a);
    k.cardinality = int(values.size());
    const double card_bits = std::log2(double(values.size()));
    double saved = 0, correct = 0, n_scored = 0;
    for (size_t i = 0; i < w.people.size(); ++i) {
      const Individual& p = w.people[i];
      const auto& forms = c.train_forms[i][size_t(a)];
      double mean_l = 0;
      for (int f : forms) {
        double l = 0;
        bool top = false;
        score(m, tok, fact_context(a, f, p.name()), ids, w.value(p, a), l, top);
        mean_l += l / double(forms.size());
        correct += top;
        n_scored += 1;
      }
      saved += card_bits + mean_l;
      ++k.facts;
    }
    k.bits_total = card_bits * double(k.facts);
    k.bits_stored = std::max(0.0, saved);
    k.accuracy = n_scored > 0 ? correct / n_scored : 0;
    out.attributes.push_back(k);
  }
  {
    const auto ids = value_tokens(tok, w.cities);
    AttributeKnowledge k;
    k.name = "headquarters";
    k.cardinality = int(w.cities.size());
    const double card_bits = std::log2(double(w.cities.size()));
    double saved = 0, correct = 0;
    for (size_t e = 0; e < w.employer_names.size(); ++e) {
      double l = 0;
      bool top = false;
      score(m, tok, w.employer_names[e] + " is headquartered in", ids, w.employer_hq[e], l, top);
      saved += card_bits + l;
      correct += top;
      ++k.facts;
    }
    k.bits_total = card_bits * double(k.facts);
    k.bits_stored = std::max(0.0, saved);
    k.accuracy = k.facts ? correct / double(k.facts) : 0;
    out.attributes.push_back(k);
  }
  for (const auto& k : out.attributes) {
    out.bits_stored += k.bits_stored;
    out.bits_total += k.bits_total;
  }
  return out;
}

}  // namespace lowbit::testbed
