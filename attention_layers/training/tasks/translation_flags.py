"""The flags of `train_translator.py` beside the runner's training and output flags (the
`data`, `model` and `evaluation` groups) and the translator's typed config: the runner adds
them (`TranslationFlags.add`), then turns the parsed flags, once, into a checked
`TranslationConfig` (`TranslationFlags.resolve`: the preset filled in, the flags checked
against each other).
"""

import dataclasses

from attention_layers.export.serving import MAX_BEAM_WIDTH
from attention_layers.models import ATTENTIONS
from attention_layers.training import command_line
from attention_layers.training.configs import CorpusTaskConfig
from attention_layers.training.flags import positive_int, seed_int
from attention_layers.training.tasks.base import TaskFlags
from attention_layers.training.tasks.preset_rule import CASE_CHOICES
from attention_layers.training.tasks.translation_presets import FROM_DATA, PRESETS

# Flags that define the model and its data: a resumed run must keep them.
RUN_DEFINING = (
    "dataset", "data", "num_pairs", "train", "validation", "test", "source_language",
    "target_language", "encoding", "model", "attention", "cell", "input_feeding",
    "vocabulary", "vocabulary_size", "shared_vocabulary", "layers", "model_dim", "heads",
    "feed_forward_dim", "embedding_dim", "units", "dropout", "batch_size", "max_length",
    "learning_rate", "warmup_steps", "precision", "seed", "weight_averaging", "label_smoothing",
    "data_preset", "case", "case_by_side",
)
RNN_ONLY = ("attention", "cell", "input_feeding", "embedding_dim", "units")
TRANSFORMER_ONLY = (
    "layers", "model_dim", "heads", "feed_forward_dim", "warmup_steps", "shared_vocabulary",
)
# The languages of the builtin corpus and of Tatoeba's spa-eng (which either direction reads).
BUILTIN_LANGUAGES = ("es", "en")


@dataclasses.dataclass(frozen=True)
class TranslationConfig(CorpusTaskConfig):
    """A translator's settings: the flags of `train_translator.py` that the task reads (see
    `--help`); those that a `--model` does not use are `None`."""

    num_pairs: int | None = None
    source_language: str | None = None
    target_language: str | None = None
    attention: str | None = None
    cell: str | None = None
    input_feeding: bool | None = None
    vocabulary: str | None = None
    shared_vocabulary: bool = False
    beam_width: int | None = None
    # What the rule of `preset_rule.py` read and chose (`preset_record`), or `None`.
    data_preset: dict | None = None
    # `--case`, and what it gave each side (`preset_rule.choose_case`):
    # `{"source": "keep" | "lower", "target": ...}`; `None` until the corpus is read.
    case: str | None = None
    case_by_side: dict | None = None

    def lowercase(self, side):
        """Whether the tokenizer of `side` (`"source"` or `"target"`) lower-cases text."""
        return (self.case_by_side or {}).get(side, "lower") != "keep"

    def describe_model(self):
        return self.model + (f" with {self.attention} attention" if self.model == "rnn" else "")


class TranslationFlags(TaskFlags):
    """The flags of `train_translator.py` (`TranslationTask.flags`)."""

    presets = PRESETS
    run_defining = RUN_DEFINING
    resume_may_change = ("beam_width",)
    saved_defaults = {
        "shared_vocabulary": False,  # written before --shared-vocabulary
        # Written before --source-language: every such run translated Spanish -> English.
        "source_language": BUILTIN_LANGUAGES[0],
        "target_language": BUILTIN_LANGUAGES[1],
        "data_preset": None,  # written before the preset from the data
        # Written before --case: every such run lower-cased both sides.
        "case": "lower",
        "case_by_side": {"source": "lower", "target": "lower"},
    }

    def add(self, parser):
        add_flags(parser, self.presets)

    def resolve(self, parser, args, given):
        fresh = None if args.resume else fill_flags(parser, args, given, self.presets)
        check_flags(parser, args)
        return command_line.settle_flags(parser, args, TranslationConfig, fresh)


def add_flags(parser, presets):
    """Adds the `data`, `model` and `evaluation` groups of `train_translator.py` to `parser`."""
    data = command_line.add_dataset_flags(
        parser, presets,
        dataset_help="'builtin': the generated Spanish-English corpus (offline, with gold "
        "alignments); 'spa-eng': the Tatoeba pairs (spa.txt); 'files': your own "
        "(--train, which implies it). Default: builtin.",
        data_help="spa-eng only: a local spa.txt (or its folder). Without it the file is "
        "downloaded, which needs internet access.",
        size_flag="--num-pairs",
        size_help="builtin only: sentence pairs to generate (preset: 20000).",
    )
    _add_file_flags(data)
    data.add_argument("--vocabulary", choices=("word", "wordpiece"),
                      help="word-level or WordPiece subword tokenizers (preset).")
    data.add_argument(
        "--shared-vocabulary", action="store_true", default=None,
        help="transformer only: one vocabulary learned from both languages "
        "(--vocabulary-size tokens in all) and one embedding matrix for the source, the "
        "target and the output layer (Vaswani et al. 2017, 3.4) (preset: off).",
    )
    command_line.add_count_flags(data, {
        "--vocabulary-size": "the most tokens per language, the 4 reserved ones included; "
        "at least 5 (preset).",
        "--max-length": "the most tokens per sentence, [START]/[END] included; longer "
        "ones are cut. Also the longest translation decoded (preset).",
    })
    data.add_argument(
        "--case", choices=CASE_CHOICES,
        help="keep the text's case (the model writes 'Tom lives in Paris.') or lower-case "
        "it; auto keeps it on a side where 5%% or more of the training sentences hold an "
        "upper-case letter (preset: auto; builtin: lower). Fixed on --resume.",
    )
    data.add_argument("--seed", type=seed_int, default=0,
                      help="corpus, split and shuffling seed (0).")
    _add_model_flags(parser.add_argument_group("model"))
    # Set from the data, recorded in config.json.
    parser.set_defaults(data_preset=None, case_by_side=None)
    parser.add_argument_group("evaluation").add_argument(
        "--beam-width", type=positive_int, metavar="N",
        help="test BLEU from beam search with N hypotheses per sentence (GNMT length "
        f"penalty 0.6), at most {MAX_BEAM_WIDTH} (as the export); 1 decodes greedily "
        "(preset). The export serves both.",
    )


