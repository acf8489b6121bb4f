// lowbit/compress/calib.cpp — seeded calibration sampling. defines: see calib.hpp
#include "lowbit/compress/calib.hpp"

#include <cstdio>
#include <random>

#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"

namespace lowbit {

CalibSet make_calibration(const Tokenizer& tok, const CalibSpec& spec) {
  LB_INPUT_CHECK(spec.nsamples >= 1, "calibration: nsamples must be at least 1, got ", spec.nsamples);
  LB_INPUT_CHECK(spec.seqlen >= 2, "calibration: seqlen must be at least 2, got ", spec.seqlen);
  LB_INPUT_CHECK(spec.holdout_fraction >= 0 && spec.holdout_fraction < 1, "calibration: holdout fraction ",
                 spec.holdout_fraction, " must be in [0, 1)");
  CalibSet c;
  c.spec = spec;
  std::vector<int> stream;
  for (const auto& d : read_corpus_documents(spec.path, spec.doc_sep)) {
    auto ids = tok.encode(d, true);
    stream.insert(stream.end(), ids.begin(), ids.end());
  }
  c.corpus_tokens = (long long)stream.size();
  const size_t cut = size_t(double(stream.size()) * (1.0 - spec.holdout_fraction));
  LB_INPUT_CHECK(cut >= size_t(spec.seqlen), spec.path, ": the calibration part of the corpus has ", cut,
                 " tokens, fewer than seqlen ", spec.seqlen, " (corpus ", stream.size(), " tokens, holdout ",
                 spec.holdout_fraction, ")");
  c.holdout.assign(stream.begin() + long(cut), stream.end());
  std::mt19937_64 rng(spec.seed);
  std::uniform_int_distribution<size_t> start(0, cut - size_t(spec.seqlen));
  for (int i = 0; i < spec.nsamples; ++i) {
    size_t s = start(rng);
    c.samples.emplace_back(stream.begin() + long(s), stream.begin() + long(s + size_t(spec.seqlen)));
  }
  c.available_tokens = (long long)cut;
  if (c.oversampled()) {
    char times[32];
    std::snprintf(times, sizeof times, "%.1f", double(c.tokens()) / double(cut));
    log_warn("calibration: ", spec.nsamples, " x ", spec.seqlen, " = ", c.tokens(), " tokens requested from the ", cut,
             "-token calibration part of ", spec.path, " (corpus ", stream.size(), " tokens, holdout ",
             spec.holdout_fraction, "): the windows overlap, each token is drawn ",
             times, " times on average");
  }
  return c;
}

}  // namespace lowbit
