#!/usr/bin/env bash
# Requests the partition cannot satisfy are refused at submission with one clear line and exit 2,
# and nothing is queued: more ranks per node than the node has CPUs, more nodes than the partition
# allows, an unknown partition. A manifest error is refused before Slurm is asked (file:line:col).
source "$(dirname "$0")/lib.bash"
refused() {  # refused NAME WANT RESOURCES-YAML
  local name=$1 want=$2
  slurm_manifest "$T/r.yaml" 1 "$3"
  "$LB" submit "$T/r.yaml" > "$T/out" 2> "$T/err"; local rc=$?
  if [ $rc -eq 2 ] && [ "$(wc -l < "$T/err")" -eq 1 ] && grep -q -- "$want" "$T/err" && [ -z "$(squeue -h)" ]; then
    ok "$name: $(cat "$T/err")"
  else bad "$name (rc=$rc: $(cat "$T/err"); queue: $(squeue -h))"; fi
}
refused "64 ranks on a 4-CPU node" "1 node x 64 ranks.*Slurm refused it: More processors requested than permitted" "  ranks_per_node: 64"
refused "2 nodes on a 1-node partition" "2 nodes x 1 rank.*Slurm refused it: Node count specification invalid" "  nodes: 2"
refused "an unknown partition" "partition gpu-a100.*Slurm refused it: Invalid partition name" "  partition: gpu-a100"
slurm_manifest "$T/t.yaml" 1 '  time: "90 minutes"'
"$LB" submit "$T/t.yaml" > "$T/out" 2> "$T/err"
check "a malformed time limit: exit 2 before Slurm is asked, with file:line:column and key path" \
  '[ $? -eq 2 ] && grep -q "t.yaml:27:9: resources.time: .90 minutes. is not a Slurm time limit" "$T/err" && [ -z "$(squeue -h)" ]'
check "no job was ever submitted" '[ -z "$(squeue -h)" ] && [ -z "$(scontrol show job 2>/dev/null | grep JobId)" ]'
finish
