"""The flags of `train_classifier.py` (beside the runner's training and output flags), the
presets they fall back on, the checks of flags that do not go together, and the
classifier's typed config.

The runner adds them (`ClassificationFlags.add`), then turns the parsed flags, once, into a
checked `ClassificationConfig` (`ClassificationFlags.resolve`); `labelled_files.py` holds
the flags of the user's own files (`--train`).
"""

import dataclasses
import pathlib

from attention_layers.data import CorpusFormatError
from attention_layers.models.classifier import (
    BIGRAM_MULTIPLIER,
    MAX_BIGRAM_BUCKETS,
    valid_bigram_buckets,
)
from attention_layers.models.quantization import EMBEDDING_QUANTIZATIONS
from attention_layers.training import command_line
from attention_layers.training.configs import CorpusTaskConfig
from attention_layers.training.distillation import TEACHER_WEIGHT, check_teacher, same_folder
from attention_layers.training.flags import (
    UsageError,
    closed_unit_interval,
    non_negative_int,
    seed_int,
)
from attention_layers.training.tasks import labelled_files
from attention_layers.training.tasks.base import TaskFlags
from attention_layers.training.tasks.classification_presets import PRESETS, SINGLE_PRESET
from attention_layers.training.tasks.classification_rule import (
    RULE_FLAGS,
    choose_classifier_preset,
    measure_texts,
    preset_record,
)

MODELS = ("transformer", "bigru")
SST2_PRESETS = ("ensemble", "single")

# Flags that define the model and its data: a resumed run must keep them.
RUN_DEFINING = (
    "dataset", "data", "num_examples", "model", "vocabulary_size", "min_count", "layers",
    "model_dim", "heads", "feed_forward_dim", "embedding_dim", "units", "attention_units",
    "dropout", "batch_size", "max_length", "learning_rate", "warmup_steps", "precision",
    "seed", "bigram_buckets", "ensemble", "weight_averaging", "label_smoothing",
    "teacher", "teacher_weight", "preset", "pooling_heads", "train", "validation", "test",
    "text_column", "label_column", "encoding", "class_weight", "classes", "data_preset",
)
BIGRU_ONLY = ("embedding_dim", "units", "attention_units")
TRANSFORMER_ONLY = (
    "layers", "model_dim", "heads", "feed_forward_dim", "warmup_steps", "pooling_heads",
)


@dataclasses.dataclass(frozen=True)
class ClassificationConfig(CorpusTaskConfig):
    """A classifier's settings: the flags of `train_classifier.py` that the task reads (see
    `--help`); those that a `--model` does not use are `None`, and so are those that a
    `config.json` written before them lacks."""

    num_examples: int | None = None
    preset: str | None = None
    min_count: int | None = None
    pooling_heads: int | None = None
    attention_units: int | None = None
    bigram_buckets: int | None = None
    quantize_embeddings: str | None = None
    teacher: str | None = None
    teacher_weight: float | None = None
    text_column: str | None = None
    label_column: str | None = None
    class_weight: str | None = None
    classes: tuple | list | None = None
    # A run on files: what the rule of `classification_rule.py` read and chose, or `None`.
    data_preset: dict | None = None

    @property
    def num_classes(self):
        """The classes the model tells apart: 2 unless a run on files has more."""
        return len(self.classes) if self.classes else 2


class ClassificationFlags(TaskFlags):
    """The flags of `train_classifier.py` (`ClassificationTask.flags`). A fresh run on the
    user's files reads them here (their class names, the preset from the data) and keeps
    the corpus in `read_ahead`, `(config, corpus)`, for the task's `load_corpus`."""

    presets = PRESETS
    run_defining = RUN_DEFINING
    resume_may_change = ("quantize_embeddings",)
    saved_defaults = {
        "teacher": None, "teacher_weight": None,  # written before --teacher
        "preset": None,  # written before --preset
        "pooling_heads": None,  # written before --pooling-heads: one query
        **labelled_files.SAVED_DEFAULTS,  # written before --train
        "data_preset": None,  # written before the preset from the data
    }
    read_ahead = None

    def add(self, parser):
        add_flags(parser, self.presets)
        parser.set_defaults(data_preset=None)  # set from the data, recorded in config.json

    def resolve(self, parser, args, given):
        fresh = None
        if not args.resume:
            corpus = self.read_files(parser, args)
            if corpus is not None:
                fill_from_data(args, given, corpus)
            fresh = fill_flags(parser, args, given, self.presets)
        check_flags(parser, args)
        return command_line.settle_flags(parser, args, ClassificationConfig, fresh)

    def read_files(self, parser, args):
        """A run on the user's files: checks their flags and reads the class names;
        returns the corpus (`None` for another `--dataset`)."""
        if not labelled_files.check_file_flags(parser, args):
            return None
        config = ClassificationConfig.from_flags(args)
        try:
            corpus = labelled_files.read_files(config)
        except CorpusFormatError as error:
            parser.error(str(error))
        args.classes = list(corpus.classes)
        self.read_ahead = (config, corpus)
        return corpus


