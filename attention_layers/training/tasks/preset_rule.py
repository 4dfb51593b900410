"""The translator's preset from the data: one written rule that picks the vocabulary size,
the maximum length, the model's size, the batch size and the warm-up from the training
split's size and lengths (and `--max-minutes`), for any corpus, never per named data set.

`measure_corpus(corpus.train)` measures the split, `choose_preset(stats)` applies the rule,
and `describe_choice(record)` says in one line what it chose. `choose_case` is the rule
for each side's case (`--case auto`): kept where the data is cased, lower-cased otherwise. The measurements behind the
thresholds: benchmarks/RESULTS.md, "Presets from the data".

Example:

>>> stats = CorpusStats(pairs=92_906, longest=(26, 25), frequent_words=(9_706, 6_376))
>>> chosen = choose_preset(stats, fixed={"epochs": 30})
>>> chosen["vocabulary_size"], chosen["max_length"], chosen["model_dim"], chosen["warmup_steps"]
(10000, 32, 256, 1000)
"""

import collections
import dataclasses
import math

# The percentile of the training lengths that `--max-length` keeps whole: 1 sentence in
# 1,000 is cut, and the rare long outliers do not set the padded length of every batch.
LENGTH_PERCENTILE = 99.9
# `--max-length` is a multiple of this (fewer batch shapes to trace), within these bounds.
LENGTH_MULTIPLE = 8
LENGTH_BOUNDS = (8, 128)
# A word enters the vocabulary when seen at least this often in training: a rarer one gets
# too few updates to learn an embedding, and is better read as [UNK].
MIN_WORD_COUNT = 3
# `--vocabulary-size` is rounded up to a multiple of this, within these bounds.
VOCABULARY_MULTIPLE = 1000
VOCABULARY_BOUNDS = (1000, 32_000)
# (fewest training pairs, model sizes, batch size): the last row whose pairs the corpus
# reaches. Ten times the data, twice the width (and from 500,000 pairs, twice the depth).
TIERS = (
    (0, {"layers": 2, "model_dim": 64, "heads": 4, "feed_forward_dim": 128,
         "embedding_dim": 64, "units": 128}, 32),
    (5_000, {"layers": 2, "model_dim": 128, "heads": 4, "feed_forward_dim": 256,
             "embedding_dim": 128, "units": 256}, 64),
    (50_000, {"layers": 2, "model_dim": 256, "heads": 4, "feed_forward_dim": 1024,
              "embedding_dim": 256, "units": 512}, 128),
    (500_000, {"layers": 4, "model_dim": 512, "heads": 8, "feed_forward_dim": 2048,
               "embedding_dim": 512, "units": 1024}, 256),
)
# With `--max-minutes` below this, the model is one tier smaller than the data's.
SHORT_BUDGET_MINUTES = 10
# The warm-up is this fraction of all the run's steps (`--epochs` full epochs), rounded to
# one significant figure, within these bounds (4,000: Vaswani et al. 2017, §5.3).
WARMUP_FRACTION = 0.05
WARMUP_BOUNDS = (100, 4000)
# `--case auto` keeps a side's case when at least this share of its training sentences
# hold an upper-case letter (one whose lower-case form differs): cased text ("Tom lives in
# Paris.") has one in nearly every sentence, a lower-cased corpus with stray capitals in
# few; a script without case (Chinese, Arabic) has none, and lower-casing it changes nothing.
CASED_SHARE = 0.05
CASE_CHOICES = ("auto", "keep", "lower")
# The flags that the rule picks.
RULE_FLAGS = (
    "vocabulary_size", "max_length", "layers", "model_dim", "heads", "feed_forward_dim",
    "embedding_dim", "units", "batch_size", "warmup_steps",
)


@dataclasses.dataclass(frozen=True)
class CorpusStats:
    """What the rule reads from a training split.

    Attributes:
        pairs: the sentence pairs.
        longest: per side (source, target), the `LENGTH_PERCENTILE` percentile of the
            sentences' lengths in tokens, [START] and [END] included.
        frequent_words: per side, the distinct words seen at least `MIN_WORD_COUNT` times.
    """

    pairs: int
    longest: tuple
    frequent_words: tuple


def measure_corpus(pairs, lowercase=(True, True)):
    """The `CorpusStats` of `pairs` (`(source, target)` strings: a training split), with
    the tokenizers' own normalization (words and punctuation marks, lower-cased on the
    sides whose `lowercase`, source and target, is true: `Paris` and `paris` are then one
    word)."""
    from attention_layers.text.normalization import normalize

    longest, frequent = [], []
    for side in (0, 1):
        texts = [pair[side] for pair in pairs]
        counts, lengths = collections.Counter(), []
        for start in range(0, len(texts), 4096):
            for line in normalize(texts[start : start + 4096], lowercase[side]).numpy():
                words = line.decode("utf-8").split()
                counts.update(words)
                lengths.append(len(words) + 2)  # [START] and [END]
        longest.append(percentile(lengths, LENGTH_PERCENTILE))
        frequent.append(sum(1 for count in counts.values() if count >= MIN_WORD_COUNT))
    return CorpusStats(len(pairs), tuple(longest), tuple(frequent))


