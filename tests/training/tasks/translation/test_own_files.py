"""`train_translator.py --train PATH --source-language XX --target-language YY`: a translator
from the user's own files, in either direction, and the built-in corpora turned around."""

import contextlib
import io
import json
import shlex
import shutil

import pytest
import tensorflow as tf

import train_translator
from attention_layers.apps.batch_commands import _ExportModel
from attention_layers.apps.evaluate import main as evaluate_main
from attention_layers.apps.run import load_run
from attention_layers.data import generate_translation_corpus
from attention_layers.export.saving import find_export
from attention_layers.training.tasks.translation import TranslationConfig, TranslationTask

# One tiny Transformer for one epoch: the test checks the plumbing (files, direction,
# config, export, evaluate), not quality.
TINY = [
    "--layers",
    "1",
    "--model-dim",
    "16",
    "--heads",
    "2",
    "--feed-forward-dim",
    "32",
    "--batch-size",
    "32",
    "--max-length",
    "16",
    "--epochs",
    "1",
    "--vocabulary-size",
    "400",
    "--no-attention-plots",
]


def _write_aligned(prefix, pairs):
    # Spanish in .es, English in .en: the run reads them English -> Spanish.
    for code, side in (("es", 0), ("en", 1)):
        prefix.with_name(f"{prefix.name}.{code}").write_text(
            "".join(pair[side] + "\n" for pair in pairs), "utf-8"
        )


@pytest.fixture(scope="module")
def run_on_files(tmp_path_factory):
    """The run on aligned files, English -> Spanish: its folder, corpus, results and what
    it printed (one training for the tests of this module)."""
    tmp_path = tmp_path_factory.mktemp("own_files")
    corpus = generate_translation_corpus(num_pairs=600, seed=1)
    _write_aligned(tmp_path / "train", corpus.train)
    _write_aligned(tmp_path / "dev", corpus.validation)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        results = train_translator.main(
            [
                *TINY,
                "--train",
                str(tmp_path / "train"),
                "--validation",
                str(tmp_path / "dev"),
                "--source-language",
                "en",
                "--target-language",
                "es",
                "--output",
                str(tmp_path / "run"),
            ]
        )
    return tmp_path, corpus, results, printed.getvalue()


@pytest.mark.slow
def test_a_translator_trains_on_aligned_files_in_the_other_direction(run_on_files, capsys):
    tmp_path, corpus, results, printed = run_on_files
    output = tmp_path / "run"
    config = json.loads((output / "config.json").read_text())
    assert (config["dataset"], config["source_language"], config["target_language"]) == (
        "files",
        "en",
        "es",
    )
    assert config["train"] == str(tmp_path / "train")
    # The flags that TINY leaves unset come from the rule (preset_rule.py), recorded.
    chosen = config["data_preset"]["chosen"]
    assert chosen == {"embedding_dim": 64, "units": 128, "warmup_steps": 100}
    assert config["warmup_steps"] == 100 and config["data_preset"]["training_pairs"] > 300
    # The validation file is used as it is; the test split comes out of train.
    line = next(text for text in printed.splitlines() if text.startswith("Data: files"))
    counts = [int(count) for count in line.split(", ")[1].split(" train")[0].split(" / ")]
    pairs = config["data_preset"]["training_pairs"]
    assert f"; preset from the data ({pairs} training pairs): warm-up 100 (" in line
    assert counts[1] == len(corpus.validation)
    assert counts[0] + counts[2] <= len(corpus.train) and counts[2] > 0
    assert 0 <= results["test_bleu"] <= 100
    # The summary's serving request is a sentence of the run's own source language (it was
    # a fixed Spanish sentence for every run).
    serve = next(text for text in printed.splitlines() if text.strip().startswith("serve:"))
    request = json.loads(shlex.split(serve.split("curl -d ", 1)[1])[0])
    assert request == {"instances": [results["samples"][0]["source"]]}
    assert request["instances"][0] in {english for _, english in corpus.train}
    # The source vocabulary is English, the target Spanish.
    source_words = (output / "source_vocab.txt").read_text("utf-8").split("\n")
    target_words = (output / "target_vocab.txt").read_text("utf-8").split("\n")
    assert "the" in source_words and "the" not in target_words
    assert "el" in target_words and "el" not in source_words
    # evaluate reads the run's languages from config.json: English sources, Spanish references.
    assert evaluate_main([str(output), "--test", str(tmp_path / "dev")]) == 0
    rows = capsys.readouterr().out.split("\n")[1:-1]
    assert [row.split("\t")[0] for row in rows] == [en for _, en in corpus.validation]


