"""Train a sentiment classifier with attention pooling, then show which words decided.

    python train_classifier.py                                   # generated corpus, minutes
    python train_classifier.py --model bigru
    python train_classifier.py --dataset sst2 --data ../shared/data/SST-2
    python train_classifier.py --resume                          # after an interruption

The run writes under `--output` (default `runs/classifier`):

    config.json             the flags of the run (`--resume` reads them back)
    vocab.txt               the tokenizer's vocabulary, one token per line
    checkpoints/            weights + optimizer state after every epoch (for --resume)
    training_log.csv        one line of loss and accuracy per epoch
    logs/                   TensorBoard (`tensorboard --logdir OUTPUT/logs`)
    attention/              the pooling attention of two validation sentences, every epoch
    classifier.keras        the trained model (best validation loss)
    serving/                the SavedModel export (strings in, probabilities out)
    results.json            validation (and test) accuracy and the most attended words

With `--ensemble M` (M > 1) each member trains in `member_I/` (its checkpoints/,
training_log.csv, logs/, attention/), and `classifier.keras` and `serving/` hold their mean
(`ClassifierEnsemble`); `--resume` keeps the members that finished.

Each dataset has its own defaults (`PRESETS` below); flags override them. For SST-2 the
validation split is GLUE's dev set (the test labels are not public).
"""

import argparse
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from attention_layers.data import (  # noqa: E402
    ChecksumError,
    CorpusFormatError,
    generate_sentiment_corpus,
    load_sst2,
    make_classification_datasets,
)
from attention_layers.export import export_classifier  # noqa: E402
from attention_layers.models import (  # noqa: E402
    BiGRUClassifier,
    ClassifierEnsemble,
    TransformerClassifier,
)
from attention_layers.models.classifier import (  # noqa: E402
    BIGRAM_MULTIPLIER,
    MAX_BIGRAM_BUCKETS,
    valid_bigram_buckets,
)
from attention_layers.text import WordTokenizer  # noqa: E402
from attention_layers.training import (  # noqa: E402
    EpochCheckpoint,
    TransformerSchedule,
    UsageError,
    add_output_flags,
    add_training_flags,
    command_line_errors,
    configure_precision,
    describe_device,
    make_callbacks,
    positive_int,
    restore_resumed_flags,
    unit_interval,
)

# Defaults per dataset, then per model within it; flags override them. The generated corpus
# is small and regular. SST-2's settings are those of benchmarks/sentiment_quality.py: the
# best SST-2 dev accuracy found within 15 minutes on 2 CPU cores (the BiGRU), and for the
# Transformer the best of the settings tried (see benchmarks/RESULTS.md).
PRESETS = {
    "builtin": {
        "model": "transformer",
        "num_examples": 20_000,
        "vocabulary_size": 20_000,
        "min_count": 1,
        "max_length": 64,
        "batch_size": 32,
        "patience": 2,
        "bigram_buckets": 0,
        "ensemble": 1,
        "transformer": {
            "layers": 2, "model_dim": 64, "heads": 4, "feed_forward_dim": 128,
            "dropout": 0.1, "epochs": 5, "learning_rate": 1e-3, "warmup_steps": 200,
        },
        "bigru": {
            "embedding_dim": 64, "units": 64, "attention_units": 64,
            "dropout": 0.1, "epochs": 5, "learning_rate": 1e-3,
        },
    },
    "sst2": {
        "model": "bigru",
        "num_examples": None,
        "vocabulary_size": 20_000,
        "min_count": 2,
        "max_length": 64,
        "batch_size": 64,
        "patience": 1,
        # Hashed bigrams added to the pooled words, and the mean of 5 independently trained
        # classifiers: each adds about a point of dev accuracy (benchmarks/RESULTS.md).
        "bigram_buckets": 65_521,
        "ensemble": 5,
        # One pass over the 67,349 phrases: a second one fits the phrases better and the
        # dev sentences worse (BiGRU, 4 seeds: 84.2% after one epoch, 83.5% after two).
        "transformer": {
            "layers": 2, "model_dim": 64, "heads": 4, "feed_forward_dim": 128,
            "dropout": 0.1, "epochs": 1, "learning_rate": 1e-3, "warmup_steps": 500,
        },
        "bigru": {
            "embedding_dim": 128, "units": 64, "attention_units": 64,
            "dropout": 0.5, "epochs": 1, "learning_rate": 1e-3,
        },
    },
}
MODELS = ("transformer", "bigru")

