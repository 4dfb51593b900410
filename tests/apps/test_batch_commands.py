"""`python -m attention_layers translate|classify RUN`: lines in, the run's outputs out.

The tiny runs of tests/apps/conftest.py are shared; the commands run in-process
(`main([...])`), once as a process piping stdin to stdout.
"""

import io
import os
import subprocess
import sys

import pytest

from attention_layers.apps import batch_commands
from attention_layers.apps import run as run_module
from attention_layers.apps.batch_commands import TSV_HEADER, escape_tsv, unescape_tsv
from attention_layers.apps.classify import main as classify_main
from attention_layers.apps.translate import main as translate_main
from attention_layers.export import MAX_BEAM_WIDTH
from tests.helpers import ROOT

pytestmark = pytest.mark.slow  # the session's tiny runs are trained

SENTENCES = ["El perro duerme.", "", "¿Dónde duermen mis gatos?", "   ", "EL GATO NEGRO",
             "la casa es grande", ""]  # fmt: skip
TEXTS = ["The ending was dull.", "a\ttab and a back\\slash", "", "great fun, truly great"]


def _stdin(monkeypatch, data):
    """Replaces stdin with `data` (str or bytes) behind a binary buffer, as a pipe has."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def _expected_translations(translator, lines, beam_width=1):
    """What `load_run(...).translate` gives for the non-blank lines; "" for the others."""
    kept = [line for line in lines if line.strip()]
    translations = iter(translator.translate(kept, beam_width=beam_width))
    return [next(translations) if line.strip() else "" for line in lines]


def _parse_tsv(text):
    """`[(text, label, probability)]` of `classify`'s output, header checked."""
    rows = text.split("\n")
    assert rows[0] == TSV_HEADER and rows[-1] == ""
    parsed = []
    for row in rows[1:-1]:
        text_field, label, probability = row.split("\t")
        parsed.append((unescape_tsv(text_field), label, float(probability)))
    return parsed


def _check_classified(classifier, texts, parsed):
    expected = classifier.classify(texts)
    assert [row[0] for row in parsed] == texts
    assert [row[1] for row in parsed] == [result["label"] for result in expected]
    assert [row[2] for row in parsed] == pytest.approx(
        [result["probability"] for result in expected], abs=1e-6
    )


