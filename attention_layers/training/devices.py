"""The devices a run trains on: the one place GPUs are looked for, the device line a command
prints, and exact float32 arithmetic for tests."""

import os

import keras


def gpu_names():
    """The names of this machine's GPUs that the current Keras backend can use (empty on a
    CPU machine): the one place GPUs are looked for."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return [
            tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
            for gpu in tf.config.list_physical_devices("GPU")
        ]
    if backend == "jax":
        import jax

        return [device.device_kind for device in jax.local_devices() if device.platform == "gpu"]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


def describe_device():
    """One line saying what training runs on: the GPU(s) if any, else the CPU cores.

    Keras places work on the first GPU by itself when one is visible, so this only
    reports; it is printed so that a slow run on a CPU is not a surprise.

    Example:

    >>> describe_device()
    'Training on CPU (2 cores; no GPU found), Keras 3.15.0 with the tensorflow backend'
    """
    gpus = gpu_names()
    if gpus:
        where = f"GPU ({', '.join(gpus)})"
    else:
        where = f"CPU ({os.cpu_count()} cores; no GPU found)"
    return f"Training on {where}, Keras {keras.__version__} with the {keras.backend.backend()} backend"


def exact_float32():
    """Makes float32 matrix products exact float32 on GPUs (no TF32, no bfloat16 passes).

    Ampere and later GPUs multiply float32 matrices in TF32 (10-bit mantissa) by default,
    which is right for training but moves results by about 1e-3: tests that compare to
    tight tolerances call this first. It changes nothing on a CPU.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_tensor_float_32_execution(False)
    elif backend == "jax":
        import jax

        jax.config.update("jax_default_matmul_precision", "highest")
    elif backend == "torch":
        import torch

        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
