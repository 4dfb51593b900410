"""SavedModels that serve raw strings: fresh-process equality, bad input, CLI, atomicity."""

import json
import os
import pathlib
import re
import shutil
import stat
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from attention_layers.decoding import greedy_decode
from attention_layers.export import ClassifierServer, clean_text, save_atomically, translate
from attention_layers.models import BiGRUClassifier
from attention_layers.utils import files
from tests.export.conftest import BAD_INPUTS, RNN_MAX_OUTPUT_LENGTH, as_array, run_fresh_process

pytestmark = pytest.mark.slow

BATCH_OF_1000 = 1000


def _sentences(translator, count):
    return [source for source, _ in translator.corpus.test[:count]]


def _big_batch(translator):
    """1,000 inputs: the 40 test sentences of the other calls first, then more and bad
    ones (not the 10,000-character ones, tested on their own: they would pad every
    sentence of the batch to 128 tokens)."""
    pool = [source for source, _ in translator.corpus.test]
    pool += [text for text in BAD_INPUTS if len(text) < 1000]
    return [pool[index % len(pool)] for index in range(BATCH_OF_1000)]


@pytest.fixture(scope="module")
def served(exports, trained_transformer, rnn_translator, classifier, tmp_path_factory):
    """Every signature call of the tests, run once in one fresh process."""
    sentences = _sentences(trained_transformer, 40)
    rnn_sentences = _sentences(rnn_translator, 8)
    calls = {
        "greedy": {"path": exports["transformer"], "signature": "serving_default", "text": sentences},
        "beam": {"path": exports["transformer"], "signature": "beam_search", "text": sentences, "beam_width": 4},
        "attention": {"path": exports["transformer"], "signature": "translate_with_attention", "text": sentences[:8]},
        "bad_greedy": {"path": exports["transformer"], "signature": "serving_default", "text": BAD_INPUTS},
        "bad_beam": {"path": exports["transformer"], "signature": "beam_search", "text": BAD_INPUTS, "beam_width": 4},
        "bad_attention": {"path": exports["transformer"], "signature": "translate_with_attention", "text": BAD_INPUTS},
        "empty_batch": {"path": exports["transformer"], "signature": "serving_default", "text": []},
        "empty_batch_beam": {"path": exports["transformer"], "signature": "beam_search", "text": [], "beam_width": 4},
        "big_greedy": {"path": exports["transformer"], "signature": "serving_default", "text": _big_batch(trained_transformer)},
        "big_beam": {"path": exports["transformer"], "signature": "beam_search", "text": _big_batch(trained_transformer), "beam_width": 4},
        "rnn_greedy": {"path": exports["rnn"], "signature": "serving_default", "text": rnn_sentences + BAD_INPUTS},
        "rnn_beam": {"path": exports["rnn"], "signature": "beam_search", "text": rnn_sentences + BAD_INPUTS, "beam_width": 3},
        "rnn_attention": {"path": exports["rnn"], "signature": "translate_with_attention", "text": rnn_sentences},
        "classifier": {"path": exports["classifier"], "signature": "serving_default", "text": classifier.texts + BAD_INPUTS},
        "classifier_attention": {"path": exports["classifier"], "signature": "classify_with_attention", "text": classifier.texts + BAD_INPUTS},
        "classifier_all_empty": {"path": exports["classifier"], "signature": "classify_with_attention", "text": ["", " "]},
    }
    for width in (-3, 0, 1, 2, 1000):
        calls[f"beam_width_{width}"] = {
            "path": exports["transformer"], "signature": "beam_search", "text": sentences[:6],
            "beam_width": width,
        }
    results, modules = run_fresh_process(calls, tmp_path_factory.mktemp("fresh_process"))
    errors = {name: result["error"] for name, result in results.items() if "error" in result}
    assert not errors, errors
    for name, result in results.items():
        print(f"{name}: {result['seconds']:.2f} s")
    return {name: result["outputs"] for name, result in results.items()}, modules, results


def _translate(translator, texts, **kwargs):
    return translate(
        translator.model, translator.source_tokenizer, translator.target_tokenizer, texts,
        **kwargs,
    )


