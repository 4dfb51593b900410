"""Training throughput on 1 and N replicas and workers: tokens/s, step time, all-reduce
bytes, model FLOPs per token and, on a GPU, model FLOPs utilisation (MFU).

The model is `train_translator.py`'s spa-eng preset (pre-norm Transformer, 2+2 layers,
d_model 256, 4 heads, feed-forward 1024, word vocabularies of 10,000, global batch 128,
length buckets up to 32 tokens), trained on real spa-eng batches that are tokenized once
and stored in a small `.npz`, so the measurement itself needs only `keras`, `numpy` and
the backend: it runs on GPU machines that have JAX but no TensorFlow.

    # 1. Tokenize spa-eng batches (needs TensorFlow, here once; about 3 MB):
    python benchmarks/scaling.py batches --data ../shared/data/spa.txt \
        --output /tmp/spa_eng_batches.npz
    # 2. One measurement (any backend; prints one JSON line):
    KERAS_BACKEND=jax python benchmarks/scaling.py measure --batches /tmp/spa_eng_batches.npz
    KERAS_BACKEND=tensorflow python benchmarks/scaling.py measure \
        --batches /tmp/spa_eng_batches.npz --distribution mirrored --replicas 2
    # 3. The table of RESULTS.md: 1 and 2 replicas on TF and JAX, 2 TF workers on 127.0.0.1:
    python benchmarks/scaling.py sweep --batches /tmp/spa_eng_batches.npz

`measure` takes the training commands' scale flags (`--distribution`, `--replicas`,
`--precision`, `--jit-compile`, `--steps-per-execution`). It keeps the batches of the
`--shapes` most frequent shapes, runs one batch of each first (compilation), then times
`--steps` steps: step time is their mean wall-clock time,
tokens/s counts the real (non-padding) source and target tokens. FLOPs are counted from
the model's shapes (matrix products and attention, forward x 3 for training, on the
padded batches the device computes); MFU divides the model FLOPs of the real tokens per
second by the device's dense peak (`--peak-tflops`, or a table of known GPUs).
"""

import argparse
import importlib.util
import json
import os
import pathlib
import socket
import subprocess
import sys
import time
import types

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

MODEL = {"num_layers": 2, "model_dim": 256, "num_heads": 4, "feed_forward_dim": 1024}
BATCH_SIZE, MAX_LENGTH, VOCABULARY_SIZE = 128, 32, 10_000

# Dense peak TFLOP/s per GPU: (16-bit, TF32/float32). NVIDIA data sheets (SXM parts).
PEAK_TFLOPS = {
    "H200": (989.0, 494.0),
    "H100": (989.0, 494.0),
    "A100": (312.0, 156.0),
    "L40S": (362.0, 183.0),
    "L4": (121.0, 60.0),
    "V100": (125.0, 15.7),
}


# --- the batches file (needs TensorFlow) -------------------------------------------------


def write_batches(args):
    """Tokenizes spa-eng as the translator's preset does and stores `--batches` full batches."""
    from attention_layers.data import load_spa_eng, make_translation_dataset
    from attention_layers.text import WordTokenizer

    corpus = load_spa_eng(args.data)
    tokenizers = [
        WordTokenizer.build([pair[side] for pair in corpus.train],
                            max_vocabulary_size=VOCABULARY_SIZE)
        for side in (0, 1)
    ]
    dataset = make_translation_dataset(
        corpus.train, *tokenizers, batch_size=BATCH_SIZE, max_length=MAX_LENGTH,
        shuffle=True, seed=0,
    )
    arrays = {}
    for (source, target_in), target_out in dataset:
        if source.shape[0] != BATCH_SIZE:
            continue  # full batches only: any replica count up to 128 divides them
        index = len(arrays) // 3
        arrays[f"source_{index}"] = source.numpy().astype(np.int16)
        arrays[f"target_in_{index}"] = target_in.numpy().astype(np.int16)
        arrays[f"target_out_{index}"] = target_out.numpy().astype(np.int16)
        if index + 1 == args.batches:
            break
    np.savez_compressed(
        args.output, source_vocabulary_size=tokenizers[0].vocabulary_size,
        target_vocabulary_size=tokenizers[1].vocabulary_size, **arrays,
    )
    print(f"{len(arrays) // 3} batches of {BATCH_SIZE} pairs -> {args.output} "
          f"({pathlib.Path(args.output).stat().st_size / 1e6:.1f} MB)")


def read_batches(path):
    """`(batches, source_vocabulary_size, target_vocabulary_size)`; batches are
    `((source, target_in), target_out)` int32 arrays."""
    with np.load(path) as stored:
        count = sum(name.startswith("source_") and name[7:].isdigit() for name in stored.files)
        batches = [
            ((stored[f"source_{i}"].astype("int32"), stored[f"target_in_{i}"].astype("int32")),
             stored[f"target_out_{i}"].astype("int32"))
            for i in range(count)
        ]
        return batches, int(stored["source_vocabulary_size"]), int(stored["target_vocabulary_size"])