@pytest.mark.slow
def test_a_run_on_cased_files_keeps_the_case_and_its_export_serves_it(run_on_files, tmp_path):
    # The generated sentences are cased ("Tus perros son valientes."): --case auto keeps it.
    run_path, _, results, printed = run_on_files
    output = run_path / "run"
    config = json.loads((output / "config.json").read_text())
    assert (config["case"], config["case_by_side"]) == ("auto", {"source": "keep", "target": "keep"})
    assert "; case kept (--case auto: 100% / 100% of source / target sentences cased" in printed
    assert "decoding, cased)" in printed
    # The tokenizers, the run loaded back and its export all keep the case.
    source_words = (output / "source_vocab.txt").read_text("utf-8").split("\n")
    assert "The" in source_words and "the" in source_words
    export = find_export(output)[1]
    assert json.loads((export / "assets.extra" / "export.json").read_text())["case"] == {
        "source": "keep", "target": "keep"}
    exported = _ExportModel(export, "translator")  # as translate and evaluate load it
    assert not exported.target_lowercase  # evaluate scores it against cased references
    served = exported._signatures["translate_with_attention"](text=tf.constant(["The dog."]))
    tokens = [token.decode() for token in served["source_tokens"].numpy()[0]]
    assert tokens[:3] == ["[START]", "The", "dog"]
    assert not load_run(output).source_tokenizer.lowercase
    # A config.json written before --case loads as it was trained then: lower-cased.
    older = tmp_path / "older"
    shutil.copytree(output, older)
    config = {name: value for name, value in config.items() if not name.startswith("case")}
    (older / "config.json").write_text(json.dumps(config))
    loaded = load_run(older)
    assert loaded.source_tokenizer.lowercase and loaded.target_lowercase


@pytest.mark.slow
def test_a_finished_run_on_files_resumes(run_on_files, tmp_path, capsys):
    # config.json records --dataset files: --resume took it for an unknown --dataset.
    output = tmp_path / "run"
    shutil.copytree(run_on_files[0] / "run", output)
    results = train_translator.main(["--resume", "--output", str(output)])
    out = capsys.readouterr().out
    assert "Training already finished after epoch 1; evaluating." in out
    assert json.loads((output / "config.json").read_text())["dataset"] == "files"
    assert results["test_bleu"] == pytest.approx(run_on_files[2]["test_bleu"])


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--train", "x"], "--train needs --source-language and --target-language"),
        (["--validation", "x"], "--validation goes with --train"),
        (["--dataset", "files"], "--dataset files reads your own pairs: give --train PATH"),
        (
            [
                "--train",
                "x",
                "--dataset",
                "spa-eng",
                "--source-language",
                "de",
                "--target-language",
                "en",
            ],
            "--train gives your own pairs; it does not go with --dataset",
        ),
        (["--source-language", "de"], "--dataset builtin holds Spanish (es) and English (en)"),
        (
            ["--train", "x", "--source-language", "de", "--target-language", "DE"],
            "--source-language and --target-language are both 'de'",
        ),
        (
            ["--train", "missing", "--source-language", "de", "--target-language", "en"],
            "missing: no such file, and no line-aligned pair missing.de + missing.en",
        ),
    ],
    ids=[
        "no_languages",
        "validation_alone",
        "files_without_train",
        "with_dataset",
        "builtin_other_language",
        "same_language",
        "missing_file",
    ],
)
def test_bad_file_flags_are_one_line_and_exit_2(tmp_path, monkeypatch, capsys, flags, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        train_translator.main([*TINY, *flags, "--output", str(tmp_path / "run")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # after argparse's usage, as every flag error
    assert "error: " in last and message in last, err
    assert not (tmp_path / "run" / "config.json").exists()


def test_the_builtin_corpus_turns_around():
    task = TranslationTask()
    forward = task.load_corpus(
        TranslationConfig(num_pairs=60, source_language="es", target_language="en")
    )
    backward = task.load_corpus(
        TranslationConfig(num_pairs=60, source_language="en", target_language="es")
    )
    assert backward.train == [(en, es) for es, en in forward.train]
    assert backward.test == [(en, es) for es, en in forward.test]