def test_fresh_process_cannot_see_the_project(served):
    _, modules, _ = served
    assert modules["attention_layers"] is False
    # Compared as resolved paths, not string prefixes: a venv at /tmp/ci-venv is not inside
    # a checkout at /tmp/ci. Only absolute entries: the process runs in a scratch folder
    # outside the checkout, where a relative one would point, and setuptools' editable
    # install adds one that is no folder at all (its path-hook key,
    # `__editable__.attention_layers-0.1.0.finder.__path_hook__`), which resolved here, in
    # the checkout, would look inside it.
    repository = pathlib.Path(__file__).resolve().parents[2]
    inside = [
        entry for entry in modules["sys_path"]
        if entry and pathlib.Path(entry).is_absolute()
        and pathlib.Path(entry).resolve().is_relative_to(repository)
    ]
    assert not inside, inside


def test_greedy_in_fresh_process_equals_in_process(served, trained_transformer):
    outputs, _, _ = served
    sentences = _sentences(trained_transformer, 40)
    translations = outputs["greedy"]["translation"]["values"]
    assert translations == _translate(trained_transformer, sentences)
    # The tiny model learned something: most test sentences come out right.
    references = [target for _, target in trained_transformer.corpus.test[:40]]
    expected = [
        text.decode() for text in
        trained_transformer.target_tokenizer.detokenize(
            trained_transformer.target_tokenizer.tokenize(references)
        ).numpy()
    ]
    correct = np.mean([got == want for got, want in zip(translations, expected, strict=True)])
    assert correct >= 0.3, (correct, translations[:5], expected[:5])


def test_beam_search_in_fresh_process_equals_in_process(served, trained_transformer):
    outputs, _, _ = served
    sentences = _sentences(trained_transformer, 40)
    assert outputs["beam"]["translation"]["values"] == _translate(
        trained_transformer, sentences, beam_width=4
    )


def test_attention_signature_equals_in_process(served, trained_transformer):
    outputs, _, _ = served
    sentences = _sentences(trained_transformer, 8)
    source_ids = trained_transformer.source_tokenizer.tokenize(
        clean_text(sentences), max_length=128
    ).to_tensor()
    token_ids, cross_attention = greedy_decode(trained_transformer.model, source_ids, 64)
    attention = outputs["attention"]
    assert attention["translation"]["values"] == _translate(trained_transformer, sentences)
    np.testing.assert_allclose(as_array(attention["cross_attention"]), cross_attention, atol=1e-5)
    target_tokens = trained_transformer.target_tokenizer.ids_to_tokens(token_ids).numpy()
    target_tokens = np.where(token_ids.numpy() == 0, b"", target_tokens).astype(str)
    assert attention["target_tokens"]["values"] == target_tokens.tolist()
    source_tokens = as_array(attention["source_tokens"])
    assert (source_tokens[:, 0] == "[START]").all()
    assert source_tokens.shape == tuple(source_ids.shape)


def _check_translations(output, count):
    assert output["dtype"] == "string" and output["shape"] == [count]
    assert all(isinstance(text, str) for text in output["values"])  # valid UTF-8


def test_bad_input_gives_valid_output(served, trained_transformer):
    outputs, _, _ = served
    for name in ("bad_greedy", "bad_beam", "bad_attention"):
        result = outputs[name]
        _check_translations(result["translation"], len(BAD_INPUTS))
    assert outputs["bad_greedy"]["translation"]["values"] == _translate(
        trained_transformer, BAD_INPUTS
    )
    assert outputs["bad_beam"]["translation"]["values"] == _translate(
        trained_transformer, BAD_INPUTS, beam_width=4
    )
    attention = as_array(outputs["bad_attention"]["cross_attention"])  # (batch, T, S)
    assert np.isfinite(attention).all()
    row_sums = attention.sum(-1)
    # Each generated token's weights sum to 1; rows after [END] are zeros.
    assert np.all(np.isclose(row_sums, 1.0, atol=1e-4) | np.isclose(row_sums, 0.0))
    # Inputs are cut to 128 tokens, [START] and [END] included.
    assert attention.shape[2] == 128


def test_empty_batch(served):
    outputs, _, _ = served
    assert outputs["empty_batch"]["translation"]["shape"] == [0]
    assert outputs["empty_batch_beam"]["translation"]["shape"] == [0]


@pytest.mark.parametrize("kind", ["rnn", "transformer"])
def test_empty_batch_with_attention(exports, kind):
    """An empty batch gives empty outputs from `translate_with_attention` too (an RNN's
    encoder cannot run over zero source positions: it used to fail)."""
    signature = tf.saved_model.load(str(exports[kind])).signatures["translate_with_attention"]
    outputs = signature(text=tf.constant([], tf.string))
    assert {name: tuple(value.shape) for name, value in outputs.items()} == {
        "translation": (0,), "source_tokens": (0, 0), "target_tokens": (0, 0),
        "cross_attention": (0, 0, 0),
    }
    assert outputs["cross_attention"].dtype == tf.float32
    # A batch that is not empty still goes through the decoder.
    outputs = signature(text=tf.constant(["", "hola"]))
    assert outputs["translation"].shape == (2,) and outputs["source_tokens"].shape[1] >= 2


