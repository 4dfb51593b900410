"""`load_run`: a finished run translates and classifies as its export and evaluation do."""

import doctest
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import attention_layers
from attention_layers.apps import run as run_module
from attention_layers.apps.run import RunError, load_run
from attention_layers.data import generate_translation_corpus
from attention_layers.decoding import greedy_decode
from attention_layers.export.saving import latest_version
from attention_layers.models import ClassifierEnsemble
from attention_layers.text.conversions import make_token_ids
from attention_layers.training.evaluation import evaluate_bleu
from attention_layers.training.tasks.classification import ClassificationTask
from attention_layers.training.tasks.translation import TranslationTask
from tests.apps.conftest import TINY_TRANSLATOR

pytestmark = pytest.mark.slow  # the session's tiny runs are trained

ODD_INPUTS = ["", "   ", "¿Dónde está el gato?", "EL PERRO NEGRO DUERME", "😀 猫 " * 30]


def _flag(argv, name):
    return argv[argv.index(name) + 1]


@pytest.fixture(scope="module")
def test_pairs():
    """The tiny translator run's test split, generated again from its flags."""
    corpus = generate_translation_corpus(int(_flag(TINY_TRANSLATOR, "--num-pairs")), seed=0)
    return corpus.test[:12]


def _export(run_folder):
    import tensorflow_text  # noqa: F401  (registers the text ops)

    _, path = latest_version(run_folder / "serving")
    return tf.saved_model.load(str(path))


def _strings(tensor):
    return [text.decode("utf-8") for text in tensor.numpy()]


# --- translator ---------------------------------------------------------------------------


def test_translate_equals_the_export_greedy_and_beam(translator, translator_run, test_pairs):
    sentences = [source for source, _ in test_pairs] + ODD_INPUTS
    export = _export(translator_run)
    text = tf.constant(sentences)
    greedy = _strings(export.signatures["serving_default"](text=text)["translation"])
    beam = _strings(
        export.signatures["beam_search"](text=text, beam_width=tf.constant(3))["translation"]
    )
    assert translator.translate(sentences) == greedy
    assert translator.translate(sentences, beam_width=3) == beam
    assert greedy != beam  # the two decodings were both exercised, not one twice


def test_translate_equals_the_runs_evaluation(translator, translator_run, test_pairs):
    _, hypotheses, _ = evaluate_bleu(
        translator.model, translator.source_tokenizer, translator.target_tokenizer,
        test_pairs, max_length=translator.max_length,
    )
    assert translator.translate([source for source, _ in test_pairs]) == hypotheses
    # The sample translations the command printed and saved (test split, greedy).
    samples = json.loads((translator_run / "results.json").read_text())["samples"]
    assert translator.translate([s["source"] for s in samples]) == [
        s["translation"] for s in samples
    ]


def test_translate_batches_and_empty_input(translator, test_pairs, monkeypatch):
    sentences = [source for source, _ in test_pairs]
    expected = translator.translate(sentences)
    monkeypatch.setattr(run_module, "BATCH_SIZE", 5)  # three chunks of 5, 5 and 2
    assert translator.translate(sentences) == expected
    assert translator.translate([]) == []


def test_attention_of_every_layer_and_head(translator, translator_run, test_pairs):
    sentence = test_pairs[0][0]
    view = translator.attention(sentence)
    assert view.translation == translator.translate([sentence])[0]
    # The export's view of the same sentence: tokens and last-layer, head-mean weights.
    exported = _export(translator_run).signatures["translate_with_attention"](
        text=tf.constant([sentence])
    )
    source_tokens = [t for t in _strings(exported["source_tokens"][0]) if t]
    target_tokens = [t for t in _strings(exported["target_tokens"][0]) if t]
    assert view.source_tokens == source_tokens
    assert view.output_tokens == target_tokens
    (name,) = view.cross_attention  # one decoder layer
    assert "cross" in name
    weights = view.cross_attention[name]
    assert weights.shape == (2, len(target_tokens), len(source_tokens))  # (heads, T, S)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(
        weights.mean(0),
        exported["cross_attention"].numpy()[0, : len(target_tokens), : len(source_tokens)],
        atol=1e-5,
    )
    # ... and what greedy decoding attended with, step by step.
    source_ids = translator._server.source_ids(tf.constant([sentence]))
    _, decoded = greedy_decode(translator.model, source_ids, translator.max_length)
    np.testing.assert_allclose(weights.mean(0), np.asarray(decoded)[0, : len(target_tokens)],
                               atol=1e-5)


def test_attention_with_beam_search(translator, test_pairs):
    sentence = test_pairs[1][0]
    view = translator.attention(sentence, beam_width=3)
    assert view.translation == translator.translate([sentence], beam_width=3)[0]
    detokenized = translator.target_tokenizer.detokenize(
        [[translator.target_tokenizer.token_to_id(t) for t in view.output_tokens]]
    )
    assert _strings(detokenized) == [view.translation]