def percentile(values, q):
    """The nearest-rank `q`-th percentile of `values`: the smallest value that at least
    `q`% of them do not exceed (0 for none)."""
    ordered = sorted(values)
    if not ordered:
        return 0
    rank = math.ceil(round(q / 100 * len(ordered), 9))  # round: 99.9 / 100 is not exact
    return ordered[max(0, rank - 1)]


def _round_up(value, multiple):
    return multiple * math.ceil(value / multiple)


def _one_significant_figure(value):
    if value <= 0:
        return 0
    scale = 10 ** math.floor(math.log10(value))
    return int(round(value / scale) * scale)


def _clamp(value, bounds):
    return min(max(value, bounds[0]), bounds[1])


def _tier(pairs):
    return max(index for index, (fewest, _, _) in enumerate(TIERS) if pairs >= fewest)


def choose_preset(stats, max_minutes=None, fixed=None):
    """The rule: the values of `RULE_FLAGS` for a corpus with `stats`.

    1. `max_length`: the `LENGTH_PERCENTILE` (99.9th) percentile of the longer side's
       lengths, rounded up to a multiple of 8, within 8 and 128.
    2. `vocabulary_size`: the words seen at least 3 times on the side with more of them,
       plus the 4 reserved tokens, rounded up to a thousand, within 1,000 and 32,000 (one
       size for both sides: it is a ceiling, the other side keeps what it has).
    3. Model sizes and `batch_size`: the row of `TIERS` that the training pairs reach
       (0, 5,000, 50,000, 500,000 pairs: d_model 64, 128, 256, 512; batches of 32, 64,
       128, 256). With `max_minutes` below `SHORT_BUDGET_MINUTES`, the model (not the
       batch) is one row smaller. A given `--model-dim` keeps the row's heads when they
       divide it (else the most that do); given `--heads`, d_model is rounded up to a
       multiple of them.
    4. `warmup_steps`: 5% of the run's steps (`epochs` times the batches of one epoch),
       rounded to one significant figure, within 100 and 4,000.

    Args:
        stats: the training split's `CorpusStats`.
        max_minutes: the run's `--max-minutes`, or `None` (no limit).
        fixed: flags already set (given by the user, or fixed by the preset), e.g.
            `{"batch_size": 32, "epochs": 30}`: the rule works from them (the warm-up
            from the batch size and the epochs) and does not return them. Without
            `"epochs"`, 1.

    Returns:
        `{flag: value}` for each flag of `RULE_FLAGS` not in `fixed`.
    """
    fixed = {name: value for name, value in (fixed or {}).items() if value is not None}
    data_tier = _tier(stats.pairs)
    model_tier = data_tier
    if max_minutes is not None and max_minutes < SHORT_BUDGET_MINUTES:
        model_tier = max(0, data_tier - 1)
    sizes = dict(TIERS[model_tier][1])
    if "model_dim" in fixed and "heads" not in fixed:
        sizes["heads"] = max(h for h in range(1, sizes["heads"] + 1) if fixed["model_dim"] % h == 0)
    if "heads" in fixed and "model_dim" not in fixed:
        sizes["model_dim"] = _round_up(sizes["model_dim"], fixed["heads"])
    longest = max(stats.longest)
    words = max(stats.frequent_words) + 4  # [PAD], [UNK], [START], [END]
    chosen = {
        "vocabulary_size": _clamp(_round_up(words, VOCABULARY_MULTIPLE), VOCABULARY_BOUNDS),
        "max_length": _clamp(_round_up(longest, LENGTH_MULTIPLE), LENGTH_BOUNDS),
        **sizes,
        "batch_size": TIERS[data_tier][2],
    }
    batch_size = fixed.get("batch_size", chosen["batch_size"])
    steps = fixed.get("epochs", 1) * math.ceil(stats.pairs / batch_size)
    chosen["warmup_steps"] = _clamp(_one_significant_figure(WARMUP_FRACTION * steps), WARMUP_BOUNDS)
    return {name: value for name, value in chosen.items() if name not in fixed}


def rule_record(rule, measured, chosen, max_minutes=None):
    """What `config.json` records of a preset rule (`"data_preset"`): the rule's module
    `rule`, what it `measured` of the training split (a dict), `max_minutes` and the flags
    it `chosen`. Both tasks' rules record so."""
    return {"rule": rule, **measured, "max_minutes": max_minutes, "chosen": dict(chosen)}


def preset_record(stats, chosen, max_minutes=None):
    """What `config.json` records of the rule (`rule_record`): its inputs and the flags it
    set."""
    return rule_record(__name__, {
        "training_pairs": stats.pairs,
        f"longest_p{LENGTH_PERCENTILE:g}": list(stats.longest),
        f"words_seen_{MIN_WORD_COUNT}_times": list(stats.frequent_words),
    }, chosen, max_minutes)


