"""The flags of `train_translator.py` beside the runner's training and output flags: the
`data`, `model` and `evaluation` groups. `TranslationTask` (`translation.py`) adds them,
fills them from its presets and checks them.
"""

from attention_layers.export.serving import MAX_BEAM_WIDTH
from attention_layers.models import ATTENTIONS
from attention_layers.training import command_line
from attention_layers.training.flags import positive_int, seed_int
from attention_layers.training.tasks.preset_rule import CASE_CHOICES


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
