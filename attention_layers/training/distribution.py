"""How a training run spreads over devices and machines: strategy, precision, XLA.

The same command trains on one CPU, on the GPUs of one machine and on several machines,
with the engines the ecosystem already has:

| `--distribution` | TensorFlow backend                          | JAX backend                         |
|------------------|---------------------------------------------|-------------------------------------|
| `none`           | the default strategy (one device)           | no distribution (one device)        |
| `mirrored`       | `tf.distribute.MirroredStrategy`, local GPUs | `keras.distribution.DataParallel` over `jax.local_devices()` |
| `multi-worker`   | `MultiWorkerMirroredStrategy` from `TF_CONFIG` | `keras.distribution.initialize`, then `DataParallel` over `jax.devices()` |
| `auto`           | `mirrored` when more than one GPU (or `--replicas` > 1), else `none` | the same |

`--batch-size` is the *global* batch: every step, each of the `num_replicas` replicas
computes the gradient of `batch_size / num_replicas` examples and the gradients are
averaged (all-reduced), so N replicas at the same global batch take the same steps as one
device. On a CPU machine `--replicas N` splits the CPU into N logical devices, so that the
distributed code paths run in tests and demos (they do not run faster: the cores are the
same).

A command calls `configure_scale` once, before it builds any model or touches a device:

```python
parser = argparse.ArgumentParser()
add_scale_flags(parser)
args = parser.parse_args()
plan = configure_scale(args)           # strategy, precision policy, devices
print(plan.describe())                 # e.g. "MirroredStrategy over 2 logical CPU devices ..."
with plan.scope():
    model = build_model(...)
    model.compile(optimizer, loss, **plan.compile_kwargs())
model.fit(train.batch(args.batch_size), ...)   # the global batch
checkpoints = plan.worker_dir(args.output) / "checkpoints"
```
"""

import contextlib
import dataclasses
import json
import os
import pathlib

import keras

from attention_layers.training.devices import gpu_names
from attention_layers.training.flags import positive_int

DISTRIBUTIONS = ("auto", "none", "mirrored", "multi-worker")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
JIT_CHOICES = ("auto", "on", "off")
# `--replicas N` on a machine without GPUs splits its CPU into N logical devices.
MAX_CPU_REPLICAS = 64


def add_scale_flags(parser):
    """The `scale` group: `--distribution`, `--replicas`, `--precision`, `--jit-compile`,
    `--steps-per-execution` (and `--mixed-precision`, the old name of
    `--precision mixed_float16`).

    Args:
        parser: an `argparse.ArgumentParser`.

    Returns:
        The argument group.
    """
    scale = parser.add_argument_group("scale (devices, machines, numerics)")
    scale.add_argument(
        "--distribution", choices=DISTRIBUTIONS, default="auto",
        help="mirrored: data parallel over this machine's GPUs (or --replicas logical CPU "
        "devices); multi-worker: over the machines of TF_CONFIG; auto: mirrored when more "
        "than one GPU is visible, else none (default: auto). --batch-size is the global batch.",
    )
    scale.add_argument(
        "--replicas", type=positive_int, metavar="N",
        help="mirrored: use N devices (the first N GPUs; on a machine without GPUs, N "
        "logical CPU devices, for tests and demos). Default: every GPU, or 1 CPU.",
    )
    scale.add_argument(
        "--precision", choices=PRECISIONS, default="float32",
        help="the Keras dtype policy: mixed_* compute in 16 bits and keep float32 "
        "variables; bfloat16 suits recent GPUs and TPUs, float16 older GPUs (loss scaling "
        "added) (default: float32).",
    )
    scale.add_argument("--mixed-precision", dest="precision", action="store_const",
                       const="mixed_float16", help="the same as --precision mixed_float16.")
    scale.add_argument(
        "--jit-compile", choices=JIT_CHOICES, nargs="?", const="on", default="auto",
        help="compile the training step with XLA; auto: on for JAX and on GPUs, off for "
        "TensorFlow on a CPU (default: auto; a bare --jit-compile means on).",
    )
    scale.add_argument(
        "--steps-per-execution", type=positive_int, default=1, metavar="N",
        help="training steps per call of the compiled function; more hides the per-call "
        "overhead of small models on fast devices (default: 1).",
    )
    return scale