# Flags that define the model and its data: a resumed run must keep them.
RUN_DEFINING = (
    "dataset", "data", "num_examples", "model", "vocabulary_size", "min_count", "layers",
    "model_dim",
    "heads", "feed_forward_dim", "embedding_dim", "units", "attention_units", "dropout",
    "batch_size", "max_length", "learning_rate", "warmup_steps", "mixed_precision", "seed",
    "bigram_buckets", "ensemble",
)
BIGRU_ONLY = ("embedding_dim", "units", "attention_units")
TRANSFORMER_ONLY = ("layers", "model_dim", "heads", "feed_forward_dim", "warmup_steps")
SAMPLES = 5
TOP_WORDS = 3


def non_negative_int(text):
    """`argparse` type: an int >= 0."""
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


non_negative_int.__name__ = "int >= 0"


def build_parser():
    parser = argparse.ArgumentParser(
        description="Train a sentiment classifier with attention pooling (Transformer "
        "encoder or BiGRU), report validation accuracy and the words with the most "
        "attention, and save the model.",
        epilog="Flags shown with 'preset' default to the dataset's preset (see PRESETS in "
        "train_classifier.py). Bad flags or data end with a message and exit code 2.",
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--dataset", choices=sorted(PRESETS), default="builtin",
        help="'builtin': the generated sentiment corpus (offline, with the deciding words "
        "recorded); 'sst2': GLUE SST-2. Default: builtin.",
    )
    data.add_argument(
        "--data", metavar="PATH",
        help="sst2 only: a local folder in the GLUE layout (SST-2/ with train.tsv, dev.tsv, "
        "test.tsv, or its parent). Without it SST-2.zip is downloaded (needs internet).",
    )
    data.add_argument(
        "--num-examples", type=positive_int, metavar="N",
        help="builtin only: sentences to generate (preset: 20000).",
    )
    data.add_argument(
        "--vocabulary-size", type=positive_int, metavar="N",
        help="the most words in the vocabulary, reserved tokens included (preset).",
    )
    data.add_argument(
        "--min-count", type=positive_int, metavar="N",
        help="the fewest occurrences in train for a word to get its own id; rarer words "
        "become [UNK], which so learns to stand for the unseen words of new text (preset).",
    )
    data.add_argument(
        "--max-length", type=positive_int, metavar="N",
        help="the most tokens per sentence; longer ones are cut (preset).",
    )
    data.add_argument("--seed", type=int, default=0, help="corpus, split, shuffling and "
                      "initialization seed (0).")

    model = parser.add_argument_group("model")
    model.add_argument(
        "--model", choices=MODELS,
        help="a Transformer encoder with attention pooling, or a bidirectional GRU with "
        "additive attention pooling (preset).",
    )
    model.add_argument("--layers", type=positive_int, metavar="N",
                       help="transformer only: encoder blocks (preset).")
    model.add_argument("--model-dim", type=positive_int, metavar="N",
                       help="transformer only: d_model (preset).")
    model.add_argument("--heads", type=positive_int, metavar="N",
                       help="transformer only: attention heads (preset).")
    model.add_argument("--feed-forward-dim", type=positive_int, metavar="N",
                       help="transformer only: feed-forward hidden size (preset).")
    model.add_argument("--embedding-dim", type=positive_int, metavar="N",
                       help="bigru only: word embedding size (preset).")
    model.add_argument("--units", type=positive_int, metavar="N",
                       help="bigru only: GRU size per direction (preset).")
    model.add_argument("--attention-units", type=positive_int, metavar="N",
                       help="bigru only: hidden size of the additive attention (preset).")
    model.add_argument("--dropout", type=unit_interval, metavar="P", help="dropout rate (preset).")
    model.add_argument(
        "--bigram-buckets", type=non_negative_int, metavar="N",
        help="rows of the hashed bigram embedding added to each pooled word "
        f"(HashedBigramEmbedding, at most {MAX_BIGRAM_BUCKETS:,}); 0: words only (preset).",
    )
    model.add_argument(
        "--ensemble", type=positive_int, metavar="M",
        help="train M classifiers one after the other (seeds --seed, --seed + 1, ...; each "
        "in OUTPUT/member_I) and save their mean, a ClassifierEnsemble (preset).",
    )

    add_training_flags(parser, recurrent_model="bigru", example="sentences",
                       mixed_precision_help="compute in 16-bit floats (float16 on a GPU, bfloat16 on a CPU).")
    add_output_flags(parser, "runs/classifier")
    return parser


