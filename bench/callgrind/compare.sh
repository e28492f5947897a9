#!/usr/bin/env bash
# Instructions (valgrind callgrind) of the window engine on one workload, for two builds side by
# side: a start that scans a 20k-trade ledger, then 20 scrapes (refresh + snapshot) with 5 new
# trades each. Instruction counts do not depend on what else the machine runs, so two builds
# compare on a shared, loaded machine where timings do not.
#   bash bench/callgrind/compare.sh /path/to/other/checkout   (both built with npx tsc)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
other=${1:?usage: compare.sh OTHER_CHECKOUT}
end=1795000000000
tmp=$(mktemp -d)
node "$here/bench/callgrind/gen.mjs" "$tmp/l.db" 20000 $end >/dev/null
for round in 1 2; do
  for root in "$here" "$other"; do
    cp "$tmp/l.db" "$tmp/run.db"; rm -f "$tmp/run.db-wal" "$tmp/run.db-shm"
    n=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null node --single-threaded \
      "$here/bench/callgrind/engine-work.mjs" "$root" "$tmp/run.db" 20 $end 2>&1 | awk '/Collected/ {print $4}')
    echo "round $round  $root  $n instructions"
  done
done
rm -rf "$tmp"
