"""The classifier's preset for the user's files (`train_classifier.py --train PATH`), from
the data: one written rule that picks the model, its size, the vocabulary, the maximum
length, dropout, label smoothing, the batch size, the learning rate (and the Transformer's
warm-up), the epochs and early stopping's patience from the training split's size, classes,
lengths and word counts (and `--max-minutes`), for any labelled text, never per named data
set. The `--dataset builtin` and `sst2` presets (`classification_presets.py`) do not use it.

`measure_texts(corpus.train)` measures the split, `choose_classifier_preset(stats)`
applies the rule, `preset_record` is what `config.json` records (`"data_preset"`) and
`describe_choice` says in one line what it chose. The measurements behind the values:
benchmarks/RESULTS.md, "Your data: English→Spanish and SST-5".

Example:

>>> stats = TextStats(examples=7_690, classes=5, longest=52, frequent_words=7_537)
>>> chosen = choose_classifier_preset(stats)
>>> chosen["model"], chosen["embedding_dim"], chosen["units"], chosen["dropout"]
('bigru', 128, 64, 0.5)
>>> chosen["vocabulary_size"], chosen["min_count"], chosen["max_length"], chosen["label_smoothing"]
(8000, 2, 56, 0.1)
"""

import collections
import dataclasses
import math

from attention_layers.training.tasks.preset_rule import (
    LENGTH_MULTIPLE,
    LENGTH_PERCENTILE,
    _clamp,
    _round_up,
    percentile,
    rule_record,
)

# A word gets its own id when seen at least this often in training: a word seen once gets
# one update of its embedding, too few to learn it, and the rest are read as [UNK], which
# so learns to stand for the unseen words of new text.
MIN_WORD_COUNT = 2
# `--vocabulary-size` (a ceiling: `--min-count` decides) is the words seen `MIN_WORD_COUNT`
# times plus the 4 reserved tokens, rounded up to a multiple of this, within these bounds.
VOCABULARY_MULTIPLE = 1000
VOCABULARY_BOUNDS = (1000, 50_000)
# `--max-length`: the `LENGTH_PERCENTILE` percentile of the training lengths in words,
# rounded up to a multiple of `LENGTH_MULTIPLE`, within these bounds.
LENGTH_BOUNDS = (8, 256)
# (fewest training examples, model, its sizes, batch size, dropout, learning rate): the
# last row whose examples the data reach. Below 200,000 examples a BiGRU with additive
# attention pooling: on the small label sets measured it learned more than the Transformer
# in the same minutes, and the SST-2 preset (67,349 phrases) is this 20,000 row's model.
# From 200,000 (not measured here) the Transformer, whose steps run in parallel.
TIERS = (
    (0, "bigru", {"embedding_dim": 64, "units": 32, "attention_units": 32}, 32, 0.5, 5e-4),
    (2_000, "bigru", {"embedding_dim": 128, "units": 64, "attention_units": 64}, 32, 0.5,
     5e-4),
    (20_000, "bigru", {"embedding_dim": 128, "units": 64, "attention_units": 64}, 64, 0.5,
     1e-3),
    (200_000, "transformer", {"layers": 2, "model_dim": 128, "heads": 4,
                              "feed_forward_dim": 256, "pooling_heads": 2}, 128, 0.1, 1e-3),
)
# Each model's size flags (a flag of one given on the command line picks that model).
MODEL_FLAGS = {
    "bigru": ("embedding_dim", "units", "attention_units"),
    "transformer": ("layers", "model_dim", "heads", "feed_forward_dim", "pooling_heads",
                    "warmup_steps"),
}
# Label smoothing for three classes or more (Szegedy et al. 2016, §7): neighbouring
# classes ("negative", "very negative") share words, and hard targets push the softmax to
# confident mistakes between them. Two classes keep hard targets (as the SST-2 preset).
LABEL_SMOOTHING = 0.1
# `--weight-averaging`: validation, checkpoints and the result use a moving average of the
# weights over about this many steps (Polyak & Juditsky 1992), which smooths the noisy
# steps of small batches on small data; at most half an epoch's steps (an average over
# more would lag the model by epochs), and none when that is under `MIN_AVERAGING`.
WEIGHT_AVERAGING = 100
MIN_AVERAGING = 10
# The most epochs: early stopping (or `--max-minutes`) ends the run well before.
EPOCHS = 50
# Early stopping waits this many epochs for a lower validation loss: on a small split the
# validation loss is noisy from epoch to epoch, so one bad epoch must not end the run.
PATIENCE = 3
# The Transformer's warm-up: this fraction of the steps of `WARMUP_EPOCHS` epochs, within
# these bounds.
WARMUP_FRACTION = 0.05
WARMUP_EPOCHS = 10
WARMUP_BOUNDS = (50, 4000)
# With `--max-minutes` below this, the model is one row smaller than the data's (an epoch
# of the data's model would take too much of the budget).
SHORT_BUDGET_MINUTES = 2
# The flags that the rule picks.
RULE_FLAGS = (
    "model", "vocabulary_size", "min_count", "max_length", *MODEL_FLAGS["bigru"],
    *MODEL_FLAGS["transformer"], "dropout", "label_smoothing", "batch_size",
    "learning_rate", "weight_averaging", "epochs", "patience",
)


