"""The classifier's preset from the data (`classification_rule.py`): the rule's values on
synthetic measurements, the measurements themselves, and the flags given on the command
line winning over it (parsed only: nothing trains here; the recorded `data_preset` of a
run is checked on the shared run of test_own_files.py)."""

import pytest

from attention_layers.training import command_line
from attention_layers.training.tasks.classification import ClassificationTask
from attention_layers.training.tasks.classification_rule import (
    TextStats,
    choose_classifier_preset,
    describe_choice,
    measure_texts,
    preset_record,
)


def stats(examples=8000, classes=5, longest=50, words=7000):
    return TextStats(examples=examples, classes=classes, longest=longest, frequent_words=words)


def test_more_examples_get_a_larger_model_then_the_transformer():
    rows = [choose_classifier_preset(stats(examples)) for examples in (500, 8000, 60_000)]
    assert [(row["model"], row["embedding_dim"], row["units"], row["batch_size"],
             row["dropout"], row["learning_rate"]) for row in rows] == [
        ("bigru", 64, 32, 32, 0.5, 5e-4),
        ("bigru", 128, 64, 32, 0.5, 5e-4),
        ("bigru", 128, 64, 64, 0.5, 1e-3),
    ]
    large = choose_classifier_preset(stats(400_000))
    assert (large["model"], large["layers"], large["model_dim"], large["heads"],
            large["batch_size"], large["dropout"]) == ("transformer", 2, 128, 4, 128, 0.1)
    # 5% of 10 epochs of 3,125 batches; the BiGRU's rows set no Transformer flag.
    assert large["warmup_steps"] == 1562 and "embedding_dim" not in large
    assert "warmup_steps" not in rows[1] and "layers" not in rows[1]
    assert all((row["epochs"], row["patience"]) == (50, 3) for row in rows)


def test_vocabulary_length_and_label_smoothing_follow_the_measurements():
    assert choose_classifier_preset(stats(words=7727))["vocabulary_size"] == 8000
    assert choose_classifier_preset(stats(words=7996))["vocabulary_size"] == 8000
    assert choose_classifier_preset(stats(words=7997))["vocabulary_size"] == 9000
    assert choose_classifier_preset(stats(words=3))["vocabulary_size"] == 1000
    assert choose_classifier_preset(stats(words=900_000))["vocabulary_size"] == 50_000
    assert choose_classifier_preset(stats())["min_count"] == 2
    # The 99.9th percentile rounded up to a multiple of 8, within 8 and 256.
    assert choose_classifier_preset(stats(longest=54))["max_length"] == 56
    assert choose_classifier_preset(stats(longest=56))["max_length"] == 56
    assert choose_classifier_preset(stats(longest=3))["max_length"] == 8
    assert choose_classifier_preset(stats(longest=5000))["max_length"] == 256
    assert choose_classifier_preset(stats(classes=5))["label_smoothing"] == 0.1
    assert choose_classifier_preset(stats(classes=2))["label_smoothing"] == 0.0


def test_weight_averaging_spans_at_most_half_an_epoch():
    assert choose_classifier_preset(stats(8000))["weight_averaging"] == 100  # 250 steps
    assert choose_classifier_preset(stats(3000))["weight_averaging"] == 47  # 94 steps
    assert choose_classifier_preset(stats(500))["weight_averaging"] == 0  # 16 steps


def test_a_short_budget_takes_a_smaller_model_not_a_smaller_batch():
    short = choose_classifier_preset(stats(8000), max_minutes=1.5)
    assert (short["embedding_dim"], short["units"], short["batch_size"]) == (64, 32, 32)
    assert choose_classifier_preset(stats(8000), max_minutes=10) == choose_classifier_preset(
        stats(8000)
    )
    smallest = choose_classifier_preset(stats(100), max_minutes=1)
    assert (smallest["embedding_dim"], smallest["units"]) == (64, 32)
    # Half a budget's model: the row below, Transformer data with a BiGRU row below.
    assert choose_classifier_preset(stats(400_000), max_minutes=1)["model"] == "bigru"


