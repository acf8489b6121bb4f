// lowbit/compress/driver.cpp — layer-wise compression driver. defines: see driver.hpp
#include "lowbit/compress/driver.hpp"

#include <chrono>

#include "lowbit/compress/stats.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/model/forward.hpp"

namespace lowbit {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The linear whose captured input stands for each LinearId: Q/K/V share the attention input,
// Gate/Up share the MLP input.
LinearId input_owner(LinearId id) {
  switch (id) {
    case LinearId::K: case LinearId::V: return LinearId::Q;
    case LinearId::Gate: return LinearId::Up;
    default: return id;
  }
}

bool block_has(const DecoderConfig& c, LinearId id) { return id != LinearId::Gate || c.gated_mlp; }

// Run block `w` over all calibration activations x [n*L, D] in micro-batches, in place.
void run_block(const DecoderConfig& c, const BlockWeights& w, int layer, Tensor& x, int n, int L, int mb,
               const ForwardHooks* hooks) {
  const int64_t D = c.dim;
  Tensor chunk;
  for (int s = 0; s < n; s += mb) {
    const int B = std::min(mb, n - s);
    chunk.resize({int64_t(B) * L, D});
    std::copy(x.row(int64_t(s) * L), x.row(int64_t(s) * L) + int64_t(B) * L * D, chunk.ptr());
    block_forward(c, w, layer, chunk, B, L, 0, hooks);
    std::copy(chunk.data.begin(), chunk.data.end(), x.row(int64_t(s) * L));
  }
}

double output_norm_sq(const Tensor& w, const std::vector<double>& H) {
  Tensor zero(w.shape);
  return output_error(w, zero, H);
}

}  // namespace

bool is_quant_method(const std::string& m) { return m == "rtn" || m == "gptq" || m == "awq"; }
bool is_compress_method(const std::string& m) { return is_quant_method(m) || is_prune_method(m); }

void validate_compress_options(const Model& m, const CompressOptions& o) {
  LB_INPUT_CHECK(is_compress_method(o.method), "--method '", o.method,
                 "' is not a compression method (rtn, gptq, awq, magnitude, wanda, sparsegpt, haar)");
  const auto& c = m.cfg;
  for (auto id : kLinearIds) {
    if (!block_has(c, id)) continue;
    const int64_t in = (id == LinearId::O) ? c.q_dim() : (id == LinearId::Down ? c.hidden_dim : c.dim);
    if (is_quant_method(o.method))
      o.spec.validate(in, std::string("--group/--bits for ") + linear_name(id));
    else
      o.prune.validate(in, o.method, std::string("--sparsity/--nm for ") + linear_name(id));
  }
  LB_INPUT_CHECK(o.sparsegpt.percdamp > 0 && o.sparsegpt.percdamp < 1, "SparseGPT damping must be in (0, 1)");
  LB_INPUT_CHECK(o.gptq.percdamp > 0 && o.gptq.percdamp < 1, "--damp ", o.gptq.percdamp, " must be in (0, 1)");
  LB_INPUT_CHECK(o.gptq.blocksize >= 1, "--blocksize must be positive");
  LB_INPUT_CHECK(o.awq.grid >= 1, "AWQ grid must be positive");
  LB_INPUT_CHECK(o.micro_batch >= 1, "micro batch must be positive");
}

