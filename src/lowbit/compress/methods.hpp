// lowbit/compress/methods.hpp — the method table: every compression method is one row (in the spirit
// of ggml's type_traits[]): its name, its kind, what it needs, how its settings are validated against
// one linear, and how it compresses one linear. The manifest, the CLI (flags, help, checks), the
// driver, diagnostics and the archive ask this table; a method's name is compared nowhere else.
// Adding a method is one file (its algorithm) plus one row in methods.cpp.
// defines: lowbit::MethodKind, LinearOutcome, LinearJob, MethodRow, method_table, find_method,
//          method_row, method_names, is_quant_method, is_prune_method, is_compress_method
#pragma once

#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "lowbit/compress/driver.hpp"

namespace lowbit {

enum class MethodKind {
  Reference,  // fp: the uncompressed model itself
  Quant,      // weights on an integer grid (QuantSpec: bits, group, sym)
  Prune,      // weights zeroed (PruneSpec: sparsity or N:M)
  Control,    // diagnostics only: a perturbation of known size (noise), not a compressor
};
const char* method_kind_name(MethodKind k);  // "reference", "quantization", "pruning", "control"

// What one linear's solve produces: the weights, the method's outputs and its record.
struct LinearOutcome {
  Tensor w_hat;
  QuantResult q;                  // quantization methods: codes, scales, zeros, g_idx
  std::optional<HaarLayer> haar;  // Haar: the sparse coefficients
  LayerRecord rec;
};

// What a method sees of one linear: its weights (already scaled for AWQ) and its input statistics.
struct LinearJob {
  const Tensor& w;
  const LinearStats& stats;
  const CompressOptions& o;
};

struct MethodRow {
  const char* name;
  MethodKind kind;
  bool needs_calibration;  // cannot run without calibration data
  bool reads_calibration;  // draws calibration data at all (nsamples/seqlen/seed axes apply)
  bool needs_hessian;      // accumulates Σxᵀx (Wanda reads its diagonal)
  bool scales_block;       // AWQ: searches and folds per-channel scales before the per-linear step
  bool supports_nm;        // N:M semi-structured sparsity
  bool has_levels;         // Haar: decomposition levels
  const char* summary;     // one line for --help
  // Compress one linear into `oc` (w_hat and the method's records); nullptr for fp and noise.
  void (*run)(const LinearJob& job, LinearOutcome& oc);

  bool quant() const { return kind == MethodKind::Quant; }
  bool prune() const { return kind == MethodKind::Prune; }
  bool compresses() const { return run != nullptr; }
  // The first problem of this method's settings in `o` against a linear with `in` inputs, naming
  // the field (bits, group, sparsity, nm, levels); nullopt when they fit. The caller names the
  // surface (validate_compress_options).
  std::optional<OptionProblem> check(const CompressOptions& o, int64_t in) const;
};

std::span<const MethodRow> method_table();
const MethodRow* find_method(std::string_view name);
// The row named `name`; InputError "<where>: unknown method '<name>' (rtn, gptq, ...)" otherwise.
const MethodRow& method_row(std::string_view name, std::string_view where = "--method");
// The names of the methods of one kind, comma-separated in table order ("rtn, gptq, awq").
std::string method_names(MethodKind k);
std::string method_names_compress();  // quantization and pruning methods
// --help text of a --method option offering these kinds: "a | b | c" then one "name: summary" line each.
std::string method_help(std::initializer_list<MethodKind> kinds);

// Convenience questions of the table (false for unknown names).
bool is_quant_method(std::string_view m);
bool is_prune_method(std::string_view m);
bool is_compress_method(std::string_view m);

}  // namespace lowbit
