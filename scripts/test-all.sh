#!/usr/bin/env bash
# Every test: the Rust workspace, then the Python package built as a wheel, installed into a
# virtual environment and tested with pytest (the README's test command; `.ci/run` runs it).
# Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SCRUB_DATA:?set SCRUB_DATA to the shared models folder, e.g. SCRUB_DATA=../shared/models}"
export SCRUB_DATA

# SCRUB_SLOW=1 also runs the slow checks CI leaves out (#[ignore], each says why).
if [ "${SCRUB_SLOW:-0}" = 1 ]; then
    cargo test --workspace --locked "$@" -- --include-ignored
else
    cargo test --workspace --locked "$@"
fi

# The wheel comes from the same compilation as the tests: the dev profile has their
# settings, so only the PyO3 crate is compiled again.
venv="${SCRUB_VENV:-target/venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q "maturin>=1.5,<2" pytest numpy safetensors ray
rm -rf target/wheels
"$venv/bin/maturin" build --profile dev --manifest-path python/Cargo.toml --out target/wheels
"$venv/bin/pip" install -q --force-reinstall --no-deps target/wheels/scrub_cs-*.whl
# Ray's token warning is noise in a test log.
SCRUB_BIN="$PWD/target/debug/scrub" RAY_AUTH_MODE=disabled \
    "$venv/bin/python" -m pytest -q python/tests
