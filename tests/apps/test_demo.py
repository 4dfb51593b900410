"""`python -m attention_layers demo RUN`: the Gradio page, in a real headless Chromium.

The browser test starts the demo as a process on a free port over the session's tiny
translator run, types a sentence, submits it, reads the translation and checks that the
heat maps carry the sentence's words on their axes, and that the page asked nothing of
any other host. Its screenshot is kept (`$ATTENTION_TEST_ARTIFACTS`, else the test's
temporary folder; the path is printed). The other tests call the page's functions and
the command in this process.
"""

import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from attention_layers.apps import demo
from tests.helpers import ROOT
from tests.visualization.cdp import Browser

pytestmark = pytest.mark.slow  # the session's tiny runs are trained

CHROMIUM = "/usr/bin/chromium"
SENTENCE = "¿Dónde está el gato negro?"
HEATMAPS = "#heatmaps .attention-heatmaps svg"  # the figure (not Gradio's spinner icon)
START_SECONDS = 600  # importing TensorFlow and Gradio and loading the run, on a busy CI
ANSWER_SECONDS = 300  # the first translation traces the decoding graphs


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _chromium():
    """Debian's Chromium; a failure under CI=true, else a skip, when it is missing."""
    found = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if found:
        return found
    reason = f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


def _wait_for_page(url, process, log_path):
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the demo exited with {process.returncode}:\n"
                        f"{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1)
    pytest.fail(f"the demo did not answer in {START_SECONDS} s:\n{log_path.read_text()[-3000:]}")


def _wait_for(page, expression, seconds, what):
    deadline = time.monotonic() + seconds
    while not page.evaluate(f"Boolean({expression})"):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not appear in {seconds} s")
        time.sleep(0.25)


def _artifacts(tmp_path):
    folder = pathlib.Path(os.environ.get("ATTENTION_TEST_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_demo_in_a_browser(translator_run, translator, tmp_path):
    chromium = _chromium()
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    log_path = tmp_path / "demo.log"
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow"}
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "attention_layers", "demo", str(translator_run),
             "--port", str(port)],
            cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_page(url, process, log_path)
        profile = tmp_path / "chromium-profile"
        profile.mkdir()
        with Browser(chromium, str(profile), timeout=120) as browser:
            page = browser.new_page(width=1280, height=1400)
            page.open(url, ready_expression="document.querySelector('#source textarea')")
            # The run's test sentences are offered as examples.
            examples = demo.example_texts(translator)
            assert len(examples) == 5
            _wait_for(page, f"document.body.innerText.includes({examples[0]!r})", 30,
                      "the examples")
            # Typed as a person types (keyboard input into the focused box), then Enter.
            page.evaluate("document.querySelector('#source textarea').focus()")
            page.send("Input.insertText", {"text": SENTENCE})
            for kind in ("keyDown", "keyUp"):
                page.send("Input.dispatchKeyEvent", {
                    "type": kind, "key": "Enter", "code": "Enter",
                    "windowsVirtualKeyCode": 13, **({"text": "\r"} if kind == "keyDown" else {}),
                })
            _wait_for(page, f"document.querySelector('{HEATMAPS}')", ANSWER_SECONDS,
                      "the heat maps")
            _wait_for(page, "document.querySelector('#translation textarea').value", 30,
                      "the translation")
            translation = page.evaluate("document.querySelector('#translation textarea').value")
            labels = page.evaluate(
                f"Array.from(document.querySelectorAll('{HEATMAPS} text'))"
                ".map(node => node.textContent)"
            )
            cells = page.evaluate(f"document.querySelectorAll('{HEATMAPS} image').length")
            screenshot = page.screenshot(_artifacts(tmp_path) / "demo_translator.png")
            print(f"\nDemo screenshot: {screenshot}")
            requests = [event["request"]["url"] for event in page.events(
                "Network.requestWillBeSent")]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=180)  # a busy machine exits TensorFlow slowly
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    view = translator.attention(SENTENCE)
    assert translation == translator.translate([SENTENCE])[0] == view.translation
    # Every source and output token labels an axis of the heat maps (one panel per head).
    for token in view.source_tokens + view.output_tokens:
        assert token in labels, (token, labels)
    for word in ("dónde", "el", "gato"):  # the words of SENTENCE in the tiny vocabulary
        assert word in labels
    assert {"head 1", "head 2", "source words (keys)", "output words (queries)"} <= set(labels)
    assert cells == 3  # the two heads' maps and the colour bar
    # Nothing was asked of another host: no analytics, fonts or scripts from a CDN.
    outside = [
        address for address in requests
        if urllib.parse.urlsplit(address).scheme in ("http", "https", "ws", "wss")
        and urllib.parse.urlsplit(address).hostname not in ("127.0.0.1", "localhost")
    ]
    assert not outside
    assert code == 0, log_path.read_text()[-3000:]  # SIGTERM stops it cleanly


def test_translator_page_functions(translator):
    translation, heatmaps = demo.translate_view(translator, SENTENCE, 1)
    view = translator.attention(SENTENCE)
    assert translation == view.translation
    assert heatmaps.count("<svg") == 1 and "head 2" in heatmaps
    for token in view.source_tokens:
        assert f">{token}<" in heatmaps
    beam, _ = demo.translate_view(translator, SENTENCE, 3)
    assert beam == translator.translate([SENTENCE], beam_width=3)[0]
    assert demo.translate_view(translator, "  ", 1)[0] == ""


def test_classifier_page_functions(classifier):
    text = "The acting was not boring."
    probabilities, words = demo.classify_view(classifier, text)
    view = classifier.attention(text)
    assert probabilities == classifier.classify([text])[0]["probabilities"]
    assert [word for word, _ in words] == view.tokens
    shades = [shade for _, shade in words]
    assert max(shades) == 1.0
    assert shades == pytest.approx(list(view.weights / view.weights.max()))
    assert demo.classify_view(classifier, "") == ({}, [])
    assert demo.example_texts(classifier) == [
        sample["text"] for sample in json.loads(
            (classifier.folder / "results.json").read_text())["samples"]
    ]


def test_the_pages_build(translator, classifier):
    gradio = pytest.importorskip("gradio")
    for run in (translator, classifier):
        app = demo.build_app(run, gradio)
        ids = {block.elem_id for block in app.blocks.values()}
        wanted = ({"source", "decoding", "translate", "translation", "heatmaps"}
                  if run.kind == "translator" else {"text", "classify", "probabilities",
                                                    "attention"})
        assert wanted <= ids


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["/no/such/run"], "demo: error: /no/such/run: no such folder"),
        (["RUN", "--share"], "unrecognized arguments: --share"),
        (["RUN", "--port", "70000"], "--port must be in [1, 65535]; received 70000"),
    ],
)
def test_bad_command_lines(argv, message, translator_run, capsys):
    argv = [str(translator_run) if arg == "RUN" else arg for arg in argv]
    with pytest.raises(SystemExit) as exit:
        demo.main(argv)
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_port_in_use(translator_run, capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(SystemExit) as exit:
            demo.main([str(translator_run), "--port", str(port)])
    assert exit.value.code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_without_gradio(translator_run, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "gradio", None)  # `import gradio` raises ImportError
    monkeypatch.setattr(os, "environ", {**os.environ})  # what the demo sets stays here
    assert demo.main([str(translator_run), "--port", str(_free_port())]) == 2
    err = capsys.readouterr().err
    assert err == 'demo: error: the demo needs Gradio, an optional extra: pip install -e ".[demo]"\n'
