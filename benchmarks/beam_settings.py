"""Validation BLEU of a finished spa-eng translator run for several beam widths and length
penalties: whether the decoding settings are worth tuning.

The run's folder (`train_translator.py --dataset spa-eng --output RUN`) gives the model, its
vocabularies and, through `config.json`, the data file and the split's seed. The same 3,000
validation pairs as `translation_quality.py` are decoded (a seeded choice), never test
pairs; each setting is `beam:alpha` (`alpha`, the GNMT length penalty; a beam of 1 is
greedy decoding and ignores it).

    python benchmarks/beam_settings.py /work/fullrun/seed0 --settings 4:0.6 4:0 4:1.0 4:1.5 8:1.0
"""

import argparse
import os
import pathlib
import time

# The package's quiet start (imported first, before Keras) drops TensorFlow's start-up lines.
os.environ.setdefault("ATTENTION_LAYERS_QUIET_START", "1")

import attention_layers  # noqa: E402

# isort: split
from translation_quality import validation_sample  # noqa: E402  (this folder, first on the path)

from attention_layers.data import load_spa_eng  # noqa: E402
from attention_layers.training import evaluate_bleu  # noqa: E402
from attention_layers.training.saving import read_finished_run  # noqa: E402
from attention_layers.training.tasks.translation import TranslationTask  # noqa: E402


def setting(text):
    beam, _, alpha = text.partition(":")
    try:
        return int(beam), float(alpha or 0.6)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected BEAM:ALPHA, e.g. 4:0.6; got {text!r}") from None


def read_run(run):
    """The `TranslationConfig` of the run in folder `run` (its `config.json`, with the
    values that a run written before a flag lacks, as an export reads it) and its
    tokenizers (each language's case as the run chose it)."""
    _, config, tokenizers = read_finished_run(run, TranslationTask())
    return config, tokenizers


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="the --output folder of a finished spa-eng run")
    parser.add_argument("--settings", nargs="+", type=setting, default=[(4, 0.6)],
                        metavar="BEAM:ALPHA", help="decoding settings (default 4:0.6, the "
                        "preset's)")
    parser.add_argument("--data", help="spa.txt, if not where the run's config says")
    args = parser.parse_args()
    run = pathlib.Path(args.run)
    config, tokenizers = read_run(run)
    if config.dataset != "spa-eng":
        parser.error(f"{run} is a --dataset {config.dataset} run; this needs spa-eng")
    model = attention_layers.load_model(run / "translator.keras")
    corpus = load_spa_eng(args.data or config.data, seed=config.seed)
    validation = validation_sample(corpus)
    print(f"{run}: {len(validation)} validation pairs (seed {config.seed}'s split); load "
          f"average {', '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    for beam, alpha in args.settings:
        start = time.perf_counter()
        bleu, _, _ = evaluate_bleu(model, *tokenizers, validation, max_length=config.max_length,
                                   beam_width=beam, length_penalty=alpha)
        print(f"beam {beam}, length penalty {alpha}: BLEU {bleu.score:.2f} ({bleu}; "
              f"{time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
