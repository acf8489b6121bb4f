#!/usr/bin/python3
"""Independent numpy float64 reference forward for Hugging Face LLaMA / Qwen2 / Gemma 3 / OPT
checkpoints and for llama.cpp GGUF files (llama, gemma3).

Written from the Hugging Face modeling code's semantics (modeling_llama.py, modeling_qwen2.py,
modeling_gemma3.py, modeling_opt.py), not from lowbit's C++: safetensors parsed by hand, half-split
RoPE via rotate_half, OPT learned positions with offset 2, pre-LN blocks; Gemma 3 with x̂·(1 + w)
norms, sandwich and q/k norms, GeGLU (tanh GELU), embeddings times sqrt(hidden) cast to the weights'
dtype, sliding-window layers (layer_types / sliding_window_pattern) with rope_local_base_freq and
query_pre_attn_scalar.

A GGUF file is read with gguf-py (llama.cpp's own Python package; run this with the venv python
that .ci/models makes), every tensor dequantised by gguf.quants.dequantize, and turned into the HF
layout by inverting what llama.cpp's converter (convert_hf_to_gguf.py) did: LLaMA q/k rows are
un-permuted (LlamaModel.permute) so the HF half-split RoPE applies, Gemma 3 norms get the 1 the
converter added (Gemma3Model.norm_shift) taken off again, and the config comes from the metadata.
The one llama.cpp convention kept instead of HF's: Gemma's embedding scale is sqrtf(hidden) in f32
(llama.cpp's ggml_scale), where HF casts it to the checkpoint dtype.

usage: ref_forward.py MODEL TOKENS_FILE OUT_FILE [--positions P,P,...] [--hidden HIDDEN_FILE] [--nll]
  MODEL:       an HF folder (config.json + safetensors) or a .gguf file
  TOKENS_FILE: whitespace-separated token ids, one sequence per line (all the same length, except
               with --nll)
  OUT_FILE:    float64 little-endian logits [B, T, V], or [B, len(P), V] at the --positions;
               with --nll the negative log-likelihood of tokens 1..n-1 of each line given the ones
               before (log-softmax in float64), all lines concatenated
  HIDDEN_FILE: float64 final-normed hidden states [B, T, D]
"""
import json
import os
import struct
import sys

import numpy as np


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, en = e["data_offsets"]
        raw = data[base + b: base + en]
        dt = e["dtype"]
        if dt == "F32":
            a = np.frombuffer(raw, dtype="<f4").astype(np.float64)
        elif dt == "F16":
            a = np.frombuffer(raw, dtype="<f2").astype(np.float64)
        elif dt == "BF16":
            u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            a = u.view(np.float32).astype(np.float64)
        else:
            raise SystemExit(f"unsupported dtype {dt}")
        out[name] = a.reshape(e["shape"])
    return out


def load_weights(d):
    idx = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx) as f:
            wm = json.load(f)["weight_map"]
        out = {}
        for shard in sorted(set(wm.values())):
            out.update(load_safetensors(os.path.join(d, shard)))
        return out
    return load_safetensors(os.path.join(d, "model.safetensors"))


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def layer_norm(x, w, b, eps):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def rotate_half(x):
    h = x.shape[-1] // 2
    return np.concatenate([-x[..., h:], x[..., :h]], axis=-1)


def act(name, x):
    if name in ("silu", "swish"):
        return x / (1 + np.exp(-x))
    if name == "relu":
        return np.maximum(x, 0)
    if name == "gelu":
        from math import erf
        return 0.5 * x * (1 + np.vectorize(erf)(x / np.sqrt(2)))
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    raise SystemExit(f"unsupported activation {name}")