SIGNATURES = {
    "transformer": ("serving_default", "beam_search", "translate_with_attention"),
    "rnn": ("serving_default", "beam_search", "translate_with_attention"),
    "classifier": ("serving_default", "classify_with_attention"),
}


def test_a_scalar_or_2d_text_is_rejected_with_a_message_naming_text(exports):
    """Issue 16 case 12: these failed inside the tokenizer ("input must be a vector")."""
    wrong = {"[]": tf.constant("Hola."), "[1,2]": tf.constant([["Hola.", "Adiós."]])}
    for kind, names in SIGNATURES.items():
        loaded = tf.saved_model.load(str(exports[kind]))
        for name in names:
            signature = loaded.signatures[name]
            extra = {"beam_width": tf.constant(2)} if name == "beam_search" else {}
            for shape, text in wrong.items():
                expected = rf"`text` must be a 1-D batch of strings.*got shape \[{shape[1:-1]}\]"
                with pytest.raises(tf.errors.InvalidArgumentError, match=expected):
                    signature(text=text, **extra)
            assert signature(text=tf.constant(["Hola."]), **extra)  # 1-D still served


def test_a_beam_width_that_is_not_one_int_is_rejected_with_a_message(exports):
    """Issue 29: a non-scalar `beam_width` failed with an obscure graph error."""
    wrong = {
        2: tf.constant([2, 3]), 0: tf.constant([], tf.int32), 4: tf.constant([[1, 2], [3, 4]]),
    }
    for kind in ("transformer", "rnn"):
        signature = tf.saved_model.load(str(exports[kind])).signatures["beam_search"]
        for count, width in wrong.items():
            expected = rf"`beam_width` must be one int32, a scalar.*got {count} values"
            with pytest.raises(tf.errors.InvalidArgumentError, match=expected):
                signature(text=tf.constant(["Hola."]), beam_width=width)
        assert signature(text=tf.constant(["Hola."]), beam_width=tf.constant(2))


def test_batch_of_1000(served):
    outputs, _, results = served
    for name in ("big_greedy", "big_beam"):
        _check_translations(outputs[name]["translation"], BATCH_OF_1000)
    # Batching does not change a sentence's translation.
    assert outputs["big_greedy"]["translation"]["values"][:40] == outputs["greedy"]["translation"]["values"]
    assert outputs["big_beam"]["translation"]["values"][:40] == outputs["beam"]["translation"]["values"]
    print(
        f"batch of {BATCH_OF_1000}: greedy {results['big_greedy']['seconds']:.1f} s, "
        f"beam 4 {results['big_beam']['seconds']:.1f} s"
    )


def test_beam_width_input_is_clipped(served):
    outputs, _, _ = served
    for width in (-3, 0, 2, 1000):
        _check_translations(outputs[f"beam_width_{width}"]["translation"], 6)
    one = outputs["beam_width_1"]["translation"]["values"]
    assert outputs["beam_width_0"]["translation"]["values"] == one
    assert outputs["beam_width_-3"]["translation"]["values"] == one
    assert one == outputs["greedy"]["translation"]["values"][:6]


def test_rnn_export_in_fresh_process_equals_in_process(served, rnn_translator):
    outputs, _, _ = served
    texts = _sentences(rnn_translator, 8) + BAD_INPUTS
    expected = _translate(rnn_translator, texts, max_length=RNN_MAX_OUTPUT_LENGTH)
    assert outputs["rnn_greedy"]["translation"]["values"] == expected
    expected_beam = _translate(
        rnn_translator, texts, max_length=RNN_MAX_OUTPUT_LENGTH, beam_width=3
    )
    assert outputs["rnn_beam"]["translation"]["values"] == expected_beam
    attention = as_array(outputs["rnn_attention"]["cross_attention"])  # (batch, T, S)
    assert attention.shape[0] == 8 and attention.shape[1] <= RNN_MAX_OUTPUT_LENGTH
    row_sums = attention.sum(-1)
    assert np.all(np.isclose(row_sums, 1.0, atol=1e-4) | np.isclose(row_sums, 0.0))