def describe_choice(record, model="transformer"):
    """One line of what the rule chose (a `preset_record`) for a `model` run, for the data
    line."""
    chosen = record["chosen"]
    if not chosen:
        return "preset from the data: every setting given"
    parts = []
    if "max_length" in chosen:
        longest = max(record[f"longest_p{LENGTH_PERCENTILE:g}"])
        parts.append(f"max length {chosen['max_length']} (p{LENGTH_PERCENTILE:g} {longest})")
    if "vocabulary_size" in chosen:
        words = max(record[f"words_seen_{MIN_WORD_COUNT}_times"])
        parts.append(f"vocabulary {chosen['vocabulary_size']} ({words} words seen "
                     f"{MIN_WORD_COUNT}+ times)")
    sizes = ((("model_dim", "d_model"), ("layers", "layers"), ("heads", "heads"),
              ("feed_forward_dim", "feed-forward")) if model == "transformer"
             else (("embedding_dim", "embedding"), ("units", "units")))
    parts += [f"{label} {chosen[name]}" for name, label in sizes if name in chosen]
    for name, label in (("batch_size", "batch"), ("warmup_steps", "warm-up")):
        if name in chosen and (name != "warmup_steps" or model == "transformer"):
            parts.append(f"{label} {chosen[name]}")
    budget = record.get("max_minutes")
    if budget is not None and budget < SHORT_BUDGET_MINUTES:
        parts.append(f"a size smaller for --max-minutes {budget:g}")
    return (f"preset from the data ({record['training_pairs']} training pairs): "
            + ", ".join(parts))


def cased_share(texts):
    """The share of `texts` (Python strings) that hold an upper-case letter, i.e. a
    character whose lower-case form differs (`"Tom"`, `"Москва"`, `"Σ"`); 0 for none."""
    texts = list(texts)
    return sum(1 for text in texts if text != text.lower()) / len(texts) if texts else 0.0


def choose_case(pairs, case="auto", shared_vocabulary=False):
    """The rule for case, per side: `{"source": "keep" | "lower", "target": ...}`.

    `--case keep` or `lower` sets both sides. `auto` keeps a side's case when at least
    `CASED_SHARE` (5%) of its training sentences hold an upper-case letter (`cased_share`)
    and lower-cases it otherwise: lower-case corpora and scripts without case (Chinese,
    Arabic) give `"lower"`, which changes nothing in the latter. With a shared vocabulary
    (one tokenizer for both languages), both sides keep the case if either does.

    Args:
        pairs: the training split, `(source, target)` strings.
        case: the `--case` flag, one of `CASE_CHOICES`.
        shared_vocabulary: whether one tokenizer serves both sides.

    Returns:
        `{"source": ..., "target": ...}`, each `"keep"` or `"lower"`.

    Example:

    >>> choose_case([("Tom vive en París.", "Tom lives in Paris."), ("hola", "hello")])
    {'source': 'keep', 'target': 'keep'}
    >>> choose_case([("我爱你。", "i love you.")])
    {'source': 'lower', 'target': 'lower'}
    """
    if case in ("keep", "lower"):
        return {"source": case, "target": case}
    chosen = {
        side: "keep" if cased_share(pair[index] for pair in pairs) >= CASED_SHARE else "lower"
        for index, side in enumerate(("source", "target"))
    }
    if shared_vocabulary and "keep" in chosen.values():
        chosen = {"source": "keep", "target": "keep"}
    return chosen


def describe_case(case_by_side, case="auto", pairs=None):
    """The data line's words for the case of each side (`choose_case`'s result; `None`:
    lower-cased), with the share of cased sentences behind `--case auto` when the training
    `pairs` are given."""
    words = {"keep": "kept", "lower": "lower-cased"}
    case_by_side = {side: "keep" if (case_by_side or {}).get(side) == "keep" else "lower"
                    for side in ("source", "target")}
    if case_by_side["source"] == case_by_side["target"]:
        said = f"case {words[case_by_side['source']]}"
    else:
        said = (f"case {words[case_by_side['source']]} (source), "
                f"{words[case_by_side['target']]} (target)")
    if case == "auto" and pairs:
        shares = [cased_share(pair[index] for pair in pairs) for index in (0, 1)]
        said += (f" (--case auto: {100 * shares[0]:.0f}% / {100 * shares[1]:.0f}% of "
                 f"source / target sentences cased, kept from {100 * CASED_SHARE:.0f}%)")
    else:
        said += f" (--case {case})"
    return said


def fill_preset_from_data(preset, pairs, max_minutes=None):
    """`preset` (`{flag: value}`, e.g. `translation_presets.CORPUS`) with each flag whose
    value is `FROM_DATA` chosen by the rule from the training pairs `pairs` (for a
    benchmark that trains without the command)."""
    from attention_layers.training.tasks.translation_presets import FROM_DATA

    fixed = {name: value for name, value in preset.items()
             if name in (*RULE_FLAGS, "epochs") and value != FROM_DATA}
    if len(fixed) == len(RULE_FLAGS) + ("epochs" in fixed):
        return dict(preset)
    return {**preset, **choose_preset(measure_corpus(pairs), max_minutes, fixed)}