@dataclasses.dataclass
class ScalePlan:
    """Where and how a run trains; made by `configure_scale`.

    Attributes:
        distribution: `"none"`, `"mirrored"` or `"multi-worker"` (`auto` resolved).
        precision: the Keras dtype policy that was set globally.
        jit_compile: whether the training step is compiled with XLA.
        steps_per_execution: steps per call of the compiled training function.
        num_replicas: how many devices share each global batch.
        num_workers: how many processes (machines) take part.
        worker_index: this process's index among them (0 is the chief).
        device_kind: `"GPU"`, `"logical CPU"`, `"CPU"`, ... (for `describe`).
        strategy: the `tf.distribute.Strategy` (TensorFlow backend) or `None`.
        keras_distribution: the `keras.distribution.DataParallel` (JAX backend) or `None`.
    """

    distribution: str
    precision: str
    jit_compile: bool
    steps_per_execution: int
    num_replicas: int = 1
    num_workers: int = 1
    worker_index: int = 0
    device_kind: str = "CPU"
    strategy: object = None
    keras_distribution: object = None

    @property
    def is_chief(self):
        """Whether this process writes the run's shared files (model, export, plots, logs)."""
        return self.worker_index == 0

    @property
    def batch_multiple(self):
        """What every batch's size must be a multiple of: JAX splits each batch evenly over
        its devices (pass it to the `make_*_datasets` pipelines); `tf.distribute` does not
        need it."""
        return self.num_replicas if self.keras_distribution is not None else 1

    def scope(self):
        """The context in which models, optimizers and metrics must be built and compiled."""
        if self.strategy is not None:
            return self.strategy.scope()
        if self.keras_distribution is not None:
            return self.keras_distribution.scope()
        return contextlib.nullcontext()

    def compile_kwargs(self):
        """`model.compile` arguments: `jit_compile` and `steps_per_execution`."""
        return {"jit_compile": self.jit_compile, "steps_per_execution": self.steps_per_execution}

    def worker_dir(self, output):
        """The folder this process writes its own files (checkpoints) to.

        The chief uses `output` itself; worker `i` uses `output/workers/worker_i`, so that
        a worker never overwrites the chief's files yet finds its own checkpoints again
        when it is restarted with `--resume`.
        """
        output = pathlib.Path(output)
        return output if self.is_chief else output / "workers" / f"worker_{self.worker_index}"

    def describe(self):
        """One line for the command's log, e.g. `MirroredStrategy over 2 logical CPU devices
        (2 replicas), float32, XLA off, 1 step per execution`."""
        devices = f"{self.num_replicas} {self.device_kind} device" + (
            "s" if self.num_replicas > 1 else ""
        )
        if self.distribution == "none":
            where = f"One device ({self.device_kind})"
        elif self.strategy is not None:
            where = f"{type(self.strategy).__name__} over {devices}"
        else:
            where = f"keras.distribution.DataParallel over {devices}"
        if self.num_workers > 1:
            where += f" in {self.num_workers} workers (this is worker {self.worker_index}" + (
                ", the chief)" if self.is_chief else ")"
            )
        steps = self.steps_per_execution
        return (
            f"{where} ({self.num_replicas} replica{'s' if self.num_replicas > 1 else ''}), "
            f"{self.precision}, XLA {'on' if self.jit_compile else 'off'}, "
            f"{steps} step{'s' if steps > 1 else ''} per execution, "
            f"{keras.backend.backend()} backend"
        )


def configure_scale(args):
    """Sets up devices, the distribution and the dtype policy for a run; returns its plan.

    Call it once, before any model is built or any tensor is made: logical CPU devices and
    `MultiWorkerMirroredStrategy` can only be set up before TensorFlow starts its runtime,
    and host devices only before JAX starts its backend.

    Args:
        args: the parsed flags of `add_scale_flags` (`distribution`, `replicas`,
            `precision`, `jit_compile`, `steps_per_execution`).

    Returns:
        A `ScalePlan`.

    Raises:
        ValueError: a combination that cannot run (e.g. `--replicas` larger than the GPUs,
            `multi-worker` without a cluster, or the runtime already started).
    """
    if args.replicas and args.replicas > 1 and args.distribution in ("none", "multi-worker"):
        raise ValueError(
            f"--replicas {args.replicas} applies to --distribution mirrored (or auto); "
            f"--distribution {args.distribution} would ignore it."
        )
    backend = keras.backend.backend()
    if backend == "tensorflow":
        plan = _plan_tensorflow(args)
    elif backend == "jax":
        plan = _plan_jax(args)
    else:
        if args.distribution not in ("auto", "none") or (args.replicas or 1) > 1:
            raise ValueError(
                f"--distribution {args.distribution} / --replicas need the tensorflow or "
                f"jax backend, not {backend}"
            )
        plan = _make_plan(args, "none", gpus=0)
    keras.config.set_dtype_policy(plan.precision)
    return plan


