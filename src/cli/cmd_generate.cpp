// src/cli/cmd_generate.cpp — `lowbit generate`: greedy continuation. defines: cli::cmd_generate
#include <cstdio>

#include "cli/cli.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/eval/generate.hpp"
#include "lowbit/io/load.hpp"
#include "lowbit/io/tokenizer.hpp"
#include "lowbit/model/model.hpp"

namespace lowbit::cli {

int cmd_generate(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string model, tok, prompt;
  GenerateOptions o;
  bool no_bos = false;
  desc.add_options()("model,m", po::value(&model)->default_value(default_model_path()),
                     "llama2.c .bin, GGUF file, or Hugging Face folder")(
      "tokenizer,t", po::value(&tok), "tokenizer file (default: found beside the model)")(
      "prompt,p", po::value(&prompt)->default_value(""), "text to continue (empty: start from BOS)")(
      "steps,n", po::value(&o.max_new_tokens)->default_value(256), "maximum number of new tokens")(
      "no-bos", po::bool_switch(&no_bos), "do not prepend BOS to the prompt")(
      "ignore-eos", po::bool_switch(), "keep going past EOS/BOS");
  po::variables_map vm;
  CommonFlags common;
  if (!parse_or_help("generate", "[--prompt TEXT] [--steps N] [--model PATH] [options]",
                     "Greedy decoding (argmax at each step) with a KV cache. Without --json the text streams to\n"
                     "stdout as it is produced. Example: lowbit generate --steps 40",
                     desc, args, vm, common))
    return 0;
  o.stop_at_eos = !vm["ignore-eos"].as<bool>();
  LB_INPUT_CHECK(o.max_new_tokens >= 0, "--steps must be non-negative");
  if (tok.empty()) tok = find_tokenizer_for(model);
  auto m = load_model(model);
  auto t = load_tokenizer(tok);
  check_tokenizer_fits(*t, tok, *m);
  std::vector<int> ids = t->encode(prompt, !no_bos);
  std::string text = t->decode(ids);
  if (!common.json) {
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
  }
  auto out = generate_greedy(*m, ids, o, [&](int prev, int next) {
    std::string piece = t->decode_token(prev, next);
    text += piece;
    if (!common.json) {
      std::fputs(piece.c_str(), stdout);
      std::fflush(stdout);
    }
  });
  if (common.json)
    emit_json({{"model", model}, {"prompt", prompt}, {"text", text}, {"tokens", out}, {"new_tokens", out.size()}});
  else
    std::fputs("\n", stdout);
  return 0;
}

}  // namespace lowbit::cli