def resolve_flags(parser, args):
    """Checks flag combinations, then fills the preset (or, with --resume, the saved run)."""
    given = {name for name, value in vars(args).items() if value is not None}
    if args.resume:
        return restore_resumed_flags(parser, args, RUN_DEFINING)

    if args.dataset == "builtin" and args.data is not None:
        parser.error("--data is for --dataset sst2; the builtin corpus is generated.")
    if args.dataset != "builtin" and args.num_examples is not None:
        parser.error("--num-examples is for --dataset builtin.")
    if args.patience is not None and args.patience < 0:
        parser.error(f"--patience must be 0 or more; received {args.patience}.")
    preset = PRESETS[args.dataset]
    args.model = args.model or preset["model"]
    wrong = BIGRU_ONLY if args.model == "transformer" else TRANSFORMER_ONLY
    misplaced = sorted(name for name in wrong if name in given)
    if misplaced:
        flags = ", ".join(f"--{name.replace('_', '-')}" for name in misplaced)
        parser.error(f"{flags} do(es) not apply to --model {args.model}.")
    settings = {name: value for name, value in preset.items() if name not in MODELS}
    for name, value in {**settings, **preset[args.model]}.items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    if args.model == "transformer" and args.model_dim % args.heads:
        parser.error(f"--model-dim ({args.model_dim}) must be divisible by --heads ({args.heads}).")
    if args.bigram_buckets and not valid_bigram_buckets(args.bigram_buckets):
        parser.error(
            f"--bigram-buckets must be at most {MAX_BIGRAM_BUCKETS:,} and not a multiple of "
            f"{BIGRAM_MULTIPLIER}; received {args.bigram_buckets}."
        )
    if args.vocabulary_size < 5:
        parser.error("--vocabulary-size must be at least 5 (4 reserved tokens and a word).")
    return args


# --- data ---------------------------------------------------------------------------------


def load_corpus(args):
    if args.dataset == "builtin":
        return generate_sentiment_corpus(args.num_examples, seed=args.seed)
    if args.data is not None:
        path = pathlib.Path(args.data)
        if not path.exists():
            raise UsageError(f"--data {args.data}: no such file or directory")
        if not path.is_dir():
            raise UsageError(
                f"--data {args.data}: not a folder; give the SST-2 folder (train.tsv, dev.tsv, "
                "test.tsv) or its parent"
            )
        if not (path / "train.tsv").is_file() and not (path / "SST-2" / "train.tsv").is_file():
            raise UsageError(
                f"--data {args.data}: no train.tsv there or in {args.data}/SST-2; give a folder "
                "in the GLUE SST-2 layout"
            )
    corpus = load_sst2(args.data, strict=True)
    for name in ("train", "validation"):
        if not corpus.split(name):
            raise UsageError(f"--data {args.data}: the {name} split is empty.")
    return corpus


def build_tokenizer(args, corpus, output):
    """The word tokenizer: read back when resuming, else built from train and saved."""
    path = output / "vocab.txt"
    if args.resume:
        return WordTokenizer.load(path)
    tokenizer = WordTokenizer.build(
        [text for text, _ in corpus.train],
        max_vocabulary_size=args.vocabulary_size,
        min_count=args.min_count,
    )
    tokenizer.save(path)
    return tokenizer


# --- model --------------------------------------------------------------------------------


def build_model(args, vocabulary_size):
    if args.model == "transformer":
        model = TransformerClassifier(
            vocabulary_size,
            num_layers=args.layers,
            model_dim=args.model_dim,
            num_heads=args.heads,
            feed_forward_dim=args.feed_forward_dim,
            dropout=args.dropout,
            bigram_buckets=args.bigram_buckets or None,
        )
        # Vaswani's schedule, scaled so that its peak is --learning-rate.
        scale = args.learning_rate * (args.model_dim * args.warmup_steps) ** 0.5
        learning_rate = TransformerSchedule(args.model_dim, args.warmup_steps, scale)
        optimizer = keras.optimizers.Adam(learning_rate, beta_1=0.9, beta_2=0.98, epsilon=1e-9)
    else:
        model = BiGRUClassifier(
            vocabulary_size,
            embedding_dim=args.embedding_dim,
            units=args.units,
            attention_units=args.attention_units,
            dropout=args.dropout,
            bigram_buckets=args.bigram_buckets or None,
        )
        # Clipping keeps the recurrent gradients from exploding on long sentences.
        optimizer = keras.optimizers.Adam(args.learning_rate, clipnorm=1.0)
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy")],
        jit_compile=args.jit_compile,
    )
    model(np.ones((1, 2), "int32"))  # builds every weight, so a checkpoint can be loaded
    return model


