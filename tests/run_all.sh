#!/usr/bin/env bash
# The test command the README gives: the whole suite on the TensorFlow backend, then the
# layer tests again on the JAX backend (layers and models use keras.ops only).
set -euo pipefail
cd "$(dirname "$0")/.."
KERAS_BACKEND=tensorflow python3 -m pytest -q tests "$@"
KERAS_BACKEND=jax python3 -m pytest -q tests/layers "$@"
