// bench/bench_prefill.cpp — lowbit's side of bench/bench_prefill.py: prefill throughput of a model on
// given token sequences, one sequence at a time (B = 1, as llama.cpp evaluates one prompt).
//
// usage: bench_prefill --model PATH --tokens FILE.json [--logits last|all]
//   FILE.json: a JSON list of token-id sequences. The first sequence is run once untimed (warm-up:
//   it materialises every block in f32, which is lowbit's steady state), then every sequence is timed.
//   --logits last (default): the prefill of a prompt — all blocks over the sequence, then the logits
//   of its last position only (what llama.cpp computes without logits_all); all: every position's
//   logits (what perplexity needs; for Gemma 3's 262,144-token vocabulary the classifier dominates).
// Prints one JSON object: model, sequences, tokens, seconds (timed part), tokens_per_s, load_seconds,
// warmup_seconds, maxrss_mib (getrusage ru_maxrss of this process: the mapped file pages touched, the
// f32 blocks and embedding, the activations), threads (omp_get_max_threads).
#include <omp.h>
#include <sys/resource.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/load.hpp"
#include "lowbit/model/forward.hpp"
#include "lowbit/model/model.hpp"

using namespace lowbit;

namespace {

void prefill(const Model& m, const std::vector<int>& toks, bool all_logits) {
  Tensor logits;
  const int T = int(toks.size());
  if (all_logits) {
    forward_logits(m, toks.data(), 1, T, logits);
    return;
  }
  Tensor x;
  embed_tokens(m, toks.data(), 1, T, 0, x);
  for (int l = 0; l < m.cfg.n_layers; ++l) block_forward(m.cfg, m.block(l), l, x, 1, T);
  Tensor last({1, x.dim(1)});
  std::copy(x.row(T - 1), x.row(T - 1) + x.dim(1), last.ptr());
  final_norm(m, last);
  lm_logits(m, last, logits);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, tokens, mode = "last";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--model") model = argv[i + 1];
    else if (a == "--tokens") tokens = argv[i + 1];
    else if (a == "--logits") mode = argv[i + 1];
    else {
      std::fprintf(stderr, "bench_prefill: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (model.empty() || tokens.empty() || (mode != "last" && mode != "all")) {
    std::fprintf(stderr, "usage: bench_prefill --model PATH --tokens FILE.json [--logits last|all]\n");
    return 2;
  }
  try {
    const auto seqs = nlohmann::json::parse(read_file(tokens)).get<std::vector<std::vector<int>>>();
    auto t0 = bench::Clock::now();
    auto m = load_model(model);
    const double load_s = bench::secs_since(t0);
    t0 = bench::Clock::now();
    prefill(*m, seqs.at(0), mode == "all");
    const double warm_s = bench::secs_since(t0);
    long long n = 0;
    t0 = bench::Clock::now();
    for (const auto& s : seqs) {
      prefill(*m, s, mode == "all");
      n += (long long)s.size();
    }
    const double secs = bench::secs_since(t0);
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    nlohmann::json j = {{"model", model},       {"logits", mode},           {"sequences", seqs.size()},
                        {"tokens", n},          {"seconds", secs},          {"tokens_per_s", double(n) / secs},
                        {"load_seconds", load_s}, {"warmup_seconds", warm_s}, {"maxrss_mib", double(ru.ru_maxrss) / 1024.0},
                        {"threads", omp_get_max_threads()}};
    std::printf("%s\n", j.dump().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_prefill: %s\n", e.what());
    return 2;
  }
  return 0;
}
