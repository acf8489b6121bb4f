// lowbit/compress/driver.cpp — layer-wise compression driver. defines: see driver.hpp
#include "lowbit/compress/driver.hpp"

#include <atomic>
#include <chrono>
#include <optional>

#include "lowbit/compress/methods.hpp"
#include "lowbit/compress/stats.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/dist/comm.hpp"
#include "lowbit/dist/tree_reduce.hpp"
#include "lowbit/io/block_spill.hpp"
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

double output_norm_sq(const Tensor& w, const std::vector<double>& H) {
  Tensor zero(w.shape);
  return output_error(w, zero, H);
}

}  // namespace

void run_block_batched(const DecoderConfig& c, const BlockWeights& w, int layer, Tensor& x, int n, int L, int mb,
                       const ForwardHooks* hooks, bool update) {
  const int64_t D = c.dim;
  Tensor chunk;
  for (int s = 0; s < n; s += mb) {
    const int B = std::min(mb, n - s);
    chunk.resize({int64_t(B) * L, D});
    std::copy(x.row(int64_t(s) * L), x.row(int64_t(s) * L) + int64_t(B) * L * D, chunk.ptr());
    block_forward(c, w, layer, chunk, B, L, 0, hooks);
    if (update) std::copy(chunk.data.begin(), chunk.data.end(), x.row(int64_t(s) * L));
  }
}

std::optional<OptionProblem> check_compress_options(const Model& m, const CompressOptions& o) {
  const MethodRow* row = find_method(o.method);
  if (!row || !row->compresses())
    return OptionProblem{"method", "", cat("'", o.method, "' is not a compression method (", method_names_compress(), ")")};
  const auto& c = m.cfg;
  for (auto id : kLinearIds) {
    if (!block_has(c, id)) continue;
    const int64_t in = (id == LinearId::O) ? c.q_dim() : (id == LinearId::Down ? c.hidden_dim : c.dim);
    if (auto p = row->check(o, in)) {
      p->linear = linear_name(id);
      return p;
    }
  }
  auto problem = [](const char* field, std::string what) { return OptionProblem{field, "", std::move(what)}; };
  if (!(o.sparsegpt.percdamp > 0 && o.sparsegpt.percdamp < 1))
    return problem("damp", cat("SparseGPT damping ", o.sparsegpt.percdamp, " must be in (0, 1)"));
  if (o.sparsegpt.blocksize < 1) return problem("blocksize", cat("SparseGPT block size ", o.sparsegpt.blocksize, " must be positive"));
  if (!(o.gptq.percdamp > 0 && o.gptq.percdamp < 1))
    return problem("damp", cat("GPTQ damping ", o.gptq.percdamp, " must be in (0, 1)"));
  if (o.gptq.blocksize < 1) return problem("blocksize", cat("GPTQ block size ", o.gptq.blocksize, " must be positive"));
  if (o.awq.grid < 1) return problem("grid", cat("AWQ grid ", o.awq.grid, " must be positive"));
  if (o.micro_batch < 1) return problem("micro_batch", cat("micro batch ", o.micro_batch, " must be positive"));
  return std::nullopt;
}

void validate_compress_options(const Model& m, const CompressOptions& o, const FieldNamer& name) {
  const auto p = check_compress_options(m, o);
  if (!p) return;
  LB_FAIL_INPUT(name ? name(p->field) : p->field, p->linear.empty() ? "" : " for " + p->linear, ": ", p->what);
}

namespace {

using StatsSet = std::vector<LinearStats>;  // indexed by LinearId; only input owners are initialised

void merge_sets(StatsSet& a, const StatsSet& b) {
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].in) a[i].merge(b[i]);
}
void pack_sets(const StatsSet& s, dist::ByteWriter& w) {
  for (const auto& st : s) {
    w.put<int64_t>(st.in);
    if (!st.in) continue;
    w.put<int64_t>(st.rows);
    w.put<uint8_t>(st.with_hessian);
    w.put_vec(st.xtx);
    w.put_vec(st.sum_abs);
    w.put_vec(st.max_abs);
    w.put_vec(st.sum);
  }
}
StatsSet unpack_sets(dist::ByteReader& r) {
  StatsSet s(kLinearIds.size());
  for (auto& st : s) {
    st.in = r.get<int64_t>();
    if (!st.in) continue;
    st.rows = r.get<int64_t>();
    st.with_hessian = r.get<uint8_t>() != 0;
    st.xtx = r.get_vec<double>();
    st.sum_abs = r.get_vec<double>();
    st.max_abs = r.get_vec<double>();
    st.sum = r.get_vec<double>();
  }
  return s;
}

