// lowbit/compress/calib.hpp — calibration sets: n samples × L tokens drawn with a seed from a
// text corpus. The calibration-set size is a sweep axis of the scaling-law study, so n, L, the
// seed and the corpus are recorded exactly with the set.
// defines: lowbit::CalibSpec, CalibSet, make_calibration
//
// The corpus (plain text split at doc_sep, or .jsonl with a "text" field per line: io/corpus.hpp) is
// encoded document by document with BOS and concatenated into one token stream. The last
// `holdout_fraction` of the stream is never sampled: it is the held-out evaluation part. Sample i
// starts at a uniform random offset in the calibration part (std::mt19937_64(seed), as GPTQ's
// get_loaders draws random windows). Asking for more tokens than the calibration part holds is
// allowed (windows overlap, as GPTQ's loaders would) but warned about, with the numbers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lowbit/io/corpus.hpp"  // read_corpus_documents
#include "lowbit/io/tokenizer.hpp"

namespace lowbit {

struct CalibSpec {
  std::string path;
  int nsamples = 128;
  int seqlen = 2048;
  uint64_t seed = 0;
  std::string doc_sep = "<|endoftext|>";
  double holdout_fraction = 0.1;
};

struct CalibSet {
  CalibSpec spec;
  std::vector<std::vector<int>> samples;  // nsamples × seqlen
  std::vector<int> holdout;               // the held-out token stream
  long long corpus_tokens = 0;
  long long available_tokens = 0;  // the calibration part (corpus minus holdout) windows are drawn from
  long long tokens() const { return (long long)samples.size() * spec.seqlen; }
  // More tokens requested than the calibration part holds: the windows overlap and repeat tokens
  // (make_calibration says so in one warning line; reports and archives record available_tokens).
  bool oversampled() const { return tokens() > available_tokens; }
};

CalibSet make_calibration(const Tokenizer& tok, const CalibSpec& spec);

}  // namespace lowbit