def _add_file_flags(data):
    command_line.add_file_flags(
        data,
        train_help="your own training pairs: the prefix PATH of line-aligned PATH.xx and "
        "PATH.yy, a TSV/CSV whose header names the two language codes, a Tatoeba file "
        "(English first), or JSON lines {\"translation\": {\"xx\": ..., \"yy\": ...}}. "
        "Needs --source-language and --target-language.",
        validation_help="validation pairs (default: 10%% of train's source sentences).",
        test_help="test pairs (default: 10%% of train's source sentences, none seen in "
        "training).",
    )
    data.add_argument("--source-language", metavar="CODE", help="the code of the language "
                      "translated from, e.g. de (default: es). With --dataset builtin or "
                      "spa-eng, en turns the corpus around.")
    data.add_argument("--target-language", metavar="CODE", help="the code of the language "
                      "translated to (default: en).")


def _add_model_flags(model):
    model.add_argument(
        "--model", choices=("transformer", "rnn"),
        help="a Transformer, or a recurrent encoder-decoder with attention (preset).",
    )
    model.add_argument("--attention", choices=ATTENTIONS,
                       help="rnn only: the attention of the decoder (default: bahdanau).")
    model.add_argument("--cell", choices=("gru", "lstm"),
                       help="rnn only: the cell (default: gru).")
    model.add_argument(
        "--input-feeding", action="store_true", default=None,
        help="rnn only: feed the last attentional vector into the next step (Luong §3.3).",
    )
    command_line.add_model_size_flags(
        model, layers_help="encoder and decoder blocks, each", recurrent={
            "--embedding-dim": "rnn only: word embedding size (preset).",
            "--units": "rnn only: RNN state and attention size (preset).",
        },
    )


def fill_languages(parser, args):
    """Checks the flags of the corpus's source (`--train` and its companions, or a
    generated/Tatoeba corpus) and sets `--source-language` and `--target-language`."""
    if args.train is None:
        if args.dataset == "files":
            parser.error("--dataset files reads your own pairs: give --train PATH.")
        for flag in ("validation", "test"):
            if getattr(args, flag) is not None:
                parser.error(f"--{flag} goes with --train (your own training pairs).")
        if args.encoding != "utf-8":
            parser.error("--encoding goes with --train (your own files).")
        languages = (args.source_language or "es", args.target_language or "en")
        if sorted(languages) != sorted(BUILTIN_LANGUAGES) or languages[0] == languages[1]:
            parser.error(f"--dataset {args.dataset} holds Spanish (es) and English (en): "
                         f"translate es -> en or en -> es; received {' -> '.join(languages)}.")
        args.source_language, args.target_language = languages
        return
    if (args.dataset not in ("builtin", "files") or args.data is not None
            or args.num_pairs is not None):
        parser.error("--train gives your own pairs; it does not go with --dataset, --data "
                     "or --num-pairs.")
    if args.source_language is None or args.target_language is None:
        parser.error("--train needs --source-language and --target-language (the codes "
                     "of the two languages in the files, e.g. de and en).")
    if args.source_language.casefold() == args.target_language.casefold():
        parser.error(f"--source-language and --target-language are both {args.source_language!r}.")
    args.dataset = "files"


def fill_flags(parser, args, given, presets):
    """A fresh run: checks and sets the languages (`fill_languages`) and the recurrent
    model's defaults; returns the `FreshRun` with which `command_line.settle_flags` checks
    the flags given (`given`: their names) against each other and fills the unset ones
    from the preset of `--dataset` (`presets`), but for those that the preset takes from
    the data (`FROM_DATA`, chosen once the corpus is read)."""
    fill_languages(parser, args)
    preset = presets[args.dataset]
    if (args.model or preset["model"]) == "rnn":
        args.attention = args.attention or "bahdanau"
        args.cell = args.cell or "gru"
        args.input_feeding = bool(args.input_feeding)
    return command_line.FreshRun(
        frozenset(given), {name: value for name, value in preset.items() if value != FROM_DATA},
        {"rnn": RNN_ONLY, "transformer": TRANSFORMER_ONLY}, "spa-eng", "--num-pairs",
    )


def check_flags(parser, args):
    """`parser.error` for flags `args` that do not go together, fresh or restored by
    `--resume`, beside those of `command_line.settle_flags`; a flag still unset is chosen
    from the data (`preset_from_data`) or the preset, valid by rule."""
    if args.max_length is not None and args.max_length < 3:
        parser.error("--max-length must be at least 3 ([START], a word, [END]).")
    if args.beam_width is not None and args.beam_width > MAX_BEAM_WIDTH:
        # Each hypothesis decodes the whole test split: a wide beam runs for hours.
        parser.error(f"--beam-width must be at most {MAX_BEAM_WIDTH} (the widest beam the "
                     f"export serves); received {args.beam_width}.")
