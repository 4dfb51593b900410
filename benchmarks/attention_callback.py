"""What `AttentionPlotCallback` costs: epochs of a small translator with and without plotting.

A small Transformer-style translator (embeddings, multi-head self-attention over the
source, multi-head cross-attention from the target, a softmax over the vocabulary) trains on
random token ids. The callback plots on every other epoch, so epochs with and without
plotting alternate in one `fit` and see the same machine load (this machine's cores are
shared); the first two epochs (tracing, warm-up) are dropped. The callback writes what it
writes in training: PNG files and TensorBoard images for `--examples` examples and both
attention layers (head grids), and the GIFs at the end (timed separately: once per run).

    python benchmarks/attention_callback.py            # 8 epochs of 150 steps
    python benchmarks/attention_callback.py --epochs 6 --steps 50   # a quick look
"""

import argparse
import os
import statistics
import tempfile
import time

# The package's quiet start (imported first, before Keras) drops TensorFlow's start-up lines.
os.environ.setdefault("ATTENTION_LAYERS_QUIET_START", "1")

import attention_layers  # noqa: E402, F401

# isort: split
import keras  # noqa: E402
import numpy as np  # noqa: E402

from attention_layers.visualization import AttentionPlotCallback  # noqa: E402


class Translator(keras.Model):
    """One encoder self-attention and one decoder cross-attention layer."""

    def __init__(self, vocabulary, dim, heads):
        super().__init__()
        self.source_embedding = keras.layers.Embedding(vocabulary, dim)
        self.target_embedding = keras.layers.Embedding(vocabulary, dim)
        self.self_attention = keras.layers.MultiHeadAttention(heads, dim // heads)
        self.cross_attention = keras.layers.MultiHeadAttention(heads, dim // heads)
        self.feed_forward = keras.layers.Dense(4 * dim, activation="relu")
        self.logits = keras.layers.Dense(vocabulary)

    def call(self, inputs, return_attention=False):
        source, target = inputs
        source = self.source_embedding(source)
        encoded, self_weights = self.self_attention(source, source, return_attention_scores=True)
        decoded, cross_weights = self.cross_attention(
            self.target_embedding(target), encoded, return_attention_scores=True
        )
        logits = self.logits(self.feed_forward(decoded))
        if return_attention:
            # (batch, heads, T_q, T_k) each.
            return logits, {
                "encoder_self_attention": self_weights,
                "cross_attention": cross_weights,
            }
        return logits

    def get_attention_weights(self, inputs):
        return self(inputs, return_attention=True)[1]


class EpochTimer(keras.callbacks.Callback):
    """Wall time of each epoch, including the callbacks listed before this one."""

    def __init__(self):
        super().__init__()
        self.seconds = {}

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds[epoch + 1] = time.perf_counter() - self._start


class TimedAttentionPlot(AttentionPlotCallback):
    """The callback, with the time spent in its epoch-end and train-end hooks recorded."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.plot_seconds = []
        self.animation_seconds = 0.0

    def on_epoch_end(self, epoch, logs=None):
        start = time.perf_counter()
        super().on_epoch_end(epoch, logs)
        if (epoch + 1) % self.every_n_epochs == 0:
            self.plot_seconds.append(time.perf_counter() - start)

    def on_train_end(self, logs=None):
        start = time.perf_counter()
        super().on_train_end(logs)
        self.animation_seconds = time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=8, help="even; half of them plot")
    parser.add_argument("--steps", type=int, default=150, help="batches per epoch")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--length", type=int, default=20, help="source and target tokens")
    parser.add_argument("--vocabulary", type=int, default=4000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--examples", type=int, default=2, help="examples the callback plots")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    size = args.steps * args.batch_size
    source = rng.integers(1, args.vocabulary, size=(size, args.length))
    target = rng.integers(1, args.vocabulary, size=(size, args.length))
    model = Translator(args.vocabulary, args.dim, args.heads)
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    words = [[f"w{index}" for index in range(args.length)]] * args.examples
    with tempfile.TemporaryDirectory() as folder:
        callback = TimedAttentionPlot(
            (source[: args.examples], target[: args.examples]),
            os.path.join(folder, "attention"),
            source_tokens=words,
            target_tokens=words,
            token_axes={"encoder_self_attention": ("source", "source")},
            every_n_epochs=2,
            max_examples=args.examples,
            log_dir=os.path.join(folder, "logs"),
        )
        timer = EpochTimer()
        model.fit(
            (source, target),
            target,
            batch_size=args.batch_size,
            epochs=args.epochs,
            callbacks=[callback, timer],  # the timer's epoch end comes after the plots
            verbose=0,
        )
        images = sum(
            1 for _, _, files in os.walk(folder) for name in files if name.endswith(".png")
        )

    measured = {epoch: seconds for epoch, seconds in timer.seconds.items() if epoch > 2}
    plain = statistics.median(s for epoch, s in measured.items() if epoch % 2)
    plotted = statistics.median(s for epoch, s in measured.items() if epoch % 2 == 0)
    per_call = statistics.median(callback.plot_seconds[1:] or callback.plot_seconds)
    print(
        f"model: {model.count_params():,} parameters; {args.steps} steps of "
        f"{args.batch_size} x {args.length} tokens per epoch; keras {keras.__version__} "
        f"({keras.backend.backend()}), {os.cpu_count()} CPUs"
    )
    print(
        f"callback: {args.examples} examples x 2 attention layers ({args.heads} heads) -> "
        f"{images} PNG files in {len(callback.plot_seconds)} plotting epochs, TensorBoard images"
    )
    print(f"epochs timed: {sorted(measured)} (medians over {len(measured) // 2} each)")
    print(f"median epoch without plotting: {plain:.2f} s")
    print(f"median epoch with plotting:    {plotted:.2f} s")
    print(f"ratio with / without:          {plotted / plain:.3f}")
    print(
        f"callback time per plotting epoch (median): {per_call:.2f} s = "
        f"{100 * per_call / plain:.1f}% of an epoch"
    )
    print(f"under 5% of an epoch for epochs longer than {per_call / 0.05:.0f} s")
    print(f"GIFs at the end of training (once): {callback.animation_seconds:.2f} s")


if __name__ == "__main__":
    main()
