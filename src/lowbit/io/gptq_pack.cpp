// lowbit/io/gptq_pack.cpp — packed GPTQ checkpoints: writer, loader, (un)packing. defines: see gptq_pack.hpp
//
// Layout (as AutoGPTQ's QuantLinear.pack / GPTQ-for-LLaMa quant.py, read by AutoGPTQ, GPTQModel,
// transformers/optimum, vLLM, exllama):
//   <prefix>.qweight  I32 [in·bits/32, out]  codes packed along the INPUT dimension. Column o is a
//                     little-endian bit stream: code q[o][i] occupies bits bits·i .. bits·i+bits−1
//                     (word = bit / 32 of that column). For 2/4/8 bits this is "word i/(32/bits)
//                     holds q << bits·(i mod 32/bits)"; for 3 bits it is exactly AutoGPTQ's
//                     cross-word scheme (32 codes in 3 words: codes 0..9 at bits 0..29 of word 0,
//                     code 10 split 2+1 bits over words 0/1, codes 11..20 at bits 1..30 of word 1,
//                     code 21 split 1+2 over words 1/2, codes 22..31 at bits 2..31 of word 2).
//   <prefix>.qzeros   I32 [groups, out·bits/32]  zero points packed the same way along OUTPUT.
//   <prefix>.scales   F16 [groups, out]
//   <prefix>.g_idx    I32 [in]  group of each input column (act-order permutes it).
//   <prefix>.bias     [out] when the linear has one.
// Dequantization (what the loaders' torch paths compute): w[o][i] = scales[g][o]·(q[o][i] − z[g][o]),
// g = g_idx[i]. lowbit computes it in f32, where scale·(q − z) is exact (an f16 scale times an
// integer of at most 8 bits has ≤ 19 significant bits), so the loaded weights equal the quantizer's
// w_hat bit for bit. (Loaders that compute in f16 round that product; that is their precision.)
//
// Decisions:
//   * Zero points. checkpoint_format "gptq" (v1, what most loaders expect) stores zero−1 and
//     loaders add 1 back; a zero of 0 would be stored as −1, which spills into the neighbouring
//     codes. So v1 is written when every zero is ≥ 1 (always true for sym), otherwise
//     checkpoint_format "gptq_v2" with zeros stored as is (GPTQModel's internal format). Both are
//     read back; quantize_config.json's "checkpoint_format" (or GPTQModel's "format") says which.
//   * Non-quantized tensors (embeddings, norms, lm_head, biases, linears left unquantized): GPTQ
//     checkpoints usually store them F16. A tensor is written F16 when every value is exactly an
//     f16 (always so for an unmodified f16 model), else F32 — so a model from an f32 source
//     (llama2.c, synthetic, f32 HF, or f16 weights rescaled by AWQ) keeps its values and the packed
//     checkpoint loads to exactly the logits of the f32 fake-quantized checkpoint.
//     config.json's torch_dtype is "float16" when everything non-quantized is F16, else "float32".
//   * One bits / group_size per checkpoint (quantize_config.json has one value); mixed settings are
//     refused. Linears left unquantized are written as plain .weight and listed as GPTQModel
//     "dynamic" negative matches ("-:<regex>"); AutoGPTQ/transformers expect every linear packed.
//   * desc_act is true when any linear's g_idx is not the contiguous i / group_size.
#include "lowbit/io/gptq_pack.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include "lowbit/core/dtype.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/hf.hpp"
#include "lowbit/io/safetensors.hpp"
#include "lowbit/model/model.hpp"

