#!/usr/bin/env bash
# Under a real mpirun: 1, 2 and 4 ranks (one group, data parallel calibration + split solves) and
# 4 ranks in 2 groups (dynamic queue) give bit-identical archives: weights digests, per-layer
# errors, perplexities. Also reads the archives back with h5ls and h5py.
source "$(dirname "$0")/lib.bash"
small_manifest "$T/m.yaml"
"$LB" run "$T/m.yaml" --output "$T/r1.h5" --quiet 2> "$T/e1"
check "1 process without a launcher runs serially" '[ $? -eq 0 ] && [ -f "$T/r1.h5" ]'
"${MPIRUN[@]}" -np 2 "$LB" run "$T/m.yaml" --output "$T/r2.h5" --group-size 2 --quiet 2> "$T/e2"
check "mpirun -np 2 (one group of 2) succeeds" '[ $? -eq 0 ]'
"${MPIRUN[@]}" -np 4 "$LB" run "$T/m.yaml" --output "$T/r4.h5" --group-size 4 --quiet 2> "$T/e4"
check "mpirun -np 4 (one group of 4) succeeds" '[ $? -eq 0 ]'
"${MPIRUN[@]}" -np 4 "$LB" run "$T/m.yaml" --output "$T/r22.h5" --group-size 2 --quiet 2> "$T/e22"
check "mpirun -np 4 (two groups of 2, shared queue) succeeds" '[ $? -eq 0 ]'
for r in r2 r4 r22; do
  check "$r equals the one-process archive bit for bit" 'compare "$T/r1.h5" "$T/$r.h5" --expect-configs 4 > "$T/cmp" || { cat "$T/cmp"; false; }'
done
check "h5ls lists the configurations" 'h5ls "$T/r4.h5/configs" | grep -c Group | grep -qx 4'
check "h5dump reads the manifest attribute" 'h5dump -a /run/manifest "$T/r4.h5" | grep -q "name: small"'
check "the run records 4 ranks" '"$LB" inspect "$T/r4.h5" --json | "$PY" -c "import json,sys; j=json.load(sys.stdin); sys.exit(j[\"run\"][\"ranks\"]!=4 or j[\"run\"][\"complete\"]!=1)"'
check "h5py reads tables with column names and units" '"$PY" - "$T/r2.h5" <<PYEOF
import sys, h5py
f = h5py.File(sys.argv[1], "r")
g = f["configs/s.gptq.b3.g4.asym.n12.s0"]
t = g["layers"]
cols = [c.decode() if isinstance(c, bytes) else c for c in t.attrs["columns"]]
assert t.shape == (35, len(cols)), t.shape
assert cols[3] == "out_error", cols
e = g["eval"][0, cols.index("layer") if False else 0]
assert 1.0 < e < 3.0, e
assert f.attrs["lowbit_schema_version"] == 2  # docs/ARCHIVE.md "Changes in schema 2"
assert g.attrs["complete"] == 1 and g.attrs["bits"] == 3
PYEOF'
finish
