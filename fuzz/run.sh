#!/usr/bin/env bash
# Fuzzes every parser of user files for SECONDS each (default 60), one job at a time, from
# the committed seeds; new inputs go to corpus/<target>, crashes to artifacts/<target>.
# Needs `cargo install cargo-fuzz`; RUSTC_BOOTSTRAP lets the stable toolchain take the
# nightly-only sanitizer flags. Usage: fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(hypothesis model_config safetensors paren_data induction_tokens induction_subset)
fi
export RUSTC_BOOTSTRAP=1
# The code under test has no `unsafe`, so AddressSanitizer would only slow it down; overflow
# checks and debug assertions stay on.
cargo fuzz build --sanitizer none
status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    echo "== $t: ${secs}s"
    cargo fuzz run --sanitizer none "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        || status=1
done
exit $status