# --- counting ----------------------------------------------------------------------------


def training_flops(batch, target_vocabulary_size, num_layers, model_dim, feed_forward_dim,
                   **_):
    """Model FLOPs of one training step on a padded batch (forward x 3: backward is two
    products per forward product).

    Per example, with S source and T target positions, d = model_dim, f = feed-forward:
    encoder layer `S (4d^2 + 2df) + 2 S^2 d` multiply-adds (Q, K, V, O projections, the
    feed-forward network, scores and weighted values); decoder layer
    `T (6d^2 + 2df) + 2 S d^2 + 2 T^2 d + 2 T S d` (self-attention, cross-attention whose
    keys and values project the S source positions, feed-forward); logits `T d V`.
    """
    (source, target_in), _ = batch
    rows, s = source.shape
    t = target_in.shape[1]
    d, f = model_dim, feed_forward_dim
    encoder = s * (4 * d * d + 2 * d * f) + 2 * s * s * d
    decoder = t * (6 * d * d + 2 * d * f) + 2 * s * d * d + 2 * t * t * d + 2 * t * s * d
    multiply_adds = rows * (num_layers * (encoder + decoder) + t * d * target_vocabulary_size)
    return 3 * 2 * multiply_adds


def real_tokens(batch):
    (source, _), target_out = batch
    return int(np.count_nonzero(source) + np.count_nonzero(target_out))


def peak_flops(device_name, precision, override_tflops):
    if override_tflops:
        return override_tflops * 1e12
    for name, (half, single) in PEAK_TFLOPS.items():
        if name in device_name:
            return (single if precision == "float32" else half) * 1e12
    return None


def device_name():
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.devices()[0].device_kind
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    return f"CPU ({os.cpu_count()} cores)"


# --- one measurement ---------------------------------------------------------------------


def scale_module():
    """`attention_layers.training.distribution`, also where TensorFlow is not installed: the
    `attention_layers.training` package imports the text metrics (TensorFlow), but
    `distribution.py`, `devices.py` and `flags.py` need only Keras, so the package is entered without its
    `__init__`."""
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        package = types.ModuleType("attention_layers.training")
        (root,) = importlib.util.find_spec("attention_layers").submodule_search_locations
        package.__path__ = [str(pathlib.Path(root) / "training")]
        sys.modules["attention_layers.training"] = package
    import attention_layers.training.distribution as scale

    return scale


class StepTimer(keras.callbacks.Callback):
    """Wall-clock and process CPU time at the end of every step (loss on the host)."""

    def __init__(self):
        super().__init__()
        self.ends, self.cpu_ends = [], []

    def on_train_batch_end(self, batch, logs=None):
        float(logs["loss"])  # waits for the step: JAX dispatches asynchronously
        self.ends.append(time.perf_counter())
        self.cpu_ends.append(time.process_time())


def measure(args):
    scale = scale_module()
    plan = scale.configure_scale(args)
    from attention_layers.models import TransformerTranslator

    batches, source_vocabulary, target_vocabulary = read_batches(args.batches)
    by_shape = {}
    for batch in batches:
        by_shape.setdefault((batch[0][0].shape, batch[0][1].shape), []).append(batch)
    # The most frequent shapes only: every shape costs one compilation before timing.
    common = sorted(by_shape.values(), key=len, reverse=True)[: args.shapes]
    warmup = [same_shape[0] for same_shape in common]
    pool = [batch for same_shape in common for batch in same_shape]
    timed = [pool[(7 * i) % len(pool)] for i in range(args.steps)]

    def stream():
        yield from warmup
        yield from timed

    keras.utils.set_random_seed(0)
    with plan.scope():
        model = TransformerTranslator(source_vocabulary, target_vocabulary, dropout=0.1,
                                      **MODEL)
        model.compile(
            keras.optimizers.Adam(1e-4),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
            **plan.compile_kwargs(),
        )
    timer = StepTimer()
    model.fit(stream(), steps_per_epoch=(len(warmup) + args.steps) // plan.steps_per_execution,
              epochs=1, verbose=0, shuffle=False, callbacks=[timer])
    first = len(warmup) // plan.steps_per_execution - 1
    steps = args.steps - args.steps % plan.steps_per_execution
    seconds = (timer.ends[-1] - timer.ends[first]) / steps
    cpu_seconds = (timer.cpu_ends[-1] - timer.cpu_ends[first]) / steps
    result = report(args, plan, model, timed, seconds, target_vocabulary)
    # On a shared machine the wall clock also measures the other jobs; CPU time does not.
    result["cpu_ms_per_step_this_process"] = round(1000 * cpu_seconds, 1)
    return result


