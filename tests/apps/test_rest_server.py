"""`python -m attention_layers serve`: TensorFlow Serving's REST contract over plain HTTP.

One server process per module, on a free port, serves a small untrained GRU translator
(from the session fixtures of tests/export) in TF Serving's layout; the requests are the
bodies of TF Serving's REST documentation, sent with `http.client`, and every answer is
compared with the same SavedModel called in this process.
"""

import asyncio
import base64
import concurrent.futures
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import keras
import numpy as np
import pytest

from tests.export.conftest import (  # noqa: F401  (session fixtures shared with tests/export)
    RNN_MAX_OUTPUT_LENGTH,
    corpus,
    rnn_translator,
    tokenizers,
)

if keras.backend.backend() != "tensorflow":
    pytest.skip("exports are TensorFlow SavedModels", allow_module_level=True)

import tensorflow as tf  # noqa: E402

from attention_layers.apps import rest_server  # noqa: E402
from attention_layers.export import export_new_version, export_translator  # noqa: E402
from tests.helpers import ROOT  # noqa: E402

SENTENCES = [
    "el gato negro duerme.",
    "¿dónde está el perro?",
    "la casa es grande.",
    "mi hermano come pan.",
    "los niños juegan en el parque.",
    "hola.",
]


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory, rnn_translator):  # noqa: F811
    """A run folder whose `serving/` holds versions 1 and 2 of the GRU translator."""
    run = tmp_path_factory.mktemp("served") / "translator-run"
    base = run / "serving"
    first = export_new_version(
        base,
        lambda path: export_translator(
            rnn_translator.model, rnn_translator.source_tokenizer,
            rnn_translator.target_tokenizer, path, max_output_length=RNN_MAX_OUTPUT_LENGTH,
        ),
    )  # fmt: skip
    export_new_version(base, lambda path: shutil.copytree(first, path))
    return run


@pytest.fixture(scope="module")
def served_model(run_folder):
    """The served version, loaded in this process."""
    return rest_server.ServedModel(run_folder / "serving" / "2", 2, "translator")


@pytest.fixture(scope="module")
def in_process(served_model):
    """The served version's signatures, called in this process."""
    return served_model.signatures


def _texts(tensor):
    return [value.decode("utf-8") for value in tensor.numpy().reshape(-1)]


@pytest.fixture(scope="module")
def server(run_folder):
    """`python -m attention_layers serve RUN --port 0`, started once; yields `(port, process)`."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [sys.executable, "-m", "attention_layers", "serve", str(run_folder), "--port", "0"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines = []
    deadline = time.monotonic() + 300
    port = None
    while port is None:
        line = process.stdout.readline()
        assert line or process.poll() is None, "".join(lines)
        assert time.monotonic() < deadline, "no 'Serving' line after 300 s:\n" + "".join(lines)
        lines.append(line)
        match = re.search(r"^Serving .* at http://127\.0\.0\.1:(\d+)/v1/models/translator", line)
        port = int(match[1]) if match else None
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
    yield port, process, lines
    if process.poll() is None:
        process.kill()
        process.wait()


def _request(port, method, path, body=None, timeout=120):
    """`(status, JSON body)` of one request; `body` a dict (sent as JSON) or bytes."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    if isinstance(body, dict):
        body = json.dumps(body).encode("utf-8")
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.getheader("Content-Type").startswith("application/json")
        return response.status, json.loads(response.read().decode("utf-8"))
    finally:
        connection.close()


def _predict(port, body, path="/v1/models/translator:predict"):
    return _request(port, "POST", path, body)


