// lowbit/io/gptq_pack.hpp — packed GPTQ checkpoints (the layout AutoGPTQ / GPTQModel / vLLM /
// transformers load): per linear `qweight` int32 [in·bits/32, out], `qzeros` int32
// [groups, out·bits/32], `scales` f16 [groups, out], `g_idx` int32 [in] (+ `bias`), and
// quantize_config.json (also mirrored as "quantization_config" in config.json).
// defines: lowbit::gptq_format_supports, check_gptq_exportable, gptq_v1_representable,
//          pack_gptq_linear, unpack_gptq_linear, is_gptq_checkpoint, attach_gptq_linears,
//          GptqExportInfo, write_gptq_checkpoint
//
// Format decisions (details in gptq_pack.cpp's header): zeros are stored as zero−1 ("gptq", v1,
// what most loaders expect) when every zero is ≥ 1, else as is ("gptq_v2"); checkpoint_format in
// quantize_config.json says which. Non-quantized tensors (embeddings, norms, biases, skipped
// linears) are F16 when every value is exactly an f16, else F32, so the packed checkpoint loads to
// the same logits as the f32 fake-quantized one, bit for bit.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include "lowbit/core/tensor.hpp"
#include "lowbit/model/compressed.hpp"  // QuantSpec, QuantResult, BlockQuant
#include "lowbit/model/config.hpp"

namespace lowbit {

class Model;
class SafetensorsWriter;

// Bit-widths the packed format holds (2, 3, 4, 8). Others: the caller reports a clear error
// before any work starts.
bool gptq_format_supports(int bits);
// Throws InputError (naming the linear, its dimension and the bit-width) when a model of config `c`
// quantized with `s` cannot be written packed: bits not in {2,3,4,8}, or in·bits / out·bits not a
// multiple of 32. A group that does not divide a linear's input dimension is written (a ragged last
// group; write_gptq_checkpoint says in the log which consumers refuse it). Cheap: call it before
// quantizing.
void check_gptq_exportable(const DecoderConfig& c, const QuantSpec& s);
// True when every zero point is ≥ 1, i.e. the v1 ("gptq", zero−1) layout can hold them.
bool gptq_v1_representable(const QuantResult& r);

// Add the packed tensors of one quantized linear under `prefix` (e.g. "model.layers.0.self_attn.q_proj").
// zero_minus_one: v1 layout (requires gptq_v1_representable(r)); false: v2 (zeros as is).
// `bias` may be empty; it is stored F16 when exact in f16, else F32.
void pack_gptq_linear(SafetensorsWriter& w, const std::string& prefix, const QuantResult& r, const Tensor& bias,
                      bool zero_minus_one = true);
// Dequantize one packed linear to f32 [out, in] exactly as a GPTQ loader does.
Tensor unpack_gptq_linear(const TensorRef& qweight, const TensorRef& qzeros, const TensorRef& scales,
                          const TensorRef& g_idx, int bits, int64_t out, int64_t in, bool zero_minus_one);

bool is_gptq_checkpoint(const std::string& dir);
// Called by load_hf_model: for every linear stored packed, add its dequantized f32 weight (and
// bias) to m.source under the canonical name. Throws InputError naming the file and tensor.
void attach_gptq_linears(Model& m, const std::map<std::string, TensorRef>& stored, const std::string& dir);

// What quantize_config.json records about how the codes were found (lowbit_method: rtn/gptq/awq).
struct GptqExportInfo {
  std::string method = "rtn";
  double damp_percent = 0.01;
  bool true_sequential = true;
  bool static_groups = false;
};
// Write the packed checkpoint of model `m` (its non-linear weights as F16 or F32) to `dir`:
// model.safetensors, quantize_config.json, config.json (with "quantization_config"). All linears
// quantized must share bits and group size (quantize_config.json holds one value); everything is
// validated before anything is written. A linear with an empty w_hat is written unquantized.
// llama2.c models (interleaved RoPE) are written in HF layout (q/k rows permuted, as write_hf_model).
void write_gptq_checkpoint(const Model& m, const std::vector<BlockQuant>& q, const std::string& dir,
                           const GptqExportInfo& info = {});

}  // namespace lowbit
