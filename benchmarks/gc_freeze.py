"""What freezing the imported objects for the garbage collector saves a command.

Our commands (`train_translator.py`, `train_classifier.py`, `python -m attention_layers
...`) call `gc.freeze()` once Keras has imported TensorFlow (`attention_layers/_start_up.py`,
`freeze_imported_objects`): the ~440,000 objects of that import are no longer walked by each
full collection during the run, nor by the one when the interpreter exits. This script runs
the same command with the freeze (`default`) and without it (`reference`,
`ATTENTION_LAYERS_GC_FREEZE=0`), alternating the two so that both see the same machine
load, and measures each process's CPU seconds (user + system, from `getrusage` of the
finished child): CPU time, unlike wall time, is barely moved by other jobs on these shared
cores. It prints each figure, the medians, the spread (min-max), the ratio and the load
average before and after.

    python benchmarks/gc_freeze.py                   # 5 pairs of a tiny 3-epoch translator run
    python benchmarks/gc_freeze.py --repeats 3 --command import   # the import alone
"""

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_RUN = [
    sys.executable, "train_translator.py", "--num-pairs", "200", "--layers", "1",
    "--model-dim", "8", "--heads", "2", "--feed-forward-dim", "16", "--batch-size", "64",
    "--max-length", "8", "--epochs", "3", "--patience", "0", "--no-attention-plots",
]
IMPORT = [sys.executable, "-c", "import attention_layers.training"]


def child_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(command, freeze, folder):
    env = {**os.environ, "ATTENTION_LAYERS_QUIET_START": "1",
           "ATTENTION_LAYERS_GC_FREEZE": "1" if freeze else "0"}
    if command is TINY_RUN:
        command = [*command, "--output", os.path.join(folder, "run")]
    before, start = child_cpu_seconds(), time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    shutil.rmtree(os.path.join(folder, "run"), ignore_errors=True)
    return child_cpu_seconds() - before, wall


def summary(values):
    return f"median {statistics.median(values):6.2f} (min {min(values):.2f}, max {max(values):.2f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="pairs of runs (default 5)")
    parser.add_argument("--command", choices=("tiny-run", "import"), default="tiny-run")
    args = parser.parse_args()
    command = TINY_RUN if args.command == "tiny-run" else IMPORT
    print(f"arguments: {vars(args)}; load average {os.getloadavg()} ({os.cpu_count()} cores)",
          flush=True)
    cpu = {"reference": [], "default": []}
    wall = {"reference": [], "default": []}
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats):
            # Alternate which goes first, so that neither always meets a warmer cache.
            order = ("reference", "default") if repeat % 2 == 0 else ("default", "reference")
            for name in order:
                seconds, elapsed = run_once(command, name == "default", folder)
                cpu[name].append(seconds)
                wall[name].append(elapsed)
                print(f"  {repeat}: {name:9s} {seconds:6.2f} CPU s, {elapsed:6.2f} s wall",
                      flush=True)
    for name in ("reference", "default"):
        print(f"{name:9s} CPU s {summary(cpu[name])}; wall s {summary(wall[name])}")
    ratio = statistics.median(cpu["default"]) / statistics.median(cpu["reference"])
    print(f"ratio default / reference (CPU s, medians): {ratio:.3f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
