#!/usr/bin/env bash
# tests/cli/bad_input.sh — the `lowbit` executable on bad input, as a user meets it.
#
#   bash tests/cli/bad_input.sh <path-to-lowbit> <shared-dir>
#
# Every bad input (truncated/oversized/NaN checkpoints, malformed safetensors, config.json that
# disagrees with the weights, missing tokenizer or data file, unknown option, bad --to/--dtype)
# must give: exit code exactly 2, exactly ONE line on stderr, naming the file and the
# tensor/field; and a failed `lowbit convert` must leave no output file behind. --help exits 0.
# Issue 17 (bad input that used to succeed with a wrong result): finite but absurd weights (3e38),
# a 2-bit grid whose f16 scales overflow, a tokenizer larger than the model's vocabulary, a
# config.json with fewer layers than the weights or an unused bias, config keys named as the file
# names them, and quantize/prune leaving no --out (not even an empty folder) when they fail.
# Prints "N passed, M failed" and exits non-zero on any failure.
set -u

LOWBIT=${1:?usage: bad_input.sh <path-to-lowbit> <shared-dir>}
SHARED=${2:-}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MODEL=$ROOT/models/stories260K/stories260K.bin
TOK=$ROOT/models/stories260K/tok512.bin
PY=${PYTHON:-python3}

[[ -x "$LOWBIT" ]] || { echo "bad_input.sh: $LOWBIT is not an executable" >&2; exit 2; }
[[ -f "$MODEL" ]] || { echo "bad_input.sh: $MODEL missing" >&2; exit 2; }

T=$(mktemp -d "${TMPDIR:-/tmp}/lowbit_cli_bad.XXXXXX")
trap '[[ -n ${KEEP:-} ]] || rm -rf "$T"' EXIT

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
  fail=$((fail + 1))
  echo "FAIL: $*"
}