def test_classifier_export_in_fresh_process(served, classifier):
    outputs, _, _ = served
    texts = classifier.texts + BAD_INPUTS
    server = ClassifierServer(classifier.model, classifier.tokenizer)
    token_ids = server.token_ids(tf.constant(texts))
    expected = classifier.model(token_ids).numpy()[:, 0]
    result = outputs["classifier"]
    probability = as_array(result["probability"])
    np.testing.assert_allclose(probability, expected, atol=1e-5)
    assert result["label"]["dtype"] == "int64"
    np.testing.assert_array_equal(as_array(result["label"]), probability >= 0.5)

    with_attention = outputs["classifier_attention"]
    np.testing.assert_allclose(as_array(with_attention["probability"]), probability, atol=1e-6)
    attention = as_array(with_attention["attention"])  # (batch, T)
    tokens = as_array(with_attention["tokens"])
    assert attention.shape == tokens.shape == tuple(token_ids.shape)
    real = tokens != ""
    np.testing.assert_allclose(attention.sum(-1)[real.any(-1)], 1.0, atol=1e-5)
    assert (attention[~real] == 0).all()

    all_empty = outputs["classifier_all_empty"]
    assert all_empty["tokens"]["shape"] == [2, 1]
    assert np.isfinite(as_array(all_empty["probability"])).all()


def test_bigru_classifier_server_handles_empty_text(classifier):
    model = BiGRUClassifier(
        classifier.tokenizer.vocabulary_size, embedding_dim=8, units=8, attention_units=8
    )
    server = ClassifierServer(model, classifier.tokenizer)
    outputs = server.classify_with_attention(tf.constant(["", "   ", "A great film."]))
    assert outputs["probability"].shape == (3,)
    assert np.isfinite(outputs["probability"].numpy()).all()


def test_each_signature_of_a_built_model_is_traced_once(classifier, tmp_path):
    """A function traced before `tf.saved_model.save` is traced again inside it (the save
    traces in a context of its own): the export gives the save its functions untraced, and
    a built model's export traces each once (twice cost a translator's export 40%)."""
    model = BiGRUClassifier(
        classifier.tokenizer.vocabulary_size, embedding_dim=8, units=8, attention_units=8
    )
    model(np.ones((1, 3), "int32"))  # built, as a trained or loaded model is
    server = ClassifierServer(model, classifier.tokenizer)
    save_atomically(server, server.signatures(), tmp_path / "export")
    counts = {name: getattr(server, name).experimental_get_tracing_count()
              for name in ("classify", "classify_with_attention")}
    assert counts == {"classify": 1, "classify_with_attention": 1}
    served = tf.saved_model.load(str(tmp_path / "export"))
    expected = server.classify(tf.constant(["A great film."]))["probability"].numpy()
    answer = served.signatures["serving_default"](text=tf.constant(["A great film."]))
    np.testing.assert_allclose(answer["probability"].numpy(), expected, rtol=1e-6)


def test_export_json_describes_limits_and_signatures(exports):
    info = json.loads((exports["transformer"] / "assets.extra" / "export.json").read_text())
    assert info["kind"] == "translator"
    assert info["limits"]["max_input_tokens"] == 128
    assert info["limits"]["max_output_length"] == 64
    assert info["limits"]["max_batch_size"] == 256  # the batch of 1,000 ran in 4 chunks
    assert set(info["signatures"]) == {"serving_default", "beam_search", "translate_with_attention"}
    assert info["signatures"]["beam_search"]["inputs"]["beam_width"] == {
        "dtype": "int32", "shape": []
    }
    vocabulary = (exports["transformer"] / "assets.extra" / "target_vocabulary.txt").read_text()
    assert vocabulary.splitlines()[:4] == ["[PAD]", "[UNK]", "[START]", "[END]"]


def _saved_model_cli(*arguments, cwd):
    """Runs `saved_model_cli`; for `run`, in a Python that first imports tensorflow_text.

    The exports use tensorflow-text ops (normalization, WordPiece), which a process must
    register before loading the graph; the plain `saved_model_cli` executable imports
    only tensorflow, so `run` goes through its `main` after `import tensorflow_text`.
    """
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    environment.pop("PYTHONPATH", None)
    if arguments[0] == "show":
        command = [shutil.which("saved_model_cli") or "saved_model_cli", *arguments]
    else:
        command = [
            sys.executable, "-I", "-c",
            "import sys, tensorflow_text\n"
            "from tensorflow.python.tools.saved_model_cli import main\n"
            "sys.argv[0] = 'saved_model_cli'\n"
            "sys.exit(main())",
            *arguments,
        ]
    completed = subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=600
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return completed.stdout