def test_given_flags_win_and_pick_the_model():
    chosen = choose_classifier_preset(stats(8000), fixed={"batch_size": 16, "dropout": 0.2})
    assert "batch_size" not in chosen and "dropout" not in chosen
    assert chosen["weight_averaging"] == 100  # 500 batches of 16: half an epoch is more
    # A Transformer flag (or --model) on small data: the Transformer, with its own row's
    # sizes; the warm-up from the batch size given.
    by_layers = choose_classifier_preset(stats(8000), fixed={"layers": 1, "batch_size": 10})
    assert (by_layers["model"], by_layers["model_dim"], by_layers["heads"]) == (
        "transformer", 128, 4)
    assert by_layers["warmup_steps"] == 400 and "layers" not in by_layers  # 5% of 8,000 steps
    by_model = choose_classifier_preset(stats(8000), fixed={"model": "transformer"})
    assert (by_model["layers"], by_model["model_dim"], by_model["dropout"]) == (2, 128, 0.1)
    assert "model" not in by_model
    assert choose_classifier_preset(stats(400_000), fixed={"units": 32})["model"] == "bigru"


def test_measure_texts_counts_words_lengths_and_classes():
    examples = [("a good film.", "pos"), ("a bad film", "neg"), ("good, good!", "pos")] * 2
    measured = measure_texts(examples)
    # Words are the tokenizer's (punctuation split off): "a good film ." is 4, and each of
    # the 7 words is seen at least twice.
    assert measured == TextStats(examples=6, classes=2, longest=4, frequent_words=7)
    words = measure_texts([("a b c", 0), ("a", 1), ("d", 2)])
    assert (words.frequent_words, words.classes, words.longest) == (1, 3, 3)  # "a" twice


def test_the_data_line_says_what_the_rule_chose():
    record = preset_record(stats(7690, words=7727, longest=54),
                           choose_classifier_preset(stats(7690, words=7727, longest=54)), 10)
    line = describe_choice(record)
    assert line.startswith("preset from the data (7690 examples, 5 classes): bigru, "
                           "embedding 128, units 64, dropout 0.5, label smoothing 0.1, ")
    assert "vocabulary 8000 (7727 words seen 2+ times), max length 56 (p99.9 54)" in line
    assert line.endswith("batch 32, learning rate 0.0005, weight averaging 100, epochs 50, "
                         "patience 3")
    assert describe_choice({**record, "chosen": {}}).endswith(": every setting given")


def parsed(argv):
    """The complete flags of a fresh `train_classifier.py` run with `argv` (nothing runs)."""
    task = ClassificationTask()
    parser = command_line.build_parser(task)
    args = parser.parse_args(argv)
    command_line.resolve_flags(task, parser, args, args.output)  # completes args
    return args


def test_the_command_fills_the_flags_not_given(tmp_path):
    rows = [f"{word} film {word},{label}" for label, word in (("up", "great"), ("down", "dull"))
            for _ in range(20)]
    (tmp_path / "train.csv").write_text("text,label\n" + "\n".join(rows) + "\n")
    base = ["--train", str(tmp_path / "train.csv"), "--output", str(tmp_path / "run")]
    args = parsed(base)
    chosen = args.data_preset["chosen"]
    assert args.data_preset["training_examples"] == 32  # 40 less the two stratified 10%
    assert (args.model, args.embedding_dim, args.dropout, args.label_smoothing) == (
        "bigru", 64, 0.5, 0.0)
    assert (args.min_count, args.max_length, args.epochs, args.patience) == (2, 8, 50, 3)
    assert chosen["model"] == "bigru" and args.layers is None
    given = parsed([*base, "--dropout", "0.2", "--epochs", "4", "--layers", "1"])
    assert (given.dropout, given.epochs, given.model) == (0.2, 4, "transformer")
    assert (given.model_dim, given.heads, given.patience) == (128, 4, 3)
    assert not {"dropout", "epochs", "layers"} & set(given.data_preset["chosen"])
    # The builtin corpus keeps its fixed preset, without a record.
    builtin = parsed(["--output", str(tmp_path / "builtin")])
    assert (builtin.data_preset, builtin.model, builtin.dropout) == (None, "transformer", 0.1)


@pytest.mark.parametrize("preset, embedding_dim", [("ensemble", 128), ("single", 192)])
def test_the_sst2_presets_are_untouched(preset, embedding_dim, tmp_path):
    args = parsed(["--dataset", "sst2", "--preset", preset, "--output", str(tmp_path / "run")])
    assert args.data_preset is None
    assert (args.model, args.embedding_dim, args.dropout, args.min_count, args.batch_size,
            args.learning_rate, args.patience, args.label_smoothing) == (
        "bigru", embedding_dim, 0.5, 2, 64, 1e-3, 1, 0.0)
