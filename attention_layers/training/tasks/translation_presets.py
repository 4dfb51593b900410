"""The translator's presets: the defaults of each `--dataset`, values only.

`builtin` is the generated demo corpus, whose values are fixed. A real corpus (`spa-eng`,
or your own files with `--train`) has `CORPUS`: the flags marked `FROM_DATA` follow the
rule of `preset_rule.py` from the training split's size and lengths, the others are the
same for every corpus, and `--case auto` keeps the case of each side whose training text
is cased (`preset_rule.choose_case`). Why these values, and what they were measured against:
benchmarks/RESULTS.md, "Presets: why these values" and "Presets from the data". A flag
given on the command line wins over its preset.
"""

# The rule of `preset_rule.py` picks this flag from the training split.
FROM_DATA = "from the data"

CORPUS = {
    "num_pairs": None,
    "model": "transformer",
    "vocabulary": "word",
    "vocabulary_size": FROM_DATA,
    "shared_vocabulary": False,
    "layers": FROM_DATA,
    "model_dim": FROM_DATA,
    "heads": FROM_DATA,
    "feed_forward_dim": FROM_DATA,
    "embedding_dim": FROM_DATA,
    "units": FROM_DATA,
    "dropout": 0.1,
    "epochs": 30,
    "batch_size": FROM_DATA,
    "max_length": FROM_DATA,
    "learning_rate": 1e-3,
    "warmup_steps": FROM_DATA,
    "patience": 3,
    "weight_averaging": 250,
    "label_smoothing": 0.0,
    "beam_width": 4,
    "case": "auto",
}

PRESETS = {
    "builtin": {
        "num_pairs": 20_000,
        "model": "transformer",
        "vocabulary": "word",
        "vocabulary_size": 8000,
        "shared_vocabulary": False,
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
        "weight_averaging": 0,
        "label_smoothing": 0.0,
        "beam_width": 1,
        # Its sentences are cased only at their first letter; lower-cased, as its figures
        # (README, RESULTS.md) were measured. `--case auto` or `keep` keeps the case.
        "case": "lower",
    },
    "spa-eng": CORPUS,
    # `--train PATH` (`--dataset files` is implied); config.json records `files`, which
    # `--resume` reads back as a `--dataset` value.
    "files": CORPUS,
}