@dataclasses.dataclass(frozen=True)
class TextStats:
    """What the rule reads from a training split of labelled texts.

    Attributes:
        examples: the training examples.
        classes: the distinct labels.
        longest: the `LENGTH_PERCENTILE` percentile of the texts' lengths in words (the
            tokenizer's words: punctuation marks count).
        frequent_words: the distinct words seen at least `MIN_WORD_COUNT` times.
    """

    examples: int
    classes: int
    longest: int
    frequent_words: int


def measure_texts(examples):
    """The `TextStats` of `examples` (`(text, label)` pairs: a training split), with the
    tokenizer's own normalization."""
    from attention_layers.text.normalization import normalize

    texts = [text for text, _ in examples]
    counts, lengths = collections.Counter(), []
    for start in range(0, len(texts), 4096):
        for line in normalize(texts[start : start + 4096]).numpy():
            words = line.decode("utf-8").split()
            counts.update(words)
            lengths.append(len(words))
    return TextStats(
        examples=len(examples),
        classes=len({label for _, label in examples}),
        longest=percentile(lengths, LENGTH_PERCENTILE),
        frequent_words=sum(1 for count in counts.values() if count >= MIN_WORD_COUNT),
    )


def _model_row(data_tier, max_minutes, fixed):
    """`(model, row of TIERS)`: the model the rule (or a flag in `fixed`) picks and the row
    whose sizes it takes (step 1 of `choose_classifier_preset`)."""
    model_tier = data_tier
    if max_minutes is not None and max_minutes < SHORT_BUDGET_MINUTES:
        model_tier = max(0, data_tier - 1)
    model = fixed.get("model")
    if model is None:
        given = [name for name, flags in MODEL_FLAGS.items() if set(flags) & set(fixed)]
        model = given[0] if len(given) == 1 else TIERS[model_tier][1]
    # The nearest row at or below `model_tier` that has `model`, else the first that has it.
    below = [row for row in TIERS[: model_tier + 1] if row[1] == model]
    return model, below[-1] if below else next(row for row in TIERS if row[1] == model)


