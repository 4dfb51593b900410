"""`--label-smoothing`: the smoothed cross-entropy against an independent NumPy reference,
padding ignored, saved and loaded, and the flag reaching both commands' losses."""

import keras
import numpy as np
import pytest

import attention_layers  # noqa: F401  (registers the loss for loading)
from attention_layers.training import SmoothedSparseCrossentropy, command_line, masked_loss
from attention_layers.training.tasks.classification import ClassificationTask
from attention_layers.training.tasks.translation import TranslationTask

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(size=(3, 5, 7)).astype("float32") * 3
LABELS = RNG.integers(1, 7, size=(3, 5))
LABELS[0, 3:] = 0  # padding
LABELS[2, 1:] = 0


def numpy_smoothed_loss(labels, logits, epsilon):
    """Mean over the non-padding tokens of the cross-entropy against (1 - eps) one-hot plus
    eps / V everywhere."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    classes = logits.shape[-1]
    target = np.full(logits.shape, epsilon / classes) + (1 - epsilon) * np.eye(classes)[labels]
    per_token = -(target * log_p).sum(axis=-1)
    real = labels != 0
    return per_token[real].mean()


@pytest.mark.parametrize("epsilon", [0.05, 0.1, 0.3])
def test_matches_a_numpy_reference_and_ignores_padding(epsilon):
    loss = SmoothedSparseCrossentropy(epsilon)
    expected = numpy_smoothed_loss(LABELS, LOGITS, epsilon)
    assert float(loss(LABELS, LOGITS)) == pytest.approx(expected, rel=1e-5)
    # What the padded positions predict does not matter.
    noisy = LOGITS.copy()
    noisy[LABELS == 0] = RNG.normal(size=noisy[LABELS == 0].shape) * 10
    assert float(loss(LABELS, noisy)) == pytest.approx(expected, rel=1e-5)


def test_without_smoothing_it_is_keras_masked_cross_entropy():
    keras_loss = masked_loss()
    assert isinstance(keras_loss, keras.losses.SparseCategoricalCrossentropy)
    ours = float(SmoothedSparseCrossentropy(0.0)(LABELS, LOGITS))
    assert ours == pytest.approx(float(keras_loss(LABELS, LOGITS)), rel=1e-5)
    assert ours == pytest.approx(numpy_smoothed_loss(LABELS, LOGITS, 0.0), rel=1e-5)
    assert isinstance(masked_loss(0.1), SmoothedSparseCrossentropy)


def test_smoothing_penalizes_overconfidence():
    # A confident, correct prediction costs more with smoothing than without.
    labels = np.array([[1]])
    logits = np.array([[[-20.0, 20.0, -20.0]]], "float32")
    assert float(SmoothedSparseCrossentropy(0.0)(labels, logits)) < 1e-6
    assert float(SmoothedSparseCrossentropy(0.1)(labels, logits)) > 1.0


def test_a_batch_of_padding_costs_zero():
    value = float(SmoothedSparseCrossentropy(0.1)(np.zeros((2, 4), "int32"), LOGITS[:2, :4]))
    assert value == 0.0


@pytest.mark.parametrize("epsilon", [-0.1, 1.0, 1.5])
def test_an_invalid_epsilon_is_refused(epsilon):
    with pytest.raises(ValueError, match="`label_smoothing` must be in \\[0, 1\\)"):
        SmoothedSparseCrossentropy(epsilon)
    with pytest.raises(ValueError, match="`label_smoothing`"):
        masked_loss(epsilon)


def test_a_model_compiled_with_it_round_trips_through_a_keras_file(tmp_path):
    inputs = keras.Input((None,), dtype="int32")
    outputs = keras.layers.Dense(7)(keras.layers.Embedding(7, 4)(inputs))
    model = keras.Model(inputs, outputs)
    model.compile("adam", loss=SmoothedSparseCrossentropy(0.2))
    labels = LABELS[:, :4]
    model.fit(labels, labels, epochs=1, verbose=0)  # builds the optimizer that is saved
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe mode stays on
    assert isinstance(loaded.loss, SmoothedSparseCrossentropy)
    assert loaded.loss.label_smoothing == pytest.approx(0.2)
    assert float(loaded.compute_loss(x=labels, y=labels, y_pred=loaded(labels))) == \
        pytest.approx(float(model.compute_loss(x=labels, y=labels, y_pred=model(labels))),
                      rel=1e-5)


def parse(task, argv):
    parser = command_line.build_parser(task)
    args = parser.parse_args(argv)
    return command_line.resolve_flags(task, parser, args, folder=None)


def test_the_flag_reaches_the_translators_loss():
    args = parse(TranslationTask(), ["--label-smoothing", "0.1"])
    loss = TranslationTask().compile_args(args)["loss"]
    assert isinstance(loss, SmoothedSparseCrossentropy) and loss.label_smoothing == 0.1
    args = parse(TranslationTask(), [])
    assert args.label_smoothing == 0.0
    assert isinstance(TranslationTask().compile_args(args)["loss"],
                      keras.losses.SparseCategoricalCrossentropy)


def test_the_flag_reaches_the_classifiers_loss():
    args = parse(ClassificationTask(), ["--label-smoothing", "0.2"])
    loss = ClassificationTask().compile_args(args)["loss"]
    assert loss.label_smoothing == pytest.approx(0.2)


@pytest.mark.parametrize("value", ["1", "-0.1", "x"])
def test_the_flag_refuses_values_outside_0_1(value, capsys):
    with pytest.raises(SystemExit) as exit:
        command_line.build_parser(TranslationTask()).parse_args(["--label-smoothing", value])
    assert exit.value.code == 2
    assert "--label-smoothing" in capsys.readouterr().err
