"""The classifier on the user's labelled files (`train_classifier.py --train PATH`): CSV/TSV,
JSON lines or a folder per class, with any labels.

`ClassificationTask` (`classification.py`) calls these for such a run: its flags and their
checks, the files read (their class names go to `config.json`) and read again, checked, on
`--resume`, `--class-weight balanced`, and the evaluation's macro-F1, per-class table and
confusion matrix.
"""

import numpy as np

from attention_layers.data import CorpusFormatError
from attention_layers.data.user_corpora import load_labelled_files
from attention_layers.training import command_line
from attention_layers.training.evaluation import class_predictions
from attention_layers.training.flags import UsageError
from attention_layers.training.metrics import classification_scores

# The flags that only a run on the user's files (`--train`) takes (`--encoding` aside).
FILES_ONLY = ("validation", "test", "text_column", "label_column")
CONFUSION_MATRIX = "confusion_matrix.png"
# The run's attention view (`AttentionPlotCallback`), which shows the confusion matrix too.
ATTENTION_VIEW = "attention/attention.html"
# The flags of the user's files, as a `config.json` written before `--train` reads.
SAVED_DEFAULTS = {
    **dict.fromkeys(("train", *FILES_ONLY, "class_weight", "classes")), "encoding": "utf-8",
}


def add_file_flags(data):
    """`--train` and the flags that go with it, in the `data` group."""
    command_line.add_file_flags(
        data,
        train_help="your own labelled texts: a CSV/TSV with a header (text column 'text' or "
        "'sentence', label column 'label'), JSON lines, or a folder with one sub-folder "
        "of .txt files per class. Labels are any strings or integers, two classes or "
        "more (a softmax over N).",
        validation_help="validation examples (default: a stratified, seeded 10%% of train).",
        test_help="test examples (default: another stratified 10%% of train).",
    )
    data.add_argument("--text-column", metavar="NAME", help="--train only: the text "
                      "column or key (default: text, else sentence).")
    data.add_argument("--label-column", metavar="NAME", help="--train only: the label "
                      "column or key (default: label).")
    data.add_argument(
        "--class-weight", choices=("balanced",),
        help="'balanced': weigh each training example's loss by n / (N x count of its "
        "class), so that a rare class counts as much as a common one (skewed data). "
        "Default: every example weighs 1.",
    )
    # The training file's class names, recorded in config.json (not a flag).
    data.set_defaults(classes=None)


def check_file_flags(parser, args):
    """`parser.error` for a flag of the user's files without `--train`, or for `--train`
    with a flag of another dataset; with `--train`, sets `--dataset files`. Returns
    whether the run reads the user's files."""
    if args.train is None:
        if args.dataset == "files":
            parser.error("--dataset files reads your own labelled files: give --train PATH.")
        for name in FILES_ONLY:
            if getattr(args, name) is not None:
                parser.error(f"--{name.replace('_', '-')} goes with --train (your own "
                             "labelled files).")
        if args.encoding != "utf-8":
            parser.error("--encoding goes with --train (your own files).")
        return False
    if (args.dataset not in ("builtin", "files") or args.data is not None
            or args.num_examples is not None or args.preset is not None):
        parser.error("--train gives your own labelled texts; it does not go with "
                     "--dataset, --data, --num-examples or --preset.")
    if args.teacher is not None:
        parser.error("--teacher distils a run on the same data; it does not go with --train.")
    args.dataset = "files"
    return True


def files_key(config):
    """The flags that decide which corpus a run on files reads (equal keys: equal corpora)."""
    return (config.train, config.validation, config.test, config.text_column,
            config.label_column, config.encoding, config.seed)


