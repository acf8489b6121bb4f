// lowbit/compress/methods.cpp — the method table. defines: see methods.hpp
#include "lowbit/compress/methods.hpp"

#include <algorithm>
#include <utility>

#include "lowbit/core/error.hpp"

namespace lowbit {

namespace {

// Quantizers: the codes stay in oc.q for exports; the weights move to oc.w_hat.
void finish_quant(LinearOutcome& oc) {
  oc.w_hat = std::move(oc.q.w_hat);
  oc.q.w_hat = Tensor();
}
void finish_prune(PruneResult&& p, LinearOutcome& oc) {
  oc.rec.pruned = p.pruned;
  oc.rec.total = p.total;
  oc.rec.subbands = std::move(p.subbands);
  oc.rec.dead_columns = p.dead_columns;
  oc.rec.damp_raises = p.damp_raises;
  if (p.haar_levels > 0) oc.haar = HaarLayer{std::move(p.coeffs), p.haar_levels};
  oc.w_hat = std::move(p.w_hat);
}

void run_rtn(const LinearJob& j, LinearOutcome& oc) {  // AWQ: RTN of the scaled weights
  oc.q = quantize_rtn(j.w, j.o.spec);
  finish_quant(oc);
}
void run_gptq(const LinearJob& j, LinearOutcome& oc) {
  GptqReport gr;
  oc.q = quantize_gptq(j.w, j.stats.xtx, j.o.spec, j.o.gptq, &gr);
  oc.rec.damp_raises = gr.damp_raises;
  oc.rec.dead_columns = gr.dead_columns;
  finish_quant(oc);
}
void run_magnitude(const LinearJob& j, LinearOutcome& oc) { finish_prune(prune_magnitude(j.w, j.o.prune), oc); }
void run_wanda(const LinearJob& j, LinearOutcome& oc) { finish_prune(prune_wanda(j.w, j.stats, j.o.prune), oc); }
void run_sparsegpt(const LinearJob& j, LinearOutcome& oc) {
  finish_prune(prune_sparsegpt(j.w, j.stats.xtx, j.o.prune, j.o.sparsegpt), oc);
}
void run_haar(const LinearJob& j, LinearOutcome& oc) { finish_prune(prune_haar(j.w, j.o.prune), oc); }

using K = MethodKind;
//                 name         kind          needs  reads  hess   scale  N:M    levels
constexpr MethodRow kTable[] = {
    {"fp",        K::Reference, false, false, false, false, false, false,
     "the uncompressed model (the reference every configuration is compared with)", nullptr},
    {"rtn",       K::Quant,     false, true,  false, false, false, false,
     "round-to-nearest on a per-group min/max (or symmetric absmax) grid", run_rtn},
    {"gptq",      K::Quant,     true,  true,  true,  false, false, false,
     "GPTQ: column-wise OBS updates against the calibration Hessian (Frantar et al. 2022)", run_gptq},
    {"awq",       K::Quant,     true,  true,  true,  true,  false, false,
     "AWQ: activation-aware per-channel scales folded into the previous op, then RTN (Lin et al. 2023)",
     run_rtn},
    {"magnitude", K::Prune,     false, false, false, false, true,  false,
     "smallest |w| per row (or the whole matrix) set to zero", run_magnitude},
    {"wanda",     K::Prune,     true,  true,  true,  false, true,  false,
     "Wanda: smallest |w|·‖x‖ per output row (Sun et al. 2023)", run_wanda},
    {"sparsegpt", K::Prune,     true,  true,  true,  false, true,  false,
     "SparseGPT: OBS mask selection and weight update (Frantar & Alistarh 2023)", run_sparsegpt},
    {"haar",      K::Prune,     false, false, false, false, false, true,
     "Haar subbands: the same sparsity in LL/LH/HL/HH of the 2-D Haar transform, no weight update",
     run_haar},
    {"noise",     K::Control,   false, false, false, false, false, false,
     "diagnostics control: Gaussian noise of a given relative size on every linear", nullptr},
};

}  // namespace

const char* method_kind_name(MethodKind k) {
  switch (k) {
    case K::Reference: return "reference";
    case K::Quant: return "quantization";
    case K::Prune: return "pruning";
    case K::Control: return "control";
  }
  return "?";
}

std::span<const MethodRow> method_table() { return kTable; }

const MethodRow* find_method(std::string_view name) {
  for (const auto& r : kTable)
    if (name == r.name) return &r;
  return nullptr;
}

std::string method_names(MethodKind k) {
  std::string s;
  for (const auto& r : kTable)
    if (r.kind == k) s += (s.empty() ? "" : ", ") + std::string(r.name);
  return s;
}
std::string method_names_compress() { return method_names(K::Quant) + ", " + method_names(K::Prune); }

std::string method_help(std::initializer_list<MethodKind> kinds) {
  std::string names, lines;
  for (const auto& r : kTable) {
    if (std::find(kinds.begin(), kinds.end(), r.kind) == kinds.end()) continue;
    names += (names.empty() ? "" : " | ") + std::string(r.name);
    lines += cat("\n  ", r.name, ": ", r.summary);
  }
  return names + lines;
}

const MethodRow& method_row(std::string_view name, std::string_view where) {
  const MethodRow* r = find_method(name);
  if (!r) {
    std::string all;
    for (const auto& t : kTable) all += (all.empty() ? "" : ", ") + std::string(t.name);
    LB_FAIL_INPUT(where, ": unknown method '", name, "' (", all, ")");
  }
  return *r;
}

std::optional<OptionProblem> MethodRow::check(const CompressOptions& o, int64_t in) const {
  if (quant()) return o.spec.check(in);
  if (prune()) return o.prune.check(in, *this);
  return std::nullopt;
}

bool is_quant_method(std::string_view m) {
  const MethodRow* r = find_method(m);
  return r && r->quant();
}
bool is_prune_method(std::string_view m) {
  const MethodRow* r = find_method(m);
  return r && r->prune();
}
bool is_compress_method(std::string_view m) {
  const MethodRow* r = find_method(m);
  return r && r->compresses();
}

}  // namespace lowbit
