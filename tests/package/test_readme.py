"""The README: its Python snippets run and print what they say, its tables render, its links lead.

The rule for snippets. Every ```python fence of README.md runs, top to bottom, in one
namespace, as a reader pasting them into one session would run them (so a later snippet
may use `model` from an earlier one). A fence whose first line is a comment starting with
`# needs:` (for example `# needs: a trained run (First hour, step 2)`) uses something the
test does not have, a trained run or downloaded data, and is skipped. In a runnable snippet,
a line `print(...)  # OUTPUT` or `print(...)  # OUTPUT: why` promises that the call prints
OUTPUT, and the test holds it to that. The snippets run in this process (no new Python
process), in a temporary folder, after `keras.backend.clear_session()`, so the layers get
the names a fresh session gives them.
"""

import contextlib
import io
import pathlib
import re

import keras
import pytest

from attention_layers.data import generate_translation_corpus
from attention_layers.text import normalize

ROOT = pathlib.Path(__file__).parents[2]
README = ROOT / "README.md"
SKIP_MARK = "# needs:"
PRINT_WITH_OUTPUT = re.compile(r"^\s*print\(.*\)\s+# (?P<output>.+)$")


def _readme():
    return README.read_text(encoding="utf-8")


def _fences(text):
    """`(info string, body)` of every fenced code block, in order."""
    return re.findall(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", text, flags=re.M | re.S)


def _python_snippets(text):
    snippets = [body for info, body in _fences(text) if info.strip() == "python"]
    runnable = [body for body in snippets if not body.lstrip().startswith(SKIP_MARK)]
    return snippets, runnable


def _promised_outputs(snippet):
    return [
        m.group("output") for line in snippet.splitlines() if (m := PRINT_WITH_OUTPUT.match(line))
    ]


def _keeps_promise(printed, promised):
    return promised == printed or promised.startswith(printed + ":")


def test_the_snippets_run_and_print_what_their_comments_say(tmp_path, monkeypatch):
    snippets, runnable = _python_snippets(_readme())
    # The layers, adding an attention type, seeing attention; the rest need a run.
    assert len(runnable) >= 3, f"{len(runnable)} of {len(snippets)} snippets would run"
    monkeypatch.chdir(tmp_path)
    keras.backend.clear_session()
    namespace = {"__name__": "readme"}
    for snippet in runnable:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(snippet, "README.md", "exec"), namespace)  # noqa: S102
        lines = printed.getvalue().splitlines()
        promised = _promised_outputs(snippet)
        assert len(lines) == len(promised), (snippet, lines)
        for line, promise in zip(lines, promised, strict=True):
            assert _keeps_promise(line, promise), (line, promise)
    assert (tmp_path / "attention.png").stat().st_size > 0  # "Seeing attention" saved it


def test_the_sentences_given_to_the_default_model_use_its_words():
    # The default run learns the words of 20,000 generated pairs (seed 0); a sentence the
    # README gives it must use only those, or the promised translation is an [UNK].
    readme = _readme()
    sentences = set(re.findall(r"(?:translate|tf\.constant)\(\[([^\]]*)\]", readme))
    sentences = {s for group in sentences for s in re.findall(r'"([^"]+)"', group)}
    sentences |= set(re.findall(r'"instances": \["([^"]+)"\]', readme))
    assert len(sentences) >= 2, sentences
    corpus = generate_translation_corpus(20_000, seed=0)
    known = set()
    for text in normalize([source for source, _ in corpus.train]).numpy():
        known.update(text.decode("utf-8").split())
    for sentence in sentences:
        words = normalize([sentence]).numpy()[0].decode("utf-8").split()
        assert set(words) <= known, (sentence, set(words) - known)


def test_the_readme_is_short_and_renders():
    text = _readme()
    lines = text.splitlines()
    assert len(lines) < 300
    assert text.count("```") % 2 == 0, "an unclosed code fence"
    inside_fence = False
    table_columns = None
    for number, line in enumerate(lines, start=1):
        if line.startswith("```"):
            inside_fence = not inside_fence
            continue
        if inside_fence:
            continue
        if line.startswith("|"):
            # A row ends with its last cell; text after it would be glued into the table.
            assert line.rstrip().endswith("|"), f"line {number}: text glued to a table row"
            cells = len(re.findall(r"(?<!\\)\|", line)) - 1
            table_columns = table_columns or cells
            assert cells == table_columns, (
                f"line {number}: {cells} cells, the header has {table_columns}"
            )
        else:
            table_columns = None


@pytest.mark.parametrize(
    "page", ["README.md", *sorted(p.name for p in (ROOT / "docs").glob("*.md"))]
)
def test_relative_links_lead_to_files_and_commands_use_no_local_folders(page):
    path = README if page == "README.md" else ROOT / "docs" / page
    text = path.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target:
            continue
        assert (path.parent / target).exists(), f"{page}: link to {target}, which does not exist"
    # Commands are for a fresh clone: a user supplies data as path/to/..., never our ../shared.
    assert "../shared" not in text, f"{page} names this project's own data folder"
