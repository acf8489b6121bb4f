// lowbit/eval/perplexity.hpp — perplexity over non-overlapping context windows.
// defines: lowbit::PplOptions, PplResult, tokenize_documents, perplexity,
//          log_softmax_at
//
// A text file is split into documents at `doc_sep` (io/corpus.hpp; default "<|endoftext|>", the
// TinyStories convention; a file without it is one document, as in GPTQ's WikiText-2 evaluation). Each
// document is trimmed, encoded with BOS and cut into windows of `ctx` input tokens; window k feeds
// tokens [k*ctx, k*ctx+T) and predicts tokens [k*ctx+1, k*ctx+T] (llm.c / nanoGPT style), so a
// document of n tokens contributes exactly n-1 predictions. NLL is summed in double.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "lowbit/io/corpus.hpp"  // split_documents
#include "lowbit/io/tokenizer.hpp"
#include "lowbit/model/model.hpp"

namespace lowbit {

struct PplOptions {
  int ctx = 0;                           // window length; 0 = the model's max_seq_len
  int batch = 8;                         // windows per forward call
  bool add_bos = true;
  std::string doc_sep = "<|endoftext|>";  // "" = the whole file is one document
  long long max_windows = 0;             // 0 = all
  // Data parallel evaluation: the batches (fixed by ctx and batch, not by the rank count) are dealt
  // round-robin; this process computes batches b with b % nshards == shard.
  int shard = 0, nshards = 1;
};

struct PplResult {
  double nll_sum = 0;
  long long tokens = 0;   // predicted tokens
  long long windows = 0;
  int documents = 0;
  int ctx = 0;
  double seconds = 0;
  // Negative log-likelihood of every window (in a fixed order), 0 for windows of other shards;
  // each window's sum runs over its positions in order. Summing shards' vectors entrywise is exact,
  // and nll_sum is the ordered sum of this vector, so sharded results are bit-identical.
  std::vector<double> window_nll;
  std::vector<long long> window_tokens;
  void finish_from_windows();  // nll_sum, tokens from window_nll / window_tokens
  double nll_per_token() const { return tokens ? nll_sum / double(tokens) : 0.0; }
  double ppl() const;
};

std::vector<std::vector<int>> tokenize_documents(const Tokenizer& tok, const std::string& text,
                                                 const PplOptions& o);
PplResult perplexity(const Model& m, const std::vector<std::vector<int>>& docs, const PplOptions& o);
// What perplexity() refuses of a window length `ctx` (0 = the model's context) for `cfg`, as the
// tail after the length ("must be at least 2 tokens ...", "exceeds the model's N learned
// positions"); "" when it fits. Each caller names the length its own way (perplexity: "window
// length (ctx) N"; a manifest run: evaluation.ppl.ctx at its line:col).
std::string context_problem(const DecoderConfig& cfg, int ctx);
// log p(target | row) for one row of logits (max-shifted log-sum-exp in double).
double log_softmax_at(const float* logits, int vocab, int target);

}  // namespace lowbit