# expect_err NAME NEEDLES -- CMD...   NEEDLES: '|'-separated fixed strings that stderr must hold.
expect_err() {
  local name=$1 needles=$2
  shift 3
  "$@" >"$T/out" 2>"$T/err" </dev/null
  local rc=$? lines
  lines=$(wc -l <"$T/err")
  local why=()
  [[ $rc == 2 ]] || why+=("exit code $rc, expected 2")
  # exactly one newline-terminated line, and nothing after it
  if [[ $lines != 1 || -n $(tail -c 1 "$T/err" | tr -d '\n') ]]; then why+=("stderr has $lines lines, expected 1"); fi
  local n
  IFS='|' read -r -a list <<<"$needles"
  for n in "${list[@]}"; do
    grep -qF -- "$n" "$T/err" || why+=("stderr does not name '$n'")
  done
  if ((${#why[@]} == 0)); then
    ok
  else
    bad "$name: $(IFS='; '; echo "${why[*]}")"
    sed 's/^/    stderr: /' "$T/err" | head -5
  fi
}

expect_ok() {
  local name=$1
  shift 2
  if "$@" >"$T/out" 2>"$T/err" </dev/null; then ok; else bad "$name: exit code $?, expected 0"; sed 's/^/    stderr: /' "$T/err" | head -5; fi
}

# Nothing at PATH, or (for a folder that had to be created) a folder with no files in it.
expect_no_output() {
  local name=$1 path=$2
  if [[ ! -e "$path" ]]; then
    ok
  elif [[ -d "$path" && -z $(find "$path" -type f | head -1) ]]; then
    ok
    echo "note: $name: left an empty folder $path (no files)"
  else
    bad "$name: output left behind: $(find "$path" | head -5 | tr '\n' ' ')"
  fi
}

# Nothing at PATH at all: not even an empty folder (quantize/prune create --out only at the end).
expect_nothing() {
  local name=$1 path=$2
  if [[ ! -e "$path" ]] && ! ls -d "$path".partial.* >/dev/null 2>&1; then ok; else bad "$name: left $(ls -d "$path"* | tr '\n' ' ')"; fi
}

# patch_float FILE FLOAT_INDEX VALUE  (float index after the 28-byte header; VALUE nan|inf|-inf)
patch_float() {
  "$PY" - "$@" <<'PY'
import struct, sys
path, idx, val = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
with open(path, "r+b") as f:
    f.seek(28 + 4 * idx)
    f.write(struct.pack("<f", val))
PY
}

# stories260K layout (dim 64, hidden 172, 5 layers, kv_dim 32, vocab 512), in floats after the header.
D=64 H=172 L=5 V=512 KV=32
WQ2=$((V * D + L * D + 2 * D * D))                                          # wq[2][0]
RMS_FINAL=$((V * D + L * D + L * D * D + 2 * L * KV * D + L * D * D + L * D + 3 * L * H * D))

TEXT=$T/text.txt
if [[ -n "$SHARED" && -f "$SHARED/data/tinystories_sample/tinystories_sample.txt" ]]; then
  head -c 2000 "$SHARED/data/tinystories_sample/tinystories_sample.txt" >"$TEXT"
else
  echo "Once upon a time, there was a little girl named Lily. She loved to play outside." >"$TEXT"
fi

# ---- help ----
expect_ok "lowbit --help" -- "$LOWBIT" --help
for c in ppl generate convert info; do expect_ok "lowbit $c --help" -- "$LOWBIT" "$c" --help; done

# ---- options ----
expect_err "unknown option" "--bogus" -- "$LOWBIT" info --bogus
expect_err "unknown option (ppl)" "--frobnicate" -- "$LOWBIT" ppl --data "$TEXT" --frobnicate 3
expect_err "bad option value" "--steps" -- "$LOWBIT" generate --steps many
expect_err "bad --to" "--to|onnx" -- "$LOWBIT" convert --model "$MODEL" --to onnx --out "$T/conv_to"
expect_no_output "bad --to leaves no output" "$T/conv_to"
expect_err "bad --dtype" "--dtype|f8" -- "$LOWBIT" convert --model "$MODEL" --to hf --dtype f8 --out "$T/conv_dt"
expect_no_output "bad --dtype leaves no output" "$T/conv_dt"
"$LOWBIT" nosuchcommand >/dev/null 2>"$T/err"
rc=$?
if [[ $rc == 2 ]] && head -1 "$T/err" | grep -qF nosuchcommand; then ok; else bad "unknown command: exit $rc / $(head -1 "$T/err")"; fi

# ---- missing files ----
expect_err "missing model" "$T/nope.bin|not found" -- "$LOWBIT" info "$T/nope.bin"
expect_err "missing data file" "$T/nope.txt" -- "$LOWBIT" ppl --model "$MODEL" --data "$T/nope.txt"
mkdir -p "$T/lonely"
cp "$MODEL" "$T/lonely/stories260K.bin"
expect_err "no tokenizer beside the model" "$T/lonely/stories260K.bin|tokenizer" -- \
  "$LOWBIT" ppl --model "$T/lonely/stories260K.bin" --data "$TEXT"
expect_err "no tokenizer beside the model (generate)" "$T/lonely/stories260K.bin|tokenizer" -- \
  "$LOWBIT" generate --model "$T/lonely/stories260K.bin" --steps 4
expect_err "missing --tokenizer file" "$T/nope_tok.bin" -- \
  "$LOWBIT" ppl --model "$MODEL" --tokenizer "$T/nope_tok.bin" --data "$TEXT"
head -c 3000 "$TOK" >"$T/tok_trunc.bin"
expect_err "truncated tokenizer" "$T/tok_trunc.bin" -- "$LOWBIT" ppl --model "$MODEL" --tokenizer "$T/tok_trunc.bin" --data "$TEXT"
mkdir -p "$T/emptydir"
expect_err "folder without config.json" "$T/emptydir|config.json" -- "$LOWBIT" info "$T/emptydir"

# ---- llama2.c checkpoints ----
for n in 0 10 27 28 1000 500000; do
  head -c "$n" "$MODEL" >"$T/trunc_$n.bin"
  expect_err "truncated at $n bytes" "$T/trunc_$n.bin|truncated" -- "$LOWBIT" info "$T/trunc_$n.bin"
done
expect_err "truncated (convert)" "$T/trunc_500000.bin|truncated" -- \
  "$LOWBIT" convert --model "$T/trunc_500000.bin" --to hf --out "$T/conv_trunc"
expect_no_output "convert of a truncated file leaves no output" "$T/conv_trunc"
{ cat "$MODEL"; printf 'trailing'; } >"$T/oversized.bin"
expect_err "oversized" "$T/oversized.bin|oversized|8 trailing bytes" -- "$LOWBIT" info "$T/oversized.bin"
cp "$MODEL" "$T/zero_dim.bin"
printf '\0\0\0\0' | dd of="$T/zero_dim.bin" bs=1 seek=8 conv=notrunc status=none  # n_layers = 0
expect_err "zero n_layers" "$T/zero_dim.bin|n_layers" -- "$LOWBIT" info "$T/zero_dim.bin"

cp "$MODEL" "$T/nan_wq2.bin"
patch_float "$T/nan_wq2.bin" $((WQ2 + 10)) nan
expect_err "NaN in wq[2] (ppl)" "$T/nan_wq2.bin|wq[2]|nan" -- \
  "$LOWBIT" ppl --model "$T/nan_wq2.bin" --tokenizer "$TOK" --data "$TEXT" --quiet
expect_err "NaN in wq[2] (convert to llama2c)" "$T/nan_wq2.bin|wq[2]" -- \
  "$LOWBIT" convert --model "$T/nan_wq2.bin" --to llama2c --out "$T/conv_nan.bin" --quiet
expect_no_output "convert of a NaN checkpoint leaves no .bin" "$T/conv_nan.bin"
ls "$T"/conv_nan.bin.tmp.* >/dev/null 2>&1 && bad "convert left a temp file $(ls "$T"/conv_nan.bin.tmp.*)" || ok
expect_err "NaN in wq[2] (convert to hf)" "$T/nan_wq2.bin|wq[2]" -- \
  "$LOWBIT" convert --model "$T/nan_wq2.bin" --to hf --out "$T/conv_nan_hf" --quiet
expect_no_output "convert to hf of a NaN checkpoint leaves no files" "$T/conv_nan_hf"
cp "$MODEL" "$T/nan_emb.bin"
patch_float "$T/nan_emb.bin" 100 nan
expect_err "NaN in the embedding (info)" "$T/nan_emb.bin|token_embedding_table" -- "$LOWBIT" info "$T/nan_emb.bin"
cp "$MODEL" "$T/inf.bin"
patch_float "$T/inf.bin" $((RMS_FINAL + 3)) inf
expect_err "Inf in rms_final_weight" "$T/inf.bin|rms_final_weight|inf" -- "$LOWBIT" info "$T/inf.bin"

# ---- finite but absurd weights, and results that overflow (issue 17) ----
cp "$MODEL" "$T/huge_wq2.bin"
patch_float "$T/huge_wq2.bin" $((WQ2 + 10)) 3e38
expect_err "3e38 in wq[2] (ppl)" "$T/huge_wq2.bin|wq[2]|exceeds" -- \
  "$LOWBIT" ppl --model "$T/huge_wq2.bin" --tokenizer "$TOK" --data "$TEXT" --quiet
expect_err "3e38 in wq[2] (quantize rtn)" "$T/huge_wq2.bin|wq[2]|exceeds" -- \
  "$LOWBIT" quantize --model "$T/huge_wq2.bin" --tokenizer "$TOK" --method rtn --group 0 --calib "$TEXT" \
  --doc-sep-none --nsamples 2 --seqlen 32 --out "$T/q_huge" --quiet
expect_nothing "quantize of a 3e38 checkpoint writes nothing" "$T/q_huge"
# 9.9e5 is within the load limit, but a 2-bit grid's f16 scale (range / 3) overflows: NaN weights.
cp "$MODEL" "$T/big_wq2.bin"
patch_float "$T/big_wq2.bin" $((WQ2 + 10)) 9.9e5
expect_err "f16 scale overflow (quantize rtn 2-bit)" "$T/big_wq2.bin|layers.2.attn.q.weight|non-finite|nothing written" -- \
  "$LOWBIT" quantize --model "$T/big_wq2.bin" --tokenizer "$TOK" --method rtn --bits 2 --group 0 --calib "$TEXT" \
  --doc-sep-none --nsamples 2 --seqlen 32 --out "$T/q_big" --quiet
expect_nothing "quantize with overflowing scales writes nothing" "$T/q_big"
# 1e5 loads (below 1e6) but does not fit in f16 (max 65504): convert --dtype f16 refuses, writes nothing.
cp "$MODEL" "$T/f16big.bin"
patch_float "$T/f16big.bin" $((WQ2 + 10)) 1e5
expect_err "value overflows f16 (convert --dtype f16)" "model.layers.2.self_attn.q_proj.weight|overflows F16|nothing written" -- \
  "$LOWBIT" convert --model "$T/f16big.bin" --to hf --dtype f16 --out "$T/conv_f16big" --quiet
expect_nothing "convert with an f16 overflow writes nothing" "$T/conv_f16big"

# ---- tokenizer and model that do not belong together ----
"$PY" - "$TOK" "$T/tok612.bin" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
extra = b"".join(struct.pack("<fi", -1e4, 4) + b"x%03d" % i for i in range(100))
open(sys.argv[2], "wb").write(b + extra)
PY
for c in ppl generate quantize prune; do
  args=()
  case $c in
    ppl) args=(--data "$TEXT") ;;
    generate) args=(--steps 4) ;;
    quantize) args=(--method rtn --group 0 --calib "$TEXT" --doc-sep-none --nsamples 2 --seqlen 32 --out "$T/tokq") ;;
    prune) args=(--method magnitude --out "$T/tokp") ;;
  esac
  expect_err "tokenizer larger than the vocabulary ($c)" "$T/tok612.bin|$MODEL|612|512" -- \
    "$LOWBIT" "$c" --model "$MODEL" --tokenizer "$T/tok612.bin" "${args[@]}" --quiet
