"""Sentiment quality on real data: SST-2 dev accuracy and training time of our two
classifiers and of the keras-io reference, all trained from scratch on 2 CPU cores.

Every model trains on all 67,349 rows of GLUE SST-2 `train.tsv` (sentences and their
phrases), with a word vocabulary built from that file (lower-cased, already tokenized; no
pretrained embeddings), and is scored on the 872 sentences of `dev.tsv` after its last
epoch: no early stopping and no choice of the best epoch on dev, so the figure is what the
command reaches, not the best of several looks.

- ours: `train_classifier.py --dataset sst2` with its SST-2 preset (`PRESETS["sst2"]`),
  run in this process for `--model transformer` and `--model bigru`;
- reference: the keras-io example "Text classification with Transformer" (Nandan):
  learned token and position embeddings of 32, one post-norm block with Keras'
  `MultiHeadAttention` (2 heads of key size 32) and a feed-forward layer of 32, mean
  pooling over all 200 positions, dropout 0.1, `Dense(20)`, a 2-way softmax; every
  sentence pre-padded to 200 tokens, no padding mask; Adam (1e-3), batches of 32 and 2
  epochs, as in the example (ours train for 1). It reads the same token ids as ours
  (`WordTokenizer`, the 20,000 most frequent words of train).

The machine's cores may be shared: the table gives the wall-clock time, the CPU time of
this process (the time an idle 2-core machine would need at most, when nothing else
waits) and the load average, so that a slow run can be told from a slow model.

    python benchmarks/sentiment_quality.py --data ../shared/data/SST-2   # 3 seeds each
    python benchmarks/sentiment_quality.py --data ../shared/data/SST-2 --models bigru --seeds 0
    python benchmarks/sentiment_quality.py --data ../shared/data/SST-2 --models bigru \
        --train-flags "--ensemble 1"      # one classifier instead of the preset's five
"""

import argparse
import csv
import json
import os
import pathlib
import shlex
import tempfile
import time

# The package's quiet start (imported first, before Keras) drops TensorFlow's start-up lines.
os.environ.setdefault("ATTENTION_LAYERS_QUIET_START", "1")

import attention_layers  # noqa: E402, F401

# isort: split
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

from attention_layers.data import load_sst2  # noqa: E402
from attention_layers.experiments.harness import cpu_seconds  # noqa: E402
from attention_layers.text import WordTokenizer  # noqa: E402
from attention_layers.training import describe_device  # noqa: E402
from attention_layers.training.runner import run_command  # noqa: E402
from attention_layers.training.tasks.classification import (  # noqa: E402
    RUN_DEFINING,
    ClassificationTask,
)

MODELS = ("transformer", "bigru", "keras-io")
REFERENCE = {
    "vocabulary_size": 20_000,
    "sequence_length": 200,
    "embedding_dim": 32,
    "heads": 2,
    "feed_forward_dim": 32,
    "batch_size": 32,
    "epochs": 2,
}


# --- the keras-io reference -------------------------------------------------------------


class KerasIoTransformerBlock(layers.Layer):
    """The example's `TransformerBlock`: post-norm, no attention mask."""

    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential(
            [layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)]
        )
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs, training=None):
        attn_output = self.att(inputs, inputs)
        attn_output = self.dropout1(attn_output, training=training)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output, training=training)
        return self.layernorm2(out1 + ffn_output)


class KerasIoTokenAndPositionEmbedding(layers.Layer):
    """The example's learned token and position embeddings."""

    def __init__(self, maxlen, vocab_size, embed_dim):
        super().__init__()
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        positions = keras.ops.arange(0, keras.ops.shape(x)[-1], 1)
        return self.token_emb(x) + self.pos_emb(positions)


