"""`python -m attention_layers evaluate RUN --test PATH`: score a run or an export on a test file.

    python -m attention_layers evaluate runs/translator-builtin --test test.tsv \\
        --source-language es --target-language en --output hypotheses.tsv
    python -m attention_layers evaluate runs/classifier-builtin --test dev.tsv \\
        --scores scores.json

A translator's test file is any format `load_translation_files` reads (line-aligned
`PATH.xx` + `PATH.yy`, a TSV/CSV with a header naming the two codes, a Tatoeba file, JSON
lines); it is scored with sacrebleu's BLEU and chrF against the references in the form the
model writes (`canonical_text`: its case and punctuation spacing), as the training
command scores its test split. A classifier's test file is any format
`read_labelled_texts` reads (CSV/TSV with `text`/`sentence` and `label` columns, JSON
lines, a folder per class); labels are the model's class names or their indices (`0`,
`1`), and it is scored with accuracy, macro-F1 and a per-class table.

Every hypothesis or prediction is written out (`--output`, whole or not at all; stdout
by default) as TSV: `source, reference, hypothesis` or `text, label, prediction,
probability`, fields escaped as `classify` escapes them. The scores go to stderr in one
line and, with `--scores FILE`, to a JSON file.
"""

import json
import pathlib
import sys

from attention_layers.apps import batch_commands
from attention_layers.apps.batch_commands import CommandError, escape_tsv
from attention_layers.apps.command_line import CommandParser
from attention_layers.training.metrics import classification_scores  # noqa: F401 (re-exported)

# The languages of every run trained before `--source-language` existed (the generated
# corpus and Tatoeba's spa-eng are both Spanish -> English).
DEFAULT_LANGUAGES = ("es", "en")


def build_parser():
    parser = CommandParser(
        prog="python -m attention_layers evaluate",
        description="Score a run folder or an export on a test file: BLEU and chrF "
        "(sacrebleu) for a translator, accuracy and macro-F1 for a classifier. Writes every "
        "hypothesis or prediction as TSV; the scores go to stderr (and --scores).",
    )
    parser.add_argument("run", metavar="RUN",
                        help="a run folder (train_*.py --output) or an export")
    parser.add_argument("--test", type=pathlib.Path, required=True,
                        help="the test data: a file of pairs or labelled texts, or the prefix "
                        "PATH of PATH.xx and PATH.yy")
    parser.add_argument("--output", type=pathlib.Path,
                        help="TSV of every hypothesis or prediction (default: stdout)")
    parser.add_argument("--scores", type=pathlib.Path, help="JSON file of the scores")
    parser.add_argument("--source-language",
                        help="a translator's source code in the test file (default: the "
                        f"run's, else {DEFAULT_LANGUAGES[0]})")
    parser.add_argument("--target-language",
                        help="a translator's target code (default: the run's, else "
                        f"{DEFAULT_LANGUAGES[1]})")
    parser.add_argument("--text-column", help="a classifier's text column (default text "
                        "or sentence)")
    parser.add_argument("--label-column", help="a classifier's label column (default label)")
    parser.add_argument("--encoding", default="utf-8", help="the test file's codec "
                        "(default utf-8)")
    parser.add_argument("--beam-width", type=batch_commands._beam_width, default=1,
                        help="a translator's beam (1, the default, decodes greedily)")
    parser.add_argument("--batch-size", type=batch_commands._positive_int,
                        default=batch_commands.DEFAULT_BATCH_SIZE,
                        help="sentences through the model at once")
    return parser


def _languages(path, args):
    config = {}
    if (path / "config.json").is_file():
        from attention_layers.apps.run import read_run_config

        config = read_run_config(path)
    source = args.source_language or config.get("source_language") or DEFAULT_LANGUAGES[0]
    target = args.target_language or config.get("target_language") or DEFAULT_LANGUAGES[1]
    return source, target


def evaluate_translator(model, pairs, beam_width, batch_size):
    """`(scores, rows)`: BLEU and chrF of `model` on `pairs`, and one TSV row per pair."""
    import sacrebleu

    from attention_layers.text import canonical_text

    sources = [source for source, _ in pairs]
    # In the model's case: lower-cased unless the run or export keeps it (--case).
    lowercase = getattr(model, "target_lowercase", True)
    references = [text.decode("utf-8")
                  for text in canonical_text([t for _, t in pairs], lowercase).numpy()]
    progress = batch_commands._Progress("evaluate", len(sources))
    try:
        hypotheses = list(batch_commands.translate_lines(
            model, sources, beam_width, batch_size, progress))
    finally:
        progress.close()
    scores = {
        "bleu": round(sacrebleu.corpus_bleu(hypotheses, [references]).score, 2),
        "chrf": round(sacrebleu.corpus_chrf(hypotheses, [references]).score, 2),
        "pairs": len(pairs),
        "beam_width": beam_width,
    }
    rows = [
        "\t".join(escape_tsv(field) for field in row)
        for row in zip(sources, references, hypotheses, strict=True)
    ]
    return scores, ["source\treference\thypothesis", *rows]