def test_translate_stdin_to_stdout_keeps_order_and_empty_lines(
    translator_run, translator, monkeypatch, capsys
):
    _stdin(monkeypatch, "\n".join(SENTENCES) + "\n")
    # Batches of 2 cross the blank lines: each batch keeps its own order.
    assert translate_main([str(translator_run), "--batch-size", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.out.split("\n")[:-1] == _expected_translations(translator, SENTENCES)
    assert captured.out.split("\n")[1] == "" and captured.out.endswith("\n")
    assert captured.err == ""  # no progress bar off a terminal


def test_translate_files_with_beam_crlf_and_bom(translator_run, translator, tmp_path):
    source = tmp_path / "in.txt"
    source.write_bytes(("\ufeff" + "\r\n".join(SENTENCES[:3]) + "\r\n").encode("utf-8"))
    target = tmp_path / "out.txt"
    argv = [str(translator_run), "--input", str(source), "--output", str(target),
            "--beam-width", "2"]  # fmt: skip
    assert translate_main(argv) == 0
    expected = _expected_translations(translator, SENTENCES[:3], beam_width=2)
    assert target.read_text("utf-8") == "".join(f"{line}\n" for line in expected)


def test_translate_an_export(translator_run, translator, monkeypatch, capsys):
    lines = SENTENCES[:-1]  # the last line is not empty and has no newline
    _stdin(monkeypatch, "\n".join(lines))
    assert translate_main([str(translator_run / "serving")]) == 0
    assert capsys.readouterr().out.split("\n")[:-1] == _expected_translations(
        translator, lines
    )


def test_classify_writes_tsv_that_parses_back(classifier_run, classifier, tmp_path):
    source = tmp_path / "texts.txt"
    source.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    target = tmp_path / "labels.tsv"
    argv = [str(classifier_run), "--input", str(source), "--output", str(target),
            "--batch-size", "3"]  # fmt: skip
    assert classify_main(argv) == 0
    output = target.read_text("utf-8")
    assert "a\\ttab and a back\\\\slash\t" in output  # escaped, one row
    _check_classified(classifier, TEXTS, _parse_tsv(output))


def test_classify_an_export_from_stdin(classifier_run, classifier, monkeypatch, capsys):
    _stdin(monkeypatch, "\n".join(TEXTS) + "\n")
    assert classify_main([str(classifier_run / "serving")]) == 0
    parsed = _parse_tsv(capsys.readouterr().out)
    assert {row[1] for row in parsed} <= set(classifier.class_names)
    _check_classified(classifier, TEXTS, parsed)


def test_escape_tsv_round_trips():
    text = "tab\there\\t, back\\slash, cr\r nl\n end\\"
    assert "\t" not in escape_tsv(text) and "\n" not in escape_tsv(text)
    assert escape_tsv("a\tb\\") == "a\\tb\\\\"
    assert unescape_tsv(escape_tsv(text)) == text


def test_progress_bar_on_a_terminal_only(translator_run, monkeypatch, capsys):
    _stdin(monkeypatch, "El perro duerme.\nla casa\n")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert translate_main([str(translator_run), "--batch-size", "1"]) == 0
    captured = capsys.readouterr()
    assert "translate: [" in captured.err and "2/2 lines" in captured.err
    assert len(captured.out.split("\n")) == 3  # the bar is not in the output


def _bad(tmp_path, translator_run, classifier_run):
    """`{case: (command main, argv, what the one line must name)}`."""
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("fine\nstill fine\ncaf\xe9\n".encode("latin-1"))
    good = tmp_path / "good.txt"
    good.write_text("hola\n", encoding="utf-8")
    return {
        "missing RUN": (translate_main, [str(tmp_path / "nowhere")], "nowhere"),
        "translator given to classify": (classify_main, [str(translator_run)],
                                         "is a translator, not a classifier"),
        "classifier given to translate": (translate_main, [str(classifier_run)],
                                          "is a classifier, not a translator"),
        "classifier export given to translate": (
            translate_main, [str(classifier_run / "serving")], "not a translator"),
        "non-UTF-8 input": (translate_main, [str(translator_run), "--input", str(latin1)],
                            "latin1.txt, line 3: not UTF-8"),
        "missing input": (translate_main,
                          [str(translator_run), "--input", str(tmp_path / "none.txt")],
                          "none.txt: no such file"),
        "missing output folder": (
            classify_main,
            [str(classifier_run), "--input", str(good), "--output", str(tmp_path / "no/x.tsv")],
            "does not exist"),
        "beam too wide": (translate_main, [str(translator_run), "--beam-width", "9"],
                          "at most 8"),
        "batch size 0": (classify_main, [str(classifier_run), "--batch-size", "0"],
                         "positive integer"),
    }  # fmt: skip


@pytest.mark.parametrize("case", [
    "missing RUN", "translator given to classify", "classifier given to translate",
    "classifier export given to translate", "non-UTF-8 input", "missing input",
    "missing output folder", "beam too wide", "batch size 0",
])  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(
    case, tmp_path, translator_run, classifier_run, monkeypatch, capsys
):
    _stdin(monkeypatch, "hola\n")
    command, argv, named = _bad(tmp_path, translator_run, classifier_run)[case]
    try:
        code = command(argv)
    except SystemExit as exit:  # argparse's errors
        code = exit.code
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and named in captured.err
    assert "Traceback" not in captured.err
    assert not (tmp_path / "no").exists()


def test_ctrl_c_exits_130_and_leaves_the_output_as_it_was(
    translator_run, tmp_path, monkeypatch, capsys
):
    class Interrupted:
        """Translates the first batch, then the user presses Ctrl-C."""

        calls = 0

        def translate(self, sentences, beam_width=1):
            Interrupted.calls += 1
            if Interrupted.calls > 1:
                raise KeyboardInterrupt
            return ["x"] * len(sentences)

    monkeypatch.setattr(run_module, "load_run", lambda path: Interrupted())
    target = tmp_path / "out.txt"
    target.write_text("before\n", encoding="utf-8")
    _stdin(monkeypatch, "uno\ndos\ntres\n")
    argv = [str(translator_run), "--output", str(target), "--batch-size", "1"]
    assert translate_main(argv) == 130
    assert Interrupted.calls == 2
    assert target.read_text("utf-8") == "before\n"  # not half-written
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.txt"]
    assert "Traceback" not in capsys.readouterr().err


def test_the_command_pipes_stdin_to_stdout(translator_run, translator):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "attention_layers", "translate", str(translator_run)],
        input="\n".join(SENTENCES[:3]) + "\n", capture_output=True, text=True,
        encoding="utf-8", cwd=ROOT, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:-1] == _expected_translations(translator, SENTENCES[:3])


def test_commands_are_listed():
    from attention_layers.__main__ import COMMANDS

    assert COMMANDS["translate"][0] == "attention_layers.apps.translate"
    assert COMMANDS["classify"][0] == "attention_layers.apps.classify"
    assert batch_commands.MAX_BEAM_WIDTH == MAX_BEAM_WIDTH  # the export's cap
