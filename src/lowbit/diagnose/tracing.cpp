// lowbit/diagnose/tracing.cpp — causal tracing of factual recall (Meng et al., "Locating and
// Editing Factual Associations in GPT", 2022): corrupt the subject tokens' embeddings with
// Gaussian noise, then restore the clean hidden state of one layer at one position and measure how
// much of the answer's probability comes back. Run on the FP and the compressed model alike.
// Facts: LAMA (T-REx / Google-RE with relation templates) or cloze JSONL.
// defines: lowbit::diag::load_facts, causal_trace
#include <cmath>
#include <fstream>
#include <map>
#include <random>

#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/diagnose/diagnose.hpp"

namespace lowbit::diag {

namespace {

std::string rstrip(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  return s;
}

bool starts_with(const std::vector<int>& a, const std::vector<int>& prefix) {
  return a.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), a.begin());
}

// Tokenize a fact; false when the subject or answer does not sit on a token boundary.
bool tokenize_fact(const Tokenizer& tok, Fact& f, size_t s, size_t e, bool has_subject) {
  f.tokens = tok.encode(f.context, true);
  if (f.tokens.size() < 2) return false;
  if (has_subject) {
    const auto pre = tok.encode(rstrip(f.context.substr(0, s)), true);
    const auto upto = tok.encode(f.context.substr(0, e), true);
    if (!starts_with(f.tokens, pre) || !starts_with(f.tokens, upto) || upto.size() <= pre.size()) return false;
    f.subj_begin = int(pre.size());
    f.subj_end = int(upto.size());
  } else {
    f.subj_begin = 1;
    f.subj_end = std::max(2, int(f.tokens.size()) - 1);
  }
  const auto full = tok.encode(f.context + " " + f.answer, true);
  if (!starts_with(full, f.tokens) || full.size() <= f.tokens.size()) return false;
  f.answer_token = full[f.tokens.size()];
  return true;
}

}  // namespace

std::vector<Fact> load_facts(const std::string& path, const std::string& relations, const Tokenizer& tok,
                             int max_facts, int* skipped) {
  std::map<std::string, std::string> templates;
  if (!relations.empty()) {
    std::ifstream rf(relations);
    LB_INPUT_CHECK(rf.good(), relations, ": relations file not found");
    std::string line;
    int ln = 0;
    while (std::getline(rf, line)) {
      ++ln;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      auto j = nlohmann::json::parse(line, nullptr, false);
      LB_INPUT_CHECK(!j.is_discarded() && j.contains("relation") && j.contains("template"), relations, ":", ln,
                     ": not a JSON object with \"relation\" and \"template\"");
      templates[j["relation"].get<std::string>()] = j["template"].get<std::string>();
    }
  }
  // Google-RE predicates use the LAMA templates of the matching T-REx relations.
  const std::map<std::string, std::string> google = {{"/people/person/place_of_birth", "P19"},
                                                     {"/people/deceased_person/place_of_death", "P20"}};
  std::ifstream in(path);
  LB_INPUT_CHECK(in.good(), path, ": facts file not found");
  std::vector<Fact> facts;
  int skip = 0, ln = 0;
  std::string line;
  while (std::getline(in, line) && (max_facts <= 0 || int(facts.size()) < max_facts)) {
    ++ln;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    LB_INPUT_CHECK(!j.is_discarded() && j.is_object(), path, ":", ln, ": not a JSON object");
    Fact f;
    size_t s = 0, e = 0;
    bool has_subject = true;
    if (j.contains("context")) {
      LB_INPUT_CHECK(j["context"].is_string() && j.contains("answer") && j["answer"].is_string(), path, ":", ln,
                     ": a cloze fact needs string \"context\" and \"answer\"");
      f.context = rstrip(j["context"].get<std::string>());
      f.answer = j["answer"].get<std::string>();
      if (j.contains("subject") && j["subject"].is_string()) {
        f.subject = j["subject"].get<std::string>();
        s = f.context.find(f.subject);
        if (f.subject.empty() || s == std::string::npos) { ++skip; continue; }
        e = s + f.subject.size();
      } else {
        has_subject = false;
      }
    } else if (j.contains("sub_label") && j.contains("obj_label") && j.contains("predicate_id")) {
      LB_INPUT_CHECK(!templates.empty(), path, ": LAMA facts need the relation templates (--relations)");
      std::string rel = j["predicate_id"].get<std::string>();
      if (google.count(rel)) rel = google.at(rel);
      if (!templates.count(rel)) { ++skip; continue; }
      std::string t = rstrip(templates.at(rel));
      if (t.size() >= 1 && t.back() == '.') t = rstrip(t.substr(0, t.size() - 1));
      const size_t y = t.find("[Y]"), x = t.find("[X]");
      if (y == std::string::npos || y + 3 != t.size() || x == std::string::npos) { ++skip; continue; }
      f.subject = j["sub_label"].get<std::string>();
      f.answer = j["obj_label"].get<std::string>();
      f.context = rstrip(t.substr(0, x) + f.subject + t.substr(x + 3, y - x - 3));
      s = x;
      e = x + f.subject.size();
    } else {
      LB_FAIL_INPUT(path, ":", ln, ": neither a cloze fact (context, answer) nor a LAMA fact (sub_label, obj_label, predicate_id)");
    }
    if (!tokenize_fact(tok, f, s, e, has_subject)) { ++skip; continue; }
    facts.push_back(std::move(f));
  }
  if (skipped) *skipped = skip;
  return facts;
}

