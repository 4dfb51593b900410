"""Train a Spanish -> English translator with attention, then report BLEU and export it.

    python train_translator.py                                   # generated corpus, minutes
    python train_translator.py --model rnn --attention luong-general
    python train_translator.py --dataset spa-eng --data ../shared/data/spa.txt
    python train_translator.py --resume                          # after an interruption

The run writes under `--output` (default `runs/translator`):

    config.json             the flags of the run (`--resume` reads them back)
    source_vocab.txt        the tokenizers' vocabularies, one token per line
    target_vocab.txt
    checkpoints/            weights + optimizer state after every epoch (for --resume)
    training_log.csv        one line of losses and accuracies per epoch
    logs/                   TensorBoard (`tensorboard --logdir OUTPUT/logs`)
    attention/              cross-attention of two validation sentences, every epoch
    translator.keras        the trained model (best validation loss)
    serving/                the SavedModel export (strings in, strings out)
    results.json            test BLEU and sample translations

Each dataset has its own defaults (`PRESETS` below); flags override them.
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
    CorpusFormatError,
    generate_translation_corpus,
    load_spa_eng,
    make_translation_datasets,
)
from attention_layers.export import export_translator  # noqa: E402
from attention_layers.models import ATTENTIONS, RNNTranslator, TransformerTranslator  # noqa: E402
from attention_layers.text import WordPieceTokenizer, WordTokenizer  # noqa: E402
from attention_layers.training import (  # noqa: E402
    EpochCheckpoint,
    TransformerSchedule,
    UsageError,
    add_output_flags,
    add_training_flags,
    command_line_errors,
    configure_precision,
    describe_device,
    evaluate_bleu,
    make_callbacks,
    masked_accuracy,
    masked_loss,
    positive_int,
    restore_resumed_flags,
    unit_interval,
)

# Defaults per dataset. The generated corpus is small and regular: a small Transformer
# learns it in four epochs. Tatoeba needs a bigger model and more epochs. Its training
# side has 8,100 English and 13,400 Spanish words seen twice or more, so word vocabularies
# of 10,000 cover nearly all of it; learning WordPiece vocabularies instead takes minutes
# on its 93,000 sentences (`--vocabulary wordpiece`).
PRESETS = {
    "builtin": {
        "num_pairs": 20_000,
        "model": "transformer",
        "vocabulary": "word",
        "vocabulary_size": 8000,
        "layers": 2,
        "model_dim": 128,
        "heads": 4,
        "feed_forward_dim": 256,
        "embedding_dim": 128,
        "units": 256,
        "dropout": 0.1,
        "epochs": 4,
        "batch_size": 64,
        "max_length": 32,
        "learning_rate": 2e-3,
        "warmup_steps": 400,
        "patience": 3,
    },
    "spa-eng": {
        "num_pairs": None,
        "model": "transformer",
        "vocabulary": "word",
        "vocabulary_size": 10000,
        "layers": 2,
        "model_dim": 256,
        "heads": 4,
        "feed_forward_dim": 1024,
        "embedding_dim": 256,
        "units": 512,
        "dropout": 0.1,
        "epochs": 30,
        "batch_size": 128,
        "max_length": 32,
        "learning_rate": 1e-3,
        "warmup_steps": 1000,
        "patience": 3,
    },
}

# Flags that define the model and its data: a resumed run must keep them.
RUN_DEFINING = (
    "dataset", "data", "num_pairs", "model", "attention", "cell", "input_feeding",
    "vocabulary", "vocabulary_size", "layers", "model_dim", "heads", "feed_forward_dim",
    "embedding_dim", "units", "dropout", "batch_size", "max_length", "learning_rate",
    "warmup_steps", "mixed_precision", "seed",
)
RNN_ONLY = ("attention", "cell", "input_feeding", "embedding_dim", "units")
TRANSFORMER_ONLY = ("layers", "model_dim", "heads", "feed_forward_dim", "warmup_steps")
SAMPLES = 5


def build_parser():
    parser = argparse.ArgumentParser(
        description="Train a Spanish -> English translator with attention (RNN or "
        "Transformer), report test BLEU and sample translations, and save the model.",
        epilog="Flags shown with 'preset' default to the dataset's preset (see PRESETS in "
        "train_translator.py). Bad flags or data end with a message and exit code 2.",
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--dataset", choices=sorted(PRESETS), default="builtin",
        help="'builtin': the generated Spanish-English corpus (offline, with gold "
        "alignments); 'spa-eng': the Tatoeba pairs (spa.txt). Default: builtin.",
    )
    data.add_argument(
        "--data", metavar="PATH",
        help="spa-eng only: a local spa.txt (or its folder). Without it the file is "
        "downloaded, which needs internet access.",
    )
    data.add_argument(
        "--num-pairs", type=positive_int, metavar="N",
        help="builtin only: sentence pairs to generate (preset: 20000).",
    )
    data.add_argument(
        "--vocabulary", choices=("word", "wordpiece"),
        help="word-level or WordPiece subword tokenizers (preset).",
    )
    data.add_argument(
        "--vocabulary-size", type=positive_int, metavar="N",
        help="the most tokens per language, reserved ones included (preset).",
    )
    data.add_argument(
        "--max-length", type=positive_int, metavar="N",
        help="the most tokens per sentence, [START]/[END] included; longer ones are cut. "
        "Also the longest translation decoded (preset).",
    )
    data.add_argument("--seed", type=int, default=0, help="corpus, split and shuffling seed (0).")

    model = parser.add_argument_group("model")
    model.add_argument(
        "--model", choices=("transformer", "rnn"),
        help="a Transformer, or a recurrent encoder-decoder with attention (preset).",
    )
    model.add_argument(
        "--attention", choices=ATTENTIONS,
        help="rnn only: the attention of the decoder (default: bahdanau).",
    )
    model.add_argument("--cell", choices=("gru", "lstm"), help="rnn only: the cell (default: gru).")
    model.add_argument(
        "--input-feeding", action="store_true", default=None,
        help="rnn only: feed the last attentional vector into the next step (Luong §3.3).",
    )
    model.add_argument("--layers", type=positive_int, metavar="N",
                       help="transformer only: encoder and decoder blocks, each (preset).")
    model.add_argument("--model-dim", type=positive_int, metavar="N",
                       help="transformer only: d_model (preset).")
    model.add_argument("--heads", type=positive_int, metavar="N",
                       help="transformer only: attention heads (preset).")
    model.add_argument("--feed-forward-dim", type=positive_int, metavar="N",
                       help="transformer only: feed-forward hidden size (preset).")
    model.add_argument("--embedding-dim", type=positive_int, metavar="N",
                       help="rnn only: word embedding size (preset).")
    model.add_argument("--units", type=positive_int, metavar="N",
                       help="rnn only: RNN state and attention size (preset).")
    model.add_argument("--dropout", type=unit_interval, metavar="P", help="dropout rate (preset).")

    add_training_flags(parser, recurrent_model="rnn", example="sentence pairs",
                       mixed_precision_help="compute in float16 with float32 variables (faster on GPUs; not on most CPUs).")
    add_output_flags(parser, "runs/translator")
    return parser


def resolve_flags(parser, args):
    """Checks flag combinations, then fills the preset (or, with --resume, the saved run)."""
    given = {name for name, value in vars(args).items() if value is not None}
    if args.resume:
        return restore_resumed_flags(parser, args, RUN_DEFINING)

    if args.dataset == "builtin" and args.data is not None:
        parser.error("--data is for --dataset spa-eng; the builtin corpus is generated.")
    if args.dataset != "builtin" and args.num_pairs is not None:
        parser.error("--num-pairs is for --dataset builtin.")
    preset = PRESETS[args.dataset]
    model = args.model or preset["model"]
    wrong = RNN_ONLY if model == "transformer" else TRANSFORMER_ONLY
    misplaced = sorted(name for name in wrong if name in given)
    if misplaced:
        flags = ", ".join(f"--{name.replace('_', '-')}" for name in misplaced)
        parser.error(f"{flags} do(es) not apply to --model {model}.")
    for name, value in preset.items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    if model == "rnn":
        args.attention = args.attention or "bahdanau"
        args.cell = args.cell or "gru"
        args.input_feeding = bool(args.input_feeding)
    if model == "transformer" and args.model_dim % args.heads:
        parser.error(f"--model-dim ({args.model_dim}) must be divisible by --heads ({args.heads}).")
    if args.max_length < 3:
        parser.error("--max-length must be at least 3 ([START], a word, [END]).")
    return args


# --- data ---------------------------------------------------------------------------------


def load_corpus(args):
    if args.dataset == "builtin":
        return generate_translation_corpus(args.num_pairs, seed=args.seed)
    if args.data is not None and not pathlib.Path(args.data).exists():
        raise UsageError(f"--data {args.data}: no such file or directory")
    corpus = load_spa_eng(args.data, seed=args.seed, strict=True)
    for name in ("train", "validation", "test"):
        if not corpus.split(name):
            raise UsageError(
                f"--data {args.data}: the {name} split is empty; the file has too few "
                "sentence pairs."
            )
    return corpus


def build_tokenizers(args, corpus, output):
    """The (source, target) tokenizers: read back when resuming, else learned and saved."""
    kind = WordPieceTokenizer if args.vocabulary == "wordpiece" else WordTokenizer
    paths = output / "source_vocab.txt", output / "target_vocab.txt"
    if args.resume:
        return tuple(kind.load(path) for path in paths)
    tokenizers = []
    for side, path in enumerate(paths):
        texts = [pair[side] for pair in corpus.train]
        if kind is WordPieceTokenizer:
            tokenizer = kind.build(texts, vocabulary_size=args.vocabulary_size)
        else:
            tokenizer = kind.build(texts, max_vocabulary_size=args.vocabulary_size)
        tokenizer.save(path)
        tokenizers.append(tokenizer)
    return tuple(tokenizers)


# --- model --------------------------------------------------------------------------------


def build_model(args, source_vocabulary_size, target_vocabulary_size):
    if args.model == "transformer":
        model = TransformerTranslator(
            source_vocabulary_size,
            target_vocabulary_size,
            num_layers=args.layers,
            model_dim=args.model_dim,
            num_heads=args.heads,
            feed_forward_dim=args.feed_forward_dim,
            dropout=args.dropout,
        )
        # Vaswani's schedule, scaled so that its peak is --learning-rate.
        scale = args.learning_rate * (args.model_dim * args.warmup_steps) ** 0.5
        learning_rate = TransformerSchedule(args.model_dim, args.warmup_steps, scale)
        optimizer = keras.optimizers.Adam(learning_rate, beta_1=0.9, beta_2=0.98, epsilon=1e-9)
    else:
        model = RNNTranslator(
            source_vocabulary_size,
            target_vocabulary_size,
            embedding_dim=args.embedding_dim,
            units=args.units,
            cell=args.cell,
            attention=args.attention,
            input_feeding=args.input_feeding,
            max_source_length=args.max_length,
            dropout=args.dropout,
        )
        # Clipping keeps the recurrent gradients from exploding on long sentences.
        optimizer = keras.optimizers.Adam(args.learning_rate, clipnorm=1.0)
    model.compile(
        optimizer=optimizer,
        loss=masked_loss(),
        metrics=[masked_accuracy],
        jit_compile=args.jit_compile,
    )
    dummy = np.ones((1, 2), "int32")
    model((dummy, dummy))  # builds every weight, so a checkpoint can be loaded
    return model


def attention_plot_callback(model, datasets, source_tokenizer, target_tokenizer, output):
    """Plots the cross-attention of two validation sentences after every epoch."""
    from attention_layers.visualization import AttentionPlotCallback

    (source, target_in), target_out = next(iter(datasets.validation))
    source, target_in, target_out = (t[:2].numpy() for t in (source, target_in, target_out))

    def tokens(tokenizer, ids):
        return [
            [token.decode("utf-8") for token in tokenizer.ids_to_tokens(row[row != 0]).numpy()]
            for row in ids
        ]

    def cross_attention(model, inputs):
        # Self-attention plots would triple the plotting time for little insight.
        return {
            name: weights
            for name, weights in model.get_attention_weights(inputs).items()
            if "self" not in name
        }

    return AttentionPlotCallback(
        (source, target_in),
        output / "attention",
        source_tokens=tokens(source_tokenizer, source),
        # Row t reads target_in[t] and predicts target_out[t]: label it with the prediction.
        target_tokens=tokens(target_tokenizer, target_out),
        log_dir=output / "logs" / "attention",
        attention_fn=cross_attention,
    )


def main(argv=None):
    parser = build_parser()
    args = resolve_flags(parser, parser.parse_args(argv))
    output = pathlib.Path(args.output)
    keras.utils.set_random_seed(args.seed)

    with command_line_errors(parser, CorpusFormatError, OSError):
        start = time.perf_counter()
        corpus = load_corpus(args)
        output.mkdir(parents=True, exist_ok=True)
        source_tokenizer, target_tokenizer = build_tokenizers(args, corpus, output)
    print(
        f"Data: {args.dataset}, {len(corpus.train)} / {len(corpus.validation)} / "
        f"{len(corpus.test)} train / validation / test pairs; {args.vocabulary} vocabularies "
        f"of {source_tokenizer.vocabulary_size} (source) and "
        f"{target_tokenizer.vocabulary_size} (target) tokens "
        f"({time.perf_counter() - start:.0f} s)"
    )
    if not args.resume:
        (output / "config.json").write_text(json.dumps(vars(args), indent=2))

    print(describe_device())
    policy = configure_precision(args.mixed_precision)
    datasets = make_translation_datasets(
        corpus, source_tokenizer, target_tokenizer,
        batch_size=args.batch_size, max_length=args.max_length, seed=args.seed,
    )
    model = build_model(args, source_tokenizer.vocabulary_size, target_tokenizer.vocabulary_size)
    print(
        f"Model: {args.model}"
        + (f" with {args.attention} attention" if args.model == "rnn" else "")
        + f", {model.count_params():,} parameters, dtype policy {policy}"
        + (", XLA" if args.jit_compile else "")
    )

    checkpoint = EpochCheckpoint(output / "checkpoints")
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
        output, checkpoint, patience=args.patience or None, resume=args.resume
    )
    if not args.no_attention_plots:
        callbacks.append(
            attention_plot_callback(model, datasets, source_tokenizer, target_tokenizer, output)
        )

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
        print(f"Training took {time.perf_counter() - start:.0f} s")

    start = time.perf_counter()
    bleu, hypotheses, references = evaluate_bleu(
        model, source_tokenizer, target_tokenizer, corpus.test, max_length=args.max_length
    )
    print(
        f"Test BLEU: {bleu.score:.2f} on {len(corpus.test)} pairs (sacrebleu, greedy "
        f"decoding, lower-cased; {time.perf_counter() - start:.0f} s)"
    )
    print(f"  {bleu}")
    samples = []
    print("Sample translations (test split):")
    for (source, _), reference, hypothesis in list(
        zip(corpus.test, references, hypotheses, strict=True)
    )[:SAMPLES]:
        samples.append({"source": source, "reference": reference, "translation": hypothesis})
        print(f"  source:      {source}\n  reference:   {reference}\n  translation: {hypothesis}\n")

    model.save(output / "translator.keras")
    print(f"Saved {output / 'translator.keras'}")
    if not args.no_export:
        path = export_translator(
            model, source_tokenizer, target_tokenizer, output / "serving",
            max_input_tokens=args.max_length, max_output_length=args.max_length,
        )
        print(f"Saved the serving export in {path} (strings in, strings out)")
    (output / "results.json").write_text(
        json.dumps({"test_bleu": bleu.score, "bleu": str(bleu), "samples": samples}, indent=2)
    )
    return bleu.score


if __name__ == "__main__":
    main()
    sys.exit(0)
