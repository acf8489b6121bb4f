// src/cli/cmd_convert.cpp — `lowbit convert`: llama2.c <-> Hugging Face, and any model -> GGUF.
// defines: cli::cmd_convert
#include "cli/cli.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/convert.hpp"
#include "lowbit/io/gguf_export.hpp"
#include "lowbit/io/load.hpp"
#include "lowbit/io/tokenizer.hpp"
#include "lowbit/io/tokenizer_export.hpp"

namespace lowbit::cli {

int cmd_convert(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string model, out, to, dtype, tok;
  desc.add_options()("model,m", po::value(&model)->required(), "source checkpoint (llama2.c .bin, HF folder or .gguf)")(
      "out,o", po::value(&out)->required(), "destination (.bin file for llama2c, folder for hf, .gguf file for gguf)")(
      "to", po::value(&to)->required(), "target format: hf | llama2c | gguf")(
      "dtype", po::value(&dtype)->default_value("f32"),
      "weight dtype: f32 | f16 | bf16 (hf); f32 | f16 | auto (gguf: auto = F16 where exact, else F32)")(
      "tokenizer,t", po::value(&tok),
      "gguf: tokenizer to embed (a .gguf to copy tokenizer.* from, or a llama2.c .bin to convert); hf: tokenizer to "
      "put into the folder (default: the model's)");
  po::variables_map vm;
  CommonFlags common;
  if (!parse_or_help("convert", "--model SRC --to hf|llama2c|gguf --out DST [--dtype f32|f16|bf16|auto]",
                     "llama2.c -> HF LLaMA permutes the q/k rows as HF's converter does (interleaved to half-split\n"
                     "RoPE), so both give the same logits; HF -> llama2.c undoes it. f32 round trips are exact.\n"
                     "--to gguf writes a GGUF that llama.cpp loads (docs/GGUF.md \"Export\"): norms F32, the other\n"
                     "tensors --dtype; the tokenizer is copied from a .gguf source or converted from llama2.c's.\n"
                     "--to hf puts the model's tokenizer into the folder: an HF source's tokenizer files copied,\n"
                     "llama2.c's as tokenizer.bin, a GGUF gpt2 vocabulary as tokenizer.json (docs/TOKENIZERS.md).",
                     desc, args, vm, common))
    return 0;
  if (to == "gguf") {
    GgufExportOptions o;
    o.dtype = parse_gguf_plain_dtype(dtype, "--dtype");
    o.tokenizer = tok;
    auto m = load_model(model);
    check_gguf_exportable(*m, o);
    GgufExportReport rep = write_gguf_model(*m, nullptr, out, o);
    log_info("convert: wrote ", rep.summary());
    if (common.json)
      emit_json({{"model", model}, {"out", out}, {"to", to}, {"dtype", dtype}, {"gguf", rep.to_json()}});
    return 0;
  }
  LB_INPUT_CHECK(vm["tokenizer"].empty() || to == "hf", "--tokenizer applies to --to gguf and --to hf only");
  DType dt;
  if (dtype == "f32") dt = DType::F32;
  else if (dtype == "f16") dt = DType::F16;
  else if (dtype == "bf16") dt = DType::BF16;
  else LB_FAIL_INPUT("--dtype '", dtype, "' must be f32, f16 or bf16");
  auto m = load_model(model);
  if (to == "hf") {
    // The tokenizer is read (and converted) before anything is written, and written after the weights,
    // before config.json: a failure leaves no folder that looks complete.
    if (tok.empty() && file_exists(model)) {
      try {
        tok = find_tokenizer_for(model);
      } catch (const InputError& e) {
        log_warn("convert: ", out, " gets no tokenizer: ", e.what());
      }
    }
    TokenizerExport te;
    if (!tok.empty()) te = prepare_tokenizer_export(tok);
    convert_to_hf(*m, out, dt, [&](const std::string& dir) {
      if (!tok.empty()) write_tokenizer_export(te, dir);
    });
  } else if (to == "llama2c") {
    LB_INPUT_CHECK(dtype == "f32", "--dtype: llama2.c checkpoints are f32 only");
    convert_to_llama2c(*m, out);
  } else {
    LB_FAIL_INPUT("--to '", to, "' must be hf, llama2c or gguf");
  }
  log_info("convert: wrote ", out);
  if (common.json) emit_json({{"model", model}, {"out", out}, {"to", to}, {"dtype", dtype}});
  return 0;
}

}  // namespace lowbit::cli