done
expect_nothing "quantize with a mismatched tokenizer writes nothing" "$T/tokq"
expect_nothing "prune with a mismatched tokenizer writes nothing" "$T/tokp"

# ---- quantize/prune: inputs checked first, --out appears only with a whole result ----
echo "Once upon a time." >"$T/short.txt"
expect_err "calibration corpus too short (quantize)" "$T/short.txt" -- \
  "$LOWBIT" quantize --model "$MODEL" --method rtn --group 0 --calib "$T/short.txt" --doc-sep-none \
  --nsamples 4 --seqlen 64 --out "$T/q_short" --quiet
expect_nothing "quantize with a short corpus creates no --out" "$T/q_short"
expect_err "evaluation path is a directory (quantize)" "$T/emptydir|directory" -- \
  "$LOWBIT" quantize --model "$MODEL" --method rtn --group 0 --calib "$TEXT" --doc-sep-none --nsamples 2 \
  --seqlen 32 --eval-data "$T/emptydir" --out "$T/q_evdir" --quiet
expect_nothing "quantize with a directory as --eval-data creates no --out" "$T/q_evdir"
expect_err "calibration path is a directory (prune)" "$T/emptydir|directory" -- \
  "$LOWBIT" prune --model "$MODEL" --method wanda --calib "$T/emptydir" --out "$T/p_caldir" --quiet