def fill_from_data(args, given, corpus):
    """A run on files: the flags of `RULE_FLAGS` not given, from the training split
    (`classification_rule`), and `data_preset`, the record of what the rule read and
    chose. Chosen with the flags, before the runner's settings exist, as the rule also
    picks the epochs and the patience."""
    stats = measure_texts(corpus.train)
    fixed = {name: getattr(args, name) for name in RULE_FLAGS if name in given}
    chosen = choose_classifier_preset(stats, args.max_minutes, fixed)
    for name, value in chosen.items():
        setattr(args, name, value)
    args.data_preset = preset_record(stats, chosen, args.max_minutes)


def add_flags(parser, presets):
    """The flags of `train_classifier.py` beside the runner's: data (`presets` names the
    `--dataset` choices), the user's files, the model and distillation."""
    data = command_line.add_dataset_flags(
        parser, presets,
        dataset_help="'builtin': the generated sentiment corpus (offline, with the deciding "
        "words recorded); 'sst2': GLUE SST-2; 'files': your own (--train, which implies "
        "it). Default: builtin.",
        data_help="sst2 only: a local folder in the GLUE layout (SST-2/ with train.tsv, "
        "dev.tsv, test.tsv, or its parent). Without it SST-2.zip is downloaded (needs "
        "internet).",
        size_flag="--num-examples",
        size_help="builtin only: sentences to generate (preset: 20000).",
    )
    command_line.add_count_flags(data, {
        "--vocabulary-size": "the most words in the vocabulary, the 4 reserved tokens "
        "included; at least 5 (preset).",
        "--min-count": "the fewest occurrences in train for a word to get its own id; rarer "
        "words become [UNK], which so learns to stand for the unseen words of new text "
        "(preset).",
        "--max-length": "the most tokens per sentence; longer ones are cut (preset).",
    })
    data.add_argument("--seed", type=seed_int, default=0,
                      help="corpus, split, shuffling and initialization seed (0).")
    labelled_files.add_file_flags(data)
    add_model_flags(parser.add_argument_group("model"))
    add_distillation_flags(parser)


def add_model_flags(model):
    """The `model` group: `--preset` (SST-2), `--model`, its sizes, `--pooling-heads`,
    `--bigram-buckets` and `--quantize-embeddings`."""
    model.add_argument(
        "--preset", choices=SST2_PRESETS,
        help="sst2 only: 'ensemble', five BiGRUs (85.6%% dev accuracy, 204 MB), or "
        "'single', one BiGRU under 20 MB (--ensemble 1 --embedding-dim 192 "
        "--weight-averaging 200 --quantize-embeddings int8: 84.8%%, 16 MB). Flags given "
        "beside it win. Default: ensemble.",
    )
    model.add_argument(
        "--model", choices=MODELS,
        help="a Transformer encoder with attention pooling, or a bidirectional GRU with "
        "additive attention pooling (preset).",
    )
    command_line.add_model_size_flags(model, layers_help="encoder blocks", recurrent={
        "--embedding-dim": "bigru only: word embedding size (preset).",
        "--units": "bigru only: GRU size per direction (preset).",
        "--attention-units": "bigru only: hidden size of the additive attention (preset).",
    })
    command_line.add_count_flags(model, {
        "--pooling-heads": "transformer only: learned queries of the attention pooling, "
        "each taking its own weighted average of the words (Lin et al. 2017); with 1 a "
        "negation and the word it flips share one average (preset).",
    })
    model.add_argument(
        "--bigram-buckets", type=non_negative_int, metavar="N",
        help="rows of the hashed bigram embedding added to each pooled word "
        f"(HashedBigramEmbedding, at most {MAX_BIGRAM_BUCKETS:,}); 0: words only "
        "(preset).",
    )
    model.add_argument(
        "--quantize-embeddings", choices=EMBEDDING_QUANTIZATIONS,
        help="after training, store the word and bigram embedding tables as int8 with "
        "one float32 scale per row (Keras' post-training quantization): the saved model "
        "is about a quarter of the size, and the accuracy reported is the quantized "
        "model's. Default: float32 tables.",
    )


