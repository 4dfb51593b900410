"""The classifier's presets: the defaults of each `--dataset`, then of each `--model` within
it, and `--preset single` (SST-2); values only.

Why these values, and what they were measured against: benchmarks/RESULTS.md, "Presets: why
these values". A flag given on the command line wins over its preset.
"""

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
        "label_smoothing": 0.0,
        "transformer": {
            "layers": 2, "model_dim": 64, "heads": 4, "feed_forward_dim": 128,
            "dropout": 0.1, "learning_rate": 1e-3, "epochs": 5, "warmup_steps": 200,
            "pooling_heads": 2,
        },
        "bigru": {
            "units": 64, "attention_units": 64, "learning_rate": 1e-3, "embedding_dim": 64,
            "dropout": 0.1, "epochs": 5,
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
        "bigram_buckets": 65_521,
        "ensemble": 5,
        "label_smoothing": 0.0,
        "transformer": {
            "layers": 2, "model_dim": 64, "heads": 4, "feed_forward_dim": 128,
            "dropout": 0.1, "learning_rate": 1e-3, "epochs": 1, "warmup_steps": 500,
        },
        "bigru": {
            "units": 64, "attention_units": 64, "learning_rate": 1e-3, "embedding_dim": 128,
            "dropout": 0.5, "epochs": 1,
        },
    },
}

# `--preset single`, on top of the sst2 preset.
SINGLE_PRESET = {
    "ensemble": 1, "embedding_dim": 192, "weight_averaging": 200, "quantize_embeddings": "int8",
}

# `--train PATH` (your own labelled files; `--dataset files` is implied): the generated
# corpus's values, which train one small Transformer in minutes on a CPU.
PRESETS["files"] = {**PRESETS["builtin"], "num_examples": None}