expect_nothing "prune with a directory as --calib creates no --out" "$T/p_caldir"
expect_ok "prune magnitude writes a whole result" -- "$LOWBIT" prune --model "$MODEL" --method magnitude --out "$T/p_ok" --quiet
[[ -s "$T/p_ok/report.json" && -s "$T/p_ok/model/config.json" ]] && ok || bad "prune output incomplete: $(ls -R "$T/p_ok" | tr '\n' ' ')"
ls -d "$T"/p_ok.partial.* >/dev/null 2>&1 && bad "prune left a staging folder" || ok

# ---- Hugging Face folders (made by lowbit convert, then corrupted) ----
HF=$T/hf
if ! "$LOWBIT" convert --model "$MODEL" --to hf --out "$HF" --quiet >/dev/null 2>"$T/err"; then
  bad "convert stories260K to hf failed: $(cat "$T/err")"
else
  ok
  expect_ok "valid HF folder" -- "$LOWBIT" info "$HF"
  hf_copy() { rm -rf "$T/$1"; cp -r "$HF" "$T/$1"; echo "$T/$1"; }
  # st_edit DIR PYTHON-EXPR: rewrites DIR/model.safetensors; `h` is the header dict, `data` the bytes
  # after it; `raw` (bytes) replaces the whole header text when set.
  st_edit() {
    "$PY" - "$1/model.safetensors" "$2" <<'PY'
import json, struct, sys
path, code = sys.argv[1], sys.argv[2]
b = open(path, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h, data, raw, length = json.loads(b[8:8 + n]), b[8 + n:], None, None
exec(code)
hs = raw if raw is not None else json.dumps(h).encode()
open(path, "wb").write(struct.pack("<Q", length if length is not None else len(hs)) + hs + data)
PY
  }
  ST=model.safetensors
  d=$(hf_copy notjson)
  st_edit "$d" 'raw = b"{\"model.norm.weight\": {" + b" " * 10'
  expect_err "safetensors header not JSON" "$d/$ST|not valid JSON" -- "$LOWBIT" info "$d"
  d=$(hf_copy notobject)
  st_edit "$d" 'raw = b"[1, 2, 3]"'
  expect_err "safetensors header not an object" "$d/$ST|not a JSON object" -- "$LOWBIT" info "$d"
  d=$(hf_copy hlen)
  st_edit "$d" 'length = len(json.dumps(h)) + len(data) + 1'
  expect_err "safetensors header length past end" "$d/$ST|header length" -- "$LOWBIT" info "$d"
  d=$(hf_copy dtype)
  st_edit "$d" 'h["model.norm.weight"]["dtype"] = "Q7"'
  expect_err "unknown dtype" "$d/$ST|model.norm.weight|Q7" -- "$LOWBIT" info "$d"
  d=$(hf_copy reversed)
  st_edit "$d" 'o = h["model.norm.weight"]["data_offsets"]; o.reverse()'
  expect_err "offsets reversed" "$d/$ST|model.norm.weight|reversed" -- "$LOWBIT" info "$d"
  d=$(hf_copy pastend)
  st_edit "$d" 'o = h["model.norm.weight"]["data_offsets"]; o[0] += len(data); o[1] += len(data)'
  expect_err "offsets past the end" "$d/$ST|model.norm.weight|past the end" -- "$LOWBIT" info "$d"
  d=$(hf_copy overlap)
  st_edit "$d" 'h["model.norm.weight"]["data_offsets"] = [o + 4 for o in h["model.layers.0.input_layernorm.weight"]["data_offsets"]]'
  expect_err "overlapping tensors" "$d/$ST|model.norm.weight|model.layers.0.input_layernorm.weight|overlap" -- "$LOWBIT" info "$d"
  d=$(hf_copy count)
  st_edit "$d" 'h["model.norm.weight"]["shape"] = [32]'
  expect_err "byte count disagrees with shape" "$d/$ST|model.norm.weight|[32]" -- "$LOWBIT" info "$d"
  d=$(hf_copy truncst)
  st_edit "$d" 'data = data[: len(data) // 2]'
  expect_err "truncated safetensors" "$d/$ST|past the end" -- "$LOWBIT" info "$d"
  d=$(hf_copy missingt)
  # Remove the tensor and its bytes (the data region must still be tiled exactly, or the reader
  # rightly reports the gap first).
  st_edit "$d" 'e = h.pop("model.layers.2.mlp.up_proj.weight"); b0, e0 = e["data_offsets"]; data = data[:b0] + data[e0:]
for k, v in h.items():
    if k != "__metadata__": v["data_offsets"] = [o - (e0 - b0) if o >= e0 else o for o in v["data_offsets"]]'
  expect_err "missing tensor" "$d|model.layers.2.mlp.up_proj.weight|missing" -- "$LOWBIT" info "$d"
  expect_err "missing tensor (convert)" "$d|model.layers.2.mlp.up_proj.weight" -- \
    "$LOWBIT" convert --model "$d" --to llama2c --out "$T/conv_missing.bin"
  expect_no_output "convert of an HF folder with a missing tensor leaves no output" "$T/conv_missing.bin"
  d=$(hf_copy nanst)
  st_edit "$d" 'o = h["model.layers.4.self_attn.o_proj.weight"]["data_offsets"][0]; data = data[:o + 8] + b"\x00\x00\xc0\x7f" + data[o + 12:]'
  expect_err "NaN in a safetensors weight (ppl)" "$d/$ST|model.layers.4.self_attn.o_proj.weight|nan" -- \
    "$LOWBIT" ppl --model "$d" --tokenizer "$TOK" --data "$TEXT" --quiet
  d=$(hf_copy shape)
  "$PY" -c 'import json,sys; p=sys.argv[1]; j=json.load(open(p)); j["intermediate_size"]=176; json.dump(j,open(p,"w"))' "$d/config.json"
  expect_err "shape disagrees with config.json" "$d/$ST|model.layers.0.mlp.gate_proj.weight|[172, 64]|[176, 64]" -- "$LOWBIT" info "$d"
  # config.json describing less than the safetensors hold: refused, naming the unused tensors.
  d=$(hf_copy fewer_layers)
  "$PY" -c 'import json,sys; p=sys.argv[1]; j=json.load(open(p)); j["num_hidden_layers"]=4; json.dump(j,open(p,"w"))' "$d/config.json"
  expect_err "config.json has fewer layers than the weights" "$d|9 tensors are not used|model.layers.4.|num_hidden_layers" -- \
    "$LOWBIT" ppl --model "$d" --tokenizer "$TOK" --data "$TEXT" --quiet
  d=$(hf_copy extra_bias)
  st_edit "$d" 'h["model.layers.0.self_attn.q_proj.bias"] = {"dtype": "F32", "shape": [64], "data_offsets": [len(data), len(data) + 256]}; data = data + bytes(256)'
  expect_err "a bias the architecture does not use" "$d|model.layers.0.self_attn.q_proj.bias|not used" -- "$LOWBIT" info "$d"
  # Checkpoint-derived limits and config keys are named as the file names them.
  cfg_set() { "$PY" -c 'import json,sys; p=sys.argv[1]; j=json.load(open(p)); j[sys.argv[2]]=json.loads(sys.argv[3]); json.dump(j,open(p,"w"))' "$@"; }
  d=$(hf_copy ctx1)
  cfg_set "$d/config.json" max_position_embeddings 1
  expect_err "max_position_embeddings 1" "$d/config.json|max_position_embeddings|1" -- \
    "$LOWBIT" ppl --model "$d" --tokenizer "$TOK" --data "$TEXT" --quiet
  d=$(hf_copy eps0)
  cfg_set "$d/config.json" rms_norm_eps 0
  expect_err "rms_norm_eps 0" "$d/config.json|rms_norm_eps" -- "$LOWBIT" info "$d"
  d=$(hf_copy act)
  cfg_set "$d/config.json" hidden_act '"tanh"'
  expect_err "unsupported hidden_act" "$d/config.json|hidden_act|tanh" -- "$LOWBIT" info "$d"
  d=$(hf_copy kvheads)
  cfg_set "$d/config.json" num_key_value_heads 3
  expect_err "heads not a multiple of kv heads" "$d/config.json|num_attention_heads|num_key_value_heads" -- "$LOWBIT" info "$d"
  d=$(hf_copy cfgjson)
  printf '{"model_type": "llama",' >"$d/config.json"
  expect_err "config.json not JSON" "$d/config.json|not valid JSON" -- "$LOWBIT" info "$d"
  d=$(hf_copy cfgtype)
  "$PY" -c 'import json,sys; p=sys.argv[1]; j=json.load(open(p)); j["model_type"]="bloom"; json.dump(j,open(p,"w"))' "$d/config.json"
  expect_err "unknown model_type" "$d/config.json|model_type|bloom" -- "$LOWBIT" info "$d"
  d=$(hf_copy cfgkey)
  "$PY" -c 'import json,sys; p=sys.argv[1]; j=json.load(open(p)); del j["num_attention_heads"]; json.dump(j,open(p,"w"))' "$d/config.json"
  expect_err "missing config key" "$d/config.json|num_attention_heads" -- "$LOWBIT" info "$d"
  d=$(hf_copy noconfig)
  rm "$d/config.json"
  expect_err "missing config.json" "$d|config.json" -- "$LOWBIT" info "$d"
  d=$(hf_copy index)
  "$PY" - "$d" <<'PY'
import json, struct, sys
d = sys.argv[1]
b = open(d + "/model.safetensors", "rb").read()
n = struct.unpack("<Q", b[:8])[0]
names = [k for k in json.loads(b[8:8 + n]) if k != "__metadata__"]
wm = {k: "model-00001-of-00002.safetensors" if k < "model.layers.3" else "model-00002-of-00002.safetensors" for k in names}
json.dump({"weight_map": wm}, open(d + "/model.safetensors.index.json", "w"))
import os; os.rename(d + "/model.safetensors", d + "/model-00001-of-00002.safetensors")
PY
  expect_err "index points to a missing shard" "model-00002-of-00002.safetensors" -- "$LOWBIT" info "$d"
  d=$(hf_copy index2)
  echo '{"weight_map": {"model.norm.weight": "model.safetensors", "model.extra.weight": "model.safetensors"}}' \
    >"$d/model.safetensors.index.json"
  expect_err "index names a tensor the shard lacks" "$d/model.safetensors.index.json|model.extra.weight" -- "$LOWBIT" info "$d"
fi

# FIFOs, devices and directories where a file is expected: refused at once, never read (a FIFO would
# block a reader forever; the timeout turns a hang into a failure of this test).
mkfifo "$T/fifo"
expect_err "model is a FIFO" "$T/fifo|not a regular file|FIFO" -- timeout 20 "$LOWBIT" info --model "$T/fifo"
expect_err "data is a FIFO" "$T/fifo|not a regular file|FIFO" -- timeout 20 "$LOWBIT" ppl --data "$T/fifo"
expect_err "data is a device" "/dev/zero|not a regular file|device" -- timeout 20 "$LOWBIT" ppl --data /dev/zero
expect_err "data is a directory" "$T|directory" -- timeout 20 "$LOWBIT" ppl --data "$T"
expect_err "manifest is a FIFO" "$T/fifo|not a regular file" -- timeout 20 "$LOWBIT" plan "$T/fifo"

echo "$pass passed, $fail failed"
((fail == 0))
