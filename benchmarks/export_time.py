"""What a serving export costs, and what tracing each signature once saves.

`tf.saved_model.save` traces the functions it saves in a context of its own, so a
`tf.function` traced before the save (`get_concrete_function()`, as the export did until
2026-12-07) is traced a second time inside it. `export_translator` now hands the save its
functions untraced. This script times both ways on the same built Transformer translator,
alternating them in one process so that both see the same machine load (this machine's
cores are shared):

- `reference`: `TranslatorServer(...).signatures()`, each traced with
  `get_concrete_function()`, then `save_atomically` with the concrete functions;
- `export`: `export_translator(...)`, what the commands call.

It prints each time, the medians, the spread (min-max) and the ratio, with the load
average before and after.

    python benchmarks/export_time.py                 # 5 pairs, a 2-layer model of width 64
    python benchmarks/export_time.py --repeats 2 --model-dim 16 --layers 1   # a quick look
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

from attention_layers.data import generate_translation_corpus  # noqa: E402
from attention_layers.export import (  # noqa: E402
    TranslatorServer,
    export_translator,
    save_atomically,
)
from attention_layers.models import TransformerTranslator  # noqa: E402
from attention_layers.text import WordTokenizer  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="pairs of exports (default 5)")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--model-dim", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=24, help="tokens in and out")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def main():
    args = parse_args()
    print(f"arguments: {vars(args)}; load average {os.getloadavg()} ({os.cpu_count()} cores)",
          flush=True)
    keras.utils.set_random_seed(args.seed)
    corpus = generate_translation_corpus(1000, seed=args.seed)
    source = WordTokenizer.build([pair[0] for pair in corpus.train])
    target = WordTokenizer.build([pair[1] for pair in corpus.train])
    model = TransformerTranslator(
        source.vocabulary_size, target.vocabulary_size, num_layers=args.layers,
        model_dim=args.model_dim, num_heads=4, feed_forward_dim=2 * args.model_dim,
    )
    ids = np.ones((1, 4), "int32")
    model((ids, ids))  # built, as a trained or loaded model is
    limits = {"max_input_tokens": args.max_length, "max_output_length": args.max_length}

    def reference(path):
        server = TranslatorServer(model, source, target, **limits)
        traced = {name: function.get_concrete_function()
                  for name, function in server.signatures().items()}
        save_atomically(server, traced, path)

    def export(path):
        export_translator(model, source, target, path, **limits)

    times = {"reference": [], "export": []}
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats):
            # Alternate which goes first, so that neither always follows the other.
            order = ("reference", "export") if repeat % 2 == 0 else ("export", "reference")
            for name in order:
                start = time.perf_counter()
                {"reference": reference, "export": export}[name](f"{folder}/{name}-{repeat}")
                times[name].append(time.perf_counter() - start)
                print(f"  {name:9s} {times[name][-1]:6.1f} s", flush=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        print(f"{name:9s} median {medians[name]:6.1f} s (min {min(values):.1f}, "
              f"max {max(values):.1f}, {len(values)} runs)")
    print(f"export / reference: {medians['export'] / medians['reference']:.2f}")
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