def add_distillation_flags(parser):
    """The `distillation` group: `--teacher RUN` and `--teacher-weight W`."""
    distillation = parser.add_argument_group("distillation")
    distillation.add_argument(
        "--teacher", metavar="RUN",
        help="the --output folder of a finished run (e.g. the SST-2 ensemble) to distil "
        "into this model (Hinton et al. 2015): it trains against (1 - W) x the label + W "
        "x the teacher's probability, and reads the teacher's vocabulary (so "
        "--vocabulary-size and --min-count do not apply). Default: no teacher.",
    )
    distillation.add_argument(
        "--teacher-weight", type=closed_unit_interval, metavar="W",
        help=f"W above (default with --teacher: {TEACHER_WEIGHT}).",
    )


def fill_flags(parser, args, given, presets):
    """A fresh run: `parser.error` for a flag that does not apply (`--preset` off SST-2,
    the teacher's with a flag it excludes); returns the `FreshRun` with which
    `command_line.settle_flags` checks the other models' flags and gives the flags still
    unset their value in the preset of `--dataset` (`presets`) and `--model` (and
    `--preset single`)."""
    preset = presets[args.dataset]
    args.model = args.model or preset["model"]
    if args.preset is not None and args.dataset != "sst2":
        parser.error(f"--preset applies to --dataset sst2 only; received --dataset "
                     f"{args.dataset}.")
    if args.preset == "single":
        if args.model != "bigru":
            parser.error("--preset single is one BiGRU; it does not apply to --model "
                         f"{args.model}.")
    settings = {name: value for name, value in preset.items() if name not in MODELS}
    single = SINGLE_PRESET if args.preset == "single" else {}  # before the others
    if args.class_weight is not None and args.teacher is not None:
        parser.error("--class-weight weighs hard labels; it does not go with --teacher "
                     "(whose targets are probabilities).")
    if args.teacher is None and args.teacher_weight is not None:
        parser.error("--teacher-weight needs --teacher (the run to distil).")
    if args.teacher is not None:
        if given & {"vocabulary_size", "min_count"}:
            parser.error("--vocabulary-size and --min-count do not apply with --teacher: "
                         "the student reads the teacher's vocabulary.")
        args.teacher = str(pathlib.Path(args.teacher).resolve())
        args.teacher_weight = (
            TEACHER_WEIGHT if args.teacher_weight is None else args.teacher_weight
        )
    return command_line.FreshRun(
        frozenset(given), {**settings, **preset[args.model], **single},
        {"bigru": BIGRU_ONLY, "transformer": TRANSFORMER_ONLY}, "sst2", "--num-examples",
    )


def check_flags(parser, args):
    """`parser.error` for settings that do not go together, beside the sizes that
    `command_line.settle_flags` checks: a teacher that is not a finished run or is the
    `--output` folder, a bigram table size the hash cannot use."""
    teacher = args.teacher
    if teacher and same_folder(teacher, args.output):
        parser.error(f"--teacher {teacher} is the --output folder: the student would "
                     "replace its teacher's run; give the student another --output.")
    problem = teacher and check_teacher(teacher, args.dataset)
    if problem:
        parser.error(problem)
    if args.bigram_buckets and not valid_bigram_buckets(args.bigram_buckets):
        parser.error(
            f"--bigram-buckets must be at most {MAX_BIGRAM_BUCKETS:,} and not a multiple "
            f"of {BIGRAM_MULTIPLIER}; received {args.bigram_buckets}."
        )


def check_sst2_folder(data):
    """`UsageError` unless `data` is a folder in the GLUE SST-2 layout (or its parent)."""
    path = pathlib.Path(data)
    if not path.exists():
        raise UsageError(f"--data {data}: no such file or directory")
    if not path.is_dir():
        raise UsageError(
            f"--data {data}: not a folder; give the SST-2 folder (train.tsv, dev.tsv, "
            "test.tsv) or its parent"
        )
    if not (path / "train.tsv").is_file() and not (path / "SST-2" / "train.tsv").is_file():
        raise UsageError(
            f"--data {data}: no train.tsv there or in {data}/SST-2; give a folder in the "
            "GLUE SST-2 layout"
        )