namespace lowbit {

using nlohmann::json;

namespace {

constexpr const char* kQuantizeConfig = "quantize_config.json";

// Code `v` (< 2^bits) at bit `bit` of the little-endian word stream whose word k is words[k·stride].
inline void put_bits(uint32_t* words, int64_t stride, int64_t bit, uint32_t v, int bits) {
  const int64_t k = bit >> 5;
  const int sh = int(bit & 31);
  words[k * stride] |= v << sh;
  if (sh + bits > 32) words[(k + 1) * stride] |= v >> (32 - sh);
}
inline uint32_t get_bits(const uint32_t* words, int64_t stride, int64_t bit, int bits) {
  const int64_t k = bit >> 5;
  const int sh = int(bit & 31);
  uint32_t v = words[k * stride] >> sh;
  if (sh + bits > 32) v |= words[(k + 1) * stride] << (32 - sh);
  return v & ((1u << bits) - 1u);
}

// Exactly representable in f16 (bitwise round trip)?
bool f16_exact(const Tensor& t) {
  for (float v : t.data) {
    const float r = f16_to_f32(f32_to_f16(v));
    if (std::memcmp(&r, &v, 4) != 0) return false;
  }
  return true;
}
DType storage_dtype(const Tensor& t) { return f16_exact(t) ? DType::F16 : DType::F32; }

std::string strip_weight(const std::string& hf) {
  const std::string suf = ".weight";
  LB_CHECK(hf.size() > suf.size() && hf.compare(hf.size() - suf.size(), suf.size(), suf) == 0, hf);
  return hf.substr(0, hf.size() - suf.size());
}

// [out, in] of linear `id` for config `c` ({0, 0} when the architecture has no such linear).
std::pair<int64_t, int64_t> linear_shape(const DecoderConfig& c, LinearId id) {
  const int64_t D = c.dim, H = c.hidden_dim, Q = c.q_dim(), KV = c.kv_dim();
  switch (id) {
    case LinearId::Q: return {Q, D};
    case LinearId::K: return {KV, D};
    case LinearId::V: return {KV, D};
    case LinearId::O: return {D, Q};
    case LinearId::Gate: return c.gated_mlp ? std::pair<int64_t, int64_t>{H, D} : std::pair<int64_t, int64_t>{0, 0};
    case LinearId::Up: return {H, D};
    case LinearId::Down: return {D, H};
  }
  return {0, 0};
}

// The packed-format constraints for one linear; `what` names it in the message.
void check_packable(const std::string& what, int64_t out, int64_t in, const QuantSpec& s) {
  LB_INPUT_CHECK(gptq_format_supports(s.bits), "GPTQ export: ", what, ": ", s.bits,
                 "-bit codes cannot be stored in the packed GPTQ format (2, 3, 4 or 8 bits)");
  s.validate(in, "GPTQ export: " + what);
  LB_INPUT_CHECK((in * s.bits) % 32 == 0, "GPTQ export: ", what, " has ", in, " input columns; ", in, " x ", s.bits,
                 " bits = ", in * s.bits,
                 " is not a multiple of 32, so its codes do not fill whole int32 words of qweight "
                 "(choose bits so that in*bits is a multiple of 32, or export the fake-quantized checkpoint)");
  LB_INPUT_CHECK((out * s.bits) % 32 == 0, "GPTQ export: ", what, " has ", out, " output rows; ", out, " x ", s.bits,
                 " bits = ", out * s.bits,
                 " is not a multiple of 32, so its zero points do not fill whole int32 words of qzeros "
                 "(choose bits so that out*bits is a multiple of 32, or export the fake-quantized checkpoint)");
}

// Rows of `r` reordered: row dst of the result is row perm[dst] of r.
QuantResult permute_quant_rows(const QuantResult& r, const std::vector<int64_t>& perm) {
  const int64_t out = r.w_hat.dim(0), in = r.w_hat.dim(1), ng = r.n_groups;
  QuantResult p = r;
  for (int64_t d = 0; d < out; ++d) {
    const int64_t s = perm[size_t(d)];
    std::copy(r.w_hat.row(s), r.w_hat.row(s) + in, p.w_hat.row(d));
    std::copy(r.scales.row(s), r.scales.row(s) + ng, p.scales.row(d));
    std::copy(r.zeros.begin() + s * ng, r.zeros.begin() + (s + 1) * ng, p.zeros.begin() + d * ng);
    std::copy(r.q.begin() + s * in, r.q.begin() + (s + 1) * in, p.q.begin() + d * in);
  }
  return p;
}

// The row permutation permute_rope_rows(·, heads, to_half=true) applies: perm[dst] = src.
std::vector<int64_t> rope_row_perm(int64_t rows, int heads) {
  Tensor idx({rows, 1});
  for (int64_t r = 0; r < rows; ++r) idx.data[size_t(r)] = float(r);
  Tensor p = permute_rope_rows(idx, heads, true);
  std::vector<int64_t> perm(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) perm[size_t(r)] = int64_t(p.data[size_t(r)]);
  return perm;
}

Tensor permute_vec(const Tensor& v, int heads) {
  if (v.empty()) return v;
  Tensor col({v.numel(), 1});
  col.data = v.data;
  Tensor out = v;
  out.data = permute_rope_rows(col, heads, true).data;
  return out;
}

// Bytes of a tensor of little-endian int32 values.
std::string i32_bytes(const std::vector<uint32_t>& v) {
  std::string b(v.size() * 4, '\0');
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// int32 contents of a stored tensor (mapped data may be unaligned).
std::vector<uint32_t> read_u32(const TensorRef& t) {
  std::vector<uint32_t> v(size_t(t.numel()));
  LB_CHECK(t.nbytes == v.size() * 4, t.name);
  if (!v.empty()) std::memcpy(v.data(), t.data, t.nbytes);
  return v;
}

std::string expect_str(const std::vector<int64_t>& s) { return shape_to_string(s); }

void check_tensor(const TensorRef& t, DType dtype, const std::vector<int64_t>& shape, const std::string& why) {
  LB_INPUT_CHECK(t.dtype == dtype, t.file, ": tensor '", t.name, "' has dtype ", dtype_name(t.dtype), ", expected ",
                 dtype_name(dtype), " (", why, ")");
  LB_INPUT_CHECK(t.shape == shape, t.file, ": tensor '", t.name, "' has shape ", t.shape_str(), ", expected ",
                 expect_str(shape), " (", why, ")");
}

// The settings a packed checkpoint's loader needs, from quantize_config.json or config.json.
struct PackedConfig {
  std::string file;  // where they came from (named in errors)
  int bits = 4;
  int group_size = -1;
  bool sym = true;
  bool desc_act = false;
  bool zero_minus_one = true;  // checkpoint_format "gptq" (v1)
};

// The quantization config object and the file it is in; nullopt-like (empty file) when absent.
std::pair<json, std::string> find_quant_config(const std::string& dir) {
  const std::string qc = dir + "/" + kQuantizeConfig;
  if (file_exists(qc)) {
    json j;
    try {
      j = json::parse(read_file(qc));
    } catch (const json::exception& e) {
      LB_FAIL_INPUT(qc, ": not valid JSON: ", e.what());
    }
    LB_INPUT_CHECK(j.is_object(), qc, ": must be a JSON object");
    return {j, qc};
  }
  const std::string cfg = dir + "/config.json";
  if (file_exists(cfg)) {
    json j;
    try {
      j = json::parse(read_file(cfg));
    } catch (const json::exception&) {
      return {json(), ""};
    }
    if (j.is_object() && j.contains("quantization_config") && !j["quantization_config"].is_null()) {
      LB_INPUT_CHECK(j["quantization_config"].is_object(), cfg, ": key 'quantization_config' must be an object");
      return {j["quantization_config"], cfg + " (quantization_config)"};
    }
  }
  return {json(), ""};
}

PackedConfig read_packed_config(const std::string& dir) {
  // Named copies, not a structured binding: clang 14 (the fuzz build) cannot capture bindings.
  const auto found = find_quant_config(dir);
  const json& j = found.first;
  const std::string& file = found.second;
  LB_INPUT_CHECK(!file.empty(), dir, ": no ", kQuantizeConfig, " and no 'quantization_config' in config.json");
  PackedConfig pc;
  pc.file = file;
  auto get_int = [&](const char* k) -> int {
    LB_INPUT_CHECK(j.contains(k) && !j[k].is_null(), file, ": missing key '", k, "'");
    LB_INPUT_CHECK(j[k].is_number_integer(), file, ": key '", k, "' must be an integer, got ", j[k].dump());
    const long long v = j[k].get<long long>();
    LB_INPUT_CHECK(v >= INT32_MIN && v <= INT32_MAX, file, ": key '", k, "' = ", v, " is out of range");
    return int(v);
  };
  auto get_bool = [&](const char* k, bool def) -> bool {
    if (!j.contains(k) || j[k].is_null()) return def;
    LB_INPUT_CHECK(j[k].is_boolean(), file, ": key '", k, "' must be true/false, got ", j[k].dump());
    return j[k].get<bool>();
  };
  auto get_str = [&](const char* k, const std::string& def) -> std::string {
    if (!j.contains(k) || j[k].is_null()) return def;
    LB_INPUT_CHECK(j[k].is_string(), file, ": key '", k, "' must be a string, got ", j[k].dump());
    return j[k].get<std::string>();
  };
  const std::string format = get_str("quant_method", "gptq");  // the HF quantization_config key
  LB_INPUT_CHECK(format == "gptq", file, ": key 'quant_method' = '", format,
                 "' is not supported (lowbit reads packed 'gptq' checkpoints only)");
  pc.bits = get_int("bits");
  LB_INPUT_CHECK(gptq_format_supports(pc.bits), file, ": key 'bits' = ", pc.bits,
                 " is not supported by the packed GPTQ format (2, 3, 4 or 8)");
  pc.group_size = get_int("group_size");
  LB_INPUT_CHECK(pc.group_size == -1 || pc.group_size > 0, file, ": key 'group_size' = ", pc.group_size,
                 " must be -1 (per-channel) or positive");
  pc.sym = get_bool("sym", true);
  pc.desc_act = get_bool("desc_act", false);
  // AutoGPTQ/transformers spell it checkpoint_format; newer GPTQModel also writes "format".
  const char* fkey = j.contains("checkpoint_format") ? "checkpoint_format" : "format";
  const std::string fmt = get_str(fkey, "gptq");
  if (fmt == "gptq") {
    pc.zero_minus_one = true;
  } else if (fmt == "gptq_v2") {
    pc.zero_minus_one = false;
  } else {
    LB_FAIL_INPUT(file, ": key '", fkey, "' = '", fmt, "' is not supported (gptq, gptq_v2)");
  }
  return pc;
}

// Find a stored tensor by HF name (some OPT exports drop the leading "model.").
const TensorRef* find_stored(const std::map<std::string, TensorRef>& stored, const std::string& hf) {
  if (auto it = stored.find(hf); it != stored.end()) return &it->second;
  if (hf.rfind("model.", 0) == 0)
    if (auto it = stored.find(hf.substr(6)); it != stored.end()) return &it->second;
  return nullptr;
}

// An F32 TensorRef that owns its buffer.
TensorRef owned_ref(Tensor t, const std::string& name, const std::string& file) {
  auto buf = std::make_shared<std::vector<float>>(std::move(t.data));
  TensorRef r;
  r.name = name;
  r.file = file;
  r.dtype = DType::F32;
  r.shape = t.shape;
  r.data = reinterpret_cast<const uint8_t*>(buf->data());
  r.nbytes = buf->size() * sizeof(float);
  r.owner = std::shared_ptr<const void>(buf, buf.get());
  return r;
}

bool contiguous_groups(const QuantResult& r, int64_t in) {
  const int64_t gs = r.spec.group_size(in);
  for (int64_t j = 0; j < in; ++j)
    if (r.g_idx[size_t(j)] != int32_t(j / gs)) return false;
  return true;
}

std::string regex_escape(const std::string& s) {
  std::string o;
  for (char ch : s) {
    if (std::strchr(".^$|()[]{}*+?\\", ch)) o.push_back('\\');
    o.push_back(ch);
  }
  return o;
}

// config.json keys exactly as write_hf_model writes them: it is called on a layer-less copy of
// the config in a scratch folder, and the layer count is put back.
json hf_config_json(const DecoderConfig& c, const std::string& dir) {
  Model shell;
  shell.cfg = c;
  shell.cfg.n_layers = 0;
  const std::string tmp = dir + "/.lowbit_config_tmp." + std::to_string(::getpid());
  write_hf_model(shell, tmp, DType::F32);
  json j = json::parse(read_file(tmp + "/config.json"));
  std::remove((tmp + "/config.json").c_str());
  std::remove((tmp + "/model.safetensors").c_str());
  ::rmdir(tmp.c_str());
  j["num_hidden_layers"] = c.n_layers;
  return j;
}

}  // namespace

bool gptq_format_supports(int bits) { return bits == 2 || bits == 3 || bits == 4 || bits == 8; }

void check_gptq_exportable(const DecoderConfig& c, const QuantSpec& s) {
  for (auto id : kLinearIds) {
    auto [out, in] = linear_shape(c, id);
    if (out == 0) continue;
    check_packable(std::string("linear '") + linear_name(id) + "' (every layer; out " + std::to_string(out) +
                       ", in " + std::to_string(in) + ")",
                   out, in, s);
  }
}

bool gptq_v1_representable(const QuantResult& r) {
  for (int32_t z : r.zeros)
    if (z < 1) return false;
  return true;
}

void pack_gptq_linear(SafetensorsWriter& w, const std::string& prefix, const QuantResult& r, const Tensor& bias,
                      bool zero_minus_one) {
  LB_CHECK(r.w_hat.shape.size() == 2, prefix);
  const int64_t out = r.w_hat.dim(0), in = r.w_hat.dim(1), ng = r.n_groups;
  const int bits = r.spec.bits;
  check_packable("'" + prefix + "'", out, in, r.spec);
  LB_CHECK(int64_t(r.q.size()) == out * in && int64_t(r.zeros.size()) == out * ng && int64_t(r.g_idx.size()) == in &&
               r.scales.shape == std::vector<int64_t>({out, ng}) && ng >= 1,
           prefix, ": inconsistent QuantResult");
  LB_CHECK(!zero_minus_one || gptq_v1_representable(r), prefix, ": a zero point of 0 needs checkpoint_format gptq_v2");
  const uint32_t maxq = uint32_t(r.spec.maxq());

  for (uint8_t v : r.q) LB_CHECK(v <= maxq, prefix, ": code ", int(v), " > maxq");
  std::vector<uint32_t> qweight(size_t(in * bits / 32 * out), 0u);
#pragma omp parallel for schedule(static) if (out * in >= (int64_t(1) << 18))
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) put_bits(qweight.data() + o, out, i * bits, r.q[size_t(o * in + i)], bits);