def class_index(label, class_names):
    """The index of a test label among `class_names`: a name, or an index as text."""
    if label in class_names:
        return class_names.index(label)
    if label.isdigit() and int(label) < len(class_names):
        return int(label)
    return None


def evaluate_classifier(model, examples, batch_size):
    """`(scores, rows)` of `model` on `(text, label index, where)` examples."""
    texts = [text for text, _, _ in examples]
    progress = batch_commands._Progress("evaluate", len(texts))
    results = []
    try:
        for start in range(0, len(texts), batch_size):
            results += model.classify(texts[start : start + batch_size])
            progress.update(min(start + batch_size, len(texts)))
    finally:
        progress.close()
    names = list(model.class_names)
    predicted = [names.index(result["label"]) for result in results]
    truth = [label for _, label, _ in examples]
    scores = classification_scores(truth, predicted, names)
    rows = [
        f"{escape_tsv(text)}\t{names[label]}\t{result['label']}\t{result['probability']:.6f}"
        for (text, label, _), result in zip(examples, results, strict=True)
    ]
    return scores, ["text\tlabel\tprediction\tprobability", *rows]


def _read_test(kind, path, args, run_path, class_names=None):
    from attention_layers.data import CorpusFormatError
    from attention_layers.data.user_corpora import read_labelled_texts, read_translation_pairs

    try:
        if kind == "translator":
            source, target = _languages(run_path, args)
            data = read_translation_pairs(path, source, target, encoding=args.encoding)
        else:
            data = read_labelled_texts(path, text_column=args.text_column,
                                       label_column=args.label_column, encoding=args.encoding)
    except (CorpusFormatError, ValueError, LookupError, OSError) as error:
        raise CommandError(str(error)) from None
    if not data:
        raise CommandError(f"--test {path}: no examples")
    if kind == "translator":
        return data
    examples = []
    for text, label, where in data:
        index = class_index(label, list(class_names))
        if index is None:
            raise CommandError(f"{where}: label {label!r} is not one of the model's classes "
                               f"({', '.join(class_names)}) or their indices")
        examples.append((text, index, where))
    return examples


def _summary(kind, scores):
    if kind == "translator":
        return (f"BLEU {scores['bleu']:.2f}, chrF {scores['chrf']:.2f} on {scores['pairs']:,} "
                f"pairs (sacrebleu; beam {scores['beam_width']})")
    return (f"accuracy {100 * scores['accuracy']:.2f}%, macro-F1 {100 * scores['macro_f1']:.2f}% "
            f"on {scores['examples']:,} examples")


def _run(args):
    path = pathlib.Path(args.run)
    for flag in ("output", "scores"):
        target = getattr(args, flag)
        if target is not None and (not target.parent.is_dir() or target.is_dir()):
            raise CommandError(f"--{flag} {target}: give a file in an existing folder")
    kind, _ = batch_commands._kind(path)
    if kind not in ("translator", "classifier"):
        raise CommandError(f"{path} is a {kind!r} run or export; evaluate scores translators "
                           "and classifiers")
    if kind == "translator":
        pairs = _read_test(kind, args.test, args, path)
        model = batch_commands._load(path, "translate")
        scores, rows = evaluate_translator(model, pairs, args.beam_width, args.batch_size)
    else:
        model = batch_commands._load(path, "classify")
        examples = _read_test(kind, args.test, args, path, model.class_names)
        scores, rows = evaluate_classifier(model, examples, args.batch_size)
    scores = {"test": str(args.test), **scores}
    batch_commands._write(args.output, None, iter(rows))
    if args.scores is not None:
        from attention_layers.utils.files import atomic_write_text

        atomic_write_text(args.scores, json.dumps(scores, indent=2, ensure_ascii=False) + "\n")
    print(f"evaluate: {_summary(kind, scores)}", file=sys.stderr)
    return 0


def main(argv=None):
    """Runs `evaluate`; returns the exit code (2 for bad input, one line on stderr)."""
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except CommandError as error:
        print(f"evaluate: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nevaluate: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
