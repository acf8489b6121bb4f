// lowbit/eval/task_scoring.cpp — scoring items as lm-evaluation-harness does: log-likelihood of a
// continuation (_encode_pair, left truncation), greedy generation until stop strings, few-shot
// prompts, answer normalisation, and per-item metrics aggregated into a TaskResult.
// defines: lowbit::encode_pair, loglikelihood_pair, loglikelihood_choices, generate_until,
//          normalize_answer, extract_gsm8k_number, mean_stderr, score_task, TaskResult::primary
#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <regex>

#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/eval/perplexity.hpp"
#include "lowbit/eval/tasks.hpp"
#include "lowbit/model/forward.hpp"

namespace lowbit {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// The token that stands for "no context" when the tokenizer adds no BOS (lm-eval: prefix_token_id).
int prefix_token(const Tokenizer& tok) { return tok.bos_id() >= 0 ? tok.bos_id() : tok.eos_id(); }

// Score continuation tokens given rows of logits: row r predicts cont[j].
void score_row(const float* row, int V, int target, LoglikResult& r, bool first) {
  r.logprob += log_softmax_at(row, V, target);
  const float t = row[target];
  int above = 0;
  bool greedy = true;
  for (int i = 0; i < V; ++i) {
    if (row[i] > t) {
      ++above;
      greedy = false;
    } else if (row[i] == t && i < target) {
      greedy = false;  // argmax takes the first maximum
    }
  }
  if (!greedy) r.is_greedy = false;
  if (first) r.first_rank = above + 1;
  ++r.tokens;
}

int check_max_length(const Model& m, int max_length) {
  const int L = max_length > 0 ? max_length : m.cfg.max_seq_len;
  LB_INPUT_CHECK(L >= 2, "max length ", L, " must be at least 2");
  LB_INPUT_CHECK(L <= m.cfg.max_seq_len || !m.cfg.learned_pos, "max length ", L, " exceeds the model's ",
                 m.cfg.max_seq_len, " learned positions");
  return L;
}

}  // namespace

void encode_pair(const Tokenizer& tok, const std::string& context, const std::string& continuation,
                 std::vector<int>& context_enc, std::vector<int>& continuation_enc) {
  std::string ctx = context, cont = continuation;
  size_t n = ctx.size();
  while (n > 0 && is_space(ctx[n - 1])) --n;
  if (n < ctx.size()) {
    cont = ctx.substr(n) + cont;
    ctx.resize(n);
  }
  const bool bos = tok.bos_id() >= 0;
  if (ctx.empty()) {
    // lm-eval: context_enc = [prefix token], continuation encoded alone.
    const int p = prefix_token(tok);
    LB_INPUT_CHECK(p >= 0, "empty context and the tokenizer has neither BOS nor EOS to condition on");
    context_enc = {p};
    continuation_enc = tok.encode(cont, false);
  } else {
    const std::vector<int> whole = tok.encode(ctx + cont, bos);
    context_enc = tok.encode(ctx, bos);
    continuation_enc.assign(whole.begin() + std::ptrdiff_t(std::min(context_enc.size(), whole.size())), whole.end());
  }
  LB_INPUT_CHECK(!continuation_enc.empty(), "continuation '", continuation, "' encodes to no tokens after context '",
                 context.size() > 60 ? "..." + context.substr(context.size() - 60) : context, "'");
}

LoglikResult loglikelihood_pair(const Model& m, const std::vector<int>& ctx, const std::vector<int>& cont,
                                int max_length) {
  const int L = check_max_length(m, max_length);
  LB_INPUT_CHECK(!cont.empty() && int(cont.size()) <= L, "continuation of ", cont.size(),
                 " tokens does not fit the max length ", L);
  std::vector<int> all(ctx);
  all.insert(all.end(), cont.begin(), cont.end());
  if (int(all.size()) > L + 1) all.erase(all.begin(), all.end() - (L + 1));
  all.pop_back();
  const int n = int(all.size());
  LB_CHECK(n >= int(cont.size()), "truncated input shorter than the continuation");
  Tensor logits;
  forward_logits(m, all.data(), 1, n, logits);
  const int V = m.cfg.vocab_size;
  LoglikResult r;
  for (size_t j = 0; j < cont.size(); ++j)
    score_row(logits.row(n - int(cont.size()) + int(j)), V, cont[j], r, j == 0);
  return r;
}