def sentence_tokens(tokenizer, ids):
    """The token strings of each row of `ids`, padding dropped."""
    return [
        [token.decode("utf-8") for token in tokenizer.ids_to_tokens(row[row != 0]).numpy()]
        for row in np.asarray(ids)
    ]


def attention_plot_callback(tokenizer, examples, args, output):
    """Plots the pooling attention of two validation sentences after every epoch."""
    from attention_layers.visualization import AttentionPlotCallback

    ids = make_token_ids(tokenizer, [text for text, _ in examples[:2]], args.max_length)

    def pooling_only(model, inputs):
        # The self-attention grids would triple the plotting time for little insight.
        return {"pooling": model.get_attention_weights(inputs)["pooling"]}

    return AttentionPlotCallback(
        ids,
        output / "attention",
        source_tokens=sentence_tokens(tokenizer, ids),
        log_dir=output / "logs" / "attention",
        attention_fn=pooling_only,
    )


def make_token_ids(tokenizer, texts, max_length):
    """Token ids `(len(texts), T)` padded with 0, as the classifier reads them."""
    ragged = tokenizer.tokenize(texts, add_start_end=False, max_length=max_length)
    return ragged.to_tensor().numpy()


def most_attended(model, tokenizer, examples, max_length, top=TOP_WORDS):
    """For each `(text, label)`: the probability and the `top` words with the most attention.

    Returns:
        A list of dicts `{"text", "label", "probability", "words": [[word, weight], ...]}`.
    """
    ids = make_token_ids(tokenizer, [text for text, _ in examples], max_length)
    probabilities = keras.ops.convert_to_numpy(model(ids))[:, 0]
    weights = keras.ops.convert_to_numpy(model.get_attention_weights(ids)["pooling"])[:, 0]
    results = []
    for (text, label), tokens, row, probability in zip(
        examples, sentence_tokens(tokenizer, ids), weights, probabilities, strict=True
    ):
        order = np.argsort(-row[: len(tokens)], kind="stable")[:top]
        results.append(
            {
                "text": text,
                "label": label,
                "probability": float(probability),
                "words": [[tokens[index], float(row[index])] for index in order],
            }
        )
    return results


def accuracy(model, dataset):
    """The share of `(tokens, label)` examples whose P(positive) > 0.5 matches the label.

    As `keras.metrics.BinaryAccuracy`, without compiling `model` (an ensemble is not).
    """
    correct = total = 0
    for tokens, labels in dataset:
        predicted = keras.ops.convert_to_numpy(model(tokens))[:, 0] > 0.5
        correct += int(np.sum(predicted == (labels.numpy() == 1)))
        total += len(predicted)
    return correct / total


def weights_only(model):
    """A copy of a trained classifier without its optimizer (saving it stores the weights)."""
    copy = type(model).from_config(model.get_config())
    copy.build()
    copy.set_weights(model.get_weights())
    return copy


def train_member(args, corpus, tokenizer, run, seed, policy):
    """Trains (or resumes, or reloads when finished) one classifier in `run`.

    Returns:
        `(model, training_seconds, datasets)`: the model with its best epoch's weights, and
        the `DatasetSplits` it trained on (shuffled with `seed`).
    """
    keras.utils.set_random_seed(seed)
    datasets = make_classification_datasets(
        corpus, tokenizer, batch_size=args.batch_size, max_length=args.max_length, seed=seed,
    )
    model = build_model(args, tokenizer.vocabulary_size)
    print(
        f"Model: {args.model}, {model.count_params():,} parameters, dtype policy {policy}"
        + (", XLA" if args.jit_compile else "")
    )

    checkpoint = EpochCheckpoint(run / "checkpoints")
    if args.resume:
        initial_epoch = checkpoint.restore(model)
        state = checkpoint.state or {}
        print(
            f"Resuming after epoch {initial_epoch} (optimizer step "
            f"{int(model.optimizer.iterations)})"
        )
    else:
        initial_epoch, state = checkpoint.clear(), {}
    callbacks = make_callbacks(
        run, checkpoint, patience=args.patience or None, resume=args.resume
    )
    if not args.no_attention_plots:
        callbacks.append(attention_plot_callback(tokenizer, corpus.validation, args, run))

    seconds = 0.0
    if state.get("finished") or initial_epoch >= args.epochs:
        print(f"Training already finished after epoch {initial_epoch}; evaluating.")
        best = checkpoint.best_weights(model)
        if best is not None:
            model.set_weights(best)
    else:
        start = time.perf_counter()
        model.fit(
            datasets.train,
            validation_data=datasets.validation,
            epochs=args.epochs,
            initial_epoch=initial_epoch,
            callbacks=callbacks,
        )
        seconds = time.perf_counter() - start
        print(f"Training took {seconds:.0f} s")
    return model, seconds, datasets