def scale_plan(parser, args):
    """The run's `ScalePlan` from its parsed flags `args` (`configure_scale`), set up before
    any tensor exists; `parser.error` on scale flags that do not fit the cluster or the
    devices, and on `--max-minutes` with several workers."""
    try:
        plan = configure_scale(args)
    except ValueError as error:  # a scale flag that does not fit the cluster or devices
        parser.error(str(error))
    if getattr(args, "max_minutes", None) and plan.num_workers > 1:
        # Each worker's clock would stop it at its own step, and the others would wait
        # for it in the next all-reduce.
        parser.error("--max-minutes does not work with several workers (their clocks "
                     "could stop them at different steps); limit the run with --epochs.")
    return plan


def _make_plan(args, distribution, *, gpus, **fields):
    jit = {"on": True, "off": False}.get(args.jit_compile)
    if jit is None:
        jit = keras.backend.backend() == "jax" or gpus > 0
    return ScalePlan(
        distribution=distribution,
        precision=args.precision,
        jit_compile=jit,
        steps_per_execution=args.steps_per_execution,
        **{"device_kind": "GPU" if gpus else "CPU", **fields},
    )


def _resolve(args, gpus):
    """`auto` made concrete: mirrored over more than one GPU or logical device, else none."""
    if args.distribution != "auto":
        return args.distribution
    return "mirrored" if max(gpus, args.replicas or 1) > 1 else "none"


_TF_CONFIG_EXAMPLE = (
    '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
    '"task": {"type": "worker", "index": 0}}'
)


def _cluster():
    """`(worker addresses, this worker's index)` from `TF_CONFIG`; the chief is index 0.

    Raises:
        ValueError: `TF_CONFIG` is unset, not JSON, or not a cluster and a task of it; the
            message names `TF_CONFIG`.
    """
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise ValueError(
            f"--distribution multi-worker needs TF_CONFIG, e.g. {_TF_CONFIG_EXAMPLE}"
        )
    try:
        config = json.loads(text)
    except ValueError as error:
        raise ValueError(f"TF_CONFIG is not JSON ({error}); expected e.g. "
                         f"{_TF_CONFIG_EXAMPLE}") from None
    cluster = config.get("cluster", {}) if isinstance(config, dict) else None
    task = config.get("task", {}) if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise ValueError(f"TF_CONFIG must be an object with a \"cluster\" and a \"task\" "
                         f"object, e.g. {_TF_CONFIG_EXAMPLE}; received {text}")
    groups = [cluster.get(kind, []) for kind in ("chief", "worker")]
    if not all(isinstance(g, list) and all(isinstance(a, str) for a in g) for g in groups):
        raise ValueError(f"TF_CONFIG's cluster \"chief\" and \"worker\" must be lists of "
                         f"host:port strings; received {text}")
    addresses = groups[0] + groups[1]
    if not addresses or task.get("type") not in ("chief", "worker"):
        raise ValueError(f"TF_CONFIG needs a cluster of workers and a worker task: {text}")
    offset = 0 if task["type"] == "chief" else len(groups[0])
    index, count = task.get("index", 0), len(groups[0 if task["type"] == "chief" else 1])
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
        raise ValueError(f"TF_CONFIG's task index must be an integer from 0 to {count - 1} "
                         f"(its {task['type']}s); received {index!r}")
    return addresses, offset + index


def _plan_tensorflow(args):
    import tensorflow as tf

    gpus = gpu_names()
    distribution = _resolve(args, len(gpus))
    if distribution == "none":
        return _make_plan(args, "none", gpus=len(gpus))
    if distribution == "multi-worker":
        addresses, index = _cluster()
        strategy = _multi_worker_strategy(tf)
        return _make_plan(
            args, distribution, gpus=len(gpus), strategy=strategy,
            num_replicas=strategy.num_replicas_in_sync, num_workers=len(addresses),
            worker_index=index,
        )
    if gpus:
        count = args.replicas or len(gpus)
        if count > len(gpus):
            raise ValueError(f"--replicas {count}: only {len(gpus)} GPUs are visible")
        devices = [f"/gpu:{i}" for i in range(count)]
        kind = "GPU"
    else:
        count = args.replicas or 1
        _split_cpu_tensorflow(tf, count)
        devices = [f"/cpu:{i}" for i in range(count)]
        kind = "logical CPU" if count > 1 else "CPU"
    strategy = tf.distribute.MirroredStrategy(devices)
    return _make_plan(args, distribution, gpus=len(gpus), strategy=strategy,
                      num_replicas=count, device_kind=kind)


