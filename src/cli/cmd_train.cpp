// src/cli/cmd_train.cpp — `lowbit train`: train a LLaMA-style decoder on a text file (f32, CPU).
// defines: cli::cmd_train
#include <filesystem>

#include "cli/cli.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/hf.hpp"
#include "lowbit/io/llama2c.hpp"
#include "lowbit/io/tokenizer.hpp"
#include "lowbit/train/trainer.hpp"

namespace lowbit::cli {

int cmd_train(const std::vector<std::string>& args) {
  namespace fs = std::filesystem;
  po::options_description desc("options");
  std::string data, tok_path, out, format, ckpt, resume, doc_sep;
  int dim = 0, layers = 0, heads = 0, hidden = 0;
  long long ckpt_every = 0, stop_after = 0;
  int threads = 0;
  bool untied = false;
  train::TrainOptions o;
  desc.add_options()("data,d", po::value(&data)->required(), "training text (documents separated by --doc-sep)")(
      "tokenizer,t", po::value(&tok_path), "tokenizer (default: tokenizer.json beside the data)")(
      "out,o", po::value(&out)->required(), "model to write: a .bin (llama2c) or a folder (hf)")(
      "format", po::value(&format)->default_value("llama2c"), "llama2c or hf (safetensors, f32)")(
      "dim", po::value(&dim)->default_value(64), "model width D")("layers", po::value(&layers)->default_value(2),
                                                                   "transformer blocks")(
      "heads", po::value(&heads)->default_value(4), "attention heads (head_dim = dim / heads)")(
      "hidden", po::value(&hidden)->default_value(0), "SwiGLU hidden size (0 = 8/3·dim rounded up to 8)")(
      "untied", po::bool_switch(&untied), "separate classifier (default: tied to the token embedding)")(
      "seq-len", po::value(&o.seq_len)->default_value(o.seq_len), "training window (tokens)")(
      "batch", po::value(&o.batch)->default_value(o.batch), "windows per step")(
      "steps", po::value(&o.steps)->default_value(o.steps), "optimizer steps")(
      "lr", po::value(&o.lr)->default_value(o.lr), "peak learning rate")(
      "min-lr-frac", po::value(&o.min_lr_frac)->default_value(o.min_lr_frac), "final lr as a fraction of --lr")(
      "warmup", po::value(&o.warmup)->default_value(o.warmup), "linear warm-up steps")(
      "weight-decay", po::value(&o.adamw.weight_decay)->default_value(o.adamw.weight_decay), "AdamW decay (matrices)")(
      "beta1", po::value(&o.adamw.beta1)->default_value(o.adamw.beta1), "AdamW beta1")(
      "beta2", po::value(&o.adamw.beta2)->default_value(o.adamw.beta2), "AdamW beta2")(
      "grad-clip", po::value(&o.grad_clip)->default_value(o.grad_clip), "global gradient-norm clip (0 = none)")(
      "seed", po::value(&o.seed)->default_value(o.seed), "initialisation and batch-order seed")(
      "log-every", po::value(&o.log_every)->default_value(o.log_every), "steps per loss record")(
      "doc-sep", po::value(&doc_sep)->default_value("<|endoftext|>"), "document separator (\"\" = one document)")(
      "checkpoint", po::value(&ckpt), "training checkpoint file (parameters + AdamW state), for --resume")(
      "checkpoint-every", po::value(&ckpt_every)->default_value(0), "write --checkpoint every N steps (0: at the end)")(
      "resume", po::value(&resume), "continue from this checkpoint (its model and training options are used)")(
      "threads", po::value(&threads)->default_value(0), "OpenMP/OpenBLAS threads (0 = library default)")(
      "stop-after", po::value(&stop_after)->default_value(0),
      "stop at this step (checkpoint written, no model) to continue later with --resume");
  po::variables_map vm;
  CommonFlags common;
  if (!parse_or_help("train", "--data FILE --out MODEL [--dim D --layers L --heads H] [options]",
                     "Trains the LLaMA-style decoder lowbit uses everywhere (RMSNorm, interleaved RoPE, SwiGLU,\n"
                     "no biases) in f32 on the CPU: OpenBLAS GEMMs, OpenMP elsewhere, AdamW with warm-up + cosine\n"
                     "schedule and gradient clipping. Batches are a pure function of (seed, step), so a run resumed\n"
                     "from --checkpoint ends with bit-identical weights. Writes the model (llama2.c .bin or HF\n"
                     "folder), tokenizer.json beside it, and <out>.train.json (loss curve, tokens, FLOPs, seconds).\n"
                     "Example: lowbit train --data /tmp/tb/train.txt --out /tmp/m.bin --dim 64 --layers 2 --steps 500",
                     desc, args, vm, common))
    return 0;
  LB_INPUT_CHECK(format == "llama2c" || format == "hf", "--format: '", format, "' is not llama2c or hf");
  LB_INPUT_CHECK(file_exists(data), data, ": training data not found");
  if (tok_path.empty()) {
    const fs::path beside = fs::path(data).parent_path() / "tokenizer.json";
    LB_INPUT_CHECK(file_exists(beside.string()), data, ": no tokenizer.json beside the data; pass --tokenizer PATH");
    tok_path = beside.string();
  }
  LB_INPUT_CHECK(threads >= 0, "--threads ", threads, " must be >= 0");
  train::set_compute_threads(threads);
  auto tok = load_tokenizer(tok_path);
  auto stream = std::make_shared<const std::vector<int>>(train::token_stream(*tok, read_file(data), doc_sep));
  std::unique_ptr<train::Trainer> tr;
  if (!resume.empty()) {
    tr = train::Trainer::resume(resume, stream);
    log_info("train: resumed ", resume, " at step ", tr->current_step(), "/", tr->options().steps);
  } else {
    if (hidden == 0) hidden = (8 * dim / 3 + 7) / 8 * 8;
    LB_INPUT_CHECK(heads > 0 && dim > 0 && dim % heads == 0, "--dim ", dim, " must be a positive multiple of --heads ",
                   heads);
    DecoderConfig c = train::llama_train_config(dim, hidden, layers, heads, tok->vocab_size(), o.seq_len, !untied);
    train::check_trainable_config(c, "--dim/--layers/--heads/--hidden");
    tr = std::make_unique<train::Trainer>(c, o, stream);
  }
  const auto& opt = tr->options();
  const DecoderConfig& c = tr->config();
  LB_INPUT_CHECK(stop_after == 0 || !ckpt.empty(), "--stop-after needs --checkpoint (where to continue from)");
  log_info("train: ", c.non_embedding_params(), " non-embedding params (", c.total_params(), " total), ",
           stream->size(), " tokens of data, ", opt.steps, " steps of ", opt.batch, "x", opt.seq_len, " tokens");
  Progress prog("train", opt.steps - tr->current_step(), "steps", common.quiet ? 1e9 : 5.0);
  tr->train(stop_after, common.quiet ? nullptr : &prog, ckpt_every, ckpt);
  if (!ckpt.empty()) tr->save_checkpoint(ckpt);
  if (tr->current_step() < opt.steps) {
    log_info("train: stopped at step ", tr->current_step(), "; continue with --resume ", ckpt);
    if (common.json) emit_json({{"stopped_at", tr->current_step()}, {"checkpoint", ckpt}});
    return 0;
  }
  auto model = train::to_model(c, tr->params());
  std::string tok_dest;
  if (format == "hf") {
    write_hf_model(*model, out);
    tok_dest = out + "/tokenizer.json";
  } else {
    const fs::path parent = fs::path(out).parent_path();
    if (!parent.empty()) fs::create_directories(parent);
    write_llama2c_model(*model, out);
    tok_dest = (parent.empty() ? fs::path(".") : parent).string() + "/tokenizer.json";
  }
  if (fs::path(tok_path).extension() == ".json" && fs::absolute(tok_path) != fs::absolute(tok_dest))
    fs::copy_file(tok_path, tok_dest, fs::copy_options::overwrite_existing);
  const train::TrainSummary s = tr->summary();
  auto j = train::summary_to_json(s);
  j["model"] = out;
  j["data"] = data;
  j["tokenizer"] = tok_path;
  const std::string log_path = (format == "hf" ? out + "/train.json" : out + ".train.json");
  write_file_atomic(log_path, j.dump(1) + "\n");
  if (common.json) {
    emit_json(j);
  } else {
    std::printf("%s: loss %.4f after %lld steps (%lld tokens, %.1f s, %.0f tok/s); log %s\n", out.c_str(),
                s.final_loss, s.steps, s.tokens, s.seconds, s.seconds > 0 ? double(s.tokens) / s.seconds : 0.0,
                log_path.c_str());
  }
  return 0;
}

}  // namespace lowbit::cli
