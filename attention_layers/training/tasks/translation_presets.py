"""The translator's presets: the defaults of each `--dataset`, values only.

Why these values, and what they were measured against: benchmarks/RESULTS.md, "Presets: why
these values". A flag given on the command line wins over its preset.
"""

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
    },
    "spa-eng": {
        "num_pairs": None,
        "model": "transformer",
        "vocabulary": "word",
        "vocabulary_size": 10000,
        "shared_vocabulary": False,
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
        "weight_averaging": 250,
        "label_smoothing": 0.0,
        "beam_width": 4,
    },
}