def test_status_and_metadata_as_tf_serving_gives_them(server):
    port = server[0]
    ready = {
        "model_version_status": [
            {"version": "2", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        ]
    }
    assert _request(port, "GET", "/v1/models/translator") == (200, ready)
    assert _request(port, "GET", "/v1/models/translator/versions/2") == (200, ready)
    assert _request(port, "GET", "/v1/models/translator/versions/1") == (
        404, {"error": "Could not find version 1 of model translator"}
    )  # only the newest version is served, as TF Serving's default policy does
    assert _request(port, "GET", "/v1/models/nope") == (
        404, {"error": "Could not find any versions of model nope"}
    )

    status, metadata = _request(port, "GET", "/v1/models/translator/metadata")
    assert status == 200
    assert metadata["model_spec"] == {"name": "translator", "signature_name": "", "version": "2"}
    signatures = metadata["metadata"]["signature_def"]["signature_def"]
    assert sorted(signatures) == ["beam_search", "serving_default", "translate_with_attention"]
    default = signatures["serving_default"]
    assert default["method_name"] == "tensorflow/serving/predict"
    assert default["inputs"]["text"]["dtype"] == "DT_STRING"
    assert default["inputs"]["text"]["tensor_shape"]["dim"] == [{"size": "-1", "name": ""}]
    assert default["outputs"]["translation"]["dtype"] == "DT_STRING"
    beam_width = signatures["beam_search"]["inputs"]["beam_width"]
    assert beam_width["dtype"] == "DT_INT32" and beam_width["tensor_shape"]["dim"] == []
    assert _request(port, "GET", "/v1/models/nope/metadata") == (
        404, {"error": "Servable not found for request: Latest(nope)"}
    )


def test_row_and_columnar_requests_answer_as_the_savedmodel(server, in_process):
    port = server[0]
    expected = _texts(in_process["serving_default"](text=tf.constant(SENTENCES))["translation"])
    assert len(set(expected)) > 1  # the sentences get different answers: a real comparison
    # The request bodies of TF Serving's REST documentation, with our input.
    assert _predict(port, {"instances": SENTENCES}) == (200, {"predictions": expected})
    assert _predict(port, {"instances": [{"text": text} for text in SENTENCES]}) == (
        200, {"predictions": expected}
    )
    assert _predict(port, {"inputs": {"text": SENTENCES}}) == (200, {"outputs": expected})
    assert _predict(port, {"inputs": SENTENCES}) == (200, {"outputs": expected})
    assert _predict(
        port, {"signature_name": "serving_default", "instances": SENTENCES},
        "/v1/models/translator/versions/2:predict",
    ) == (200, {"predictions": expected})  # fmt: skip
    encoded = [{"b64": base64.b64encode(text.encode()).decode()} for text in SENTENCES[:2]]
    assert _predict(port, {"instances": encoded}) == (200, {"predictions": expected[:2]})
    assert _predict(port, {"inputs": {"text": []}}) == (200, {"outputs": []})


def test_beam_search_takes_its_scalar_width_in_the_columnar_format(server, in_process):
    port = server[0]
    expected = _texts(
        in_process["beam_search"](text=tf.constant(SENTENCES), beam_width=tf.constant(3))[
            "translation"
        ]
    )
    body = {"signature_name": "beam_search", "inputs": {"text": SENTENCES, "beam_width": 3}}
    assert _predict(port, body) == (200, {"outputs": expected})
    # The row format gives every input a batch dimension: a clear 400, pointing to "inputs".
    rows = {"signature_name": "beam_search",
            "instances": [{"text": text, "beam_width": 3} for text in SENTENCES]}  # fmt: skip
    status, answer = _predict(port, rows)
    assert status == 400 and "columnar format" in answer["error"], answer
    # A width that is not a scalar: a 400 saying so, as TF Serving answers, before the
    # graph is called (issue 29: an obscure graph error).
    for width in ([[3]], [3], [2, 3]):
        status, answer = _predict(port, {"signature_name": "beam_search",
                                         "inputs": {"text": SENTENCES, "beam_width": width}})
        assert status == 400, answer
        assert list(answer) == ["error"], answer
        assert "Input 'beam_width' must have rank 0" in answer["error"], answer
    # Called directly, the signature reads one value of any shape as that width, and
    # names beam_width for more values than one.
    text = tf.constant(SENTENCES)
    for width in ([[3]], [3]):
        outputs = in_process["beam_search"](text=text, beam_width=tf.constant(width))
        assert _texts(outputs["translation"]) == expected
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"`beam_width` must be one int32"):
        in_process["beam_search"](text=text, beam_width=tf.constant([2, 3]))


def test_several_outputs_come_back_per_instance_or_per_name(server, in_process):
    port = server[0]
    outputs = in_process["translate_with_attention"](text=tf.constant(SENTENCES[:2]))
    status, answer = _predict(
        port, {"signature_name": "translate_with_attention", "instances": SENTENCES[:2]}
    )
    assert status == 200 and len(answer["predictions"]) == 2
    for index, row in enumerate(answer["predictions"]):
        assert sorted(row) == ["cross_attention", "source_tokens", "target_tokens", "translation"]
        assert row["translation"] == _texts(outputs["translation"])[index]
        assert row["source_tokens"] == _texts(outputs["source_tokens"][index])
        np.testing.assert_allclose(row["cross_attention"], outputs["cross_attention"][index], atol=1e-6)
    status, columns = _predict(
        port, {"signature_name": "translate_with_attention", "inputs": {"text": SENTENCES[:2]}}
    )
    assert status == 200 and columns["outputs"]["translation"] == _texts(outputs["translation"])
    np.testing.assert_allclose(columns["outputs"]["cross_attention"], outputs["cross_attention"], atol=1e-6)