std::vector<LoglikResult> loglikelihood_choices(const Model& m, const std::vector<int>& ctx,
                                                const std::vector<std::vector<int>>& conts, int max_length) {
  const int L = check_max_length(m, max_length);
  size_t longest = 0;
  for (const auto& c : conts) longest = std::max(longest, c.size());
  std::vector<LoglikResult> out;
  if (ctx.empty() || int(ctx.size() + longest) > L + 1) {
    for (const auto& c : conts) out.push_back(loglikelihood_pair(m, ctx, c, L));
    return out;
  }
  // No truncation: run the context once, then each continuation (minus its last token) from the
  // cached keys/values of the context.
  KVCache cache;
  cache.init(m.cfg, int(ctx.size() + longest));
  Tensor logits;
  forward_logits(m, ctx.data(), 1, int(ctx.size()), logits, nullptr, &cache);
  const int V = m.cfg.vocab_size;
  const std::vector<float> last(logits.row(logits.rows() - 1), logits.row(logits.rows() - 1) + V);
  for (const auto& c : conts) {
    LB_INPUT_CHECK(!c.empty(), "empty continuation");
    LoglikResult r;
    score_row(last.data(), V, c[0], r, true);
    if (c.size() > 1) {
      cache.len = int(ctx.size());
      forward_logits(m, c.data(), 1, int(c.size()) - 1, logits, nullptr, &cache);
      for (size_t j = 1; j < c.size(); ++j) score_row(logits.row(int64_t(j) - 1), V, c[j], r, false);
    }
    out.push_back(r);
  }
  return out;
}

std::string generate_until(const Model& m, const Tokenizer& tok, const std::vector<int>& ctx_in,
                           const std::vector<std::string>& until, int max_new, int max_length) {
  const int L = check_max_length(m, max_length);
  LB_INPUT_CHECK(max_new >= 1 && max_new < L, "max_gen_tokens ", max_new, " must be in [1, ", L, ")");
  std::vector<int> ctx(ctx_in);
  const size_t keep = size_t(L - max_new);
  if (ctx.size() > keep) ctx.erase(ctx.begin(), ctx.end() - std::ptrdiff_t(keep));
  LB_INPUT_CHECK(!ctx.empty(), "generation needs a non-empty context");
  KVCache cache;
  cache.init(m.cfg, int(ctx.size()) + max_new);
  Tensor logits;
  forward_logits(m, ctx.data(), 1, int(ctx.size()), logits, nullptr, &cache);
  const int V = m.cfg.vocab_size;
  std::string text;
  int prev = ctx.back();
  for (int step = 0; step < max_new; ++step) {
    const float* row = logits.row(logits.rows() - 1);
    const int next = int(std::max_element(row, row + V) - row);
    if (next == tok.eos_id() || next == tok.bos_id()) break;
    text += tok.decode_token(prev, next);
    prev = next;
    size_t cut = std::string::npos;
    for (const auto& u : until) cut = std::min(cut, text.find(u));
    if (cut != std::string::npos) {
      text.resize(cut);
      return text;
    }
    if (step + 1 < max_new) forward_logits(m, &next, 1, 1, logits, nullptr, &cache);
  }
  return text;
}

