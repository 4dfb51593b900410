"""Benchmark: the REST server (`python -m attention_layers serve`) against the SavedModel in-process.

C clients (threads, C = 1, 8, 32) each send one sentence per request, back to back, for
`--seconds`; the figures are requests per second and the latency's p50 and p99, two ways:

- *in-process*: each client calls `signatures["serving_default"]` of the SavedModel,
  loaded with `tf.saved_model.load` in this process (the lower bound of any server);
- *server*: each client POSTs `{"instances": [sentence]}` to
  `/v1/models/translator:predict` of the server, started as its own process on
  127.0.0.1 (`--workers` threads run the model), over a kept-alive `http.client`
  connection per client.

The two are timed in turn, `--repeats` rounds, alternating which goes first; each figure
is the median over the rounds, and `server / in-process` is the ratio of the medians.
The model is a small Transformer translator (1 layer, d_model 64) trained for a few
epochs on the generated corpus, so translations end at `[END]` as a real model's do;
the sentences are the corpus's test sentences. The load average (`os.getloadavg()`)
before and after is printed with the figures: on a shared machine it says how far to
trust them (the server and the clients share the same cores).

Usage:

    python benchmarks/serving_throughput.py                 # about 2 minutes
    python benchmarks/serving_throughput.py --seconds 5 --repeats 5
"""

import argparse
import concurrent.futures
import http.client
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

os.environ.setdefault("ATTENTION_LAYERS_QUIET_START", "1")

import attention_layers  # noqa: E402, F401

# isort: split
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from attention_layers.data import generate_translation_corpus  # noqa: E402
from attention_layers.export import export_new_version, export_translator  # noqa: E402
from attention_layers.models import TransformerTranslator  # noqa: E402
from attention_layers.text import WordTokenizer  # noqa: E402
from attention_layers.training import masked_loss  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
LENGTH = 20


def train_small_translator(epochs):
    """A 1-layer Transformer trained on 2,400 generated pairs; returns it, its tokenizers
    and the test sentences."""
    keras.utils.set_random_seed(0)
    corpus = generate_translation_corpus(3000, seed=0)
    source = WordTokenizer.build([pair[0] for pair in corpus.train])
    target = WordTokenizer.build([pair[1] for pair in corpus.train])

    def ids(tokenizer, texts, length):
        return tokenizer.tokenize(texts, max_length=length).to_tensor(shape=[None, length]).numpy()

    source_ids = ids(source, [pair[0] for pair in corpus.train], LENGTH)
    target_ids = ids(target, [pair[1] for pair in corpus.train], LENGTH + 1)
    model = TransformerTranslator(
        source.vocabulary_size, target.vocabulary_size, num_layers=1, model_dim=64,
        num_heads=4, feed_forward_dim=128, dropout=0.0,
    )  # fmt: skip
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=masked_loss(), jit_compile=False)
    model.fit((source_ids, target_ids[:, :-1]), target_ids[:, 1:], batch_size=64,
              epochs=epochs, verbose=0)  # fmt: skip
    return model, source, target, [pair[0] for pair in corpus.test]


def run_clients(clients, seconds, call):
    """`clients` threads call `call(sentence_index)` back to back for `seconds`; returns
    `(requests per second, latencies in seconds)`."""
    stop = time.perf_counter() + seconds
    latencies = [[] for _ in range(clients)]
    barrier = threading.Barrier(clients)

    def client(index):
        barrier.wait()
        count = 0
        while time.perf_counter() < stop:
            started = time.perf_counter()
            call(index * 1000 + count)
            latencies[index].append(time.perf_counter() - started)
            count += 1

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    elapsed = time.perf_counter() - started
    flat = [value for values in latencies for value in values]
    return len(flat) / elapsed, flat


def start_server(path, workers):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "attention_layers", "serve", str(path), "--port", "0",
         "--workers", str(workers)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    for line in process.stdout:
        match = re.search(r"^Serving .* at http://127\.0\.0\.1:(\d+)/", line)
        if match:
            threading.Thread(target=lambda: list(process.stdout), daemon=True).start()
            return process, int(match[1])
    raise RuntimeError(f"the server did not start (exit code {process.wait()})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="the server's --workers")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    print(f"args: {vars(args)}; load average before: "
          f"{' '.join(f'{value:.2f}' for value in load_before)} ({os.cpu_count()} CPUs)")

    model, source, target, sentences = train_small_translator(args.epochs)
    folder = pathlib.Path(tempfile.mkdtemp(prefix="serving-benchmark-"))
    path = export_new_version(
        folder / "serving", lambda version: export_translator(model, source, target, version)
    )
    signature = tf.saved_model.load(str(path)).signatures["serving_default"]
    process, port = start_server(folder, args.workers)
    local = threading.local()

    def in_process(index):
        signature(text=tf.constant([sentences[index % len(sentences)]]))

    def over_http(index):
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        body = json.dumps({"instances": [sentences[index % len(sentences)]]})
        local.connection.request("POST", "/v1/models/translator:predict", body=body)
        response = local.connection.getresponse()
        answer = response.read()
        if response.status != 200:
            raise RuntimeError(answer)

    try:
        for call in (in_process, over_http):  # warm-up: graphs, connections
            run_clients(2, 1.0, call)
        figures = {}  # (mode, clients) -> [(throughput, p50, p99)]
        for repeat in range(args.repeats):
            for clients in args.clients:
                modes = [("in-process", in_process), ("server", over_http)]
                for mode, call in modes[:: 1 if repeat % 2 == 0 else -1]:
                    rate, latencies = run_clients(clients, args.seconds, call)
                    p50, p99 = np.percentile(latencies, [50, 99]) * 1000
                    figures.setdefault((mode, clients), []).append((rate, p50, p99))
    finally:
        process.terminate()
        process.wait(60)

    print(f"\n{'clients':>7} | {'in-process req/s':>16} {'p50 ms':>7} {'p99 ms':>7} | "
          f"{'server req/s':>12} {'p50 ms':>7} {'p99 ms':>7} | server / in-process")
    for clients in args.clients:
        local_figures = [statistics.median(column) for column in zip(*figures[("in-process", clients)], strict=True)]
        server_figures = [statistics.median(column) for column in zip(*figures[("server", clients)], strict=True)]
        print(f"{clients:>7} | {local_figures[0]:>16.1f} {local_figures[1]:>7.1f} {local_figures[2]:>7.1f} | "
              f"{server_figures[0]:>12.1f} {server_figures[1]:>7.1f} {server_figures[2]:>7.1f} | "
              f"{server_figures[0] / local_figures[0]:.2f}x throughput, "
              f"{server_figures[1] / local_figures[1]:.2f}x p50")
    load_after = os.getloadavg()
    print(f"\nload average after: {' '.join(f'{value:.2f}' for value in load_after)}; medians of "
          f"{args.repeats} rounds of {args.seconds:g} s per figure")


if __name__ == "__main__":
    main()