@pytest.mark.parametrize(
    "body, message",
    [
        (b'{"instances": ["hola"', "JSON Parse error"),
        (b"\xff\xfe{}", "JSON Parse error"),
        (b"[1, 2]", "not an object"),
        (b"", "JSON Parse error"),
        ({"signature_name": "nope", "instances": ["hola"]},
         'Serving signature name: "nope" not found in signature def'),
        ({"instances": [1, 2]}, "is not of expected type: string"),
        ({"instances": [None]}, "is not of expected type: string"),
        ({"inputs": {"text": [{"a": 1}]}}, "is not of expected type: string"),
        ({"instance": ["hola"]}, "Unknown key(s) ['instance']"),
        ({"signature_name": "serving_default"}, "Missing 'inputs' or 'instances' key"),
        ({"instances": ["a"], "inputs": ["a"]}, "expecting only one of 'inputs' or 'instances'"),
        ({"instances": []}, "No values in 'instances' array"),
        ({"instances": "hola"}, "to be an list/array"),
        ({"inputs": {"words": ["hola"]}}, "Missing named input: text"),
        ({"instances": [["a", "b"], ["c", "d"]]}, "must have rank 1"),
        ({"instances": [["a", "b"], ["c"]]}, "ragged"),
        ({"signature_name": "beam_search", "inputs": {"text": ["a"], "beam_width": "4"}},
         "is not of expected type: int32"),
        ({"signature_name": "beam_search", "inputs": {"text": ["a"], "beam_width": 2**40}},
         "out of range"),
        (json.dumps({"instances": [[[["x"]]]]}).replace('[["x"]]', "[" * 5000 + "]" * 5000).encode(),
         "JSON Parse error"),
    ],
)  # fmt: skip
def test_bad_requests_get_a_400_and_a_clear_json_error(server, body, message):
    status, answer = _predict(server[0], body)
    assert status == 400, answer
    assert list(answer) == ["error"] and message in answer["error"], answer


def test_unknown_models_versions_and_paths(server):
    port = server[0]
    assert _predict(port, {"instances": ["hola"]}, "/v1/models/nope:predict") == (
        404, {"error": "Servable not found for request: Latest(nope)"}
    )
    assert _predict(port, {"instances": ["hola"]}, "/v1/models/translator/versions/1:predict") == (
        404, {"error": "Servable not found for request: Specific(translator, 1)"}
    )
    assert _request(port, "GET", "/v1/models/translator:predict")[0] == 400  # GET: malformed
    assert _request(port, "GET", "/index.html")[0] == 404


def test_a_20_mb_body_gets_413_and_1000_instances_an_answer(server, in_process):
    port = server[0]
    status, answer = _predict(port, {"instances": ["x" * 1000] * 20_000})  # 20 MB
    assert status == 413 and "at most 10485760 bytes" in answer["error"], answer
    sentences = [SENTENCES[index % len(SENTENCES)] for index in range(1000)]
    expected = _texts(in_process["serving_default"](text=tf.constant(SENTENCES))["translation"])
    status, answer = _predict(port, {"instances": sentences})
    assert status == 200
    assert answer["predictions"] == [expected[index % len(SENTENCES)] for index in range(1000)]
    status, answer = _predict(port, {"instances": ["hola"] * 1025})
    assert status == 400 and "at most 1024 per request" in answer["error"], answer
    assert _request(port, "GET", "/v1/models/translator")[0] == 200  # still serving


def test_concurrent_clients_each_get_their_own_answer(server, in_process):
    port = server[0]
    texts = [f"{sentence} {word}" for sentence in SENTENCES for word in ("gato", "perro", "")]
    expected = dict(
        zip(texts, _texts(in_process["serving_default"](text=tf.constant(texts))["translation"]),
            strict=True)
    )  # fmt: skip
    assert len(set(expected.values())) > 3

    def ask(text):
        status, answer = _predict(port, {"instances": [text]})
        return text, status, answer

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(ask, texts * 3))
    for text, status, answer in results:
        assert status == 200 and answer == {"predictions": [expected[text]]}, (text, answer)


def test_a_request_over_the_time_limit_gets_504(served_model):
    """In this process (no second server process): the aiohttp app with a tiny limit."""
    from aiohttp import web

    app = rest_server.RestServer(
        served_model, max_request_bytes=2**20, max_instances=1024, timeout=1e-4, workers=1
    ).application()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.SockSite(runner, listener).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        status, answer = _predict(port, {"instances": SENTENCES * 50})
        assert status == 504, answer
        assert answer["error"].startswith("Deadline exceeded: the request took more than")
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(60)


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "the following arguments are required: RUN_OR_EXPORT"),
        (["/no/such/run"], "/no/such/run is not a folder"),
        (["{empty}"], "no export in"),
        (["{empty}", "--port", "70000"], "--port must be in [0, 65535]"),
        (["{empty}", "--timeout", "0"], "--timeout must be positive"),
    ],
)
def test_bad_command_lines_end_with_one_line_and_exit_code_2(tmp_path, capsys, argv, message):
    argv = [arg.replace("{empty}", str(tmp_path)) for arg in argv]
    with pytest.raises(SystemExit) as exit_info:
        rest_server.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_the_name_is_the_exports_kind(tmp_path, run_folder):
    assert rest_server._model_name(run_folder / "serving" / "2") == "translator"
    (tmp_path / "assets.extra").mkdir()
    (tmp_path / "assets.extra" / "export.json").write_text('{"kind": "classifier"}')
    assert rest_server._model_name(tmp_path) == "classifier"


@pytest.mark.slow
def test_sigterm_stops_the_server_cleanly(server):
    port, process, lines = server
    assert _request(port, "GET", "/v1/models/translator")[0] == 200
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0, "".join(lines)
    time.sleep(0.5)  # the reader thread takes the last lines
    assert "Stopped." in "".join(lines), "".join(lines)