CompressResult compress_model(Model& m, const CalibSet& calib, const CompressOptions& o) {
  validate_compress_options(m, o);
  const DecoderConfig& c = m.cfg;
  const int n = int(calib.samples.size()), L = n ? calib.spec.seqlen : 0;
  const bool quant = is_quant_method(o.method);
  const bool needs_calib = o.method == "gptq" || o.method == "awq" || prune_needs_calibration(o.method);
  LB_INPUT_CHECK(n > 0 || !needs_calib, "method ", o.method, " needs calibration data (--calib)");
  LB_INPUT_CHECK(n == 0 || !c.learned_pos || L <= c.max_seq_len, "calibration seqlen ", L, " exceeds the model's ",
                 c.max_seq_len, " learned positions");
  const auto t0 = Clock::now();
  CompressResult res;
  res.calib_tokens = calib.tokens();
  res.quant.resize(size_t(c.n_layers));
  std::vector<int> flat;
  for (const auto& s : calib.samples) flat.insert(flat.end(), s.begin(), s.end());
  Tensor x, x_fp;
  if (n > 0) embed_tokens(m, flat.data(), n, L, 0, x);
  if (o.fp_inputs) x_fp = x;
  // Hessians: for GPTQ/AWQ/SparseGPT, and to record ‖WX−ŴX‖² whenever there is calibration data.
  const bool need_h = n > 0 && (o.method == "gptq" || o.method == "awq" || o.method == "sparsegpt" ||
                                 o.method == "wanda" || o.record_errors);  // Wanda: ‖X_j‖² = diag(Σxᵀx)
  const std::string what = quant ? o.spec.str() : o.prune.str();
  Progress prog(o.method + " " + what, c.n_layers, "blocks");
  for (int l = 0; l < c.n_layers; ++l) {
    BlockWeights fp = m.load_block(l);
    // 1. Statistics of every linear's input, on this block's calibration inputs.
    std::vector<LinearStats> stats(kLinearIds.size());
    for (auto id : kLinearIds) {
      if (input_owner(id) != id || !block_has(c, id)) continue;
      stats[size_t(id)].init(fp.linear(id).in(), need_h);
    }
    if (n > 0) {
      ForwardHooks hooks;
      hooks.linear_input = [&](int, LinearId id, const Tensor& xin) {
        if (input_owner(id) == id) stats[size_t(id)].add(xin);
      };
      Tensor probe = o.fp_inputs ? x_fp : x;  // the statistics pass must not disturb x
      run_block(c, fp, l, probe, n, L, o.micro_batch, &hooks);
    }
    std::vector<const LinearStats*> st(kLinearIds.size());
    for (auto id : kLinearIds) st[size_t(id)] = &stats[size_t(input_owner(id))];
    // 2. Method-specific transform, then compress every linear.
    BlockWeights qb = fp;
    std::vector<LinearStats> scaled_stats;  // AWQ: statistics of the scaled layers' inputs
    std::vector<const LinearStats*> qst = st;
    if (o.method == "awq") {
      res.awq.push_back(awq_scale_block(c, qb, st, o.spec, o.awq));
      // The folded scales change each linear's input (x/s); measure errors in those coordinates.
      scaled_stats.resize(kLinearIds.size());
      for (auto id : kLinearIds)
        if (input_owner(id) == id && block_has(c, id)) scaled_stats[size_t(id)].init(qb.linear(id).in(), true);
      ForwardHooks sh;
      sh.linear_input = [&](int, LinearId id, const Tensor& xin) {
        if (input_owner(id) == id) scaled_stats[size_t(id)].add(xin);
      };
      Tensor probe2 = o.fp_inputs ? x_fp : x;
      run_block(c, qb, l, probe2, n, L, o.micro_batch, &sh);
      for (auto id : kLinearIds) qst[size_t(id)] = &scaled_stats[size_t(input_owner(id))];
    }
    for (auto id : kLinearIds) {
      if (!block_has(c, id)) continue;
      const auto tl = Clock::now();
      Linear& lin = qb.linear(id);
      LayerRecord rec;
      rec.layer = l;
      rec.linear = linear_name(id);
      rec.out = lin.out();
      rec.in = lin.in();
      Tensor w_hat;
      if (quant) {
        QuantResult q;
        if (o.method == "gptq") {
          GptqReport gr;
          q = quantize_gptq(lin.w, st[size_t(id)]->xtx, o.spec, o.gptq, &gr);
          rec.damp_raises = gr.damp_raises;
          rec.dead_columns = gr.dead_columns;
        } else {
          q = quantize_rtn(lin.w, o.spec);  // AWQ: RTN of the scaled weights
        }
        w_hat = q.w_hat;
        res.quant[size_t(l)][size_t(id)] = std::move(q);
      } else {
        PruneResult p;
        if (o.method == "magnitude") p = prune_magnitude(lin.w, o.prune);
        else if (o.method == "wanda") p = prune_wanda(lin.w, *st[size_t(id)], o.prune);
        else if (o.method == "sparsegpt") p = prune_sparsegpt(lin.w, st[size_t(id)]->xtx, o.prune, o.sparsegpt);
        else p = prune_haar(lin.w, o.prune);
        rec.pruned = p.pruned;
        rec.total = p.total;
        rec.subbands = p.subbands;
        if (o.method == "haar")
          res.haar[block_weight_name(l, linear_name(id))] = HaarLayer{std::move(p.coeffs), p.haar_levels};
        w_hat = std::move(p.w_hat);
      }
      rec.seconds = since(tl);
      if (need_h) {
        // ‖WX − ŴX‖² of this linear on its calibration inputs, in the coordinates it computes in
        // (AWQ: scaled weights on scaled inputs, which is the same product WX), next to plain
        // RTN of the original weights on the original inputs (quantization only).
        const auto& H = qst[size_t(id)]->xtx;
        rec.out_error = output_error(lin.w, w_hat, H);
        if (quant) {
          const Linear& orig = fp.linear(id);
          rec.rtn_error = output_error(orig.w, quantize_rtn(orig.w, o.spec).w_hat, st[size_t(id)]->xtx);
        }
        const double ref = output_norm_sq(lin.w, H);
        rec.rel_error = ref > 0 ? rec.out_error / ref : 0;
      }
      lin.w = std::move(w_hat);
      res.records.push_back(rec);
    }
    // 3. Install the compressed block and propagate the calibration inputs through it.
    if (n > 0) {
      run_block(c, qb, l, x, n, L, o.micro_batch, nullptr);
      if (o.fp_inputs) run_block(c, fp, l, x_fp, n, L, o.micro_batch, nullptr);
    }
    m.set_block(l, std::move(qb));
    prog.step(1, (long long)n * L);
  }
  prog.finish();
  res.seconds = since(t0);
  return res;
}

}  // namespace lowbit
