"""Benchmark: our `MultiHeadAttention` against `keras.layers.MultiHeadAttention` (issue 2, item 6).

    python benchmarks/attention_speed_and_memory.py [--repeats 10] [--lengths 128 512]
        [--memory-length 4096] [--window 128] [--memory-repeats 5] [--skip-memory]

1. Speed. One forward+backward step of self-attention, batch 32, model width 256, 8 heads
   (key_dim 32), lengths 128 and 512, on the TensorFlow backend, our layer and Keras' with
   the same weights, with and without `return_attention_scores`. Two ways a user runs it:
   - `tape`: eager `tf.GradientTape` around the layer call, gradients of `sum(output)` for
     the layer's weights (a custom training loop without `tf.function`);
   - `train_on_batch`: a one-layer `keras.Model` (MSE against zeros, SGD), the step
     `model.fit` runs (`tf.function`, no XLA: Keras' default on a TensorFlow CPU).
   The two layers are timed in turn, `--repeats` rounds after one warm-up, alternating
   which goes first; medians and `ours / keras` are printed (target: <= 1.05), for the
   wall clock and for the process's CPU time (all threads), which measures the work done
   and is far less disturbed by other processes on a shared machine.
2. Memory. Full against sliding-window (window 128) self-attention at length 4096, batch 1,
   width 256, 8 heads: each variant in a fresh process (`quadratic_cost.measure_variant`),
   on TensorFlow (median step time of `--memory-repeats` steps, growth of the process's
   peak RSS over its level after a short warm-up step) and on JAX (XLA's planned temporary
   memory for the compiled step). `measure_variant` returns the median step time only.

The arguments and the load average (`os.getloadavg()`, before and after) are printed with
the figures: on a shared machine they say how much to trust the wall-clock times.
"""

import argparse
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The package's quiet start (imported first, before Keras) drops TensorFlow's start-up lines.
os.environ.setdefault("ATTENTION_LAYERS_QUIET_START", "1")

import attention_layers  # noqa: E402, F401

# isort: split
import keras  # noqa: E402
import numpy as np  # noqa: E402

from attention_layers.experiments import harness  # noqa: E402
from attention_layers.layers import MultiHeadAttention  # noqa: E402

BATCH, WIDTH, HEADS = 32, 256, 8


def _tape_step(layer, inputs, scores):
    import tensorflow as tf

    def step():
        with tf.GradientTape() as tape:
            output = layer(inputs, inputs, return_attention_scores=scores)
            output = output[0] if scores else output
            loss = tf.reduce_sum(output)
        return tape.gradient(loss, layer.trainable_variables)

    return step


def _fit_step(layer, inputs, scores):
    model_inputs = keras.Input(inputs.shape[1:])
    output = layer(model_inputs, model_inputs, return_attention_scores=scores)
    model = keras.Model(model_inputs, output[0] if scores else output)
    model.compile(optimizer="sgd", loss="mse")
    target = np.zeros(inputs.shape, "float32")
    return lambda: model.train_on_batch(inputs, target)


def speed(lengths, repeats):
    rows = []
    for length in lengths:
        inputs = np.random.default_rng(0).normal(size=(BATCH, length, WIDTH)).astype("float32")
        for scores in (False, True):
            for mode, make_step in (("tape", _tape_step), ("train_on_batch", _fit_step)):
                keras.utils.set_random_seed(0)
                theirs = keras.layers.MultiHeadAttention(HEADS, WIDTH // HEADS)
                ours = MultiHeadAttention(HEADS, WIDTH // HEADS)
                reference = theirs(inputs[:2], inputs[:2])
                ours(inputs[:2], inputs[:2])
                ours.set_weights(theirs.get_weights())
                difference = float(np.max(np.abs(
                    keras.ops.convert_to_numpy(ours(inputs[:2], inputs[:2]) - reference))))
                timings = harness.interleaved_timings(
                    {"ours": make_step(ours, inputs, scores),
                     "keras": make_step(theirs, inputs, scores)},
                    repeats,
                )
                cells = [length, scores, mode]
                for clock in ("wall", "cpu"):
                    ours_ms = 1000 * np.array(timings["ours"][clock])
                    keras_ms = 1000 * np.array(timings["keras"][clock])
                    cells += [_spread(ours_ms), _spread(keras_ms), _spread(ours_ms / keras_ms)]
                rows.append([*cells, f"{difference:.1e}"])
                print(f"T={length} scores={scores} {mode}: wall ours {cells[3]} ms, "
                      f"keras {cells[4]} ms, ratio {cells[5]}; CPU ours {cells[6]} ms, "
                      f"keras {cells[7]} ms, ratio {cells[8]}", flush=True)
    header = ["T", "return_scores", "mode", "wall ours ms", "wall keras ms", "wall ratio",
              "CPU ours ms", "CPU keras ms", "CPU ratio", "max |diff|"]
    return harness.format_table(header, rows)


def _spread(values):
    """`median (min-max)` of `values`, e.g. the per-round timings or ratios."""
    return f"{_number(np.median(values))} ({_number(np.min(values))}-{_number(np.max(values))})"


def _number(value):
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"



def memory(length, window, repeats):
    rows = []
    for backend in ("tensorflow", "jax"):
        for variant in ("fused", "explicit", "sliding_window"):
            result = harness.run_in_subprocess(
                "attention_layers.experiments.quadratic_cost:measure_variant",
                backend=backend, variant=variant, lengths=[length], batch_size=1,
                width=WIDTH, heads=HEADS, window=window, repeats=repeats, find_oom=False,
            )
            row = result["rows"][0]
            rows.append([backend, variant, row["seconds"] * 1000, row["rss_growth_mb"],
                         row["peak_rss_mb"], row.get("xla_temp_mb")])
            print(f"{backend} {variant}: {row}", flush=True)
    header = ["backend", "variant", "step ms", "peak RSS growth MB", "peak RSS MB",
              "XLA temp MB"]
    return harness.format_table(header, rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", nargs="+", type=int, default=[128, 512])
    parser.add_argument("--repeats", type=int, default=10,
                        help="timed rounds per speed figure (at least 5 for a spread)")
    parser.add_argument("--memory-length", type=int, default=4096)
    parser.add_argument("--window", type=int, default=128)
    parser.add_argument("--memory-repeats", type=int, default=5,
                        help="timed steps per variant in the memory part")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    print("python benchmarks/attention_speed_and_memory.py " + " ".join(sys.argv[1:]))
    print("arguments: " + ", ".join(f"{name}={value}" for name, value in vars(args).items()))
    print(f"backend {keras.backend.backend()}, keras {keras.__version__}, "
          f"{os.cpu_count()} CPUs; batch {BATCH}, width {WIDTH}, {HEADS} heads; "
          f"load average (1, 5, 15 min) at start {harness.load_average_text()}", flush=True)
    speed_table = speed(args.lengths, args.repeats)
    print(f"\nForward+backward step, median (min-max) of {args.repeats} interleaved rounds; "
          "ratios per round")
    print(speed_table)
    if not args.skip_memory:
        memory_table = memory(args.memory_length, args.window, args.memory_repeats)
        print(f"\nT={args.memory_length}, batch 1: full attention against a sliding window "
              f"of {args.window}; step ms: median of {args.memory_repeats} steps")
        print(memory_table)
    print(f"\nload average (1, 5, 15 min) at end {harness.load_average_text()}")


if __name__ == "__main__":
    main()
