#!/usr/bin/env bash
# tests/cli/archive_schema.sh — archive schema 2 end to end: a diagnosed configuration's
# diagnostics/ carries the compression parameters under /configs/<id>'s names (one writer), the
# renamed schema-1 keys are gone; the same archive rewritten as schema 1 (the old names, version 1)
# is read by `lowbit inspect` and analysis/diag_plot.py as before, compares equal to the schema-2
# one with compare_archives.py --renames-v1 (and unequal without), and `lowbit run --resume` onto
# it is refused in one line naming the file and both schemas, leaving the file untouched; a
# configuration staged by a schema-1 lowbit is refused by name.
# usage: archive_schema.sh LOWBIT SHARED_DIR
set -uo pipefail
LB=$1
T=$(mktemp -d /tmp/lowbit_cli_schema.XXXX)
source "$(dirname "$0")/lib/common.bash"
export OMP_NUM_THREADS=1
ROOT=$PWD
CAL=$ROOT/jobs/data/tinystories_sample.txt
PY=/usr/bin/python3

cat > "$T/m.yaml" <<EOF
name: schema
output: $T/v2.h5
models:
  - name: s
    path: $ROOT/models/stories260K/stories260K.bin
    tokenizer: $ROOT/models/stories260K/tok512.bin
calibration:
  path: $CAL
  nsamples: 4
  seqlen: 32
seeds: [3]
evaluation:
  ppl:
    path: $CAL
diagnostics:
  only: rtn
  eval_windows: 2
  eval_seqlen: 32
methods:
  - method: rtn
    bits: 4
    group: -1
EOF
"$LB" run "$T/m.yaml" --quiet > "$T/run.out" 2> "$T/run.err"
check "the diagnosed run succeeds" "[ -s '$T/v2.h5' ] || { cat '$T/run.err'; false; }"
$PY - "$T/v2.h5" > "$T/v2.txt" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    (cid,) = list(f["configs"])
    c, d = f["configs"][cid].attrs, f["configs"][cid]["diagnostics"].attrs
    print(int(f.attrs["lowbit_schema_version"]))
    print(all(k in d and d[k] == c[k] for k in ("method", "bits", "group", "sym", "calib_samples", "calib_seqlen",
                                              "calib_tokens", "seed")))
    print(int(d["seed"]), d["model_path"] == c["model_path"], any(k in d for k in ("calib_nsamples", "calib_seed", "model")))
PY
{ read -r SCHEMA; read -r SAME; read -r SEED MP OLD; } < "$T/v2.txt"
check "the archive is schema 2 ($SCHEMA)" "[ '$SCHEMA' = 2 ]"
check "diagnostics/ holds the compression parameters as /configs/<id> does" "[ '$SAME' = True ]"
check "diagnostics@seed is the manifest's seed, model_path the configuration's ($SEED, $MP)" "[ '$SEED' = 3 ] && [ '$MP' = True ]"
check "no schema-1 name is written ($OLD)" "[ '$OLD' = False ]"

# The same archive as schema 1 wrote it: old names, version 1.
cp "$T/v2.h5" "$T/v1.h5"
$PY - "$T/v1.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    f.attrs["lowbit_schema_version"] = 1
    for cid in f["configs"]:
        d = f["configs"][cid]["diagnostics"].attrs
        for old, new in (("calib_nsamples", "calib_samples"), ("calib_seed", "seed"), ("model", "model_path")):
            d[old] = d[new]
            del d[new]
PY
"$LB" inspect "$T/v1.h5" --json > "$T/i1.json" 2> "$T/i1.err"
check "inspect reads a schema-1 archive and reports schema 1" \
  "$PY -c \"import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j['schema']==1 and len(j['configs'])==1 else 1)\" '$T/i1.json' || cat '$T/i1.err'"
$PY "$ROOT/analysis/diag_plot.py" --table "$T/v1.h5" > "$T/t1.md" 2> "$T/t1.err"
$PY "$ROOT/analysis/diag_plot.py" --table "$T/v2.h5" > "$T/t2.md" 2> "$T/t2.err"
check "diag_plot.py reads both schemas to the same table" "[ -s '$T/t2.md' ] && cmp -s '$T/t1.md' '$T/t2.md' || cat '$T/t1.err' '$T/t2.err'"
check "compare_archives.py --renames-v1: equal outside the renames" \
  "$PY '$ROOT/tests/mpi/compare_archives.py' '$T/v1.h5' '$T/v2.h5' --renames-v1 > '$T/cmp.out'"
check "compare_archives.py without the map sees the renames" \
  "! $PY '$ROOT/tests/mpi/compare_archives.py' '$T/v1.h5' '$T/v2.h5' > '$T/cmp0.out' && grep -q calib_nsamples '$T/cmp0.out'"

SUM=$(sha256sum < "$T/v1.h5")
"$LB" run "$T/m.yaml" --resume --output "$T/v1.h5" --quiet > "$T/r.out" 2> "$T/r.err"
RC=$?
check "--resume onto schema 1 is refused with exit 2 in one line (rc=$RC: $(cat "$T/r.err"))" \
  "[ $RC -eq 2 ] && [ \$(wc -l < '$T/r.err') -eq 1 ] && grep -q '$T/v1.h5: written with archive schema 1; this lowbit writes schema 2' '$T/r.err'"
check "the refused archive is untouched" "[ \"\$(sha256sum < '$T/v1.h5')\" = '$SUM' ]"

# A configuration staged by a schema-1 lowbit for this very manifest (no version attribute at the
# staged file's root) is refused by name, not merged under the old names.
mkdir -p "$T/s.h5.staging"
$PY - "$T/v1.h5" "$T/s.h5.staging" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as src:
    (cid,) = list(src["configs"])
    with h5py.File(f"{sys.argv[2]}/{cid}.h5", "w") as dst:
        src.copy(src["configs"][cid], dst, name=cid)
PY
"$LB" run "$T/m.yaml" --output "$T/s.h5" --quiet > "$T/s.out" 2> "$T/s.err"
RC=$?
check "a schema-1 staged configuration is refused by name (rc=$RC: $(cat "$T/s.err"))" \
  "[ $RC -eq 2 ] && grep -q 's.h5.staging/.*: was staged by a lowbit writing archive schema 1, not 2' '$T/s.err' && [ ! -e '$T/s.h5' ]"
finish
