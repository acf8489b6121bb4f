#!/usr/bin/python3
"""Independent numpy float64 reference forward for Hugging Face LLaMA / Qwen2 / OPT checkpoints.

Written from the Hugging Face modeling code's semantics (modeling_llama.py, modeling_qwen2.py,
modeling_opt.py), not from lowbit's C++: safetensors parsed by hand, half-split RoPE via
rotate_half, OPT learned positions with offset 2, pre-LN blocks.

usage: ref_forward.py MODEL_DIR TOKENS_FILE OUT_FILE
  TOKENS_FILE: whitespace-separated token ids, one sequence per line (all the same length)
  OUT_FILE:    float64 little-endian logits [B, T, V]
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
    s = np.einsum("thd,shd->hts", q, k) / np.sqrt(hd)
    mask = np.triu(np.ones((T, T), dtype=bool), 1)
    s[:, mask] = -np.inf
    s = s - s.max(axis=-1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(axis=-1, keepdims=True)
    return np.einsum("hts,shd->thd", p, v).reshape(T, H * hd)


def forward(cfg, W, ids):
    mt = cfg["model_type"]
    T = len(ids)
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
        return x @ head.T
    # llama / qwen2
    D = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads", H)
    hd = cfg.get("head_dim", D // H)
    eps = cfg.get("rms_norm_eps", 1e-6)
    theta = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / theta ** (np.arange(0, hd, 2, dtype=np.float64) / hd)
    ang = np.outer(np.arange(T, dtype=np.float64), inv)
    cos = np.concatenate([np.cos(ang)] * 2, axis=-1)[:, None, :]
    sin = np.concatenate([np.sin(ang)] * 2, axis=-1)[:, None, :]
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
    return x @ head.T


def main():
    d, tok_file, out = sys.argv[1:4]
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    W = load_weights(d)
    with open(tok_file) as f:
        seqs = [[int(t) for t in line.split()] for line in f if line.strip()]
    logits = np.stack([forward(cfg, W, np.array(s)) for s in seqs])
    logits.astype("<f8").tofile(out)


if __name__ == "__main__":
    main()
