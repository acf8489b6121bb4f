// lowbit/eval/perplexity.cpp — windowed perplexity. defines: see perplexity.hpp
#include "lowbit/eval/perplexity.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/model/forward.hpp"

namespace lowbit {

double PplResult::ppl() const { return std::exp(nll_per_token()); }

std::vector<std::vector<int>> tokenize_documents(const Tokenizer& tok, const std::string& text, const PplOptions& o) {
  std::vector<std::vector<int>> out;
  for (const auto& d : split_documents(text, o.doc_sep)) out.push_back(tok.encode(d, o.add_bos));
  return out;
}

double log_softmax_at(const float* lg, int V, int target) {
  float mx = lg[0];
  for (int i = 1; i < V; ++i) mx = std::max(mx, lg[i]);
  double s = 0;
  for (int i = 0; i < V; ++i) s += std::exp(double(lg[i]) - mx);
  return double(lg[target]) - mx - std::log(s);
}

void PplResult::finish_from_windows() {
  nll_sum = 0;
  tokens = 0;
  for (size_t i = 0; i < window_nll.size(); ++i) {
    nll_sum += window_nll[i];
    tokens += window_tokens[i];
  }
  windows = (long long)window_nll.size();
}

namespace {
// A non-finite loss is an error, never a "-nan" perplexity: the weights make the forward overflow.
void check_finite_nll(const Model& m, const double* wn, int B, long long wi, int T) {
  for (int b = 0; b < B; ++b)
    LB_INPUT_CHECK(std::isfinite(wn[b]), m.path, ": the forward gives a non-finite loss (", wn[b], ") on window ",
                   wi + b, " (", T, " tokens): the weights overflow f32");
}
}  // namespace

std::string context_problem(const DecoderConfig& cfg, int ctx) {
  const int n = ctx > 0 ? ctx : cfg.max_seq_len;
  // A window of n tokens predicts n-1: the context must hold 2.
  if (n < kMinContext) return cat("must be at least ", kMinContext, " tokens (a window of n tokens predicts n-1)");
  // Learned positions end at max_seq_len; RoPE can be evaluated further (extrapolation).
  if (n > cfg.max_seq_len && cfg.learned_pos) return cat("exceeds the model's ", cfg.max_seq_len, " learned positions");
  return "";
}

PplResult perplexity(const Model& m, const std::vector<std::vector<int>>& docs, const PplOptions& o) {
  PplResult r;
  r.ctx = o.ctx > 0 ? o.ctx : m.cfg.max_seq_len;
  if (const std::string p = context_problem(m.cfg, o.ctx); !p.empty())  // named where the length came from
    LB_FAIL_INPUT(o.ctx > 0 ? cat("window length (ctx) ", r.ctx) : cat(m.path, ": the model's context length ", r.ctx),
                  " ", p);
  if (r.ctx > m.cfg.max_seq_len) {
    log_warn("window length (ctx) ", r.ctx, " exceeds the context the model was trained with (", m.cfg.max_seq_len,
             "): positions past it are extrapolated");
  }
  LB_INPUT_CHECK(o.batch >= 1, "batch (windows per forward call) must be at least 1");
  r.documents = int(docs.size());
  // Windows grouped by input length, so each forward call has equal-length sequences. Window k of a
  // document feeds tokens [k*ctx, k*ctx+T) and predicts [k*ctx+1, k*ctx+T], so every token after
  // the first is predicted exactly once, with at most ctx tokens of input (positions 0..ctx-1).
  std::map<int, std::vector<const int*>, std::greater<>> by_len;
  long long n_windows = 0;
  for (const auto& d : docs) {
    const long long n = (long long)d.size();
    for (long long s = 0; s + 1 < n; s += r.ctx) {
      if (o.max_windows > 0 && n_windows >= o.max_windows) break;
      const int T = int(std::min<long long>(r.ctx, n - 1 - s));
      by_len[T].push_back(d.data() + s);
      ++n_windows;
    }
  }
  LB_INPUT_CHECK(n_windows > 0, "no window of at least 2 tokens: the evaluation text is empty");
  const auto t0 = std::chrono::steady_clock::now();
  LB_INPUT_CHECK(o.nshards >= 1 && o.shard >= 0 && o.shard < o.nshards, "perplexity shard ", o.shard, " of ",
                 o.nshards);
  Progress prog("perplexity", (n_windows + o.nshards - 1) / o.nshards, "windows");
  r.window_nll.assign(size_t(n_windows), 0.0);
  r.window_tokens.assign(size_t(n_windows), 0);
  std::vector<int> batch_tokens;
  Tensor logits;
  long long w0 = 0, batch_index = 0;
  for (auto& entry : by_len) {
    const int T = entry.first;  // a plain variable: OpenMP regions cannot capture bindings in clang
    const auto& starts = entry.second;
    for (size_t i = 0; i < starts.size(); i += size_t(o.batch), ++batch_index) {
      const int B = int(std::min(starts.size() - i, size_t(o.batch)));
      const long long wi = w0 + (long long)i;
      for (int b = 0; b < B; ++b) r.window_tokens[size_t(wi + b)] = T;
      if (batch_index % o.nshards != o.shard) continue;
      batch_tokens.assign(size_t(B) * T, 0);
      for (int b = 0; b < B; ++b) std::copy(starts[i + b], starts[i + b] + T, batch_tokens.begin() + b * T);
      forward_logits(m, batch_tokens.data(), B, T, logits);
      const int V = m.cfg.vocab_size;
      double* wn = r.window_nll.data() + wi;
      const auto& st = starts;
#pragma omp parallel for
      for (int b = 0; b < B; ++b) {
        double nll = 0;  // in position order: the same sum whatever the thread or shard
        for (int t = 0; t < T; ++t) nll -= log_softmax_at(logits.row(int64_t(b) * T + t), V, st[i + b][t + 1]);
        wn[b] = nll;
      }
      check_finite_nll(m, wn, B, wi, T);
      r.windows += B;
      prog.step(B, (long long)B * T);
    }
    w0 += (long long)starts.size();
  }
  // One shard: the totals. Several: only the vectors are meaningful until the caller has summed
  // them across shards (entrywise) and called finish_from_windows().
  if (o.nshards == 1) r.finish_from_windows();
  prog.finish();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace lowbit