  const int64_t zcols = out * bits / 32;
  std::vector<uint32_t> qzeros(size_t(ng * zcols), 0u);
  Tensor scales({ng, out});
  for (int64_t g = 0; g < ng; ++g)
    for (int64_t o = 0; o < out; ++o) {
      const int32_t z = r.zeros[size_t(o * ng + g)];
      LB_CHECK(z >= 0 && uint32_t(z) <= maxq, prefix, ": zero ", z);
      put_bits(qzeros.data() + g * zcols, 1, o * bits, uint32_t(z - (zero_minus_one ? 1 : 0)), bits);
      const float s = r.scales.data[size_t(o * ng + g)];
      LB_CHECK(f16_to_f32(f32_to_f16(s)) == s, prefix, ": scale ", s, " is not exact in f16");
      scales.data[size_t(g * out + o)] = s;
    }
  std::vector<uint32_t> g_idx(static_cast<size_t>(in));
  for (int64_t i = 0; i < in; ++i) {
    LB_CHECK(r.g_idx[size_t(i)] >= 0 && r.g_idx[size_t(i)] < ng, prefix, ": g_idx");
    g_idx[size_t(i)] = uint32_t(r.g_idx[size_t(i)]);
  }
  w.add(prefix + ".qweight", DType::I32, {in * bits / 32, out}, i32_bytes(qweight));
  w.add(prefix + ".qzeros", DType::I32, {ng, zcols}, i32_bytes(qzeros));
  w.add_f32(prefix + ".scales", scales, DType::F16);
  w.add(prefix + ".g_idx", DType::I32, {in}, i32_bytes(g_idx));
  if (!bias.empty()) {
    LB_CHECK(bias.numel() == out, prefix, ": bias size");
    w.add_f32(prefix + ".bias", bias, storage_dtype(bias));
  }
}

Tensor unpack_gptq_linear(const TensorRef& qweight, const TensorRef& qzeros, const TensorRef& scales,
                          const TensorRef& g_idx, int bits, int64_t out, int64_t in, bool zero_minus_one) {
  LB_INPUT_CHECK(gptq_format_supports(bits), qweight.file, ": tensor '", qweight.name, "': ", bits,
                 "-bit packing is not supported (2, 3, 4 or 8)");
  const std::string why = std::to_string(bits) + " bits, in " + std::to_string(in) + ", out " + std::to_string(out);
  LB_INPUT_CHECK((in * bits) % 32 == 0, qweight.file, ": tensor '", qweight.name, "': in ", in, " x ", bits,
                 " bits is not a multiple of 32, so no packed layout exists");
  LB_INPUT_CHECK((out * bits) % 32 == 0, qzeros.file, ": tensor '", qzeros.name, "': out ", out, " x ", bits,
                 " bits is not a multiple of 32, so no packed layout exists");
  check_tensor(qweight, DType::I32, {in * bits / 32, out}, why);
  LB_INPUT_CHECK(scales.shape.size() == 2 && scales.shape[1] == out && scales.shape[0] >= 1, scales.file,
                 ": tensor '", scales.name, "' has shape ", scales.shape_str(), ", expected [groups, ", out, "]");
  LB_INPUT_CHECK(dtype_is_float(scales.dtype), scales.file, ": tensor '", scales.name, "' has dtype ",
                 dtype_name(scales.dtype), ", expected F16");
  const int64_t ng = scales.shape[0];
  const int64_t zcols = out * bits / 32;
  check_tensor(qzeros, DType::I32, {ng, zcols}, why + ", " + std::to_string(ng) + " groups");
  check_tensor(g_idx, DType::I32, {in}, why);

  const std::vector<uint32_t> qw = read_u32(qweight), qz = read_u32(qzeros), gi = read_u32(g_idx);
  const Tensor sc = scales.to_f32(true);  // [ng, out]; non-finite scales are refused naming the tensor
  for (int64_t i = 0; i < in; ++i)
    LB_INPUT_CHECK(int32_t(gi[size_t(i)]) >= 0 && int64_t(gi[size_t(i)]) < ng, g_idx.file, ": tensor '", g_idx.name,
                   "': entry ", i, " = ", int32_t(gi[size_t(i)]), " is not a group index in [0, ", ng, ")");
  // Zero points as loaders see them: v1 adds 1 to the stored (masked) value.
  std::vector<int32_t> z(static_cast<size_t>(ng * out));
  for (int64_t g = 0; g < ng; ++g)
    for (int64_t o = 0; o < out; ++o)
      z[size_t(g * out + o)] = int32_t(get_bits(qz.data() + g * zcols, 1, o * bits, bits)) + (zero_minus_one ? 1 : 0);
  Tensor w({out, in});
#pragma omp parallel for schedule(static) if (out * in >= (int64_t(1) << 18))
  for (int64_t o = 0; o < out; ++o) {
    float* wr = w.row(o);
    for (int64_t i = 0; i < in; ++i) {
      const int64_t g = int64_t(gi[size_t(i)]);
      const int32_t q = int32_t(get_bits(qw.data() + o, out, i * bits, bits));
      wr[i] = dequant_code(q, sc.data[size_t(g * out + o)], z[size_t(g * out + o)]);
    }
  }
  return w;
}

bool is_gptq_checkpoint(const std::string& dir) {
  if (file_exists(dir + "/" + kQuantizeConfig)) return true;
  const std::string cfg = dir + "/config.json";
  if (!file_exists(cfg)) return false;
  try {
    json j = json::parse(read_file(cfg));
    return j.is_object() && j.contains("quantization_config") && !j["quantization_config"].is_null();
  } catch (const json::exception&) {
    return false;
  }
}

void attach_gptq_linears(Model& m, const std::map<std::string, TensorRef>& stored, const std::string& dir) {
  const PackedConfig pc = read_packed_config(dir);
  const DecoderConfig& c = m.cfg;
  int attached = 0;
  for (int l = 0; l < c.n_layers; ++l) {
    for (auto id : kLinearIds) {
      auto [out, in] = linear_shape(c, id);
      if (out == 0) continue;
      const std::string canon = block_weight_name(l, std::string(linear_name(id)) + ".weight");
      const std::string hf = hf_tensor_name(c.arch, canon);
      if (hf.empty()) continue;
      const std::string prefix = strip_weight(hf);
      const TensorRef* qw = find_stored(stored, prefix + ".qweight");
      if (!qw) continue;
      auto need = [&](const char* part) -> const TensorRef& {
        const TensorRef* t = find_stored(stored, prefix + part);
        LB_INPUT_CHECK(t, qw->file, ": tensor '", prefix, part, "' is missing (tensor '", qw->name,
                       "' is packed and needs it)");
        return *t;
      };
      const TensorRef& qz = need(".qzeros");
      const TensorRef& sc = need(".scales");
      const int64_t gs = pc.group_size == -1 ? in : pc.group_size;
      const int64_t ng = (in + gs - 1) / gs;
      LB_INPUT_CHECK(sc.shape.size() == 2 && sc.shape[0] == ng, sc.file, ": tensor '", sc.name, "' has shape ",
                     sc.shape_str(), ", expected [", ng, ", ", out, "] (group_size ", pc.group_size, " in ", pc.file,
                     ", in ", in, ")");
      TensorRef gref;
      std::shared_ptr<std::vector<uint32_t>> gbuf;
      if (const TensorRef* g = find_stored(stored, prefix + ".g_idx")) {
        gref = *g;
      } else {  // old GPTQ-for-LLaMa exports have no g_idx: contiguous groups
        gbuf = std::make_shared<std::vector<uint32_t>>(size_t(in));
        for (int64_t i = 0; i < in; ++i) (*gbuf)[size_t(i)] = uint32_t(i / gs);
        gref.name = prefix + ".g_idx";
        gref.file = qw->file;
        gref.dtype = DType::I32;
        gref.shape = {in};
        gref.data = reinterpret_cast<const uint8_t*>(gbuf->data());
        gref.nbytes = gbuf->size() * 4;
      }
      Tensor w = unpack_gptq_linear(*qw, qz, sc, gref, pc.bits, out, in, pc.zero_minus_one);
      m.source[canon] = owned_ref(std::move(w), qw->name, qw->file);
      ++attached;
    }
  }
  LB_INPUT_CHECK(attached > 0, pc.file, ": declares a packed GPTQ checkpoint but ", dir,
                 " has no '<linear>.qweight' tensor for any linear of the model");
}

void write_gptq_checkpoint(const Model& m, const std::vector<BlockQuant>& q, const std::string& dir,
                           const GptqExportInfo& info) {
  const DecoderConfig& c = m.cfg;
  // ---- validate everything before any work ----
  LB_INPUT_CHECK(int(q.size()) == c.n_layers, "GPTQ export: ", q.size(), " blocks of quantization results for a model of ",
                 c.n_layers, " layers");
  const QuantResult* first = nullptr;
  std::string first_name;
  bool sym = true, desc_act = false, v1 = true;
  std::vector<std::string> skipped;  // HF prefixes of linears left unquantized
  std::array<bool, kLinearIds.size()> ragged{};  // quantized linears whose input the group does not divide
  for (int l = 0; l < c.n_layers; ++l) {
    for (auto id : kLinearIds) {
      auto [out, in] = linear_shape(c, id);
      if (out == 0) continue;
      const std::string name = block_weight_name(l, linear_name(id));
      const QuantResult& r = q[size_t(l)][size_t(id)];
      if (r.w_hat.empty()) {
        skipped.push_back(strip_weight(hf_tensor_name(c.arch, name + ".weight")));
        continue;
      }
      LB_INPUT_CHECK(r.w_hat.shape == std::vector<int64_t>({out, in}), "GPTQ export: ", name,
                     ": quantized weight has shape ", r.w_hat.shape_str(), " but the model needs [", out, ", ", in,
                     "]");
      check_packable("linear '" + name + "' (out " + std::to_string(out) + ", in " + std::to_string(in) + ")", out,
                     in, r.spec);
      if (!first) {
        first = &r;
        first_name = name;
      } else {
        LB_INPUT_CHECK(r.spec.bits == first->spec.bits && r.spec.group == first->spec.group, "GPTQ export: ", name,
                       " is quantized ", r.spec.str(), " but ", first_name, " is ", first->spec.str(),
                       "; a packed checkpoint holds one bits/group_size (quantize_config.json)");
      }
      sym = sym && r.spec.sym;
      ragged[size_t(id)] = ragged[size_t(id)] || (!r.spec.per_channel() && in % r.spec.group != 0);
      desc_act = desc_act || !contiguous_groups(r, in);
      v1 = v1 && gptq_v1_representable(r);
    }
  }
  LB_INPUT_CHECK(first, "GPTQ export: no linear of the model is quantized; nothing to pack");
  const QuantSpec spec = first->spec;
  std::string ragged_list;  // every layer has the same shapes: one entry per linear
  for (auto id : kLinearIds) {
    if (!ragged[size_t(id)]) continue;
    const int64_t in = linear_shape(c, id).second;
    ragged_list += cat(ragged_list.empty() ? "" : ", ", linear_name(id), " (in ", in, ": last group ",
                       spec.group_columns(spec.n_groups(in) - 1, in), " columns)");
  }
  if (!ragged_list.empty())  // a consumer that needs in % group_size == 0 would refuse these: say so, do not refuse
    log_warn("GPTQ export: group_size ", spec.group, " does not divide ", ragged_list,
             "; AutoGPTQ, GPTQModel and transformers load the ragged last group (g_idx = column // group_size), "
             "vLLM's GPTQ and Marlin kernels need in % group_size == 0 and refuse these layers");

  ::mkdir(dir.c_str(), 0755);
  LB_INPUT_CHECK(is_directory(dir), dir, ": cannot create output folder");

  // ---- tensors ----
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  w.set_metadata("producer", "lowbit " LOWBIT_VERSION);
  bool all_f16 = true;
  // resident: a tensor of the Model itself (not a block, which may be evicted), alive until w.write.
  auto add_plain = [&](const std::string& canon, const Tensor& t, bool resident = false) {
    if (t.empty()) return;
    const std::string hf = hf_tensor_name(c.arch, canon);
    LB_CHECK(!hf.empty(), "no HF name for ", canon);
    const bool shifted = hf_norm_shift(c.arch, canon) != 0.f;  // Gemma's norms as HF holds them
    const Tensor shifted_copy = shifted ? hf_stored_norm(c.arch, canon, t) : Tensor();
    const Tensor& stored = shifted ? shifted_copy : t;
    const DType dt = storage_dtype(stored);
    all_f16 = all_f16 && dt == DType::F16;
    if (resident && !shifted && dt == DType::F32)  // no copy of a 262K-row embedding
      w.add_view(hf, DType::F32, stored.shape, stored.ptr(), size_t(stored.numel()) * 4);
    else
      w.add_f32(hf, stored, dt);
  };
  add_plain(kTokEmbed, m.tok_embed, true);
  add_plain(kPosEmbed, m.pos_embed, true);
  add_plain(kFinalNormW, m.final_norm_w);
  add_plain(kFinalNormB, m.final_norm_b);
  if (!c.tie_embeddings) add_plain(kLmHead, m.lm_head, true);
  const bool permute = c.rope == RopeStyle::Interleaved;
  for (int l = 0; l < c.n_layers; ++l) {
    const bool was_cached = m.has_block(l);
    const BlockWeights& b = m.block(l);
    for (const auto& [suffix, t] : b.norm_tensors()) add_plain(block_weight_name(l, suffix), *t);
    for (auto id : kLinearIds) {
      if (linear_shape(c, id).first == 0) continue;
      const Linear& lin = b.linear(id);
      const std::string base = block_weight_name(l, linear_name(id));
      const QuantResult& r = q[size_t(l)][size_t(id)];
      const bool rope_rows = permute && (id == LinearId::Q || id == LinearId::K);
      const int heads = id == LinearId::Q ? c.n_heads : c.n_kv_heads;
      Tensor bias = rope_rows ? permute_vec(lin.b, heads) : lin.b;
      if (r.w_hat.empty()) {
        add_plain(base + ".weight", rope_rows ? permute_rope_rows(lin.w, heads, true) : lin.w);
        add_plain(base + ".bias", bias);
        continue;
      }
      const std::string prefix = strip_weight(hf_tensor_name(c.arch, base + ".weight"));
      if (!bias.empty()) all_f16 = all_f16 && storage_dtype(bias) == DType::F16;
      if (rope_rows)
        pack_gptq_linear(w, prefix, permute_quant_rows(r, rope_row_perm(r.w_hat.dim(0), heads)), bias, v1);
      else
        pack_gptq_linear(w, prefix, r, bias, v1);
    }
    if (!was_cached) m.release_block(l);
  }

  // ---- quantize_config.json and config.json ----
  json qc = {{"bits", spec.bits},
             {"group_size", spec.per_channel() ? QuantSpec::kPerChannelSpelling : spec.group},  // GPTQ spells -1
             {"desc_act", desc_act},
             {"static_groups", info.static_groups},
             {"sym", sym},
             {"lm_head", false},
             {"true_sequential", info.true_sequential},
             {"damp_percent", info.damp_percent},
             {"quant_method", "gptq"},
             {"checkpoint_format", v1 ? "gptq" : "gptq_v2"},
             {"model_file_base_name", "model"},
             {"lowbit_method", info.method},
             {"lowbit_version", LOWBIT_VERSION}};
  if (!skipped.empty()) {
    json dyn = json::object();
    for (const auto& p : skipped) dyn["-:^" + regex_escape(p) + "$"] = json::object();
    qc["dynamic"] = dyn;
  }
  json cfg = hf_config_json(c, dir);
  cfg["torch_dtype"] = all_f16 ? "float16" : "float32";
  cfg["quantization_config"] = qc;
  // Weights first, config last: a folder with a config.json is a complete checkpoint.
  w.write(dir + "/model.safetensors");
  write_file_atomic(dir + "/" + kQuantizeConfig, qc.dump(2) + "\n");
  write_file_atomic(dir + "/config.json", cfg.dump(2) + "\n");
}

}  // namespace lowbit
