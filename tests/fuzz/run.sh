#!/usr/bin/env bash
# tests/fuzz/run.sh — build and run lowbit's libFuzzer targets (docs/FUZZING.md).
#
#   bash tests/fuzz/run.sh [TARGET|all] [SECONDS]
#
# TARGET is a target name with or without the fuzz_ prefix (safetensors, llama2c, tokenizer, gguf,
# manifest, hf_config, shard_index, task, law, point_csv, archive) or
# "all" (default: every tests/fuzz/fuzz_*.cpp, one after the other). SECONDS is the time per
# target (default 60); 0 replays the corpus once without mutating (a quick regression check).
#
# It configures build-fuzz/ with clang (-DLOWBIT_FUZZ=ON), builds the targets, seeds
# build-fuzz/seeds/<target>/ from real files (stories260K, tok512.bin/.model, tokenizer.json
# fixtures) and generated ones (tiny llama2.c checkpoints and safetensors files), and runs each
# target with its growing corpus in build-fuzz/corpus/<target>/. Logs: build-fuzz/logs/<target>.log;
# crash inputs: build-fuzz/artifacts/<target>/. One summary line per target; the exit status is
# non-zero if any target crashed (or failed to build).
#
# Environment: LOWBIT_FUZZ_BUILD (build folder, default build-fuzz), LOWBIT_FUZZ_JOBS (build
# parallelism, default 2), LOWBIT_FUZZ_ARGS (extra libFuzzer flags, e.g. "-jobs=2 -workers=2").
set -u -o pipefail
# The whole script is one compound command, which bash parses before running any of it: a run
# takes minutes to hours, and an edit of this file meanwhile would otherwise change what the
# running bash reads next.
{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${LOWBIT_FUZZ_BUILD:-$ROOT/build-fuzz}
JOBS=${LOWBIT_FUZZ_JOBS:-2}
WANT=${1:-all}
SECS=${2:-60}
EXTRA=${LOWBIT_FUZZ_ARGS:-}

die() { echo "fuzz: $*" >&2; exit 2; }
[[ "$SECS" =~ ^[0-9]+$ ]] || die "SECONDS must be a non-negative integer, got '$SECS'"
command -v clang++ >/dev/null || die "clang++ not found (libFuzzer needs clang)"

# ---- targets ----
ALL=()
for f in "$ROOT"/tests/fuzz/fuzz_*.cpp; do
  [[ -e "$f" ]] || continue
  n=$(basename "$f" .cpp)
  ALL+=("${n#fuzz_}")
done
if [[ "$WANT" == all ]]; then
  TARGETS=("${ALL[@]}")
else
  t=${WANT#fuzz_}
  [[ -f "$ROOT/tests/fuzz/fuzz_$t.cpp" ]] || die "no target '$WANT' (have: ${ALL[*]})"
  TARGETS=("$t")
fi

# ---- configure + build ----
if ! grep -q '^LOWBIT_FUZZ:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
  echo "fuzz: configuring $BUILD" >&2
  CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -DLOWBIT_FUZZ=ON -DLOWBIT_CUDA=OFF -DLOWBIT_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=Release >"$BUILD.configure.log" 2>&1 || { tail -30 "$BUILD.configure.log" >&2; die "configure failed"; }
fi
BINS=()
for t in "${TARGETS[@]}"; do BINS+=("fuzz_$t"); done
echo "fuzz: building ${BINS[*]}" >&2
cmake --build "$BUILD" -j"$JOBS" --target "${BINS[@]}" >"$BUILD/fuzz-build.log" 2>&1 ||
  { grep -E 'error|Error' "$BUILD/fuzz-build.log" | head -30 >&2; die "build failed (see $BUILD/fuzz-build.log)"; }

# ---- seeds ----
SEEDS=$BUILD/seeds
mkdir -p "$SEEDS" "$BUILD/corpus" "$BUILD/logs" "$BUILD/artifacts"
seed_llama2c() {
  local d=$SEEDS/llama2c
  mkdir -p "$d"
  local f
  for f in "$ROOT/models/stories260K/stories260K.bin" "$ROOT/../shared/models/aidreams260K/aidreams260K.bin" \
           "$ROOT/../shared/models/tinystories_d64_h192_l5_saltyduckegg/model.bin"; do
    # The header and the first tensors are enough; the full files are ~1 MB.
    [[ -f "$f" ]] && head -c 4096 "$f" >"$d/head4k_$(basename "$(dirname "$f")").bin"
  done
  python3 - "$d" <<'PY'
# Tiny, valid llama2.c checkpoints (exact sizes), so the fuzzer starts with inputs the header and
# size checks accept and reaches the full loader; one with a NaN, one with an Inf.
import struct, sys, random
out = sys.argv[1]
random.seed(1)
def ckpt(name, dim, hid, L, H, KV, V, S, shared=True, poison=None):
    hd = dim // H; kv = KV * hd
    n = V*dim + L*dim + L*dim*dim + 2*L*kv*dim + L*dim*dim + L*dim + 3*L*hid*dim + dim + S*hd
    if not shared: n += V*dim
    vals = [random.uniform(-1, 1) for _ in range(n)]
    if poison is not None: vals[poison[0] % n] = poison[1]
    hdr = struct.pack('<7i', dim, hid, L, H, KV, V if shared else -V, S)
    open(f"{out}/{name}.bin", "wb").write(hdr + struct.pack(f'<{n}f', *vals))
ckpt("tiny_d2", 2, 1, 1, 1, 1, 2, 1)
ckpt("tiny_d4_gqa", 4, 3, 2, 2, 1, 5, 2)
ckpt("tiny_unshared", 4, 2, 1, 2, 2, 3, 1, shared=False)
ckpt("tiny_nan", 2, 1, 1, 1, 1, 2, 1, poison=(9, float('nan')))
ckpt("tiny_inf", 2, 1, 1, 1, 1, 2, 1, poison=(3, float('inf')))
open(f"{out}/header_only.bin", "wb").write(struct.pack('<7i', 64, 172, 5, 8, 4, 512, 512))
PY
}
seed_safetensors() {
  local d=$SEEDS/safetensors
  mkdir -p "$d"
  python3 - "$d" <<'PY'
# Small safetensors images in the layout lowbit's writer and HF's use (8-byte aligned header).
import json, struct, sys
out = sys.argv[1]
def st(name, tensors, meta=None, raw_header=None, pad=True):
    h, data, off = {}, b"", 0
    for tn, (dt, shape, nbytes) in tensors.items():
        h[tn] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + nbytes]}
        data += bytes((i * 7 + 3) & 0xff for i in range(nbytes)); off += nbytes
    if meta is not None: h["__metadata__"] = meta
    hs = raw_header if raw_header is not None else json.dumps(h, separators=(",", ":")).encode()
    while pad and (8 + len(hs)) % 8: hs += b" "
    open(f"{out}/{name}.safetensors", "wb").write(struct.pack("<Q", len(hs)) + hs + data)
st("one_f32", {"w": ("F32", [2, 3], 24)})
st("dtypes", {"a": ("F16", [4], 8), "b": ("BF16", [2, 2], 8), "c": ("F64", [1], 8), "d": ("I64", [1], 8),
              "e": ("I32", [2], 8), "f": ("I16", [3], 6), "g": ("I8", [1], 1), "h": ("U8", [2], 2),
              "i": ("BOOL", [1], 1)})
st("meta", {"x": ("F32", [1], 4)}, meta={"format": "pt", "producer": "lowbit"})
st("empty_tensor", {"e": ("F32", [0, 4], 0), "s": ("F32", [], 4)})
st("empty_header", {}, pad=False)
st("hf_names", {"model.embed_tokens.weight": ("F16", [4, 2], 16),
                "model.layers.0.self_attn.q_proj.weight": ("BF16", [2, 2], 8),
                "model.norm.weight": ("F32", [2], 8), "lm_head.weight": ("F16", [4, 2], 16)},
   meta={"format": "pt"})
PY
  # A real header: the HF conversion of stories260K (only its first 4 KB, the JSON header).
  if [[ -x "$ROOT/build/lowbit" && ! -f "$d/stories260K_hf_head.safetensors" ]]; then
    local tmp
    tmp=$(mktemp -d)
    if "$ROOT/build/lowbit" convert --model "$ROOT/models/stories260K/stories260K.bin" --to hf --out "$tmp/hf" \
         --dtype f16 --quiet >/dev/null 2>&1; then
      head -c 4096 "$tmp/hf/model.safetensors" >"$d/stories260K_hf_head.safetensors"
    fi
    rm -rf "$tmp"
  fi
}
seed_tokenizer() {
  local d=$SEEDS/tokenizer
  mkdir -p "$d"
  local f
  for f in "$ROOT/models/stories260K/tok512.bin" "$ROOT/models/stories260K/tok512.model" \
           "$ROOT/../shared/models/aidreams260K/tok512.bin" "$ROOT"/tests/data/*tokenizer*.json; do
    [[ -f "$f" ]] && cp "$f" "$d/$(basename "$(dirname "$f")")_$(basename "$f")"
  done
  # A seed-corpus script beside the target, if its author wrote one, adds format-specific seeds.
  if [[ -f "$ROOT/tests/fuzz/seed_tokenizer.sh" ]]; then bash "$ROOT/tests/fuzz/seed_tokenizer.sh" "$d" || true; fi
}

seed_gguf() {
  local d=$SEEDS/gguf
  mkdir -p "$d"
  python3 - "$d" <<'PY'
# Tiny GGUF v3/v2 images built with struct (no gguf-py needed): every metadata value type, nested
# and empty arrays, general.alignment, and one tensor of every type lowbit reads plus an
# unsupported one, so the fuzzer starts past the header checks and reaches every dequantiser.
import struct, sys, random
out = sys.argv[1]
random.seed(5)
def s(x): b = x.encode(); return struct.pack('<Q', len(b)) + b
def kv(key, t, payload): return s(key) + struct.pack('<I', t) + payload
SIZES = {0: (1, 4), 1: (1, 2), 30: (1, 2), 28: (1, 8), 24: (1, 1), 26: (1, 4), 2: (32, 18), 3: (32, 20),
         6: (32, 22), 7: (32, 24), 8: (32, 34), 10: (256, 84), 11: (256, 110), 12: (256, 144),
         13: (256, 176), 14: (256, 210), 39: (32, 17), 16: (256, 66)}
def gguf(name, tensors, version=3, align=32, extra=b"", n_extra=0):
    kvs = [kv("general.architecture", 8, s("llama")), kv("llama.block_count", 4, struct.pack('<I', 1))]
    if align != 32: kvs.append(kv("general.alignment", 4, struct.pack('<I', align)))
    head = b"GGUF" + struct.pack('<IQQ', version, len(tensors), len(kvs) + n_extra) + b"".join(kvs) + extra
    data, infos = b"", b""
    for tn, ty, ne in tensors:
        be, bb = SIZES[ty]
        n = 1
        for x in ne: n *= x
        nbytes = n // be * bb
        infos += s(tn) + struct.pack('<I', len(ne)) + b"".join(struct.pack('<Q', x) for x in ne)
        infos += struct.pack('<IQ', ty, len(data))
        body = bytearray(random.getrandbits(8) for _ in range(nbytes))
        data += bytes(body) + b"\0" * ((-nbytes) % align)
    hdr = head + infos
    hdr += b"\0" * ((-len(hdr)) % align)
    open(f"{out}/{name}.gguf", "wb").write(hdr + data)
allk = [(f"t{ty}", ty, [SIZES[ty][0] * 2, 2]) for ty in SIZES]
gguf("every_type", allk)
gguf("every_type_v2", allk, version=2)
gguf("aligned64", [("a", 0, [4]), ("b", 8, [32])], align=64)
meta = b"".join([
    kv("u8", 0, b"\x07"), kv("i8", 1, b"\xff"), kv("u16", 2, b"\x01\x02"), kv("i16", 3, b"\xfe\xff"),
    kv("u32", 4, b"\0" * 4), kv("i32", 5, b"\xff" * 4), kv("f32", 6, struct.pack('<f', 0.5)), kv("bool", 7, b"\x01"),
    kv("str", 8, s("h\u00e9")), kv("u64", 10, b"\xff" * 8), kv("i64", 11, b"\x80" * 8),
    kv("f64", 12, struct.pack('<d', -1.5)),
    kv("arr", 9, struct.pack('<IQ', 8, 2) + s("a") + s("")),
    kv("arr_empty", 9, struct.pack('<IQ', 6, 0)),
    kv("nested", 9, struct.pack('<IQ', 9, 2) + struct.pack('<IQ', 5, 1) + b"\1\0\0\0" + struct.pack('<IQ', 7, 2) + b"\0\1")])
gguf("metadata", [("w", 2, [32])], extra=meta, n_extra=15)
gguf("no_tensors", [])
PY
  # the synthetic files of the unit tests (gguf-py's writer), when the venv is there
  local py=${LOWBIT_CACHE:-$HOME/.cache/lowbit}/venv/bin/python
  if [[ -x "$py" && ! -f "$d/synth.gguf" ]]; then
    local tmp
    tmp=$(mktemp -d)
    if "$py" "$ROOT/tests/data/gguf_ref.py" synth "$tmp" >/dev/null 2>&1; then
      cp "$tmp/synth.gguf" "$tmp/aligned64.gguf" "$d/" 2>/dev/null
    fi
    rm -rf "$tmp"
  fi
}

seed_manifest() {
  local d=$SEEDS/manifest f
  mkdir -p "$d"
  # the shipped jobs and the malformed-manifest corpus of the unit tests
  for f in "$ROOT"/jobs/*.yaml "$ROOT"/tests/data/manifests/*.yaml; do
    [[ -f "$f" && $(stat -c %s "$f") -le 16384 ]] && cp "$f" "$d/$(basename "$(dirname "$f")")_$(basename "$f")"
  done
}
seed_law() {
  local d=$SEEDS/law
  mkdir -p "$d"
  [[ -f "$ROOT/jobs/laws.yaml" ]] && cp "$ROOT/jobs/laws.yaml" "$d/laws.yaml"
  printf 'laws:\n  l:\n    target: drop\n    expr: A * N^-a\n    params:\n      A: {init: [1], bounds: [0, 10]}\n      a: {init: 0.3}\n    log_linear:\n      scale: A\n      terms: {a: "-log(N)"}\n' >"$d/small.yaml"
}
seed_point_csv() {
  local d=$SEEDS/point_csv
  mkdir -p "$d"
  python3 "$ROOT/tests/data/fit_make_points.py" --small | head -40 >"$d/points_small.csv"
  printf '# comment\nconfig,"model",N,acc\n"a,b",m,1e6,0.5\nc,m,,nan\n\n' >"$d/quoted.csv"
}
seed_task() {
  local d=$SEEDS/task f
  mkdir -p "$d"
  # task YAML, a line "----", then the JSONL the YAML names as ./data.jsonl
  for f in "$ROOT"/tests/data/tasks_native/*.yaml; do
    local data
    data=$(sed -n 's/^dataset: *//p' "$f")
    { sed 's|^dataset:.*|dataset: ./data.jsonl|' "$f"; echo "----"; head -5 "$(dirname "$f")/$data"; } \
      >"$d/$(basename "$f" .yaml).task"
  done
  for f in "$ROOT"/jobs/tasks/*.yaml; do
    { sed 's|^dataset:.*|dataset: ./data.jsonl|' "$f"; echo "----"; echo '{"question": "q", "choices": ["a", "b"], "answer": 0}'; } \
      >"$d/shipped_$(basename "$f" .yaml).task"
  done
}
seed_hf_config() {
  local d=$SEEDS/hf_config
  mkdir -p "$d"
  python3 - "$d" <<'PY'
# config.json of each architecture lowbit reads, at toy sizes
import json, sys
out = sys.argv[1]
base = {"hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
        "intermediate_size": 16, "vocab_size": 32, "max_position_embeddings": 64, "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0, "tie_word_embeddings": True, "hidden_act": "silu", "torch_dtype": "float32"}
for arch, extra in {"llama": {}, "qwen2": {"use_sliding_window": False, "sliding_window": 32},
                    "mistral": {"sliding_window": None}, "gemma3_text": {"head_dim": 4, "query_pre_attn_scalar": 4,
                    "hidden_activation": "gelu_pytorch_tanh", "sliding_window": 8, "rope_local_base_freq": 10000.0,
                    "layer_types": ["sliding_attention", "full_attention"]}}.items():
    json.dump(dict(base, model_type=arch, architectures=[arch], **extra), open(f"{out}/{arch}.json", "w"))
PY
}
seed_shard_index() {
  local d=$SEEDS/shard_index
  mkdir -p "$d"
  printf '{"metadata": {"total_size": 24}, "weight_map": {"w.0": "model-00001-of-00002.safetensors", "w.1": "model-00001-of-00002.safetensors", "w.2": "model-00002-of-00002.safetensors", "w.3": "model-00002-of-00002.safetensors"}}' >"$d/index.json"
  printf '{"weight_map": {"w.0": "../model-00001-of-00002.safetensors"}}' >"$d/escape.json"
}
seed_archive() {
  local d=$SEEDS/archive py=python3
  mkdir -p "$d"
  # h5py: Debian's python3-h5py is in /usr/bin/python3, which a pyenv or venv python3 may shadow
  python3 -c 'import h5py' 2>/dev/null || { [[ -x /usr/bin/python3 ]] && py=/usr/bin/python3; }
  "$py" - "$d" <<'PY'
# Small HDF5 files in the layout lowbit writes (docs/ARCHIVE.md): typed attributes, groups, 1-D/2-D
# f64 tables with column names and units.
import sys, h5py, numpy as np
out = sys.argv[1]
with h5py.File(f"{out}/small.h5", "w", libver="earliest") as f:
    f.attrs["lowbit_schema_version"] = np.int64(1)
    r = f.create_group("run"); r.attrs["manifest_hash"] = "abc"; r.attrs["ranks"] = np.int64(2)
    c = f.create_group("configs/m.rtn.b4"); c.attrs["complete"] = np.int64(1); c.attrs["ppl"] = 12.5
    t = c.create_dataset("layers", data=np.arange(6, dtype="f8").reshape(3, 2))
    t.attrs["columns"] = np.array([b"mse", b"cos"]); t.attrs["units"] = np.array([b"", b""])
    c.create_dataset("series", data=np.linspace(0, 1, 4))
with h5py.File(f"{out}/empty.h5", "w", libver="earliest") as f:
    pass
PY
  # Inputs of the structured mode (first byte other than 0x89): programs for the target's HDF5
  # builder; any bytes decode, these only give the fuzzer a start of varied sizes.
  python3 - "$d" <<'PY'
import random, sys
out = sys.argv[1]
random.seed(17)
for i, n in enumerate([64, 256, 512, 1024, 2048, 4096]):
    b = bytes([1 + i]) + bytes(random.getrandbits(8) for _ in range(n))
    open(f"{out}/structured_{i}.bin", "wb").write(b)
PY
}

# libFuzzer dictionaries: the tokens of each format, so mutations form valid structure sooner.
write_dicts() {
  mkdir -p "$BUILD/dicts"
  local w
  {
    for w in '{' '}' '[' ']' ':' ',' '"' '0' '1' '-1' '1e3' 'null' 'true' '""' '"dtype"' '"shape"' \
             '"data_offsets"' '"__metadata__"' '"F32"' '"F16"' '"BF16"' '"F64"' '"I64"' '"I32"' '"I16"' \
             '"I8"' '"U8"' '"BOOL"' '"F8_E4M3"' '"Q7"' '18446744073709551615' '9223372036854775807' \
             '4294967296'; do
      printf '"%s"\n' "$(printf '%s' "$w" | sed 's/\\/\\\\/g; s/"/\\"/g')"
    done
  } >"$BUILD/dicts/safetensors.dict"
  {
    for w in '{' '}' '[' ']' ':' ',' '"model"' '"vocab"' '"merges"' '"added_tokens"' '"pre_tokenizer"' \
             '"decoder"' '"type"' '"BPE"' '"ByteLevel"' '"Split"' '"Sequence"' '"pattern"' '"Regex"' '"id"' \
             '"content"' '"special"' '"<s>"' '"</s>"' '"<unk>"' '"<0x0A>"' '"<|endoftext|>"' '"\u0120"'; do
      printf '"%s"\n' "$(printf '%s' "$w" | sed 's/\\/\\\\/g; s/"/\\"/g')"
    done
  } >"$BUILD/dicts/tokenizer.dict"
  {
    for w in 'GGUF' 'general.alignment' 'general.architecture' 'llama.block_count' 'tokenizer.ggml.tokens' \
             'blk.0.attn_q.weight'; do
      printf '"%s"\n' "$w"
    done
    # little-endian u32 versions / value and ggml type ids, u64 lengths and counts
    for w in '\x02\x00\x00\x00' '\x03\x00\x00\x00' '\x08\x00\x00\x00' '\x09\x00\x00\x00' '\x0c\x00\x00\x00' \
             '\x0e\x00\x00\x00' '\x1e\x00\x00\x00' '\x27\x00\x00\x00' '\x20\x00\x00\x00\x00\x00\x00\x00' \
             '\x00\x01\x00\x00\x00\x00\x00\x00' '\xff\xff\xff\xff\xff\xff\xff\xff' '\x00\x3c' '\x00\x7c'; do
      printf '"%s"\n' "$w"
    done
  } >"$BUILD/dicts/gguf.dict"
  {
    for w in name output models path family tokenizer methods method bits group sym sparsity nm nsamples seqlen \
             seeds calibration evaluation ppl tasks names diagnostics only eval_windows eval_seqlen laws expr params \
             init bounds target log_linear scale terms execution group_size micro_batch resources zip exclude \
             testbed time partition memory sbatch setup '- ' ': ' '[' ']' '{' '}' ', ' '-1' '2:4' '0.5' '${X:-y}' '~/' \
             '---' '&a' '*a' '<<' '!!int' 'gptq' 'rtn' 'haar' 'wanda' 'fp'; do
      printf '"%s"\n' "$w"
    done
  } >"$BUILD/dicts/manifest.dict"
  {
    for w in laws description target expr params init bounds log_linear scale terms '^' '*' '/' '+' '-' 'exp(' \
             'log(' 'sqrt(' 'pow(' ')' ',' '1e308' 'N' 'B' 'G' 'C' 'Beff' 'drop' ': ' '[' ']' '{' '}'; do
      printf '"%s"\n' "$w"
    done
  } >"$BUILD/dicts/law.dict"
  {
    for w in '"' ',' 'config' 'model' 'family' 'method' 'stratum' 'N' 'B' 'G' 'C' 'acc' 'chance' 'acc_fp' 'nan' \
             'inf' '1e6' '#'; do
      printf '"%s"\n' "$w"
    done
  } >"$BUILD/dicts/point_csv.dict"
  {
    for w in name stratum dataset format native type mc cloze gen context choices answer answers id subset \
             fewshot_dataset num_fewshot template '----' './data.jsonl' '{' '}' '[' ']' '": ' '"'; do
      printf '"%s"\n' "$w"
    done
  } >"$BUILD/dicts/task.dict"
  {
    for w in model_type llama qwen2 mistral gemma3_text hidden_size num_hidden_layers num_attention_heads \
             num_key_value_heads intermediate_size vocab_size head_dim rms_norm_eps rope_theta hidden_act \
             tie_word_embeddings layer_types sliding_window max_position_embeddings rope_scaling null true; do
      printf '"\\"%s\\""\n' "$w"
    done
  } >"$BUILD/dicts/hf_config.dict"
}
write_dicts

# ---- run ----
max_len_for() {
  case "$1" in
    tokenizer) echo 32768 ;;  # tok512.model is 7.5 KB, the BPE fixtures up to ~24 KB
    gguf) echo 65536 ;;       # the gguf-py synthetic files are ~34 KB
    manifest|task) echo 16384 ;;  # the shipped jobs are up to ~8 KB
    archive) echo 32768 ;;         # the h5py seeds are ~5 KB; an HDF5 superblock alone is 2 KB
    *) echo 8192 ;;
  esac
}
# libhdf5 is not instrumented and, reading a damaged file, mallocs sizes taken from it (seen:
# malloc(0xe86f6b160dca9189) in H5C_protect), expecting NULL back, which it turns into an error.
# Under ASan such a request is a report and above -malloc_limit_mb a libFuzzer OOM, which would end
# every run in seconds: for the archive target, malloc may return NULL (operator new still reports,
# so lowbit's own allocations stay checked) and the malloc limit is 1 TiB; -rss_limit_mb still holds.
# Its error paths also leak (tests/fuzz/lsan_hdf5.supp; the price: a vlen string lowbit forgot to
# free is allocated inside libhdf5 too, and would not be reported).
asan_for() {
  case "$1" in
    archive) echo "allocator_may_return_null=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}" ;;
    *) echo "${ASAN_OPTIONS:-}" ;;
  esac
}
lsan_for() {
  case "$1" in
    archive) echo "suppressions=$ROOT/tests/fuzz/lsan_hdf5.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}" ;;
    *) echo "${LSAN_OPTIONS:-}" ;;
  esac
}
# fuzz_manifest: parse_manifest expands a sweep of up to plan::kMaxConfigurations (10^6) to check
# its ids, 7-9 s per input under ASan on 2 loaded cores (26 s seen in-process), which the target
# cannot bound; its timeout is 60 s, so that only a real hang is reported.
timeout_for() {
  case "$1" in
    manifest) echo 60 ;;
    *) echo 20 ;;
  esac
}
malloc_limit_for() {
  case "$1" in
    archive) echo 1048576 ;;
    *) echo 2048 ;;
  esac
}
failed=0
SUMMARY=()
for t in "${TARGETS[@]}"; do
  bin=$BUILD/tests/fuzz/fuzz_$t
  [[ -x "$bin" ]] || { SUMMARY+=("fuzz_$t: not built"); failed=1; continue; }
  if declare -F "seed_$t" >/dev/null; then "seed_$t"; else mkdir -p "$SEEDS/$t"; fi
  corpus=$BUILD/corpus/$t
  art=$BUILD/artifacts/$t
  log=$BUILD/logs/$t.log
  mkdir -p "$corpus" "$art"
  if [[ "$SECS" == 0 ]]; then
    mode=(-runs=0)
  else
    mode=(-max_total_time="$SECS")
  fi
  dict=()
  [[ -f "$BUILD/dicts/$t.dict" ]] && dict=(-dict="$BUILD/dicts/$t.dict")
  # the minimized corpus kept in git (tests/fuzz/corpus/<target>/): read as input, never written
  kept=()
  [[ -d "$ROOT/tests/fuzz/corpus/$t" ]] && kept=("$ROOT/tests/fuzz/corpus/$t")
  echo "fuzz: running fuzz_$t (${SECS}s), log $log" >&2
  start=$(date +%s)
  # shellcheck disable=SC2086
  ASAN_OPTIONS=$(asan_for "$t") LSAN_OPTIONS=$(lsan_for "$t") "$bin" "${mode[@]}" -rss_limit_mb=2048 -malloc_limit_mb="$(malloc_limit_for "$t")" -timeout="$(timeout_for "$t")" -max_len="$(max_len_for "$t")" -print_final_stats=1 \
    -artifact_prefix="$art/" "${dict[@]}" $EXTRA "$corpus" "$SEEDS/$t" "${kept[@]}" >"$log" 2>&1
  rc=$?
  secs=$(($(date +%s) - start))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
  [[ -n "$execs" ]] || execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
  ncorpus=$(find "$corpus" -type f | wc -l)
  crashes=$(find "$art" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  status=ok
  if [[ $rc != 0 ]]; then
    status="CRASH (rc $rc, see $log and $art/)"
    failed=1
  fi
  SUMMARY+=("fuzz_$t: ${secs} s, ${execs:-?} execs, cov ${cov:-?}, corpus ${ncorpus} files, artifacts ${crashes}: $status")
done
for s in "${SUMMARY[@]}"; do echo "$s"; done
exit $failed
}