def choose_classifier_preset(stats, max_minutes=None, fixed=None):
    """The rule: the values of `RULE_FLAGS` for labelled texts with `stats`.

    1. The row of `TIERS` that the training examples reach (0, 2,000, 20,000, 200,000:
       BiGRU with embeddings of 64, 128, 128, or a 2-layer Transformer, d_model 128;
       batches of 32, 32, 64, 128; dropout 0.5 below 200,000 examples, where small data
       overfit within a few epochs, else 0.1). With `max_minutes` below
       `SHORT_BUDGET_MINUTES`, the model (not the batch) is one row smaller. `--model`
       given, or a size flag of one model, picks that model (its sizes from the row).
    2. `min_count` 2 and `vocabulary_size`: the words seen at least twice, plus the 4
       reserved tokens, rounded up to a thousand, within 1,000 and 50,000.
    3. `max_length`: the 99.9th percentile of the training lengths in words, rounded up to
       a multiple of 8, within 8 and 256.
    4. `label_smoothing` 0.1 for three classes or more, 0 for two.
    5. `epochs` 50 and `patience` 3: early stopping on the validation loss ends the run,
       or `--max-minutes` does; the epoch with the lowest validation loss is kept.
    6. The Transformer's `warmup_steps`: 5% of the steps of 10 epochs, within 50 and 4,000.

    Args:
        stats: the training split's `TextStats`.
        max_minutes: the run's `--max-minutes`, or `None` (no limit).
        fixed: flags given on the command line, e.g. `{"batch_size": 16}`: they win, the
            rule works from them and does not return them.

    Returns:
        `{flag: value}` for each flag of `RULE_FLAGS` that applies to the chosen model
        and is not in `fixed`.
    """
    fixed = {name: value for name, value in (fixed or {}).items() if value is not None}
    data_tier = max(index for index, row in enumerate(TIERS) if stats.examples >= row[0])
    model, (_, _, sizes, _, dropout, learning_rate) = _model_row(data_tier, max_minutes, fixed)
    _, _, _, batch_size, _, _ = TIERS[data_tier]
    words = stats.frequent_words + 4  # [PAD], [UNK], [START], [END]
    chosen = {
        "model": model,
        "vocabulary_size": _clamp(_round_up(words, VOCABULARY_MULTIPLE), VOCABULARY_BOUNDS),
        "min_count": MIN_WORD_COUNT,
        "max_length": _clamp(_round_up(stats.longest, LENGTH_MULTIPLE), LENGTH_BOUNDS),
        **sizes,
        "dropout": dropout,
        "label_smoothing": LABEL_SMOOTHING if stats.classes > 2 else 0.0,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "weight_averaging": 0,
        "epochs": EPOCHS,
        "patience": PATIENCE,
    }
    epoch_steps = math.ceil(stats.examples / fixed.get("batch_size", batch_size))
    averaging = min(WEIGHT_AVERAGING, epoch_steps // 2)
    if averaging >= MIN_AVERAGING:
        chosen["weight_averaging"] = averaging
    if model == "transformer":
        steps = WARMUP_EPOCHS * epoch_steps
        chosen["warmup_steps"] = _clamp(round(WARMUP_FRACTION * steps), WARMUP_BOUNDS)
    return {name: value for name, value in chosen.items() if name not in fixed}


def preset_record(stats, chosen, max_minutes=None):
    """What `config.json` records of the rule (`preset_rule.rule_record`): its inputs and
    the flags it set."""
    return rule_record(__name__, {
        "training_examples": stats.examples,
        "classes": stats.classes,
        f"longest_p{LENGTH_PERCENTILE:g}": stats.longest,
        f"words_seen_{MIN_WORD_COUNT}_times": stats.frequent_words,
    }, chosen, max_minutes)


def describe_choice(record):
    """One line of what the rule chose (a `preset_record`), for the data line."""
    chosen = record["chosen"]
    head = (f"preset from the data ({record['training_examples']} examples, "
            f"{record['classes']} classes)")
    if not chosen:
        return f"{head}: every setting given"
    parts = []
    if "model" in chosen:
        parts.append(chosen["model"])
    labels = (
        ("embedding_dim", "embedding"), ("units", "units"), ("layers", "layers"),
        ("model_dim", "d_model"), ("heads", "heads"), ("feed_forward_dim", "feed-forward"),
        ("dropout", "dropout"), ("label_smoothing", "label smoothing"),
    )
    parts += [f"{label} {chosen[name]:g}" for name, label in labels if name in chosen]
    if "vocabulary_size" in chosen:
        words = record[f"words_seen_{MIN_WORD_COUNT}_times"]
        parts.append(f"vocabulary {chosen['vocabulary_size']} ({words} words seen "
                     f"{MIN_WORD_COUNT}+ times)")
    if "max_length" in chosen:
        longest = record[f"longest_p{LENGTH_PERCENTILE:g}"]
        parts.append(f"max length {chosen['max_length']} (p{LENGTH_PERCENTILE:g} {longest})")
    labels = (("batch_size", "batch"), ("learning_rate", "learning rate"),
              ("warmup_steps", "warm-up"), ("weight_averaging", "weight averaging"),
              ("epochs", "epochs"), ("patience", "patience"))
    parts += [f"{label} {chosen[name]:g}" for name, label in labels if name in chosen]
    budget = record.get("max_minutes")
    if budget is not None and budget < SHORT_BUDGET_MINUTES:
        parts.append(f"a size smaller for --max-minutes {budget:g}")
    return f"{head}: " + ", ".join(parts)