def keras_io_model():
    config = REFERENCE
    inputs = layers.Input(shape=(config["sequence_length"],))
    x = KerasIoTokenAndPositionEmbedding(
        config["sequence_length"], config["vocabulary_size"], config["embedding_dim"]
    )(inputs)
    x = KerasIoTransformerBlock(
        config["embedding_dim"], config["heads"], config["feed_forward_dim"]
    )(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(20, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def keras_io_arrays(examples, tokenizer):
    """Token ids pre-padded (and pre-truncated) to 200, as `keras.utils.pad_sequences`."""
    ids = tokenizer.tokenize(
        [text for text, _ in examples], add_start_end=False, max_length=10**6
    ).to_list()
    padded = keras.utils.pad_sequences(ids, maxlen=REFERENCE["sequence_length"])
    return padded, np.array([label for _, label in examples], "int32")


def run_keras_io(data, epochs, seed):
    keras.utils.set_random_seed(seed)
    corpus = load_sst2(data, strict=True)
    tokenizer = WordTokenizer.build(
        [text for text, _ in corpus.train], max_vocabulary_size=REFERENCE["vocabulary_size"]
    )
    train_x, train_y = keras_io_arrays(corpus.train, tokenizer)
    dev_x, dev_y = keras_io_arrays(corpus.validation, tokenizer)
    model = keras_io_model()
    start = time.perf_counter()
    history = model.fit(
        train_x, train_y, batch_size=REFERENCE["batch_size"], epochs=epochs,
        validation_data=(dev_x, dev_y), verbose=2,
    )
    training_seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(dev_x, dev_y, verbose=0)
    return {
        "dev_accuracy": float(accuracy),
        "training_seconds": training_seconds,
        "parameters": model.count_params(),
        "epochs": [
            {"epoch": index + 1, "dev_accuracy": float(value)}
            for index, value in enumerate(history.history["val_accuracy"])
        ],
    }


# --- ours ---------------------------------------------------------------------------------


def run_ours(model_name, data, output, seed, extra_flags=()):
    """`train_classifier.py --dataset sst2 --model NAME [extra flags]` in this process."""
    run = output / model_name
    results = run_command(ClassificationTask(), [
        "--dataset", "sst2", "--data", str(data), "--model", model_name, "--patience", "0",
        "--seed", str(seed), "--no-attention-plots", "--no-export", "--output", str(run),
        "--overwrite", *extra_flags,
    ])
    # One log per ensemble member (member_I/), or the run's own without an ensemble.
    logs = sorted(run.glob("member_*/training_log.csv")) or [run / "training_log.csv"]
    members = []
    for path in logs:
        with open(path, newline="") as log:
            members.append([
                {"epoch": int(row["epoch"]) + 1, "dev_accuracy": float(row["val_accuracy"])}
                for row in csv.DictReader(log)
            ])
    config = json.loads((run / "config.json").read_text())
    return {
        "dev_accuracy": float(results["validation_accuracy"]),
        "member_dev_accuracy": results.get("member_validation_accuracy"),
        "training_seconds": results["training_seconds"],
        "parameters": keras.saving.load_model(run / "classifier.keras").count_params(),
        "model_megabytes": round((run / "classifier.keras").stat().st_size / 1e6, 1),
        "epochs": members[0],
        "members": len(members),
        "member_epochs": members,
        "config": {name: config[name] for name in RUN_DEFINING},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, metavar="PATH",
                        help="the SST-2 folder (train.tsv, dev.tsv, test.tsv) or its parent")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument(
        "--seeds", nargs="+", type=int, default=[0, 1, 2],
        help="one run per seed and model (0 1 2): 872 dev sentences make one run's accuracy "
        "uncertain by about 1.3 points, and seeds move it by as much",
    )
    parser.add_argument(
        "--train-flags", default="", metavar="FLAGS",
        help="more train_classifier.py flags for our models, one string, e.g. "
        "\"--ensemble 1 --bigram-buckets 0\" for a single classifier of words only",
    )
    parser.add_argument("--output", metavar="DIR",
                        help="where our runs write their files (default: a temporary folder)")
    args = parser.parse_args()

    print(describe_device())
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    output = pathlib.Path(args.output or tempfile.mkdtemp(prefix="sentiment_quality_"))
    output.mkdir(parents=True, exist_ok=True)
    runs = []
    for name in args.models:
        for seed in args.seeds:
            print(f"\n=== {name}, seed {seed} ===", flush=True)
            start_cpu, start_wall = cpu_seconds(), time.perf_counter()
            load_before = os.getloadavg()[0]
            if name == "keras-io":
                row = run_keras_io(args.data, REFERENCE["epochs"], seed)
            else:
                row = run_ours(
                    name, args.data, output / f"seed_{seed}", seed, shlex.split(args.train_flags)
                )
            row.update(
                model=name,
                seed=seed,
                wall_seconds=time.perf_counter() - start_wall,
                cpu_seconds=cpu_seconds() - start_cpu,
                load_average=(load_before + os.getloadavg()[0]) / 2,
            )
            runs.append(row)
            print(json.dumps(row, indent=1), flush=True)

    print("\n| model | seed | members | parameters | epochs | SST-2 dev accuracy (members) "
          "| training time (wall) | CPU time (whole run) | load average |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in runs:
        each = row.get("member_dev_accuracy")
        members = f" ({', '.join(f'{value:.4f}' for value in each)})" if each else ""
        print(
            f"| {row['model']} | {row['seed']} | {row.get('members', 1)} | "
            f"{row['parameters']:,} | {len(row['epochs'])} | {row['dev_accuracy']:.4f}{members} | "
            f"{row['training_seconds'] / 60:.1f} min | {row['cpu_seconds'] / 60:.1f} min | "
            f"{row['load_average']:.1f} |"
        )
    print("\n| model | runs | SST-2 dev accuracy, mean ± std (min - max) | model file "
          "| training time, mean (wall) | CPU time, mean |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in args.models:
        rows = [row for row in runs if row["model"] == name]
        accuracy = [row["dev_accuracy"] for row in rows]
        # The sample standard deviation; one run has none.
        spread = f" ± {np.std(accuracy, ddof=1):.4f}" if len(rows) > 1 else " (one run)"
        size = rows[0].get("model_megabytes")
        print(
            f"| {name} | {len(rows)} | **{np.mean(accuracy):.4f}**{spread} "
            f"({min(accuracy):.4f} - {max(accuracy):.4f}) | "
            f"{f'{size} MB' if size is not None else '-'} | "
            f"{np.mean([row['training_seconds'] for row in rows]) / 60:.1f} min "
            f"| {np.mean([row['cpu_seconds'] for row in rows]) / 60:.1f} min |"
        )
    (output / "sentiment_quality.json").write_text(json.dumps(runs, indent=2))
    print(f"\nDetails in {output / 'sentiment_quality.json'}")


if __name__ == "__main__":
    main()
