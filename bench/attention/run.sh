#!/usr/bin/env bash
# make bench runs this: attention under autograd (NeCo's backbone training), dinofeat's blockwise
# backward against the unfused softmax(q k^T) v, 6 heads of 64, one process per measurement so that
# each peak is its own. Ratios of one run: time unfused / ours, memory unfused / ours.
set -euo pipefail
cd "$(dirname "$0")/../.."
make -s build/bench/attention_grad
bin=build/bench/attention_grad
repeats=${BENCH_REPEATS:-3}
$bin check 2 1370 1 > /dev/null || { echo "attention_grad: the two gradients differ" >&2; exit 1; }
echo "attention forward + backward, 6 heads x 64, $(nproc) threads, median of $repeats"
printf '%6s %7s %10s %10s %6s %12s %12s\n' batch tokens "unfused s" "ours s" ratio "unfused +MB" "ours +MB"
for case in "64 257" "8 1370" "2 2810" "1 4097"; do
    set -- $case
    unfused=$($bin unfused "$1" "$2" "$repeats")
    ours=$($bin ours "$1" "$2" "$repeats")
    /usr/bin/python3 - "$1" "$2" "$unfused" "$ours" <<'PY'
import json, sys
batch, tokens, unfused, ours = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
print(f"{batch:>6} {tokens:>7} {unfused['seconds']:10.3f} {ours['seconds']:10.3f} "
      f"{unfused['seconds'] / ours['seconds']:6.2f} {unfused['extra_mb']:12.0f} {ours['extra_mb']:12.0f}")
PY
done