# --- classifier ---------------------------------------------------------------------------


def test_classify_equals_the_model_and_the_export(classifier, classifier_run):
    assert isinstance(classifier.model, ClassifierEnsemble)  # --ensemble 2, int8 tables
    assert [member.embedding_quantization for member in classifier.model.members] == [
        "int8", "int8"
    ]
    texts = ["The acting was not boring.", "A dull film.", "I loved it", *ODD_INPUTS]
    results = classifier.classify(texts)
    # What the task's evaluation feeds the model (its token ids), run by the model itself.
    ids = make_token_ids(classifier.tokenizer, texts[:3], classifier.max_length)
    positive = keras.ops.convert_to_numpy(classifier.model(ids))[:, 0]
    np.testing.assert_allclose(
        [result["probabilities"]["positive"] for result in results[:3]], positive, rtol=1e-6
    )
    exported = _export(classifier_run).signatures["serving_default"](text=tf.constant(texts))
    np.testing.assert_allclose(
        [result["probabilities"]["positive"] for result in results],
        exported["probability"].numpy(), rtol=1e-5, atol=1e-6,
    )
    for result, label in zip(results, exported["label"].numpy(), strict=True):
        assert result["label"] == ("negative", "positive")[label]
        assert result["probability"] == result["probabilities"][result["label"]]
        assert result["probabilities"]["negative"] == pytest.approx(
            1 - result["probabilities"]["positive"]
        )


def test_classifier_attention_equals_the_export(classifier, classifier_run):
    text = "The acting was not boring at all."
    view = classifier.attention(text)
    exported = _export(classifier_run).signatures["classify_with_attention"](
        text=tf.constant([text])
    )
    assert len(view.tokens) == 8 and view.tokens[:3] == ["the", "acting", "was"]
    assert view.tokens == [t for t in _strings(exported["tokens"][0]) if t]
    np.testing.assert_allclose(
        view.weights, exported["attention"].numpy()[0, : len(view.tokens)], atol=1e-6
    )
    assert view.weights.sum() == pytest.approx(1.0, abs=1e-5)
    assert {key: view.probabilities[key] for key in view.probabilities} == (
        classifier.classify([text])[0]["probabilities"]
    )


# --- loading ------------------------------------------------------------------------------


def test_the_package_attribute_and_the_file_names_of_the_tasks(translator_run):
    assert attention_layers.load_run is load_run
    assert "load_run" in attention_layers.__all__
    for task in (TranslationTask(), ClassificationTask()):
        assert run_module.VOCABULARY_FILES[task.name] == task.vocabulary_files
        assert run_module.MODEL_FILES[task.name] == f"{task.name}.keras"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda folder: None, "no such folder"),
        (lambda folder: folder.mkdir(), "no config.json"),
        (lambda folder: (folder.mkdir(), (folder / "config.json").write_text("{")),
         "is not valid JSON"),
        (lambda folder: (folder.mkdir(), (folder / "config.json").write_text(
            '{"command": "painter"}')), "\"command\" is 'painter'"),
        (lambda folder: (folder.mkdir(), (folder / "config.json").write_text(
            '{"command": "translator"}')), "no translator.keras; the translator run has not "
         "finished"),
    ],
)
def test_a_folder_that_is_not_a_finished_run(tmp_path, setup, message):
    folder = tmp_path / "run"
    setup(folder)
    with pytest.raises(RunError, match=message.replace("(", r"\(")):
        load_run(folder)


def test_bad_arguments(translator, classifier):
    with pytest.raises(TypeError, match="one string"):
        translator.translate("El gato.")
    with pytest.raises(TypeError, match=r"`texts\[1\]` must be a string"):
        classifier.classify(["ok", 3])
    with pytest.raises(ValueError, match="beam_width"):
        translator.translate(["El gato."], beam_width=0)


def test_the_docstring_examples_run(translator_run, classifier_run):
    """Every Example of the module runs (on the tiny runs, whose outputs differ)."""
    parser = doctest.DocTestParser()
    namespace = {"load_run": load_run}
    for item in (load_run, run_module.TranslatorRun, run_module.TranslatorRun.translate,
                 run_module.TranslatorRun.attention, run_module.ClassifierRun,
                 run_module.ClassifierRun.classify, run_module.ClassifierRun.attention):
        examples = parser.get_examples(item.__doc__)
        assert examples, item
        for example in examples:
            source = example.source.replace(
                "runs/translator-builtin", str(translator_run)
            ).replace("runs/classifier-builtin", str(classifier_run))
            exec(compile(source, f"<{item.__qualname__}>", "single"), namespace)
