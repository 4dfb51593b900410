"""Benchmark: cached decoding against re-running the decoder, and the export's latency.

1. Tokens per second of greedy decoding with a Transformer translator the size of the
   TensorFlow tutorial's (4 layers, d_model 128, 8 heads, feed-forward 512, 8,000-word
   vocabularies; random weights), two ways:

   - *cached* (`greedy_decode`): each step runs the new position only, attending to the
     cached keys and values of the earlier ones: `O(T)` per step;
   - *full prefix* (`greedy_decode_full_prefix`, the tutorial's way): each step runs the
     decoder (and the output layer) over the whole prefix again: `O(T^2)` per step.
     Unlike the tutorial, the encoder runs once, not at every step.

   Both run as one compiled `tf.function` with a `tf.while_loop` over the steps, on the
   same 20-token sources; the cached decoder also compiled with XLA
   (`jit_compile=True`), which its fixed-size buffers allow and a growing prefix does
   not. `[END]` is made unreachable (its logit's bias is -1e4), so every
   sentence decodes exactly `length` tokens: lengths 20 and 80, batches of 1 and 64.
   The three decoders are timed in turn, `--repeats` rounds after a warm-up, alternating
   which goes first. Rates are per wall-clock second and per CPU-second of this process
   (all threads), each `median [min-max]` over the rounds; on a machine shared with other
   work the CPU figure is the steadier one. A speed-up over the full prefix is taken per
   round (the decoders of a round ran back to back), then its median and range.

2. The exported SavedModel's latency (`export_translator`, loaded back with
   `tf.saved_model.load`): one sentence and a batch of 64, `serving_default` (greedy)
   and `beam_search` with `beam_width=4`. The model is a small Transformer (1 layer,
   d_model 64) trained for a few epochs on the generated corpus, so outputs end at
   `[END]` as a real model's do (about 6 to 15 tokens). Greedy and beam search are timed
   in turn; latencies are `median [min-max]`.

The arguments and the load average (`os.getloadavg()`, before and after) are printed with
the figures: on a shared machine they say how much to trust the wall-clock times.

Usage:

    python benchmarks/decoding.py               # 15-30 minutes on 2 CPU cores
    python benchmarks/decoding.py --repeats 5 --epochs 4   # a quicker look
"""

import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import time

# The package's quiet start (imported first, before Keras) drops TensorFlow's start-up lines.
os.environ.setdefault("ATTENTION_LAYERS_QUIET_START", "1")

import attention_layers  # noqa: E402, F401

# isort: split
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from attention_layers.data import generate_translation_corpus  # noqa: E402
from attention_layers.decoding import greedy_decode, greedy_decode_full_prefix  # noqa: E402
from attention_layers.experiments import harness  # noqa: E402
from attention_layers.export import export_translator  # noqa: E402
from attention_layers.models import TransformerTranslator  # noqa: E402
from attention_layers.text import END_ID, START_ID, WordTokenizer  # noqa: E402
from attention_layers.training import masked_loss  # noqa: E402


def spread(values, form="{:,.0f}"):
    """`median [min-max]` of `values`, each number written with `form`."""
    low, middle, high = min(values), statistics.median(values), max(values)
    return f"{form.format(middle)} [{form.format(low)}-{form.format(high)}]"



def random_sources(batch, length, vocabulary, rng):
    words = rng.integers(4, vocabulary, size=(batch, length - 2))
    column = np.ones((batch, 1), "int64")
    return np.concatenate([column * START_ID, words, column * END_ID], axis=1)


def cached_against_full_prefix(args):
    keras.utils.set_random_seed(0)
    model = TransformerTranslator(
        args.vocabulary, args.vocabulary, num_layers=4, model_dim=128, num_heads=8,
        feed_forward_dim=512,
    )
    model.build()
    bias = keras.ops.convert_to_numpy(model.output_projection.bias).copy()
    bias[END_ID] = -1e4  # every sentence runs to the length asked for
    model.output_projection.bias.assign(bias)
    rng = np.random.default_rng(0)
    print(
        f"Transformer: 4 layers, d_model 128, 8 heads, feed-forward 512, vocabularies "
        f"{args.vocabulary}: {model.count_params():,} parameters; sources of "
        f"{args.source_length} tokens; median [min-max] of {args.repeats} interleaved rounds"
    )
    decoders = {
        "cached": lambda sources, length: greedy_decode(
            model, sources, length, return_attention=False
        ),
        "cached, XLA": lambda sources, length: greedy_decode(
            model, sources, length, return_attention=False, jit_compile=True
        ),
        "full prefix": lambda sources, length: greedy_decode_full_prefix(
            model, sources, length, return_attention=False
        ),
    }
    print("tokens per second, per wall-clock second and per CPU-second; speed-up over the "
          "full prefix, per round")
    header = (f"{'length':>6} {'batch':>5} {'decoder':<11} | {'tokens/s':>23} | "
              f"{'tokens/CPU-s':>23} | {'speed-up':>18} | {'speed-up CPU':>18}")
    print(header)
    print("-" * len(header))
    for length in (20, 80):
        for batch in (1, 64):
            sources = random_sources(batch, args.source_length, args.vocabulary, rng)
            steps, token_ids = {}, {}
            for name, decode in decoders.items():
                steps[name] = (
                    lambda decode=decode, sources=sources, length=length: decode(
                        sources, length
                    ).numpy()
                )
                # Warm-up: traces (and, with XLA, compiles for this shape).
                token_ids[name] = steps[name]()
                assert token_ids[name].shape == (batch, length), token_ids[name].shape
            for name in decoders:
                np.testing.assert_array_equal(token_ids[name], token_ids["full prefix"])
            timings = harness.interleaved_timings(steps, args.repeats, warmup=0)
            tokens = batch * length
            full = timings["full prefix"]
            for name, timing in timings.items():
                rates = [spread([tokens / seconds for seconds in timing[clock]])
                         for clock in ("wall", "cpu")]
                speed_ups = [
                    "-" if name == "full prefix" else spread(
                        [full_seconds / seconds for full_seconds, seconds in
                         zip(full[clock], timing[clock], strict=True)], "{:.1f}x")
                    for clock in ("wall", "cpu")
                ]
                print(f"{length:>6} {batch:>5} {name:<11} | {rates[0]:>23} | {rates[1]:>23} | "
                      f"{speed_ups[0]:>18} | {speed_ups[1]:>18}", flush=True)
    print("(the three decoders give the same tokens in every configuration)")