void put_tensor(dist::ByteWriter& w, const Tensor& t) {
  w.put_vec(t.shape);
  w.put_vec(t.data);
}
Tensor get_tensor(dist::ByteReader& r) {
  Tensor t;
  t.shape = r.get_vec<int64_t>();
  t.data = r.get_vec<float>();
  return t;
}

void pack_outcome(const LinearOutcome& o, dist::ByteWriter& w) {
  put_tensor(w, o.w_hat);
  put_tensor(w, o.q.scales);
  w.put_vec(o.q.zeros);
  w.put_vec(o.q.q);
  w.put_vec(o.q.g_idx);
  w.put<int64_t>(o.q.n_groups);
  w.put<uint8_t>(o.haar.has_value());
  if (o.haar) {
    put_tensor(w, o.haar->coeffs);
    w.put<int32_t>(o.haar->levels);
  }
  const LayerRecord& r = o.rec;
  w.put<double>(r.out_error);
  w.put<double>(r.rtn_error);
  w.put<double>(r.rel_error);
  w.put<double>(r.seconds);
  w.put<int32_t>(r.damp_raises);
  w.put<int32_t>(r.dead_columns);
  w.put<int64_t>(r.pruned);
  w.put<int64_t>(r.total);
  w.put<uint64_t>(r.subbands.size());
  for (const auto& sb : r.subbands) {
    w.put_str(sb.name);
    w.put<int64_t>(sb.rows);
    w.put<int64_t>(sb.cols);
    w.put<int64_t>(sb.total);
    w.put<int64_t>(sb.pruned);
    w.put<double>(sb.energy);
    w.put<double>(sb.energy_kept);
  }
}
void unpack_outcome(dist::ByteReader& rd, LinearOutcome& o) {
  o.w_hat = get_tensor(rd);
  o.q.w_hat = Tensor();
  o.q.scales = get_tensor(rd);
  o.q.zeros = rd.get_vec<int32_t>();
  o.q.q = rd.get_vec<uint8_t>();
  o.q.g_idx = rd.get_vec<int32_t>();
  o.q.n_groups = rd.get<int64_t>();
  if (rd.get<uint8_t>()) {
    HaarLayer h;
    h.coeffs = get_tensor(rd);
    h.levels = rd.get<int32_t>();
    o.haar = std::move(h);
  }
  LayerRecord& r = o.rec;
  r.out_error = rd.get<double>();
  r.rtn_error = rd.get<double>();
  r.rel_error = rd.get<double>();
  r.seconds = rd.get<double>();
  r.damp_raises = rd.get<int32_t>();
  r.dead_columns = rd.get<int32_t>();
  r.pruned = rd.get<int64_t>();
  r.total = rd.get<int64_t>();
  r.subbands.resize(size_t(rd.get<uint64_t>()));
  for (auto& sb : r.subbands) {
    sb.name = rd.get_str();
    sb.rows = rd.get<int64_t>();
    sb.cols = rd.get<int64_t>();
    sb.total = rd.get<int64_t>();
    sb.pruned = rd.get<int64_t>();
    sb.energy = rd.get<double>();
    sb.energy_kept = rd.get<double>();
  }
}

int tree_levels(int leaves) {
  int l = 1;
  while ((1 << (l - 1)) < leaves) ++l;
  return l;
}

}  // namespace