def attention(q, k, v, n_heads, n_kv):
    # q [T, H, hd], k/v [T, KV, hd]
    T, H, hd = q.shape
    rep = n_heads // n_kv
    k = np.repeat(k, rep, axis=1)
    v = np.repeat(v, rep, axis=1)
    s = (q.transpose(1, 0, 2) @ k.transpose(1, 2, 0)) / np.sqrt(hd)
    mask = np.triu(np.ones((T, T), dtype=bool), 1)
    s[:, mask] = -np.inf
    s = s - s.max(axis=-1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(axis=-1, keepdims=True)
    return (p @ v.transpose(1, 0, 2)).transpose(1, 0, 2).reshape(T, H * hd)


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def rope_tables(T, hd, theta):
    inv = 1.0 / theta ** (np.arange(0, hd, 2, dtype=np.float64) / hd)
    ang = np.outer(np.arange(T, dtype=np.float64), inv)
    cos = np.concatenate([np.cos(ang)] * 2, axis=-1)[:, None, :]
    sin = np.concatenate([np.sin(ang)] * 2, axis=-1)[:, None, :]
    return cos, sin


def gemma_attention(q, k, v, n_heads, n_kv, scale, window):
    # q [T, H, hd], k/v [T, KV, hd]; window: keys j with i - j < window (0 = causal only)
    T, H, hd = q.shape
    rep = n_heads // n_kv
    k = np.repeat(k, rep, axis=1)
    v = np.repeat(v, rep, axis=1)
    s = (q.transpose(1, 0, 2) @ k.transpose(1, 2, 0)) * scale
    i = np.arange(T)[:, None]
    j = np.arange(T)[None, :]
    mask = j > i
    if window:
        mask |= (i - j) >= window
    s[:, mask] = -np.inf
    s = s - s.max(axis=-1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(axis=-1, keepdims=True)
    return (p @ v.transpose(1, 0, 2)).transpose(1, 0, 2).reshape(T, H * hd)


def gemma3_layer_types(cfg):
    n = cfg["num_hidden_layers"]
    if cfg.get("layer_types"):
        return list(cfg["layer_types"])
    pat = cfg.get("sliding_window_pattern", 6)
    # transformers' Gemma3TextConfig: sliding unless (i + 1) % pattern == 0
    return ["sliding_attention" if bool((i + 1) % pat) else "full_attention" for i in range(n)]


def forward_gemma3(cfg, W, ids):
    T = len(ids)
    D = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads", H)
    hd = cfg.get("head_dim", 256)
    eps = cfg.get("rms_norm_eps", 1e-6)
    window = cfg.get("sliding_window") or 0
    scale = cfg.get("query_pre_attn_scalar", hd) ** -0.5
    types = gemma3_layer_types(cfg)
    tables = {"full_attention": rope_tables(T, hd, cfg.get("rope_theta", 1e6)),
              "sliding_attention": rope_tables(T, hd, cfg.get("rope_local_base_freq", 10000.0))}
    if "_embed_scale" in cfg:
        es = cfg["_embed_scale"]
    else:  # Gemma3TextScaledWordEmbedding: sqrt(hidden) cast to the weights' dtype
        dt = {"bfloat16": "bf16", "float16": np.float16}.get(cfg.get("torch_dtype", "float32"), np.float32)
        if dt == "bf16":
            u = np.array([D ** 0.5], dtype=np.float32).view(np.uint32)[0]
            u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
            es = float(np.array([u], dtype=np.uint32).view(np.float32)[0])
        else:
            es = float(dt(D ** 0.5))
    norm = lambda x, w: x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * (1.0 + w)
    x = W["model.embed_tokens.weight"][ids] * es
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        g = lambda n: W[p + n]
        gb = lambda n: W.get(p + n, 0.0)
        local = types[i] == "sliding_attention"
        cos, sin = tables[types[i]]
        h = norm(x, g("input_layernorm.weight"))
        q = (h @ g("self_attn.q_proj.weight").T + gb("self_attn.q_proj.bias")).reshape(T, H, hd)
        k = (h @ g("self_attn.k_proj.weight").T + gb("self_attn.k_proj.bias")).reshape(T, KV, hd)
        v = (h @ g("self_attn.v_proj.weight").T + gb("self_attn.v_proj.bias")).reshape(T, KV, hd)
        q = norm(q, g("self_attn.q_norm.weight"))
        k = norm(k, g("self_attn.k_norm.weight"))
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        a = gemma_attention(q, k, v, H, KV, scale, window if local else 0)
        a = a @ g("self_attn.o_proj.weight").T + gb("self_attn.o_proj.bias")
        x = x + norm(a, g("post_attention_layernorm.weight"))
        h = norm(x, g("pre_feedforward_layernorm.weight"))
        m = (gelu_tanh(h @ g("mlp.gate_proj.weight").T) * (h @ g("mlp.up_proj.weight").T)) @ g("mlp.down_proj.weight").T
        x = x + norm(m, g("post_feedforward_layernorm.weight"))
    x = norm(x, W["model.norm.weight"])
    return x, (W["lm_head.weight"] if "lm_head.weight" in W else W["model.embed_tokens.weight"])


def forward(cfg, W, ids):
    """Final-normed hidden states [T, D] and the classifier [V, D]."""
    mt = cfg["model_type"]
    T = len(ids)
    if mt == "gemma3_text":
        return forward_gemma3(cfg, W, ids)
    if mt == "opt":
        pre = "model.decoder." if "model.decoder.embed_tokens.weight" in W else "decoder."
        D = cfg["hidden_size"]
        H = cfg["num_attention_heads"]
        hd = D // H
        x = W[pre + "embed_tokens.weight"][ids] + W[pre + "embed_positions.weight"][np.arange(T) + 2]
        for i in range(cfg["num_hidden_layers"]):
            p = f"{pre}layers.{i}."
            g = lambda n: W[p + n]
            h = layer_norm(x, g("self_attn_layer_norm.weight"), g("self_attn_layer_norm.bias"), 1e-5)
            q = h @ g("self_attn.q_proj.weight").T + g("self_attn.q_proj.bias")
            k = h @ g("self_attn.k_proj.weight").T + g("self_attn.k_proj.bias")
            v = h @ g("self_attn.v_proj.weight").T + g("self_attn.v_proj.bias")
            a = attention(q.reshape(T, H, hd), k.reshape(T, H, hd), v.reshape(T, H, hd), H, H)
            x = x + a @ g("self_attn.out_proj.weight").T + g("self_attn.out_proj.bias")
            h = layer_norm(x, g("final_layer_norm.weight"), g("final_layer_norm.bias"), 1e-5)
            h = act(cfg.get("activation_function", "relu"), h @ g("fc1.weight").T + g("fc1.bias"))
            x = x + h @ g("fc2.weight").T + g("fc2.bias")
        x = layer_norm(x, W[pre + "final_layer_norm.weight"], W[pre + "final_layer_norm.bias"], 1e-5)
        head = W.get("lm_head.weight", W[pre + "embed_tokens.weight"])
        return x, head
    # llama / qwen2
    D = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads", H)
    hd = cfg.get("head_dim", D // H)
    eps = cfg.get("rms_norm_eps", 1e-6)
    cos, sin = rope_tables(T, hd, cfg.get("rope_theta", 10000.0))
    x = W["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        g = lambda n: W[p + n]
        gb = lambda n: W.get(p + n, 0.0)
        h = rms_norm(x, g("input_layernorm.weight"), eps)
        q = (h @ g("self_attn.q_proj.weight").T + gb("self_attn.q_proj.bias")).reshape(T, H, hd)
        k = (h @ g("self_attn.k_proj.weight").T + gb("self_attn.k_proj.bias")).reshape(T, KV, hd)
        v = (h @ g("self_attn.v_proj.weight").T + gb("self_attn.v_proj.bias")).reshape(T, KV, hd)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        a = attention(q, k, v, H, KV)
        x = x + a @ g("self_attn.o_proj.weight").T + gb("self_attn.o_proj.bias")
        h = rms_norm(x, g("post_attention_layernorm.weight"), eps)
        gate = act(cfg.get("hidden_act", "silu"), h @ g("mlp.gate_proj.weight").T + gb("mlp.gate_proj.bias"))
        up = h @ g("mlp.up_proj.weight").T + gb("mlp.up_proj.bias")
        x = x + (gate * up) @ g("mlp.down_proj.weight").T + gb("mlp.down_proj.bias")
    x = rms_norm(x, W["model.norm.weight"], eps)
    head = W["lm_head.weight"] if "lm_head.weight" in W else W["model.embed_tokens.weight"]
    return x, head


def read_gguf(path):
    """(metadata dict, {name: (ggml_type, shape ne0-first, bytes)}) of a GGUF v2/v3 file.

    A direct reading of the GGUF spec (ggml/docs/gguf.md), written here because gguf-py's
    GGUFReader builds numpy views for each of the 262,144 Gemma vocabulary strings and takes minutes;
    the tensor bytes are handed to gguf-py's own dequantisation (gguf.quants.dequantize)."""
    with open(path, "rb") as f:
        buf = f.read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0]

    def string():
        nonlocal pos
        n = take("Q")
        s = buf[pos:pos + n].decode("utf-8", "replace")
        pos += n
        return s

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def value(t):
        if t in scalar:
            return take(scalar[t])
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        raise SystemExit(f"{path}: unknown metadata type {t}")

    if buf[:4] != b"GGUF":
        raise SystemExit(f"{path}: not a GGUF file")
    pos = 4
    version = take("I")
    if version not in (2, 3):
        raise SystemExit(f"{path}: GGUF version {version}")
    n_tensors, n_kv = take("Q"), take("Q")
    kv = {}
    for _ in range(n_kv):
        k = string()
        kv[k] = value(take("I"))
    infos = []
    for _ in range(n_tensors):
        name = string()
        nd = take("I")
        ne = [take("Q") for _ in range(nd)]
        infos.append((name, ne, take("I"), take("Q")))
    align = kv.get("general.alignment", 32)
    data = (pos + align - 1) // align * align
    tensors = {}
    import gguf
    for name, ne, t, off in infos:
        qt = gguf.GGMLQuantizationType(t)
        blk, bsz = gguf.GGML_QUANT_SIZES[qt]
        n = int(np.prod(ne))
        nbytes = n // blk * bsz
        tensors[name] = (qt, ne, np.frombuffer(buf, dtype=np.uint8, count=nbytes, offset=data + off))
    return kv, tensors


def load_gguf(path):
    """(HF-style config, HF-named float64 weights) of a llama / gemma3 GGUF file."""
    import gguf  # gguf-py, from the venv .ci/models makes

    kv, tensors = read_gguf(path)

    def meta(key, default=None):
        if key not in kv:
            if default is None:
                raise SystemExit(f"{path}: missing metadata key {key}")
            return default
        return kv[key]

    arch = meta("general.architecture")
    a = lambda k, d=None: meta(f"{arch}.{k}", d)
    D = int(a("embedding_length"))
    H = int(a("attention.head_count"))
    KV = int(a("attention.head_count_kv", H))
    hd = int(a("attention.key_length", D // H))
    L = int(a("block_count"))
    raw = {}
    for name, (qt, ne, data) in tensors.items():
        rows = data.reshape(-1, data.size // int(np.prod(ne[1:]))) if len(ne) > 1 else data
        w = gguf.quants.dequantize(rows, qt)  # f32, shape (rows, ne0)
        raw[name] = w.reshape([int(n) for n in reversed(ne)]).astype(np.float64)
    V = raw["token_embd.weight"].shape[0]
    names = {"attn_q.weight": "self_attn.q_proj.weight", "attn_k.weight": "self_attn.k_proj.weight",
             "attn_v.weight": "self_attn.v_proj.weight", "attn_output.weight": "self_attn.o_proj.weight",
             "ffn_gate.weight": "mlp.gate_proj.weight", "ffn_up.weight": "mlp.up_proj.weight",
             "ffn_down.weight": "mlp.down_proj.weight", "attn_norm.weight": "input_layernorm.weight"}
    if arch == "llama":
        names["ffn_norm.weight"] = "post_attention_layernorm.weight"
        cfg = {"model_type": "llama", "hidden_size": D, "num_attention_heads": H, "num_key_value_heads": KV,
               "head_dim": hd, "num_hidden_layers": L, "rms_norm_eps": float(a("attention.layer_norm_rms_epsilon")),
               "rope_theta": float(a("rope.freq_base", 10000.0)), "hidden_act": "silu"}
    elif arch == "gemma3":
        names.update({"ffn_norm.weight": "pre_feedforward_layernorm.weight",
                      "post_attention_norm.weight": "post_attention_layernorm.weight",
                      "post_ffw_norm.weight": "post_feedforward_layernorm.weight",
                      "attn_q_norm.weight": "self_attn.q_norm.weight", "attn_k_norm.weight": "self_attn.k_norm.weight"})
        pattern = a("attention.sliding_window_pattern", 6)
        cfg = {"model_type": "gemma3_text", "hidden_size": D, "num_attention_heads": H, "num_key_value_heads": KV,
               "head_dim": hd, "num_hidden_layers": L, "rms_norm_eps": float(a("attention.layer_norm_rms_epsilon")),
               "rope_theta": float(a("rope.freq_base", 10000.0)),
               "rope_local_base_freq": float(a("rope.freq_base_swa", 10000.0)),
               "sliding_window": int(a("attention.sliding_window", 0)),
               # llama.cpp: 1/sqrt(n_embd/n_head) for the 62-layer 27B, else 1/sqrt(key_length)
               "query_pre_attn_scalar": (D // H) if L == 62 else hd,
               "_embed_scale": float(np.sqrt(np.float32(D)))}
        if isinstance(pattern, list):
            cfg["layer_types"] = ["sliding_attention" if b else "full_attention" for b in pattern]
        else:
            cfg["sliding_window_pattern"] = int(pattern)
    else:
        raise SystemExit(f"{path}: architecture {arch} not handled by the reference")
    W = {"model.embed_tokens.weight": raw["token_embd.weight"], "model.norm.weight": raw["output_norm.weight"]}
    if "output.weight" in raw:
        W["lm_head.weight"] = raw["output.weight"]
    for i in range(L):
        for g, h in names.items():
            n = f"blk.{i}.{g}"
            if n in raw:
                W[f"model.layers.{i}.{h}"] = raw[n]
        for b in ("q", "k", "v"):
            n = f"blk.{i}.attn_{b}.bias"
            if n in raw:
                W[f"model.layers.{i}.self_attn.{b}_proj.bias"] = raw[n]

    def unpermute(w, heads):  # inverse of convert_hf_to_gguf's LlamaModel.permute
        return w.reshape(heads, w.shape[0] // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)

    for i in range(L):
        p = f"model.layers.{i}."
        if arch == "llama":
            for n, heads in (("self_attn.q_proj.", H), ("self_attn.k_proj.", KV)):
                for kind in ("weight", "bias"):
                    if p + n + kind in W:
                        W[p + n + kind] = unpermute(W[p + n + kind], heads)
        else:  # Gemma3Model.norm_shift added 1 to every *norm.weight
            for n in list(W):
                if n.startswith(p) and n.endswith("norm.weight"):
                    W[n] = W[n] - 1.0
    if arch == "gemma3":
        W["model.norm.weight"] = W["model.norm.weight"] - 1.0
    cfg["vocab_size"] = V
    return cfg, W


def main():
    args = sys.argv[1:]
    positions, hidden_out = None, None
    if "--positions" in args:
        i = args.index("--positions")
        positions = [int(p) for p in args[i + 1].split(",")]
        del args[i:i + 2]
    if "--hidden" in args:
        i = args.index("--hidden")
        hidden_out = args[i + 1]
        del args[i:i + 2]
    nll_mode = "--nll" in args
    if nll_mode:
        args.remove("--nll")
    d, tok_file, out = args[:3]
    if d.endswith(".gguf"):
        cfg, W = load_gguf(d)
    else:
        with open(os.path.join(d, "config.json")) as f:
            cfg = json.load(f)
        W = load_weights(d)
    with open(tok_file) as f:
        seqs = [[int(t) for t in line.split()] for line in f if line.strip()]
    if nll_mode:
        nll = []
        for s in seqs:
            x, head = forward(cfg, W, np.array(s))
            for a in range(0, len(s) - 1, 64):  # 64 rows of logits at a time (262K-token vocabularies)
                lg = x[a:min(a + 64, len(s) - 1)] @ head.T
                mx = lg.max(axis=-1, keepdims=True)
                lse = mx[:, 0] + np.log(np.exp(lg - mx).sum(axis=-1))
                tgt = np.array(s[a + 1:a + 1 + lg.shape[0]])
                nll.append(lse - lg[np.arange(lg.shape[0]), tgt])
        np.concatenate(nll).astype("<f8").tofile(out)
        return
    logits, hidden = [], []
    for s in seqs:
        x, head = forward(cfg, W, np.array(s))
        hidden.append(x)
        logits.append((x if positions is None else x[positions]) @ head.T)
    np.stack(logits).astype("<f8").tofile(out)
    if hidden_out:
        np.stack(hidden).astype("<f8").tofile(hidden_out)


if __name__ == "__main__":
    main()