def train_small_translator(epochs):
    keras.utils.set_random_seed(0)
    corpus = generate_translation_corpus(3000, seed=0)
    source_tokenizer = WordTokenizer.build([source for source, _ in corpus.train])
    target_tokenizer = WordTokenizer.build([target for _, target in corpus.train])

    def ids(tokenizer, texts, length):
        return tokenizer.tokenize(texts, max_length=length).to_tensor(shape=[None, length])

    source = ids(source_tokenizer, [source for source, _ in corpus.train], 20)
    target = ids(target_tokenizer, [target for _, target in corpus.train], 21)
    model = TransformerTranslator(
        source_tokenizer.vocabulary_size, target_tokenizer.vocabulary_size, num_layers=1,
        model_dim=64, num_heads=4, feed_forward_dim=128, dropout=0.0,
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=masked_loss(), jit_compile=False)
    model.fit((source, target[:, :-1]), target[:, 1:], batch_size=64, epochs=epochs, verbose=0)
    return model, source_tokenizer, target_tokenizer, [source for source, _ in corpus.test]


def export_latency(args):
    start = time.perf_counter()
    model, source_tokenizer, target_tokenizer, sentences = train_small_translator(args.epochs)
    trained = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as directory:
        start = time.perf_counter()
        path = export_translator(
            model, source_tokenizer, target_tokenizer, pathlib.Path(directory) / "translator"
        )
        exported = time.perf_counter() - start
        loaded = tf.saved_model.load(str(path))
        greedy = loaded.signatures["serving_default"]
        beam = loaded.signatures["beam_search"]
        print(
            f"\nExport: 1-layer Transformer (d_model 64) trained {args.epochs} epochs on "
            f"2,400 generated pairs ({trained:.0f} s), exported in {exported:.0f} s, "
            "loaded with tf.saved_model.load"
        )
        header = (f"{'signature':<16} {'batch':>5} | {'latency ms':>22} | {'CPU ms':>22} | "
                  f"{'ms/sentence':>11} | {'words out':>9}")
        print(f"median [min-max] of {4 * args.repeats + 1} calls (batch 1) and "
              f"{args.repeats + 2} (batch 64), greedy and beam search in turn\n{header}")
        print("-" * len(header))
        for batch, repeats in ((1, 4 * args.repeats + 1), (64, args.repeats + 2)):
            text = tf.constant(sentences[:batch])
            calls = {
                "serving_default": lambda text=text: greedy(text=text),
                "beam_search (4)": lambda text=text: beam(text=text, beam_width=tf.constant(4)),
            }
            words = {}
            for name, call in calls.items():
                translations = call()["translation"].numpy()  # warm-up
                words[name] = np.mean([len(line.split()) for line in translations])
            timings = harness.interleaved_timings(calls, repeats, warmup=0)
            for name, timing in timings.items():
                wall, cpu = ([1000 * seconds for seconds in timing[clock]]
                             for clock in ("wall", "cpu"))
                print(
                    f"{name:<16} {batch:>5} | {spread(wall, '{:.1f}'):>22} | "
                    f"{spread(cpu, '{:.1f}'):>22} | {statistics.median(wall) / batch:>11.2f} | "
                    f"{words[name]:>9.1f}", flush=True
                )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed rounds per decoding figure (export: 4x+1 calls for one "
                             "sentence, x+2 for a batch)")
    parser.add_argument("--vocabulary", type=int, default=8000)
    parser.add_argument("--source-length", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=8, help="training of the exported model")
    args = parser.parse_args()
    print("python benchmarks/decoding.py " + " ".join(sys.argv[1:]))
    print("arguments: " + ", ".join(f"{name}={value}" for name, value in vars(args).items()))
    print(
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPUs, "
        f"load average (1, 5, 15 min) at start {harness.load_average_text()}", flush=True
    )
    cached_against_full_prefix(args)
    export_latency(args)
    print(f"\nload average (1, 5, 15 min) at end {harness.load_average_text()}")


if __name__ == "__main__":
    main()