long long compress_memory_model(const Model& m, int n_local, int seqlen, const CompressOptions& o, int levels) {
  const DecoderConfig& c = m.cfg;
  const long long D = c.dim, F = c.hidden_dim, L = seqlen;
  const long long block = (long long)m.load_block(0).bytes();
  const long long acts = (long long)n_local * L * D * 4 * (o.fp_inputs ? 2 : 1);
  // One micro-batch in flight: its residual copy plus the widest intermediates of block_forward
  // (q,k,v,attention output, gate/up/hidden) — bounded by (4·D + 3·F)·tokens floats.
  const long long mb = std::min<long long>(o.micro_batch, std::max(n_local, 1)) * L;
  const long long work = mb * (5 * D + 3 * F) * 4 + mb * c.n_heads * L * 4;
  // Statistics: Σxᵀx (double) of each distinct linear input — attention (D), o (q_dim), MLP (D),
  // down (F) — per tree level held by the recursion.
  const long long qd = c.q_dim();
  const long long stats = (D * D + qd * qd + D * D + F * F) * 8;
  return 2 * block + acts + work + stats * levels;
}

namespace {
std::atomic<long long> g_compress_calls{0};
}
long long compress_model_calls() { return g_compress_calls.load(); }

namespace {

// What every step of one compress_model call reads: the config, the options, the method's row, the
// ranks and this rank's share of the calibration set.
struct DriverCtx {
  const DecoderConfig& c;
  const CompressOptions& o;
  const MethodRow& row;
  dist::Comm& comm;
  int n = 0, L = 0;       // calibration samples and their length (0, 0: no calibration)
  int mb = 0, leaves = 0;  // samples per leaf (micro-batch) and the number of leaves
  int s0 = 0, nl = 0;      // this rank's samples: [s0, s0 + nl)
  bool need_h = false;     // Σxᵀx: for GPTQ/AWQ/SparseGPT, and to record ‖WX−ŴX‖² with calibration
};

// Data parallel: the calibration set is cut into leaves of micro_batch samples (the unit of every
// forward and of the statistics tree); this rank owns leaves [la, lb) = samples [s0, s1).
void set_local_shard(DriverCtx& d) {
  d.mb = d.o.micro_batch;
  d.leaves = (d.n + d.mb - 1) / d.mb;
  const auto [la, lb] = dist::leaf_range(d.leaves, d.comm.size(), d.comm.rank());
  const int s1 = std::min(d.n, lb * d.mb);
  d.s0 = std::min(d.n, la * d.mb);
  d.nl = s1 - d.s0;
}

// Block 0's inputs for this rank's samples: [nl·L, D] (empty without calibration).
Tensor embed_local_shard(const Model& m, const CalibSet& calib, const DriverCtx& d) {
  std::vector<int> flat;
  for (int i = d.s0; i < d.s0 + d.nl; ++i)
    flat.insert(flat.end(), calib.samples[size_t(i)].begin(), calib.samples[size_t(i)].end());
  Tensor x;
  if (d.nl > 0) embed_tokens(m, flat.data(), d.nl, d.L, 0, x);
  return x;
}

// Empty statistics for every distinct linear input of block `w`.
StatsSet empty_stats(const DriverCtx& d, const BlockWeights& w) {
  StatsSet set(kLinearIds.size());
  for (auto id : kLinearIds)
    if (input_owner(id) == id && block_has(d.c, id)) set[size_t(id)].init(w.linear(id).in(), d.need_h);
  return set;
}

// Statistics of every linear input of block `w` over all calibration samples: leaf k runs the
// block on micro-batch k of `src` (a copy; `src` is not modified) and accumulates; the leaves are
// summed along the canonical tree across the ranks.
StatsSet block_stats(const DriverCtx& d, const BlockWeights& w, int l, const Tensor& src) {
  const int L = d.L;
  auto leaf = [&](int k) {
    StatsSet set = empty_stats(d, w);
    const int a = k * d.mb - d.s0, B = std::min(d.mb, d.n - k * d.mb);
    Tensor chunk({int64_t(B) * L, d.c.dim});
    std::copy(src.row(int64_t(a) * L), src.row(int64_t(a) * L) + chunk.numel(), chunk.ptr());
    ForwardHooks hooks;
    hooks.linear_input = [&](int, LinearId id, const Tensor& xin) {
      if (input_owner(id) == id) set[size_t(id)].add(xin);
    };
    block_forward(d.c, w, l, chunk, B, L, 0, &hooks);
    return set;
  };
  return dist::tree_reduce<StatsSet>(d.comm, d.leaves, leaf, merge_sets, pack_sets, unpack_sets, empty_stats(d, w));
}

// Per LinearId, the statistics of its input (Q/K/V share one, Gate/Up share one).
std::vector<const LinearStats*> stats_per_linear(const StatsSet& s) {
  std::vector<const LinearStats*> st(kLinearIds.size());
  for (auto id : kLinearIds) st[size_t(id)] = &s[size_t(input_owner(id))];
  return st;
}

// ‖WX − ŴX‖² of linear `lin` on its calibration inputs, in the coordinates it computes in (AWQ:
// scaled weights on scaled inputs `qst`, which is the same product WX), next to plain RTN of the
// original weights `orig` on the original inputs `st` (quantization only).
void record_errors(const DriverCtx& d, const Linear& lin, const Linear& orig, const LinearStats& st,
                   const LinearStats& qst, LinearOutcome& oc) {
  LayerRecord& rec = oc.rec;
  const auto& H = qst.xtx;
  rec.out_error = output_error(lin.w, oc.w_hat, H);
  if (d.row.quant()) rec.rtn_error = output_error(orig.w, quantize_rtn(orig.w, d.o.spec).w_hat, st.xtx);
  const double ref = output_norm_sq(lin.w, H);
  rec.rel_error = ref > 0 ? rec.out_error / ref : 0;
}

// The linears the block has, in LinearId order.
std::vector<LinearId> block_linears(const DecoderConfig& c) {
  std::vector<LinearId> ids;
  for (auto id : kLinearIds)
    if (block_has(c, id)) ids.push_back(id);
  return ids;
}

// Work split: linear i of the block (`qb`: AWQ's scaled weights) is solved by rank i % R; the
// other ranks' outcomes stay empty here until exchange_outcomes.
std::vector<LinearOutcome> solve_linears(const DriverCtx& d, const BlockWeights& fp, const BlockWeights& qb,
                                         const std::vector<LinearId>& ids, const std::vector<const LinearStats*>& st,
                                         const std::vector<const LinearStats*>& qst) {
  const int R = d.comm.size(), me = d.comm.rank();
  std::vector<LinearOutcome> out(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (int(i % size_t(R)) != me) continue;
    const LinearId id = ids[i];
    const auto tl = Clock::now();
    const Linear& lin = qb.linear(id);
    LinearOutcome& oc = out[i];
    d.row.run(LinearJob{lin.w, *st[size_t(id)], d.o}, oc);  // AWQ: the scaled weights
    oc.rec.seconds = since(tl);
    if (d.need_h) record_errors(d, lin, fp.linear(id), *st[size_t(id)], *qst[size_t(id)], oc);
  }
  return out;
}

// Every rank ends with every outcome: each packs those it solved, all-gathers, unpacks the others'.
void exchange_outcomes(dist::Comm& comm, std::vector<LinearOutcome>& out) {
  const int R = comm.size(), me = comm.rank();
  if (R <= 1) return;
  dist::ByteWriter w;
  for (size_t i = 0; i < out.size(); ++i)
    if (int(i % size_t(R)) == me) pack_outcome(out[i], w);
  const auto all = comm.allgather(w.buf);
  for (int r = 0; r < R; ++r) {
    if (r == me) continue;
    dist::ByteReader rd(all[size_t(r)]);
    for (size_t i = size_t(r); i < out.size(); i += size_t(R)) unpack_outcome(rd, out[i]);
  }
}

// Each outcome into the result (its record; codes and Haar coefficients when kept for exports) and
// its weights into the compressed block `qb`.
void collect_outcomes(const DriverCtx& d, int l, const std::vector<LinearId>& ids, std::vector<LinearOutcome>& out,
                      BlockWeights& qb, CompressResult& res) {
  for (size_t i = 0; i < ids.size(); ++i) {
    const LinearId id = ids[i];
    LinearOutcome& oc = out[i];
    oc.rec.layer = l;
    oc.rec.linear = linear_name(id);
    oc.rec.out = qb.linear(id).out();
    oc.rec.in = qb.linear(id).in();
    if (d.row.quant() && d.o.keep_results) {
      oc.q.spec = d.o.spec;
      oc.q.w_hat = oc.w_hat;  // exports read the dequantized weights from the result
      res.quant[size_t(l)][size_t(id)] = std::move(oc.q);
    }
    if (oc.haar && d.o.keep_results) res.haar[block_weight_name(l, linear_name(id))] = std::move(*oc.haar);
    qb.linear(id).w = std::move(oc.w_hat);
    res.records.push_back(std::move(oc.rec));
  }
}

// Block l: statistics of its inputs (x, or x_fp with fp_inputs), the method on every linear, the
// compressed block installed (and spilled) and this rank's inputs propagated through it.
void compress_block(const DriverCtx& d, Model& m, int l, Tensor& x, Tensor& x_fp, CompressResult& res) {
  BlockWeights fp = m.load_block(l);
  m.drop_source_pages(l);  // streaming: the f32 copy is all this block needs from the mapping
  // 1. Statistics of every linear's input, on this block's calibration inputs (all ranks).
  const StatsSet stats = block_stats(d, fp, l, d.o.fp_inputs ? x_fp : x);
  const std::vector<const LinearStats*> st = stats_per_linear(stats);
  // 2. Method-specific transform, then compress every linear.
  BlockWeights qb = fp;
  StatsSet scaled_stats;  // AWQ: statistics of the scaled layers' inputs
  std::vector<const LinearStats*> qst = st;
  if (d.row.scales_block) {
    // The scale search reads only the (identical) statistics: every rank runs it.
    res.awq.push_back(awq_scale_block(d.c, qb, st, d.o.spec, d.o.awq));
    // The folded scales change each linear's input (x/s); measure errors in those coordinates.
    scaled_stats = block_stats(d, qb, l, d.o.fp_inputs ? x_fp : x);
    qst = stats_per_linear(scaled_stats);
  }
  const std::vector<LinearId> ids = block_linears(d.c);
  std::vector<LinearOutcome> out = solve_linears(d, fp, qb, ids, st, qst);
  exchange_outcomes(d.comm, out);
  collect_outcomes(d, l, ids, out, qb, res);
  // 3. Install the compressed block and propagate this rank's calibration inputs through it.
  if (d.nl > 0) {
    run_block_batched(d.c, qb, l, x, d.nl, d.L, d.mb, nullptr);
    if (d.o.fp_inputs) run_block_batched(d.c, fp, l, x_fp, d.nl, d.L, d.mb, nullptr);
  }
  m.set_block(l, std::move(qb));
  if (!d.o.spill_dir.empty()) spill_block(m, l, cat(d.o.spill_dir, "/block-", l, ".safetensors"));
}

}  // namespace

