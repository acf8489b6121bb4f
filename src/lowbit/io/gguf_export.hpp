// lowbit/io/gguf_export.hpp — write a lowbit Model as a GGUF file that llama.cpp loads: architecture
// metadata regenerated from the DecoderConfig, tokenizer.* and general.* copied from the source GGUF
// (or a llama2.c tokenizer converted), norms and biases F32, other tensors F16/F32, and linears that
// lowbit quantised packed into the llama.cpp block type whose grid holds them.
// defines: lowbit::GgufPlainDType, GgufExportOptions, GgufExportReport, check_gguf_exportable,
//          write_gguf_model, gguf_export_arch
//
// Architectures: lowbit's Llama → "llama" (q/k rows in the interleaved order llama.cpp's LLaMA graph
// applies RoPE in: a half-split model's rows are permuted back, as convert_hf_to_gguf.py permutes
// HF's), Qwen2 → "qwen2" and Gemma 3 → "gemma3" (NeoX RoPE: rows as they are). A config llama.cpp
// cannot express (LayerNorm, learned positions, a Gemma 3 with another sliding pattern, local RoPE
// base, attention or embedding scale than llama.cpp hard-codes, …) is refused with one line.
//
// Quantised linears (QuantResult of compress_model, keep_results): ŵ = s·(q − z) per group of G
// input columns with s an f16 value (compress/quant.hpp). Packed without re-quantising
// (core/ggml_blocks.hpp pack_exact) when G is a multiple of 32 (or per channel with in % 32 == 0),
// the column order is the plain one (g_idx[c] = c / G, no act-order permutation) and the block's
// weights are the quantiser's ŵ:
//   symmetric,  bits ≤ 4 → Q4_0   d = s, code q − z + 8                       exact
//   asymmetric, bits ≤ 4 → Q4_1   d = s, m = f16(−z·s), code q                 exact unless m rounds
//   bits 5..8            → Q8_0   d = s, int8 q − z (needs −128 ≤ q − z ≤ 127) exact
// Q4_1's m = −z·s needs up to four more significant bits than the f16 s has; when they are not zero
// f16 rounds m to nearest and the whole group moves by the same amount, at most half an f16 ulp of
// z·s. Those groups are counted (GgufExportReport::inexact_groups). Any other linear is stored
// fake-quantised (its f32 weights) as the plain dtype, and the report says why.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lowbit/io/gptq_pack.hpp"
#include "lowbit/model/model.hpp"

namespace lowbit {

// How tensors that are neither norms nor packed linears are stored.
enum class GgufPlainDType {
  F16,   // rounded to nearest even (values changed are counted)
  F32,   // exact
  Auto,  // per tensor: F16 when every value is an f16, else F32 (lossless)
};
// "f16" | "f32" | "auto"; InputError naming `option` otherwise.
GgufPlainDType parse_gguf_plain_dtype(const std::string& s, const std::string& option);

struct GgufExportOptions {
  GgufPlainDType dtype = GgufPlainDType::F16;
  // Where the tokenizer comes from: a .gguf file (its tokenizer.* keys are copied) or a llama2.c
  // tokenizer .bin (converted to a "llama" vocabulary as llama.cpp's convert-llama2c-to-ggml does).
  // Empty: the model's own file when it is a .gguf, else the tok*.bin beside a llama2.c model.
  std::string tokenizer;
  // Written as general.description ("" = not written); general.quantized_by is always "lowbit".
  std::string description;
};

struct GgufExportReport {
  std::string path;
  uint64_t bytes = 0;                         // file size
  std::map<std::string, int> tensors_by_type; // "Q4_0" -> tensors
  int linears = 0, packed_linears = 0, fallback_linears = 0;
  std::map<std::string, int> fallback_reasons;  // why a quantised linear was stored as F16/F32
  int64_t groups = 0;          // 32-element blocks packed
  int64_t inexact_groups = 0;  // of which not dequantising exactly to ŵ (Q4_1 offsets rounded)
  int f16_rounded_tensors = 0; // tensors stored F16 whose values f16 changed
  int64_t f16_rounded_values = 0;
  std::string tokenizer;       // "copied from <file>" / "converted from llama2.c <file>"
  std::string file_type;       // general.file_type written, by name ("MOSTLY_Q4_0")
  nlohmann::json to_json() const;
  std::string summary() const;  // one line for the log
};

// The GGUF architecture name lowbit writes for `c` ("llama", "qwen2", "gemma3"), or InputError
// naming `where` and the feature llama.cpp lacks.
std::string gguf_export_arch(const DecoderConfig& c, const std::string& where);

// Everything checkable before work starts: the architecture, the tokenizer source (exists, a kind
// lowbit can put in GGUF, as many tokens as the embedding has rows). InputError, one line.
void check_gguf_exportable(const Model& m, const GgufExportOptions& o);

// Write `m` (its current blocks: compressed ones included) to `path` atomically. `quant` (may be
// null or empty: nothing packed) holds compress_model's per-block QuantResults. Everything is
// validated before anything is written; a failure leaves no file at `path`.
GgufExportReport write_gguf_model(const Model& m, const std::vector<BlockQuant>* quant, const std::string& path,
                                  const GgufExportOptions& o = {});

}  // namespace lowbit
