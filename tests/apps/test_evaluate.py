"""`python -m attention_layers evaluate RUN --test PATH`: every hypothesis written out, and
scores equal to sacrebleu's (or to accuracy and macro-F1 counted by hand) on what the run's
own `translate`/`classify` give."""

import json
import re

import pytest
import sacrebleu

from attention_layers.apps.batch_commands import unescape_tsv
from attention_layers.apps.evaluate import classification_scores
from attention_layers.apps.evaluate import main as evaluate_main
from attention_layers.data import generate_translation_corpus
from attention_layers.text import canonical_text

pytestmark = pytest.mark.slow  # the session's tiny runs are trained


def _rows(text, header):
    lines = text.split("\n")
    assert lines[0] == header and lines[-1] == ""
    return [[unescape_tsv(field) for field in line.split("\t")] for line in lines[1:-1]]


def test_a_translator_is_scored_with_sacrebleu_in_any_test_format(
    translator_run, translator, tmp_path, capsys
):
    pairs = generate_translation_corpus(num_pairs=200, seed=7).test[:12]
    pairs.append(("El gato\tnegro.", "The black\tcat."))  # a tab inside: escaped in the TSV
    # A Tatoeba file: English first, then Spanish (and an attribution to ignore).
    tatoeba = tmp_path / "spa.txt"
    tatoeba.write_text("".join(f"{en}\t{es}\tCC-BY\n" for es, en in pairs[:12]), "utf-8")
    output, scores = tmp_path / "hypotheses.tsv", tmp_path / "scores.json"
    assert (
        evaluate_main(
            [
                str(translator_run),
                "--test",
                str(tatoeba),
                "--output",
                str(output),
                "--scores",
                str(scores),
            ]
        )
        == 0
    )
    rows = _rows(output.read_text("utf-8"), "source\treference\thypothesis")
    sources = [es for es, _ in pairs[:12]]
    hypotheses = translator.translate(sources)
    references = [t.decode() for t in canonical_text([en for _, en in pairs[:12]]).numpy()]
    assert rows == [list(row) for row in zip(sources, references, hypotheses, strict=True)]
    expected = {
        "bleu": round(sacrebleu.corpus_bleu(hypotheses, [references]).score, 2),
        "chrf": round(sacrebleu.corpus_chrf(hypotheses, [references]).score, 2),
    }
    written = json.loads(scores.read_text("utf-8"))
    assert {key: written[key] for key in expected} == expected
    assert written["pairs"] == 12 and written["test"] == str(tatoeba)
    assert f"evaluate: BLEU {expected['bleu']:.2f}, chrF {expected['chrf']:.2f} on 12 pairs" in (
        capsys.readouterr().err
    )
    # JSON lines in the other key order, to stdout: the same rows, the tab row escaped.
    jsonl = tmp_path / "test.jsonl"
    jsonl.write_text(
        "".join(json.dumps({"translation": {"en": en, "es": es}}) + "\n" for es, en in pairs),
        "utf-8",
    )
    assert evaluate_main([str(translator_run), "--test", str(jsonl)]) == 0
    out = capsys.readouterr().out
    assert "El gato\\tnegro." in out
    assert _rows(out, "source\treference\thypothesis")[:12] == rows


def test_a_classifier_is_scored_with_accuracy_and_macro_f1(
    classifier_run, classifier, tmp_path, capsys
):
    texts = [
        "The ending was dull.",
        "great fun, truly great",
        "a bore",
        "I loved it",
        "not good at all",
        "wonderful acting",
    ]
    labels = ["negative", "1", "0", "positive", "negative", "positive"]  # names or indices
    test = tmp_path / "test.csv"
    test.write_text(
        "text,label\n" + "".join(f'"{t}",{lab}\n' for t, lab in zip(texts, labels, strict=True))
    )
    scores = tmp_path / "scores.json"
    assert evaluate_main([str(classifier_run), "--test", str(test), "--scores", str(scores)]) == 0
    rows = _rows(capsys.readouterr().out, "text\tlabel\tprediction\tprobability")
    predictions = classifier.classify(texts)
    names = ["negative", "positive"]
    truth = ["negative", "positive", "negative", "positive", "negative", "positive"]
    assert [row[:3] for row in rows] == [
        [t, g, p["label"]] for t, g, p in zip(texts, truth, predictions, strict=True)
    ]
    correct = sum(g == p["label"] for g, p in zip(truth, predictions, strict=True))
    written = json.loads(scores.read_text())
    assert written["accuracy"] == round(correct / 6, 6)
    assert written["per_class"]["positive"]["support"] == 3
    assert (
        written["macro_f1"]
        == classification_scores(
            [names.index(g) for g in truth], [names.index(p["label"]) for p in predictions], names
        )["macro_f1"]
    )