def test_saved_model_cli_show(exports, tmp_path):
    if shutil.which("saved_model_cli") is None:
        # pip's tensorflow installs it; CI must run this test, not skip it.
        reason = "saved_model_cli is not on PATH"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    output = _saved_model_cli("show", "--dir", str(exports["transformer"]), "--all", cwd=tmp_path)
    for name in ("serving_default", "beam_search", "translate_with_attention"):
        assert f"signature_def['{name}']" in output
    default = output.split("signature_def['serving_default']")[1].split("signature_def[")[0]
    assert re.search(r"inputs\['text'\] tensor_info:\s+dtype: DT_STRING\s+shape: \(-1\)", default)
    assert re.search(r"outputs\['translation'\] tensor_info:\s+dtype: DT_STRING", default)


def test_saved_model_cli_run(exports, trained_transformer, tmp_path):
    sentence = trained_transformer.corpus.test[0][0]
    output = _saved_model_cli(
        "run", "--dir", str(exports["transformer"]), "--tag_set", "serve",
        "--signature_def", "beam_search",
        "--input_exprs", f"text={[sentence, '']!r};beam_width=4",
        cwd=tmp_path,
    )
    expected = _translate(trained_transformer, [sentence, ""], beam_width=4)
    assert "Result for output key translation:" in output
    assert repr(expected[0].encode())[2:-1] in output or expected[0] in output


# --- atomic export ------------------------------------------------------------------------


class _AddOne(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def add_one(self, x):
        return {"y": x + 1.0}


def _save(path):
    module = _AddOne()
    return save_atomically(module, {"serving_default": module.add_one.get_concrete_function()}, path)


def _snapshot(directory):
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*")) if path.is_file()
    }


def test_failed_save_leaves_previous_export_intact(tmp_path, monkeypatch):
    destination = tmp_path / "model"
    _save(destination)
    before = _snapshot(destination)
    real_save = tf.saved_model.save

    def crash_midway(module, export_dir, signatures=None, **kwargs):
        real_save(module, export_dir, signatures=signatures, **kwargs)
        (pathlib.Path(export_dir) / "saved_model.pb").write_bytes(b"half written")
        raise OSError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        _save(destination)
    assert _snapshot(destination) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]  # no leftovers
    loaded = tf.saved_model.load(str(destination))
    np.testing.assert_allclose(loaded.signatures["serving_default"](x=tf.constant([1.0]))["y"], [2.0])


def test_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(tf.saved_model, "save", crash)
    with pytest.raises(RuntimeError, match="killed"):
        _save(tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


def test_failed_final_rename_restores_previous_export(tmp_path, monkeypatch):
    destination = tmp_path / "model"
    _save(destination)
    before = _snapshot(destination)
    real_rename = os.rename
    # Without renameat2's exchange, the old export is first renamed aside.
    monkeypatch.setattr(files, "_exchange", lambda first, second: False)

    def rename(source, target):
        if ".partial-" in str(source):
            raise OSError("rename failed")
        return real_rename(source, target)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError, match="rename failed"):
        _save(destination)
    assert _snapshot(destination) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]


def test_successful_save_replaces_previous_export(tmp_path):
    destination = tmp_path / "model"
    _save(destination)
    (destination / "stale.txt").write_text("from the old export")
    _save(destination)
    assert not (destination / "stale.txt").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]


def test_export_modes_follow_the_umask(tmp_path):
    """Issue 16 case 8: `serving/` was 0700 (`tempfile.mkdtemp`) whatever the umask."""
    previous = os.umask(0o022)
    try:
        destination = _save(tmp_path / "serving")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(destination.stat().st_mode) == 0o755
    for path in destination.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o755 if path.is_dir() else 0o644), path


def test_next_export_removes_leftovers_of_killed_exports(tmp_path):
    """Issue 16 case 8: killed exports left `.serving.partial-*` folders for ever."""
    old_style = tmp_path / ".serving.partial-a1b2c3d4"  # tempfile.mkdtemp, earlier versions
    (old_style / "variables").mkdir(parents=True)
    # Above Linux's largest process id (2**22): the writer is surely gone.
    killed = tmp_path / f".partial-{2**22 + 1}-0123abcd-serving"
    (killed / "variables").mkdir(parents=True)
    (tmp_path / "notes.txt").write_text("keep")
    _save(tmp_path / "serving")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt", "serving"]


def test_refuses_to_overwrite_a_directory_that_is_not_a_saved_model(tmp_path):
    destination = tmp_path / "notes"
    destination.mkdir()
    (destination / "important.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        _save(destination)
    assert (destination / "important.txt").read_text() == "keep me"
