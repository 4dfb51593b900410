"""Step time of the spa-eng preset's Transformer on this machine: XLA or not, and batch size.

For each configuration (`jit:batch[:label_smoothing[:precision]]`, e.g. `off:128` or
`off:128:0:mixed_bfloat16`) the preset's model is built afresh in
this process and trained on the first `--steps` batches of the same shuffled spa-eng
training pipeline; the first half of the steps (tracing, XLA compilation of each bucket
length) is left out and the median step time of the second half is printed, with pairs per
second and the ratio to the first configuration. Batches are bucketed by length, so step
times vary with the bucket; medians over several runs (`--repeats`) say how much.

    python benchmarks/translation_step_time.py --configs off:128 on:128 off:256
    python benchmarks/translation_step_time.py --configs off:128 off:128:0.1 --repeats 3
    python benchmarks/translation_step_time.py --configs off:128 off:128:0:mixed_bfloat16
"""

import argparse
import os
import time

# The package's quiet start (imported first, before Keras) drops TensorFlow's start-up lines.
os.environ.setdefault("ATTENTION_LAYERS_QUIET_START", "1")

import attention_layers  # noqa: E402, F401

# isort: split
import keras  # noqa: E402
import numpy as np  # noqa: E402

from attention_layers.data import load_spa_eng, make_translation_dataset  # noqa: E402
from attention_layers.text import WordTokenizer  # noqa: E402
from attention_layers.training import describe_device  # noqa: E402
from attention_layers.training.distribution import configure_scale  # noqa: E402
from attention_layers.training.tasks.preset_rule import fill_preset_from_data  # noqa: E402
from attention_layers.training.tasks.translation import (  # noqa: E402
    PRESETS,
    TranslationConfig,
    TranslationTask,
)

# isort: split
from translation_quality import compiled_translator  # noqa: E402  (this folder, first on the path)


class StepTimes(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times = [time.perf_counter()]

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())


def step_time(corpus, tokenizers, jit, batch_size, steps, label_smoothing=0.0,
              precision="float32"):
    """Median seconds per step over the second half of `steps` training steps."""
    keras.utils.set_random_seed(0)
    preset = fill_preset_from_data(
        dict(PRESETS["spa-eng"], batch_size=batch_size, label_smoothing=label_smoothing),
        corpus.train,
    )
    args = argparse.Namespace(
        **preset, distribution="none", replicas=None, precision=precision,
        jit_compile="on" if jit else "off", steps_per_execution=1,
    )
    train = make_translation_dataset(
        corpus.train, *tokenizers, batch_size=batch_size, max_length=args.max_length,
        shuffle=True, seed=0,
    )
    model = compiled_translator(TranslationTask(), TranslationConfig.from_flags(preset),
                                tokenizers, configure_scale(args), args.weight_averaging)
    times = StepTimes()
    model.fit(train.take(steps), epochs=1, callbacks=[times], verbose=0)
    return float(np.median(np.diff(times.times)[steps // 2:]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=["off:128", "on:128", "off:256"],
                        help="jit:batch[:label_smoothing[:precision]], jit 'on' or 'off', "
                        "precision float32, mixed_bfloat16 or mixed_float16 "
                        "(default: off:128 on:128 off:256; the first is the reference of "
                        "the ratios)")
    parser.add_argument("--steps", type=int, default=80, help="steps per run (80)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per configuration (1)")
    parser.add_argument("--data", default=None, help="spa.txt (default: $ATTENTION_DATA_DIR)")
    args = parser.parse_args()
    data = args.data or os.path.join(os.environ.get("ATTENTION_DATA_DIR", ""), "spa.txt")
    corpus = load_spa_eng(data, seed=0)
    preset = fill_preset_from_data(PRESETS["spa-eng"], corpus.train)
    tokenizers = tuple(
        WordTokenizer.build([pair[side] for pair in corpus.train],
                            max_vocabulary_size=preset["vocabulary_size"])
        for side in (0, 1)
    )
    print(f"{describe_device()}; load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    reference = None
    for config in args.configs:
        jit, batch, *rest = config.split(":")
        smoothing = float(rest[0]) if rest else 0.0
        precision = rest[1] if len(rest) > 1 else "float32"
        runs = [step_time(corpus, tokenizers, jit == "on", int(batch), args.steps, smoothing,
                          precision)
                for _ in range(args.repeats)]
        median = float(np.median(runs))
        rate = int(batch) / median
        reference = reference or rate
        print(f"jit {jit:>3}, batch {batch:>4}, label smoothing {smoothing:.2f}, "
              f"{precision}: "
              f"{1000 * median:6.0f} ms/step (runs: "
              f"{', '.join(f'{1000 * r:.0f}' for r in runs)}), {rate:5.0f} pairs/s, "
              f"{rate / reference:.2f}x the first", flush=True)
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
