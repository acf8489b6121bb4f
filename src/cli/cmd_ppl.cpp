// src/cli/cmd_ppl.cpp — `lowbit ppl`: perplexity on a text file. defines: cli::cmd_ppl
#include "cli/cli.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/eval/perplexity.hpp"
#include "lowbit/io/load.hpp"

namespace lowbit::cli {

int cmd_ppl(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string model, tok, data;
  PplOptions o;
  bool no_bos = false;
  desc.add_options()("model,m", po::value(&model)->default_value(default_model_path()),
                     "llama2.c .bin, GGUF file, or Hugging Face folder (config.json + safetensors)")(
      "tokenizer,t", po::value(&tok), "tokenizer file (default: found beside the model)")(
      "data,d", po::value(&data)->required(), "text file to evaluate")(
      "ctx", po::value(&o.ctx)->default_value(0), "window length in tokens (0 = the model's context)")(
      "batch", po::value(&o.batch)->default_value(8), "windows per forward call")(
      "doc-sep", po::value(&o.doc_sep)->default_value("<|endoftext|>"),
      "document separator in the text; \"\" = the whole file is one document")(
      "no-bos", po::bool_switch(&no_bos), "do not put BOS at the start of each document")(
      "max-windows", po::value(&o.max_windows)->default_value(0), "evaluate at most this many windows (0 = all)");
  po::variables_map vm;
  CommonFlags common;
  if (!parse_or_help("ppl", "--data FILE [--model PATH] [--tokenizer PATH] [options]",
                     "Perplexity with non-overlapping windows of the model's context. Each document gets BOS and\n"
                     "is cut into windows; a window of n tokens predicts its last n-1. Reports nats/token and PPL.\n"
                     "Example: lowbit ppl --data ../shared/data/tinystories_sample/tinystories_sample.txt --json",
                     desc, args, vm, common))
    return 0;
  o.add_bos = !no_bos;
  if (tok.empty()) tok = find_tokenizer_for(model);
  LB_INPUT_CHECK(file_exists(data), data, ": data file not found");
  auto m = load_model(model);
  auto t = load_tokenizer(tok);
  check_tokenizer_fits(*t, tok, *m);
  std::string text = read_file(data);
  auto docs = tokenize_documents(*t, text, o);
  log_info("ppl: ", model, " on ", data, " (", docs.size(), " documents)");
  PplResult r = perplexity(*m, docs, o);
  if (common.json) {
    emit_json({{"model", model}, {"data", data}, {"nll_per_token", r.nll_per_token()}, {"ppl", r.ppl()},
               {"tokens", r.tokens}, {"windows", r.windows}, {"documents", r.documents}, {"ctx", r.ctx},
               {"seconds", r.seconds}});
  } else {
    std::printf("nll/token %.6f  ppl %.4f  tokens %lld  windows %lld  (%.2f s)\n", r.nll_per_token(), r.ppl(),
                r.tokens, r.windows, r.seconds);
  }
  return 0;
}

}  // namespace lowbit::cli
