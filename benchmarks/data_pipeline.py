"""Benchmark: the translation input pipeline on the full Tatoeba `spa.txt`.

Measures, as medians over repeats (each repeat a fresh pipeline with its own shuffle seed):

- sentence pairs per second through tokenization and batching (the first epoch, which
  normalizes, tokenizes and caches), and through a cached epoch; per wall-clock second
  and per CPU-second of this process (all threads), the figure that stays meaningful
  on a machine shared with other work;
- the fraction of padding in the batches (source, target_in and target_out ids), with
  length bucketing and without it (plain `padded_batch` of shuffled pairs, as training
  would see them; `spa.txt` is sorted by length, so unshuffled batches would hide padding).

Usage:

    ATTENTION_DATA_DIR=../shared/data python benchmarks/data_pipeline.py [--repeats 3]
"""

import argparse
import os
import pathlib
import statistics
import sys
import time

# The package's quiet start (imported first, before Keras) drops TensorFlow's start-up lines.
os.environ.setdefault("ATTENTION_LAYERS_QUIET_START", "1")

import attention_layers  # noqa: E402, F401

# isort: split
from attention_layers.data import load_spa_eng, make_translation_dataset, padding_fraction  # noqa: E402
from attention_layers.text import DEFAULT_MAX_LENGTH, WordTokenizer  # noqa: E402


def timed_epoch(dataset):
    """Wall-clock and CPU seconds (all threads of this process) to iterate over `dataset` once."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in dataset:
        pass
    return time.perf_counter() - wall, time.process_time() - cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=DEFAULT_MAX_LENGTH)
    args = parser.parse_args()

    data_dir = os.environ.get("ATTENTION_DATA_DIR")
    if not data_dir:
        sys.exit("Set ATTENTION_DATA_DIR to the folder holding spa.txt (../shared/data).")

    start = time.perf_counter()
    corpus = load_spa_eng(pathlib.Path(data_dir) / "spa.txt")
    pairs = corpus.train + corpus.validation + corpus.test
    print(
        f"spa.txt: {len(pairs):,} pairs ({len(corpus.train):,} train), read and split in {time.perf_counter() - start:.2f} s"
    )

    start = time.perf_counter()
    spanish = WordTokenizer.build([source for source, _ in corpus.train])
    english = WordTokenizer.build([target for _, target in corpus.train])
    print(
        f"word vocabularies from train: {spanish.vocabulary_size:,} Spanish, "
        f"{english.vocabulary_size:,} English tokens, built in {time.perf_counter() - start:.2f} s"
    )
    print(
        f"batch size {args.batch_size}, max length {args.max_length}, medians of {args.repeats} repeats"
    )

    throughputs = {"first": [], "cached": [], "plain": []}  # (pairs/s, pairs per CPU-second)
    padding = {"bucketed": [], "plain": []}
    for seed in range(args.repeats):
        options = dict(
            batch_size=args.batch_size, max_length=args.max_length, shuffle=True, seed=seed
        )
        bucketed = make_translation_dataset(pairs, spanish, english, **options)
        plain = make_translation_dataset(pairs, spanish, english, bucket_by_length=False, **options)
        for name, dataset in (("first", bucketed), ("cached", bucketed), ("plain", plain)):
            wall, cpu = timed_epoch(dataset)
            throughputs[name].append((len(pairs) / wall, len(pairs) / cpu))
        padding["bucketed"].append(padding_fraction(bucketed))
        padding["plain"].append(padding_fraction(plain))

    def medians(name):
        return [statistics.median(values) for values in zip(*throughputs[name], strict=True)]

    with_buckets, without_buckets = (
        statistics.median(padding[name]) for name in ("bucketed", "plain")
    )
    print(f"{'':46}{'pairs/s':>9}{'pairs/CPU-s':>13}{'padding':>9}")
    rows = (
        ("tokenize + batch, length buckets", "first", f"{with_buckets:.1%}"),
        ("cached epoch, length buckets", "cached", ""),
        ("tokenize + batch, no buckets (padded_batch)", "plain", f"{without_buckets:.1%}"),
    )
    for label, name, padding_text in rows:
        wall, cpu = medians(name)
        print(f"{label:46}{wall:>9,.0f}{cpu:>13,.0f}{padding_text:>9}")
    print(
        f"padding without / with buckets: {without_buckets / with_buckets:.1f}x "
        f"({without_buckets:.1%} -> {with_buckets:.1%})"
    )


if __name__ == "__main__":
    main()