def test_classification_scores_match_hand_counts():
    # Three classes; truth and predictions chosen so that every count differs.
    truth = [0, 0, 0, 1, 1, 2, 2, 2, 2]
    predicted = [0, 1, 0, 1, 2, 2, 2, 0, 1]
    scores = classification_scores(truth, predicted, ("a", "b", "c"))
    # a: precision 2/3, recall 2/3; b: 1/3, 1/2; c: 2/3, 2/4.
    f1 = {
        "a": 2 / 3,
        "b": 2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2),
        "c": 2 * (2 / 3) * 0.5 / (2 / 3 + 0.5),
    }
    assert scores["accuracy"] == round(5 / 9, 6)
    assert scores["per_class"]["b"] == {
        "precision": round(1 / 3, 6),
        "recall": 0.5,
        "f1": round(f1["b"], 6),
        "support": 2,
    }
    assert scores["macro_f1"] == pytest.approx(sum(f1.values()) / 3, abs=2e-6)


@pytest.mark.parametrize(
    ("make", "flags", "message"),
    [
        (
            lambda d: None,
            [],
            r"evaluate: error: .*missing\.tsv: no such file, and no line-aligned pair",
        ),
        (
            lambda d: (d / "missing.tsv").write_text("de\tfr\nHallo\tSalut\n"),
            [],
            r"missing\.tsv:1: the header names no columns 'es' and 'en'",
        ),
        (
            lambda d: (d / "missing.tsv").write_text("de\tfr\nHallo\tSalut\n"),
            ["--source-language", "de", "--target-language", "fr"],
            None,
        ),
    ],
    ids=["no_file", "wrong_languages", "languages_given"],
)
def test_bad_translator_input_is_one_line_and_exit_2(
    translator_run, tmp_path, capsys, make, flags, message
):
    make(tmp_path)
    code = evaluate_main([str(translator_run), "--test", str(tmp_path / "missing.tsv"), *flags])
    err = capsys.readouterr().err
    if message is None:
        assert code == 0 and "on 1 pairs" in err
        return
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert re.search(message, err), err


def test_a_label_the_classifier_does_not_know_names_its_line(classifier_run, tmp_path, capsys):
    test = tmp_path / "test.tsv"
    test.write_text("text\tlabel\ngood\tpositive\nmeh\tneutral\n")
    assert evaluate_main([str(classifier_run), "--test", str(test)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"evaluate: error: {test}:3: label 'neutral' is not one of the model's "
        "classes (negative, positive) or their indices\n"
    )


def test_an_export_scores_as_its_run(translator_run, tmp_path, capsys):
    pairs = generate_translation_corpus(num_pairs=200, seed=7).test[:8]
    for code, side in (("es", 0), ("en", 1)):
        (tmp_path / f"t.{code}").write_text("".join(pair[side] + "\n" for pair in pairs))
    assert evaluate_main([str(translator_run), "--test", str(tmp_path / "t")]) == 0
    from_run = capsys.readouterr()
    assert evaluate_main([str(translator_run / "serving"), "--test", str(tmp_path / "t")]) == 0
    from_export = capsys.readouterr()
    assert from_export.out == from_run.out and from_export.err == from_run.err


def test_evaluate_is_a_command():
    from attention_layers.__main__ import COMMANDS, usage

    assert COMMANDS["evaluate"][0] == "attention_layers.apps.evaluate"
    assert "  evaluate  score on a test file" in usage()