def _multi_worker_strategy(tf):
    """`MultiWorkerMirroredStrategy` as Keras 3's `fit` can use it.

    Before its first step, `fit` averages the first distributed batch over the workers
    (`strategy.reduce("MEAN", batch)`) only to learn its shapes and build the model; the
    collective strategy cannot reduce a nested batch, so `fit` fails (keras-team/keras
    #20585). Here a nested value reduces to this worker's own copy: the shapes are all
    `fit` needs, and the workers' batches may differ in shape (length buckets). Then
    `fit` averages each scalar log over `axis=0`, which a scalar does not have: a scalar
    is averaged as a whole. Every other value goes through the collective all-reduce.
    """

    class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        def reduce(self, reduce_op, value, axis):
            if isinstance(value, (tuple, list, dict)):
                return tf.nest.map_structure(
                    lambda part: self.experimental_local_results(part)[0], value
                )
            if axis is not None and self.experimental_local_results(value)[0].shape.rank == 0:
                axis = None
            return super().reduce(reduce_op, value, axis)

    return MultiWorkerMirroredStrategy()


def _check_cpu_replicas(count):
    if count > MAX_CPU_REPLICAS:
        raise ValueError(
            f"--replicas {count}: at most {MAX_CPU_REPLICAS} logical CPU devices (they share "
            f"this machine's {os.cpu_count()} cores; they are for tests and demos)"
        )


def _split_cpu_tensorflow(tf, count):
    _check_cpu_replicas(count)
    cpu = tf.config.list_physical_devices("CPU")[0]
    wanted = [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == count:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, wanted)
    except RuntimeError as error:
        raise ValueError(
            f"--replicas {count}: TensorFlow already started with "
            f"{len(tf.config.list_logical_devices('CPU'))} CPU device(s); call "
            "configure_scale before any tensor is made"
        ) from error


def _plan_jax(args):
    if args.distribution == "multi-worker":
        addresses, index = _initialize_jax_processes()
    else:
        addresses, index = [None], 0
        if (args.replicas or 1) > 1:
            _split_cpu_jax(args.replicas)
    import jax

    gpus = gpu_names()
    distribution = _resolve(args, len(gpus))
    if distribution == "none":
        return _make_plan(args, "none", gpus=len(gpus))
    devices = jax.devices() if distribution == "multi-worker" else jax.local_devices()
    if args.replicas and distribution == "mirrored":
        if args.replicas > len(devices):
            raise ValueError(f"--replicas {args.replicas}: only {len(devices)} devices are visible")
        devices = devices[: args.replicas]
    data_parallel = keras.distribution.DataParallel(
        devices=[f"{device.platform}:{device.id}" for device in devices]
    )
    keras.distribution.set_distribution(data_parallel)
    kind = "GPU" if gpus else ("host CPU" if len(devices) > 1 else "CPU")
    return _make_plan(
        args, distribution, gpus=len(gpus), keras_distribution=data_parallel,
        num_replicas=len(devices), num_workers=len(addresses), worker_index=index,
        device_kind=kind,
    )


def _split_cpu_jax(count):
    _check_cpu_replicas(count)
    import jax

    try:
        jax.config.update("jax_num_cpu_devices", count)
    except RuntimeError as error:
        raise ValueError(
            f"--replicas {count}: JAX already started with {jax.device_count()} device(s); "
            "call configure_scale first, or set "
            f"XLA_FLAGS=--xla_force_host_platform_device_count={count}"
        ) from error


def _initialize_jax_processes():
    """Starts JAX's multi-process runtime from `KERAS_DISTRIBUTION_*` or `TF_CONFIG`."""
    if os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES"):
        keras.distribution.initialize()
        import jax

        return [None] * jax.process_count(), jax.process_index()
    addresses, index = _cluster()
    keras.distribution.initialize(
        job_addresses=",".join(addresses), num_processes=len(addresses), process_id=index
    )
    return addresses, index
