// lowbit/compress/driver.hpp — the layer-wise, block-sequential compression driver (as GPTQ runs):
// block i is compressed with calibration inputs produced by the already-compressed blocks 0..i-1
// (or, with fp_inputs, by the full-precision blocks). Only the current block's weights and the
// calibration activations are resident; statistics are accumulated in LinearStats (summable
// across ranks). The method only sees weights and statistics; I/O, hooks and records are here.
// defines: lowbit::CompressOptions, LayerRecord, CompressResult, compress_model (the methods themselves: methods.hpp)
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lowbit/compress/awq.hpp"
#include "lowbit/compress/calib.hpp"
#include "lowbit/compress/gptq.hpp"
#include "lowbit/compress/prune.hpp"
#include "lowbit/compress/quant.hpp"
#include "lowbit/model/compressed.hpp"  // BlockQuant, HaarLayer
#include "lowbit/model/forward.hpp"
#include "lowbit/model/model.hpp"

namespace lowbit {
namespace dist { class Comm; }

struct CompressOptions {
  std::string method = "rtn";  // rtn | gptq | awq | magnitude | wanda | sparsegpt | haar
  QuantSpec spec;               // quantization methods
  PruneSpec prune;              // pruning methods
  GptqOptions gptq;
  AwqOptions awq;
  SparseGptOptions sparsegpt;
  bool fp_inputs = false;       // calibrate block i on full-precision inputs instead
  bool record_errors = true;    // accumulate H also for RTN, to record ‖WX−ŴX‖² per linear
  int micro_batch = 8;          // calibration samples per block forward (and per reduction leaf)
  // Ranks that share this configuration (nullptr = one process). Calibration micro-batches are
  // split over them (data parallel), statistics are tree-reduced (rank-count independent), and the
  // linears of each block are solved on different ranks and exchanged.
  dist::Comm* comm = nullptr;
  // Streaming: when set, each compressed block is written to SPILL_DIR/block-<l>.safetensors and
  // dropped from memory (read back, mapped, on use), so one FP and one compressed block are
  // resident at a time instead of the whole compressed model.
  std::string spill_dir;
  // Keep every linear's QuantResult (codes, scales, dequantized copy) and Haar coefficients in the
  // result, for exports. A sweep that only measures sets false: they are the model's size again.
  bool keep_results = true;
};

struct LayerRecord {
  int layer = 0;
  std::string linear;        // "attn.q", ...
  int64_t out = 0, in = 0;
  double out_error = -1;     // ‖WX − ŴX‖²_F over the calibration tokens (−1: not measured)
  double rtn_error = -1;     // the same for plain RTN at the same spec, for comparison
  double rel_error = -1;     // out_error / ‖WX‖²_F
  double seconds = 0;
  int damp_raises = 0;
  int dead_columns = 0;
  int64_t pruned = 0, total = 0;          // pruning: elements (or Haar coefficients) zeroed
  std::vector<SubbandStat> subbands;      // Haar
};

struct CompressResult {
  std::vector<BlockQuant> quant;       // per block, per LinearId
  std::vector<LayerRecord> records;
  std::vector<std::vector<AwqGroupReport>> awq;  // per block (AWQ only)
  std::map<std::string, HaarLayer> haar;         // Haar only: sparse coefficients per linear
  long long calib_tokens = 0;
  double seconds = 0;
  // Peak memory model of this rank (bytes): one FP block + its compressed copy + the activations of
  // the local calibration shard (×2 with fp_inputs) + one micro-batch's work space + the statistics
  // partials (one per tree level). See docs/ARCHITECTURE.md "Memory".
  long long peak_model_bytes = 0;
  int local_samples = 0;
};

// Run block `w` over n sequences of L rows of x ([n*L, D]) in micro-batches of mb sequences; x is
// updated in place when `update` (hooks see every micro-batch either way).
void run_block_batched(const DecoderConfig& c, const BlockWeights& w, int layer, Tensor& x, int n, int L, int mb,
                       const ForwardHooks* hooks, bool update = true);

// Everything that can be checked before work starts (method, bits, group, sparsity, N:M and Haar
// levels vs every linear's input dimension, damping, block size, AWQ grid, micro batch): the first
// problem, naming the field and the linear, or nullopt.
std::optional<OptionProblem> check_compress_options(const Model& m, const CompressOptions& o);
// check_compress_options as InputError "<name(field)> for <linear>: <what>". `name` is the surface's
// name of a field (the CLI: --group; a manifest run: methods[1].group at file:line:col); without
// one the field is named as is ("group for attn.q: ...").
void validate_compress_options(const Model& m, const CompressOptions& o, const FieldNamer& name = {});
// Bytes predicted by the memory model for compressing `m` with `n_local` local calibration samples.
long long compress_memory_model(const Model& m, int n_local, int seqlen, const CompressOptions& o, int tree_levels);
// Compress `m` in place (its blocks are replaced by the compressed ones). `calib` may be empty for
// calibration-free methods (rtn without error records, magnitude, haar): blocks are then
// transformed without any forward pass and no output errors are recorded.
CompressResult compress_model(Model& m, const CalibSet& calib, const CompressOptions& o);
// How many times compress_model has run in this process (the runner records it per configuration:
// one compression per compressed configuration, diagnostics included).
long long compress_model_calls();

}  // namespace lowbit