def read_files(config):
    """The corpus of `config`'s files (`CorpusFormatError` for an unknown codec too)."""
    try:
        return load_labelled_files(
            config.train, config.validation, config.test,
            text_column=config.text_column, label_column=config.label_column,
            seed=config.seed, encoding=config.encoding,
        )
    except LookupError:
        raise CorpusFormatError(
            f"--encoding {config.encoding}: not a codec Python knows (e.g. utf-8, "
            "latin-1, cp1252)"
        ) from None


def checked_corpus(config, corpus=None):
    """`corpus` (default: `config`'s files, read now), after checking that it has the
    run's classes (`config.classes`) and a validation and a test example (`UsageError`)."""
    corpus = read_files(config) if corpus is None else corpus
    if list(corpus.classes) != list(config.classes):
        raise UsageError(
            f"--train {config.train}: its classes are now {', '.join(corpus.classes)}; "
            f"the run was trained on {', '.join(config.classes)}. Start a new run "
            "(another --output) for the new data."
        )
    for name in ("validation", "test"):
        if not corpus.split(name):
            raise UsageError(
                f"--train {config.train}: the {name} split is empty ({len(corpus.train)} "
                f"examples in train); give more examples or --{name} PATH."
            )
    return corpus


def balanced_class_weights(labels, num_classes):
    """`--class-weight balanced`: each class's weight `n / (N * count)` (scikit-learn's
    `compute_class_weight("balanced")`), so that every class weighs as much in the loss.

    Args:
        labels: the training labels (class indices).
        num_classes: `N`.

    Returns:
        A list of `N` floats, class `i`'s at index `i`.

    Example:

    >>> balanced_class_weights([0, 0, 0, 1], 2)
    [0.6666666666666666, 2.0]
    """
    counts = np.bincount(np.asarray(labels, dtype="int64"), minlength=num_classes)
    return [len(labels) / (num_classes * int(count)) for count in counts]


def confusion_png(counts, classes, title):
    """The PNG bytes of the confusion matrix `counts` (`plot_confusion_matrix`)."""
    from attention_layers.visualization import plot_confusion_matrix
    from attention_layers.visualization._common import png_bytes

    return png_bytes(plot_confusion_matrix(counts, classes, title=title))


def print_class_table(scores, split):
    """Prints a split's per-class precision, recall, F1 and support."""
    width = max(len("class"), *(len(name) for name in scores["per_class"]))
    print(f"Per class ({split}):\n  {'class':<{width}}  precision  recall     f1  support")
    for name, values in scores["per_class"].items():
        print(f"  {name:<{width}}  {values['precision']:9.3f}  {values['recall']:6.3f}  "
              f"{values['f1']:5.3f}  {values['support']:7d}")


def class_scores(config, model, datasets, results):
    """A run on files: macro-F1, the per-class table and the confusion matrix of the
    validation and test splits (in `results`); returns the test split's confusion matrix
    as `{file name: PNG bytes}`."""
    results["classes"] = list(config.classes)
    for split in ("validation", "test"):
        scores = classification_scores(
            *class_predictions(model, getattr(datasets, split)), config.classes
        )
        results[f"{split}_macro_f1"] = scores["macro_f1"]
        results[f"{split}_scores"] = scores
    print(f"Macro-F1: {results['validation_macro_f1']:.4f} (validation), "
          f"{results['test_macro_f1']:.4f} (test)")
    print_class_table(results["test_scores"], "test")
    counts = results["test_scores"]["confusion_matrix"]
    return {CONFUSION_MATRIX: confusion_png(
        counts, config.classes, f"Test split: {results['test_scores']['examples']} examples"
    )}


def view_with_matrix(plots, png):
    """`{ATTENTION_VIEW: page}`: the view that `plots` (the run's `AttentionPlotCallback`)
    wrote last, with the test split's confusion matrix `png` under its sentences; `{}` when
    it wrote none (a resumed run that had finished training)."""
    page = plots.html([(f"Confusion matrix of the test split ({CONFUSION_MATRIX})", png)])
    return {} if page is None else {ATTENTION_VIEW: page.encode("utf-8")}