def main(argv=None):
    parser = build_parser()
    args = resolve_flags(parser, parser.parse_args(argv))
    output = pathlib.Path(args.output)
    keras.utils.set_random_seed(args.seed)

    with command_line_errors(parser, CorpusFormatError, ChecksumError, OSError):
        start = time.perf_counter()
        corpus = load_corpus(args)
        output.mkdir(parents=True, exist_ok=True)
        tokenizer = build_tokenizer(args, corpus, output)
    test_labelled = bool(corpus.test) and corpus.test[0][1] is not None
    print(
        f"Data: {args.dataset}, {len(corpus.train)} / {len(corpus.validation)} / "
        f"{len(corpus.test)} train / validation / test sentences"
        + ("" if test_labelled else " (test unlabelled)")
        + f"; vocabulary of {tokenizer.vocabulary_size} words "
        f"({time.perf_counter() - start:.0f} s)"
    )
    if not args.resume:
        (output / "config.json").write_text(json.dumps(vars(args), indent=2))

    print(describe_device())
    policy = configure_precision(args.mixed_precision)
    members = args.ensemble or 1
    results = {"training_seconds": 0.0}
    models = []
    for index in range(members):
        # One member: the run's own folder, as without --ensemble; several: one folder each.
        run = output if members == 1 else output / f"member_{index}"
        if members > 1:
            print(f"\n--- Member {index + 1} of {members} (seed {args.seed + index}) ---")
        model, seconds, datasets = train_member(
            args, corpus, tokenizer, run, args.seed + index, policy
        )
        models.append(model)
        results["training_seconds"] += seconds
    if members == 1:
        model = models[0]
    else:
        # Copies without the optimizers: a member's Adam moments would triple the file. The
        # ensemble is not compiled either, so that its file holds no optimizer at all.
        model = ClassifierEnsemble([weights_only(member) for member in models], name="ensemble")
        print(f"\nEnsemble of {members} classifiers, {model.count_params():,} parameters")
    # Only train is shuffled (by seed): every member's validation and test splits are the same.
    if members > 1:
        results["member_validation_accuracy"] = [
            accuracy(member, datasets.validation) for member in models
        ]
        print("Validation accuracy of each member: " + ", ".join(
            f"{value:.4f}" for value in results["member_validation_accuracy"]
        ))
    results["validation_accuracy"] = accuracy(model, datasets.validation)
    print(
        f"Validation accuracy: {results['validation_accuracy']:.4f} on "
        f"{len(corpus.validation)} sentences" + (" (SST-2 dev)" if args.dataset == "sst2" else "")
    )
    if test_labelled:
        results["test_accuracy"] = accuracy(model, datasets.test)
        print(f"Test accuracy: {results['test_accuracy']:.4f} on {len(corpus.test)} sentences")

    print(f"The words with the most attention (validation sentences, top {TOP_WORDS}):")
    results["samples"] = most_attended(
        model, tokenizer, corpus.validation[:SAMPLES], args.max_length
    )
    deciding = (corpus.deciding_tokens or {}).get("validation")
    for index, sample in enumerate(results["samples"]):
        words = ", ".join(f"{word} ({weight:.2f})" for word, weight in sample["words"])
        print(
            f"  {sample['text']}\n    label {sample['label']}, P(positive) = "
            f"{sample['probability']:.2f}; attention: {words}"
        )
        if deciding is not None:
            text_words = tokenizer.ids_to_tokens(
                make_token_ids(tokenizer, [sample["text"]], args.max_length)[0]
            ).numpy()
            sample["deciding_words"] = [text_words[i].decode("utf-8") for i in deciding[index]]
            print(f"    deciding words (recorded by the generator): {', '.join(sample['deciding_words'])}")

    model.save(output / "classifier.keras")
    print(f"Saved {output / 'classifier.keras'} and {output / 'vocab.txt'}")
    if not args.no_export:
        path = export_classifier(
            model, tokenizer, output / "serving", max_input_tokens=args.max_length
        )
        print(f"Saved the serving export in {path} (raw strings in; probability, label and "
              "per-token attention out)")
    (output / "results.json").write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
    sys.exit(0)
