// src/cli/cmd_info.cpp — `lowbit info`: what a checkpoint holds. defines: cli::cmd_info
#include <cstdio>

#include "cli/cli.hpp"
#include "lowbit/io/load.hpp"
#include "lowbit/model/model.hpp"

namespace lowbit::cli {

int cmd_info(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string model;
  bool tensors = false;
  desc.add_options()("model,m", po::value(&model)->default_value(default_model_path()),
                     "llama2.c .bin file, GGUF file or Hugging Face folder")("tensors", po::bool_switch(&tensors),
                                                                  "list every tensor with dtype and shape");
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  CommonFlags common;
  if (!parse_or_help("info", "[MODEL] [--tensors]", "Loads and validates a checkpoint and describes it.", desc, args,
                     vm, common, &pos))
    return 0;
  auto m = load_model(model);
  const DecoderConfig& c = m->cfg;
  nlohmann::json j = {{"model", model},
                      {"format", c.source_format},
                      {"arch", arch_name(c.arch)},
                      {"dim", c.dim},
                      {"hidden_dim", c.hidden_dim},
                      {"n_layers", c.n_layers},
                      {"n_heads", c.n_heads},
                      {"n_kv_heads", c.n_kv_heads},
                      {"head_dim", c.head_dim},
                      {"vocab_size", c.vocab_size},
                      {"max_seq_len", c.max_seq_len},
                      {"tied_embeddings", c.tie_embeddings},
                      {"params", c.total_params()},
                      {"non_embedding_params", c.non_embedding_params()},
                      {"stored_dtype", c.source_dtype},
                      {"rope", c.rope == RopeStyle::None ? "none" : c.rope == RopeStyle::Half ? "half-split" : "interleaved"},
                      {"rope_theta", c.rope_theta},
                      {"norm_eps", c.norm_eps}};
  if (c.sliding_window > 0) {
    std::string local;
    for (int l = 0; l < c.n_layers; ++l) local += c.is_local_layer(l) ? 'L' : 'G';
    j["sliding_window"] = c.sliding_window;
    j["layers_local_global"] = local;
    j["rope_theta_local"] = c.rope_theta_local;
  }
  if (c.post_norms) j["post_norms"] = true;
  if (c.qk_norm) j["qk_norm"] = true;
  if (c.embed_scale != 1.f) j["embed_scale"] = c.embed_scale;
  if (c.attn_scale != 0.f) j["attn_scale"] = c.attn_scale;
  if (tensors) {
    nlohmann::json t = nlohmann::json::array();
    for (const auto& [canon, ref] : m->source)
      t.push_back({{"name", canon}, {"stored_as", ref.name}, {"dtype", dtype_name(ref.dtype)}, {"shape", ref.shape}});
    j["tensors"] = t;
  }
  if (common.json) {
    emit_json(j);
  } else {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "tensors") continue;
      std::printf("%-22s %s\n", it.key().c_str(), it.value().is_string() ? it.value().get<std::string>().c_str() : it.value().dump().c_str());
    }
    if (tensors)
      for (const auto& t : j["tensors"])
        std::printf("  %-36s %-5s %s  (%s)\n", t["name"].get<std::string>().c_str(), t["dtype"].get<std::string>().c_str(),
                    t["shape"].dump().c_str(), t["stored_as"].get<std::string>().c_str());
  }
  return 0;
}

}  // namespace lowbit::cli