CompressResult compress_model(Model& m, const CalibSet& calib, const CompressOptions& o) {
  validate_compress_options(m, o);
  ++g_compress_calls;
  const DecoderConfig& c = m.cfg;
  const int n = int(calib.samples.size()), L = n ? calib.spec.seqlen : 0;
  const MethodRow& row = method_row(o.method);
  LB_INPUT_CHECK(n > 0 || !row.needs_calibration, "method ", o.method, " needs calibration data (--calib)");
  LB_INPUT_CHECK(n == 0 || !c.learned_pos || L <= c.max_seq_len, "calibration seqlen ", L, " exceeds the model's ",
                 c.max_seq_len, " learned positions");
  auto serial = dist::make_serial();
  DriverCtx d{c, o, row, o.comm ? *o.comm : *serial};
  d.n = n;
  d.L = L;
  d.need_h = n > 0 && (row.needs_hessian || o.record_errors);
  set_local_shard(d);
  const auto t0 = Clock::now();
  CompressResult res;
  res.calib_tokens = calib.tokens();
  res.quant.resize(size_t(c.n_layers));
  res.local_samples = d.nl;
  Tensor x = embed_local_shard(m, calib, d), x_fp;
  if (o.fp_inputs) x_fp = x;
  res.peak_model_bytes = compress_memory_model(m, d.nl, L, o, tree_levels(std::max(d.leaves, 1)));
  Progress prog(o.method + " " + (row.quant() ? o.spec.str() : o.prune.str()), c.n_layers, "blocks");
  for (int l = 0; l < c.n_layers; ++l) {
    compress_block(d, m, l, x, x_fp, res);
    prog.step(1, (long long)d.nl * L);
  }
  prog.finish();
  res.seconds = since(t0);
  return res;
}

}  // namespace lowbit