def report(args, plan, model, timed, step_seconds, target_vocabulary):
    tokens = np.mean([real_tokens(batch) for batch in timed])
    flops = np.mean([training_flops(batch, target_vocabulary, **MODEL) for batch in timed])
    parameters = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
    gradient_bytes = 4 * parameters  # float32 variables, float32 gradients, every policy
    name = device_name()
    peak = peak_flops(name, plan.precision, args.peak_tflops)
    tokens_per_second = tokens / step_seconds
    return {
        "backend": keras.backend.backend(),
        "plan": plan.describe(),
        "replicas": plan.num_replicas,
        "workers": plan.num_workers,
        "device": name,
        "step_ms": round(1000 * step_seconds, 1),
        "tokens_per_s": round(tokens_per_second),
        "real_tokens_per_step": round(tokens),
        "trainable_parameters": parameters,
        "allreduce_bytes_per_step": gradient_bytes if plan.num_replicas > 1 else 0,
        "ring_bytes_per_device_per_step": round(
            2 * (plan.num_replicas - 1) / plan.num_replicas * gradient_bytes
        ),
        "model_flops_per_token": round(flops / tokens),
        "mfu": round(flops / step_seconds / peak, 4) if peak else None,
        "load_average": os.getloadavg()[0],
    }


# --- the sweep ---------------------------------------------------------------------------


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_measurements(args, backend, flags, workers=1):
    """Runs `measure` in fresh processes (devices are set up before a runtime starts);
    with `workers` > 1, one process per worker of a TF_CONFIG cluster on 127.0.0.1."""
    command = [sys.executable, __file__, "measure", "--batches", args.batches,
               "--steps", str(args.steps), *flags]
    addresses = [f"127.0.0.1:{free_port()}" for _ in range(workers)]
    processes = []
    for index in range(workers):
        env = {**os.environ, "KERAS_BACKEND": backend, "CUDA_VISIBLE_DEVICES": ""}
        if workers > 1:
            env["TF_CONFIG"] = json.dumps({"cluster": {"worker": addresses},
                                           "task": {"type": "worker", "index": index}})
        processes.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True))
    outputs = [process.communicate(timeout=600)[0] for process in processes]
    if any(process.returncode for process in processes):
        raise SystemExit(f"{backend} {flags}: a measurement failed")
    return json.loads(outputs[0].strip().splitlines()[-1])  # the chief's line


def sweep(args):
    configurations = [
        ("tensorflow", ["--distribution", "none"], 1),
        ("tensorflow", ["--distribution", "mirrored", "--replicas", "2"], 1),
        ("tensorflow", ["--distribution", "multi-worker"], 2),
        ("jax", ["--distribution", "none"], 1),
        ("jax", ["--distribution", "mirrored", "--replicas", "2"], 1),
    ]
    rows = []
    for backend, flags, workers in configurations:
        result = run_measurements(args, backend, flags, workers)
        rows.append(result)
        print(json.dumps(result), flush=True)
    print("\n| backend | replicas | workers | step (ms) | CPU ms / step (chief) | tokens/s | "
          "all-reduce / step | model FLOPs / token | load avg |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['backend']} | {row['replicas']} | {row['workers']} | {row['step_ms']} | "
              f"{row['cpu_ms_per_step_this_process']} | {row['tokens_per_s']:,} | "
              f"{row['allreduce_bytes_per_step'] / 1e6:.1f} MB | "
              f"{row['model_flops_per_token'] / 1e6:.1f} M | {row['load_average']:.1f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    batches = commands.add_parser("batches", help="write tokenized spa-eng batches (.npz)")
    batches.add_argument("--data", required=True, help="spa.txt")
    batches.add_argument("--output", required=True)
    batches.add_argument("--batches", type=int, default=150)
    one = commands.add_parser("measure", help="time one configuration; one JSON line")
    one.add_argument("--batches", required=True)
    one.add_argument("--steps", type=int, default=10)
    one.add_argument("--shapes", type=int, default=2,
                     help="time batches of the N most frequent shapes (default: 2)")
    one.add_argument("--peak-tflops", type=float, help="the device's dense peak, TFLOP/s")
    scale_module().add_scale_flags(one)
    many = commands.add_parser("sweep", help="1 and 2 replicas, 2 workers, TF and JAX")
    many.add_argument("--batches", required=True)
    many.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    if args.command == "batches":
        write_batches(args)
    elif args.command == "measure":
        print(json.dumps(measure(args)))
    else:
        sweep(args)


if __name__ == "__main__":
    main()