namespace {

// p(answer) at the last position of each of the B sequences in x [B*T, D] after blocks [from, L).
std::vector<double> answer_probs(const Net& net, Tensor x, int B, int T, int from, int answer) {
  const int L = net.cfg().n_layers;
  run_blocks(net, x, B, T, from, L);
  const int64_t D = x.cols();
  Tensor last({B, D}), logits;
  for (int b = 0; b < B; ++b) std::copy(x.row(int64_t(b) * T + T - 1), x.row(int64_t(b) * T + T - 1) + D, last.row(b));
  apply_final_norm(net, last);
  lm_logits(*net.model, last, logits);
  std::vector<double> p(static_cast<size_t>(B));
  std::vector<double> lp;
  for (int b = 0; b < B; ++b) {
    log_softmax_row(logits.row(b), int(logits.cols()), lp);
    p[size_t(b)] = std::exp(lp[size_t(answer)]);
  }
  return p;
}

void trace_side(const Net& net, const std::vector<Fact>& facts, const TraceOptions& o, double sigma,
                TraceResult::Side& side) {
  const int L = net.cfg().n_layers;
  std::vector<double> sums[4], counts[4];
  for (int k = 0; k < 4; ++k) {
    sums[k].assign(size_t(L), 0);
    counts[k].assign(size_t(L), 0);
  }
  double pc = 0, pn = 0, top1 = 0;
  long long n_noise = 0;
  for (size_t fi = 0; fi < facts.size(); ++fi) {
    const Fact& f = facts[fi];
    const int T = int(f.tokens.size());
    Tensor x0;
    embed_tokens(*net.model, f.tokens.data(), 1, T, 0, x0);
    std::vector<Tensor> clean(static_cast<size_t>(L));
    Tensor x = x0;
    run_blocks(net, x, 1, T, 0, L, nullptr, [&](int l, Tensor& s) { clean[size_t(l)] = s; });
    {
      Tensor last({1, x.cols()}), logits;
      std::copy(x.row(T - 1), x.row(T - 1) + x.cols(), last.ptr());
      apply_final_norm(net, last);
      lm_logits(*net.model, last, logits);
      std::vector<double> lp;
      log_softmax_row(logits.ptr(), int(logits.cols()), lp);
      pc += std::exp(lp[size_t(f.answer_token)]);
      top1 += (std::max_element(lp.begin(), lp.end()) - lp.begin()) == f.answer_token ? 1 : 0;
    }
    for (int s = 0; s < o.noise_samples; ++s) {
      std::mt19937_64 rng(o.seed * 1000003ULL + fi * 1009ULL + uint64_t(s));
      std::normal_distribution<double> nd(0.0, sigma);
      Tensor xc = x0;
      for (int t = f.subj_begin; t < f.subj_end; ++t)
        for (int64_t i = 0; i < xc.cols(); ++i) xc.row(t)[i] += float(nd(rng));
      std::vector<Tensor> corrupt(static_cast<size_t>(L));
      Tensor y = xc;
      run_blocks(net, y, 1, T, 0, L, nullptr, [&](int l, Tensor& st) { corrupt[size_t(l)] = st; });
      const double p_corr = answer_probs(net, xc, 1, T, 0, f.answer_token)[0];
      pn += p_corr;
      ++n_noise;
      for (int l = 0; l < L; ++l) {
        // T copies of the corrupted state after block l; copy t gets the clean row t.
        const int64_t D = corrupt[size_t(l)].cols();
        Tensor batch({int64_t(T) * T, D});
        for (int t = 0; t < T; ++t) {
          std::copy(corrupt[size_t(l)].ptr(), corrupt[size_t(l)].ptr() + int64_t(T) * D, batch.row(int64_t(t) * T));
          std::copy(clean[size_t(l)].row(t), clean[size_t(l)].row(t) + D, batch.row(int64_t(t) * T + t));
        }
        const auto p = answer_probs(net, std::move(batch), T, T, l + 1, f.answer_token);
        for (int t = 0; t < T; ++t) {
          int cls;
          if (t == T - 1) cls = 3;
          else if (t == f.subj_end - 1) cls = 0;
          else if (t >= f.subj_begin && t < f.subj_end) cls = 1;
          else if (t >= f.subj_end) cls = 2;
          else continue;  // before the subject (BOS, template prefix): clean in both runs
          sums[cls][size_t(l)] += p[size_t(t)] - p_corr;
          counts[cls][size_t(l)] += 1;
        }
      }
    }
  }
  const double nf = double(std::max<size_t>(1, facts.size()));
  side.p_clean = pc / nf;
  side.top1 = top1 / nf;
  side.p_corrupt = n_noise ? pn / double(n_noise) : 0;
  std::vector<double>* outs[4] = {&side.ie_subject_last, &side.ie_subject_other, &side.ie_after_subject, &side.ie_last};
  for (int k = 0; k < 4; ++k) {
    outs[k]->assign(size_t(L), std::nan(""));
    for (int l = 0; l < L; ++l)
      if (counts[k][size_t(l)] > 0) (*outs[k])[size_t(l)] = sums[k][size_t(l)] / counts[k][size_t(l)];
  }
}

}  // namespace

TraceResult causal_trace(const Net& fp, const Net& q, const std::vector<Fact>& facts, const TraceOptions& o) {
  LB_INPUT_CHECK(o.noise_samples >= 1, "causal tracing needs at least one noise sample");
  for (const auto& f : facts)
    LB_INPUT_CHECK(int(f.tokens.size()) <= fp.cfg().max_seq_len, "fact '", f.context, "' has ", f.tokens.size(),
                   " tokens, more than the model's context ", fp.cfg().max_seq_len);
  TraceResult r;
  r.facts = int(facts.size());
  r.noise_samples = o.noise_samples;
  const Tensor& E = fp.model->tok_embed;
  double mean = 0, m2 = 0;
  for (float v : E.data) mean += v;
  mean /= double(E.numel());
  for (float v : E.data) m2 += (v - mean) * (v - mean);
  r.noise_std = o.noise_scale * std::sqrt(m2 / double(E.numel()));
  Progress prog("diagnose: causal tracing", 2, "models");
  trace_side(fp, facts, o, r.noise_std, r.fp);
  prog.step();
  trace_side(q, facts, o, r.noise_std, r.q);
  prog.finish();
  return r;
}

}  // namespace lowbit::diag
