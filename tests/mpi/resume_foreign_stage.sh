#!/usr/bin/env bash
# `--resume` trusts only what this run staged: a staged configuration carries the manifest_sha and
# id of the run that staged it, and a staged file from another manifest, an unknown configuration
# or a stray file in ARCHIVE.staging is refused by name (exit 2, nothing changed) instead of being
# counted as done (which ended the run with exit 0 and an incomplete archive). Once the file is
# moved away, the same --resume completes the run. Also refused on a fresh start.
source "$(dirname "$0")/lib.bash"
write() {  # write FILE MAX_WINDOWS: three rtn configurations; MAX_WINDOWS changes the manifest, not the ids
  cat > "$1" <<YAML
name: foreign
models:
  - name: s
    path: $SRC/models/stories260K/stories260K.bin
calibration:
  path: $SRC/jobs/data/tinystories_sample.txt
  nsamples: 4
  seqlen: 32
evaluation:
  ppl: {path: $SRC/jobs/data/tinystories_sample.txt, max_windows: $2, ctx: 64}
methods:
  - method: rtn
    bits: [2, 3, 4]
    group: [4]
YAML
}
write "$T/m.yaml" 2
write "$T/other.yaml" 3
"$LB" run "$T/other.yaml" --output "$T/o.h5" --quiet 2> "$T/err"
check "a run of another manifest (same configuration ids)" '[ $? -eq 0 ] || { cat "$T/err"; false; }'
"$LB" run "$T/m.yaml" --output "$T/a.h5" --limit 1 --quiet 2> "$T/err"
check "a partial run of this manifest (1 of 3)" '[ $? -eq 0 ] || { cat "$T/err"; false; }'
stage_from() {  # stage_from ARCHIVE CONFIG STAGED_NAME: a config group of ARCHIVE as a staged file
  "$PY" -c "
import h5py, sys
src = h5py.File(sys.argv[1], 'r'); dst = h5py.File(sys.argv[4], 'w')
src.copy(src['configs/' + sys.argv[2]], dst, name=sys.argv[3])
if sys.argv[3] != sys.argv[2]: dst[sys.argv[3]].attrs['id'] = sys.argv[3]" "$1" "$2" "$3" "$T/a.h5.staging/$3.h5"
}
id=s.rtn.b3.g4.asym.n4.s0
sum0=$(md5sum < "$T/a.h5")
refused() {  # refused NAME WANT: --resume exits 2 with one line naming WANT; the archive is unchanged
  "$LB" run "$T/m.yaml" --output "$T/a.h5" --resume > /dev/null 2> "$T/err"; local rc=$?
  if [ $rc -eq 2 ] && [ "$(grep -vc '^\[lowbit\]' "$T/err")" -eq 1 ] && grep -q -- "$2" "$T/err" &&
     [ "$(md5sum < "$T/a.h5")" = "$sum0" ]; then ok "$1"; else bad "$1 (rc=$rc: $(cat "$T/err"))"; fi
}
stage_from "$T/o.h5" "$id" "$id"
refused "a staged configuration of another manifest: refused by name" "a.h5.staging/$id.h5: was staged by another manifest"
rm "$T/a.h5.staging/$id.h5"
stage_from "$T/a.h5" s.rtn.b2.g4.asym.n4.s0 s.rtn.b7.g4.asym.n4.s0
refused "a staged configuration this manifest does not have: refused by name" \
  "s.rtn.b7.g4.asym.n4.s0.h5: configuration 's.rtn.b7.g4.asym.n4.s0' is not one of this manifest's"
rm "$T/a.h5.staging/s.rtn.b7.g4.asym.n4.s0.h5"
echo notes > "$T/a.h5.staging/notes.txt"
refused "a stray file in the staging folder: refused by name" "a.h5.staging/notes.txt: not a configuration staged"
rm "$T/a.h5.staging/notes.txt"
mkdir -p "$T/b.h5.staging"
cp "$T/o.h5" "$T/o_copy.h5"
"$PY" -c "
import h5py, sys
src = h5py.File(sys.argv[1], 'r'); dst = h5py.File(sys.argv[2], 'w')
src.copy(src['configs/$id'], dst, name='$id')" "$T/o.h5" "$T/b.h5.staging/$id.h5"
"$LB" run "$T/m.yaml" --output "$T/b.h5" > /dev/null 2> "$T/err"
check "a fresh start over a foreign staged file: exit 2, no archive and no lock left" \
  '[ $? -eq 2 ] && grep -q "another manifest" "$T/err" && [ ! -e "$T/b.h5" ] && [ ! -e "$T/b.h5.lock" ]'
"$LB" run "$T/m.yaml" --output "$T/a.h5" --resume --json > "$T/final.json" 2> "$T/err"
check "with the staging folder clean, --resume completes the run" '[ $? -eq 0 ] && "$PY" -c "
import json; j = json.load(open(\"$T/final.json\")); assert j[\"already_complete\"] == 1 and j[\"completed\"] == 2 == j[\"configs\"] - 1, j" || { cat "$T/err"; false; }'
check "every configuration of the archive carries this manifest's hash" '"$PY" -c "
import h5py; f = h5py.File(\"$T/a.h5\", \"r\"); sha = f[\"run\"].attrs[\"manifest_sha\"]
assert len(f[\"configs\"]) == 3 and all(g.attrs[\"manifest_sha\"] == sha for g in f[\"configs\"].values())"'
finish
