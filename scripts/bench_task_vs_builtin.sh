#!/usr/bin/env bash
# Times `scrub run` on every shipped paren hypothesis, built-in and through the task
# directory `scrub task export paren` writes, interleaved so both see the same machine load.
# Usage: SCRUB_DATA=DIR scripts/bench_task_vs_builtin.sh [samples]
set -euo pipefail
samples=${1:-2000}
bin=${SCRUB_BIN:-target/release/scrub}
task=$(mktemp -d)/paren-task
"$bin" task export paren "$task" -q >/dev/null
tb=0; tt=0
for h in 0a 0b 1a 1b 2a 2b 3a 3b 3c 3d 4; do
  for side in builtin task; do
    f=scenarios/paren/hypotheses/$h.ron; [ $side = task ] && f=$task/hypotheses/$h.ron
    s=$(date +%s.%N)
    "$bin" run "$f" --samples "$samples" --executor cpu --json -q >/dev/null
    e=$(echo "$(date +%s.%N) - $s" | bc)
    if [ $side = builtin ]; then tb=$(echo "$tb + $e" | bc); else tt=$(echo "$tt + $e" | bc); fi
  done
done
echo "built-in ${tb} s, task ${tt} s, ratio $(echo "scale=3; $tt / $tb" | bc) ($samples samples, 11 hypotheses)"
