#!/usr/bin/env bash
# bench/peak_rss.sh — peak resident memory of one lowbit command, and where in the run it happens
# (results: docs/BENCHMARKS.md, "Peak memory of quantize on Gemma 3").
#
# usage: bench/peak_rss.sh OUT_PREFIX LOWBIT ARGS...
#   Runs `LOWBIT ARGS...` under /usr/bin/time -v (Maximum resident set size = the kernel's peak RSS
#   of the process) and samples the process's VmRSS / RssAnon / RssFile from /proc every 0.2 s.
#   OUT_PREFIX.time: /usr/bin/time's report; OUT_PREFIX.rss: "seconds VmRSS_kB RssAnon_kB RssFile_kB";
#   OUT_PREFIX.log: the command's stderr, each line prefixed with the seconds since the start and the
#   VmRSS (MiB) last sampled, so a peak can be put next to the phase that logged around it.
set -uo pipefail
out=$1
shift
: > "$out.rss"
start=$(date +%s.%N)
fifo=$(mktemp -u /tmp/peak_rss_fifo.XXXX)
mkfifo "$fifo"
while IFS= read -r l; do  # the command's stderr, stamped with time and the last sampled VmRSS
  now=$(date +%s.%N)
  rss=$(tail -n 1 "$out.rss" 2>/dev/null | awk '{printf "%.0f", $2 / 1024}')
  printf '%7.1f s %6s MiB | %s\n' "$(echo "$now - $start" | bc)" "${rss:-0}" "$l"
done < "$fifo" > "$out.log" &
rpid=$!
/usr/bin/time -v -o "$out.time" "$@" 2> "$fifo" > "$out.stdout" &
tpid=$!
child=""
for _ in $(seq 50); do child=$(pgrep -P "$tpid" | head -n 1); [ -n "$child" ] && break; sleep 0.02; done
while kill -0 "$tpid" 2> /dev/null; do
  if [ -n "$child" ] && [ -r "/proc/$child/status" ]; then
    awk -v t="$(echo "$(date +%s.%N) - $start" | bc)" '/^VmRSS/{v=$2} /^RssAnon/{a=$2} /^RssFile/{f=$2}
      END{if (v) printf "%.1f %d %d %d\n", t, v, a, f}' "/proc/$child/status" >> "$out.rss"
  fi
  sleep 0.2
done
wait "$tpid"
rc=$?
wait "$rpid"
rm -f "$fifo"
grep -E "Maximum resident|Elapsed" "$out.time"
sort -k2 -n "$out.rss" | tail -n 1 | awk '{printf "sampled peak: %.0f MiB at %.1f s (anon %.0f, file %.0f MiB)\n", $2/1024, $1, $3/1024, $4/1024}'
exit $rc
