"""What building the training state before `fit` saves: one trace of the training step.

Without a distribution strategy, Keras on TensorFlow creates the optimizer's slots and the
compiled metrics' variables inside the first trace of its training step, and TensorFlow
then traces the step a second time; `attention_layers.training.state.build_training_state`
builds them first (see its docstring). This script runs the same small
`train_translator.py` command in fresh processes, alternating:

- `reference`: `build_training_state` replaced by a function that does nothing (as before);
- `built`: the command as it is.

For each run it prints the wall time of the command's `main` (imports excluded), the
number of traces of Keras' step function (`one_step_on_data`: the training step, then the
validation step) and their seconds; then the
medians, the spread (min-max) and the ratio, with the load average before and after.

    python benchmarks/training_start.py                # 3 pairs of runs
    python benchmarks/training_start.py --repeats 1    # a quick look
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

COMMAND = [
    "--num-pairs", "200", "--layers", "1", "--model-dim", "8", "--heads", "2",
    "--feed-forward-dim", "16", "--batch-size", "64", "--max-length", "12", "--epochs", "2",
    "--no-attention-plots", "--no-export",
]

# Run in a fresh process: counts the step's traces, times `main`, prints one JSON line.
CHILD = r"""
import json, sys, time
from tensorflow.python.eager.polymorphic_function import tracing_compilation as tc
traces = []
original = tc._create_concrete_function
def counted(function_type, type_context, func_graph, tracing_options):
    start = time.perf_counter()
    result = original(function_type, type_context, func_graph, tracing_options)
    if tracing_options.name == "one_step_on_data":
        traces.append(time.perf_counter() - start)
    return result
tc._create_concrete_function = counted
import attention_layers.training.fitting as fitting
if sys.argv[1] == "reference":
    fitting.build_training_state = lambda model, dataset: False
import train_translator
start = time.perf_counter()
try:
    train_translator.main(sys.argv[2:])
except SystemExit:
    pass
print("RESULT " + json.dumps({"seconds": time.perf_counter() - start, "traces": traces}))
"""


def run(variant, output):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, variant, *COMMAND, "--output", output],
        cwd=root, capture_output=True, text=True, check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": root},
    )
    line = next(line for line in completed.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="pairs of runs (default 3)")
    args = parser.parse_args()
    print(f"command: train_translator.py {' '.join(COMMAND)}; load average {os.getloadavg()} "
          f"({os.cpu_count()} cores)", flush=True)
    results = {"reference": [], "built": []}
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats):
            order = ("reference", "built") if repeat % 2 == 0 else ("built", "reference")
            for variant in order:
                result = run(variant, f"{folder}/{variant}-{repeat}")
                results[variant].append(result)
                traces = ", ".join(f"{seconds:.1f}" for seconds in result["traces"])
                print(f"  {variant:9s} {result['seconds']:5.1f} s; step functions (training, then "
                      f"validation) traced "
                      f"{len(result['traces'])}x ({traces} s)", flush=True)
    medians = {}
    for variant, runs in results.items():
        seconds = [result["seconds"] for result in runs]
        medians[variant] = statistics.median(seconds)
        print(f"{variant:9s} median {medians[variant]:5.1f} s (min {min(seconds):.1f}, "
              f"max {max(seconds):.1f}, {len(seconds)} runs)")
    print(f"built / reference: {medians['built'] / medians['reference']:.2f}")
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
