#!/usr/bin/env bash
# The test command the README gives: the whole suite on the TensorFlow backend, then the
# layer tests and tests/jax (the translators, the classifiers and decoding) on the JAX
# backend (layers and models use keras.ops only). Each pass prints its 30 slowest tests.
# Each pass runs on pytest-xdist workers, one per CPU (`PYTEST_WORKERS=0` runs in this
# process); tests that share a trained fixture go to the same worker (tests/conftest.py).
# Extra arguments go to both passes (`bash tests/run_all.sh -k fuzz`).
set -uo pipefail
cd "$(dirname "$0")/.."

run_pass() {
  python3 -m pytest -q --durations=30 -n "${PYTEST_WORKERS:-auto}" --dist loadgroup "$@"
  local status=$?
  # pytest exits 5 when it collected no test. Without a filter of the caller's that means
  # the suite is broken: a failure. With one (`-k`, a node id) a pass may hold no match.
  if [ "$status" -eq 5 ] && [ "$FILTERED" -eq 1 ]; then
    echo "run_all.sh: no test of this pass matches the arguments given" >&2
    return 0
  fi
  return "$status"
}

FILTERED=$(( $# > 0 ))
# With one worker per core, each TensorFlow process (a worker, or a command a test starts)
# gets one intra-op thread: two workers with a thread pool each on 2 cores spent ~10% of the
# CPU spinning (benchmarks/RESULTS.md, "CI time"). Set either variable to override.
if [ "${PYTEST_WORKERS:-auto}" != "0" ]; then
  export TF_NUM_INTRAOP_THREADS="${TF_NUM_INTRAOP_THREADS:-1}"
  export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
fi
KERAS_BACKEND=tensorflow run_pass tests "$@" || exit $?
KERAS_BACKEND=jax run_pass tests/layers tests/jax "$@" || exit $?