std::string normalize_answer(const std::string& s) {
  static const std::string punct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  std::string a;
  for (char c : s) {
    if (punct.find(c) != std::string::npos) continue;
    a += (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
  }
  // \b(a|an|the)\b -> " ": word characters are ASCII alphanumerics and any non-ASCII byte.
  auto word = [](unsigned char c) { return std::isalnum(c) || c >= 0x80; };
  std::string b;
  for (size_t i = 0; i < a.size();) {
    if (word(static_cast<unsigned char>(a[i]))) {
      size_t e = i;
      while (e < a.size() && word(static_cast<unsigned char>(a[e]))) ++e;
      const std::string w = a.substr(i, e - i);
      b += (w == "a" || w == "an" || w == "the") ? " " : w;
      i = e;
    } else {
      b += a[i++];
    }
  }
  std::string out;
  for (size_t i = 0; i < b.size();) {
    while (i < b.size() && is_space(b[i])) ++i;
    size_t e = i;
    while (e < b.size() && !is_space(b[e])) ++e;
    if (e > i) out += (out.empty() ? "" : " ") + b.substr(i, e - i);
    i = e;
  }
  return out;
}

std::string extract_gsm8k_number(const std::string& s) {
  static const std::regex strict(R"(#### (\-?[0-9\.\,]+))");
  static const std::regex flexible(R"((-?[$0-9.,]{2,})|(-?[0-9]+))");
  std::smatch mt;
  std::string num;
  if (std::regex_search(s, mt, strict)) {
    num = mt[1].str();
  } else {
    for (auto it = std::sregex_iterator(s.begin(), s.end(), flexible); it != std::sregex_iterator(); ++it)
      num = (*it)[0].str();
  }
  // lm-eval's regexes_to_ignore for gsm8k: ",", "\$", "\.$".
  std::string out;
  for (char c : num)
    if (c != ',' && c != '$') out += c;
  if (!out.empty() && out.back() == '.') out.pop_back();
  bool digit = false;
  for (char c : out) digit |= (c >= '0' && c <= '9');
  return digit ? out : "";
}

void mean_stderr(const std::vector<double>& v, double& mean, double& se) {
  const size_t n = v.size();
  mean = se = 0;
  if (n == 0) {
    mean = se = std::nan("");
    return;
  }
  double s = 0;
  for (double x : v) s += x;
  mean = s / double(n);
  if (n < 2) {
    se = std::nan("");
    return;
  }
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  se = std::sqrt(ss / double(n - 1)) / std::sqrt(double(n));
}

const MetricValue& TaskResult::primary() const {
  auto it = metrics.find(primary_metric);
  LB_CHECK(it != metrics.end(), "task ", name, " lacks its primary metric ", primary_metric);
  return it->second;
}

namespace {

// splitmix64: a seed per (task, item) so few-shot draws do not depend on --limit or order.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
uint64_t hash_str(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

std::vector<size_t> select_items(const Task& t, long long limit) {
  std::vector<size_t> idx;
  if (limit <= 0) {
    for (size_t i = 0; i < t.items.size(); ++i) idx.push_back(i);
    return idx;
  }
  if (!t.spec.limit_per_subset) {
    for (size_t i = 0; i < t.items.size() && (long long)idx.size() < limit; ++i) idx.push_back(i);
    return idx;
  }
  std::map<std::string, long long> taken;
  for (size_t i = 0; i < t.items.size(); ++i)
    if (taken[t.items[i].subset]++ < limit) idx.push_back(i);
  return idx;
}

}  // namespace

TaskResult score_task(const Model& m, const Tokenizer& tok, const Task& task, const TaskOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  const TaskSpec& s = task.spec;
  TaskResult r;
  r.name = s.name;
  r.stratum = s.stratum;
  r.format = s.format;
  r.dataset = s.dataset;
  r.n_available = (long long)task.items.size();
  r.fewshot = o.fewshot >= 0 ? o.fewshot : s.num_fewshot;
  const int L = check_max_length(m, o.max_length);

  const ItemType type = task.items.front().type;
  for (const auto& it : task.items)
    LB_INPUT_CHECK(it.type == type, s.dataset, ": item '", it.id, "' is ", item_type_name(it.type), " but the first is ",
                   item_type_name(type), "; one task holds one item type (split the file)");
  r.type = item_type_name(type);
  r.primary_metric = !s.metric.empty() ? s.metric : type == ItemType::Gen ? "em" : "acc";
  {
    const bool ok = type == ItemType::MC      ? (r.primary_metric == "acc" || r.primary_metric == "acc_norm")
                    : type == ItemType::Cloze ? (r.primary_metric == "acc" || r.primary_metric == "logprob" ||
                                                 r.primary_metric == "mrr")
                                              : r.primary_metric == "em";
    LB_INPUT_CHECK(ok, s.yaml_path, ": metric '", r.primary_metric, "' does not apply to ", r.type, " items");
  }

  // Few-shot pool, by subset when items have one (MMLU subject, LAMA relation).
  const std::vector<TaskItem>& pool = task.fewshot_pool.empty() ? task.items : task.fewshot_pool;
  const bool same_pool = task.fewshot_pool.empty();
  std::map<std::string, std::vector<size_t>> by_subset;
  for (size_t i = 0; i < pool.size(); ++i) by_subset[pool[i].subset].push_back(i);
  if (r.fewshot > 0)
    LB_INPUT_CHECK(pool.size() > size_t(r.fewshot) - (same_pool ? 0 : 1), s.name, ": ", r.fewshot,
                   "-shot needs more examples than the ", pool.size(), " in the few-shot pool");

  const std::vector<size_t> sel = select_items(task, o.limit);
  std::map<std::string, std::vector<double>> per_metric;
  double chance_sum = 0;
  Progress prog(cat("eval ", s.name), (long long)sel.size(), "items");
  for (size_t idx : sel) {
    const TaskItem& it = task.items[idx];
    // The prompt: description, k examples + fewshot_delimiter each, then the item's context.
    std::string prompt = it.description;
    if (r.fewshot > 0) {
      const auto sub = by_subset.find(it.subset);
      const std::vector<size_t>* cand = &sub->second;
      std::vector<size_t> all;
      if (sub == by_subset.end() || sub->second.size() < size_t(r.fewshot) + (same_pool ? 1 : 0)) {
        for (size_t i = 0; i < pool.size(); ++i) all.push_back(i);
        cand = &all;
      }
      std::vector<size_t> c;
      for (size_t i : *cand)
        if (!(same_pool && i == idx)) c.push_back(i);
      std::mt19937_64 rng(mix(o.seed ^ mix(hash_str(s.name)) ^ mix(idx + 1)));
      for (int k = 0; k < r.fewshot; ++k) {
        std::uniform_int_distribution<size_t> d(size_t(k), c.size() - 1);
        std::swap(c[size_t(k)], c[d(rng)]);
        prompt += pool[c[size_t(k)]].context + pool[c[size_t(k)]].target + s.fewshot_delimiter;
      }
    }
    prompt += it.context;

    ItemResult ir;
    ir.id = it.id;
    if (type == ItemType::MC || type == ItemType::Cloze) {
      std::vector<int> ctx_enc, first_ctx;
      std::vector<std::vector<int>> conts;
      for (size_t k = 0; k < it.choices.size(); ++k) {
        std::vector<int> c_enc, k_enc;
        encode_pair(tok, prompt, it.choices[k], c_enc, k_enc);
        if (k == 0) first_ctx = c_enc;
        // The context encoding is the same for every choice unless trailing whitespace moved into
        // the continuations differs; then score them separately.
        if (c_enc != first_ctx) first_ctx.clear();
        conts.push_back(std::move(k_enc));
        ctx_enc = std::move(c_enc);
      }
      std::vector<LoglikResult> ll;
      if (!first_ctx.empty()) {
        ll = loglikelihood_choices(m, first_ctx, conts, L);
      } else {
        for (size_t k = 0; k < it.choices.size(); ++k) {
          std::vector<int> c_enc, k_enc;
          encode_pair(tok, prompt, it.choices[k], c_enc, k_enc);
          ll.push_back(loglikelihood_pair(m, c_enc, k_enc, L));
        }
      }
      for (const auto& x : ll) ir.logprobs.push_back(x.logprob);
      if (type == ItemType::MC) {
        size_t best = 0, best_n = 0;
        for (size_t k = 1; k < ll.size(); ++k) {
          if (ll[k].logprob > ll[best].logprob) best = k;
          if (ll[k].logprob / it.choice_len[k] > ll[best_n].logprob / it.choice_len[best_n]) best_n = k;
        }
        ir.pred = int(best);
        ir.metrics["acc"] = best == size_t(it.answer) ? 1.0 : 0.0;
        ir.metrics["acc_norm"] = best_n == size_t(it.answer) ? 1.0 : 0.0;
        chance_sum += 1.0 / double(it.choices.size());
      } else {
        ir.metrics["acc"] = ll[0].is_greedy ? 1.0 : 0.0;
        ir.metrics["logprob"] = ll[0].logprob;
        ir.metrics["mrr"] = 1.0 / double(ll[0].first_rank);
        const double V = double(m.cfg.vocab_size);
        // Uniform guessing: acc 0 (for objects of more than a token, ~V^-n), logprob -n ln V, and
        // E[1/rank] = H_V / V.
        if (r.primary_metric == "logprob") chance_sum += -double(ll[0].tokens) * std::log(V);
        if (r.primary_metric == "mrr") chance_sum += (std::log(V) + 0.5772156649) / V;
      }
    } else {
      std::vector<int> ctx_enc = tok.encode(prompt, tok.bos_id() >= 0);
      if (prompt.empty() || ctx_enc.empty()) ctx_enc = {prefix_token(tok)};
      ir.generated = generate_until(m, tok, ctx_enc, s.until, s.max_gen_tokens, L);
      double em = 0;
      if (s.extract == "gsm8k") {
        const std::string pred = extract_gsm8k_number(ir.generated);
        for (const auto& a : it.answers) em = std::max(em, !pred.empty() && pred == extract_gsm8k_number(a) ? 1.0 : 0.0);
      } else {
        const std::string pred = normalize_answer(ir.generated);
        for (const auto& a : it.answers) em = std::max(em, pred == normalize_answer(a) ? 1.0 : 0.0);
      }
      ir.metrics["em"] = em;
    }
    for (const auto& [k, v] : ir.metrics) per_metric[k].push_back(v);
    r.items.push_back(std::move(ir));
    prog.step(1);
  }
  prog.finish();
  r.n_items = (long long)sel.size();
  r.chance = r.n_items ? chance_sum / double(r.n_items) : 0;
  for (const auto& [k, v] : per_metric) {
    MetricValue mv;
    mean_stderr(v, mv.value, mv.stderr_);
    mv.n = (long long)v.size();
    r.metrics[k] = mv;
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace lowbit
