"""Train a Spanish -> English translator with attention, then report BLEU and export it.

    python train_translator.py                                   # generated corpus, minutes
    python train_translator.py --model rnn --attention luong-general
    python train_translator.py --dataset spa-eng --data ../shared/data/spa.txt
    python train_translator.py --resume                          # after an interruption

The run writes under `--output` (default `runs/translator`):

    config.json             the flags of the run (`--resume` reads them back)
    source_vocab.txt        the tokenizers' vocabularies, one token per line
    target_vocab.txt
    checkpoints/            weights + optimizer state after every epoch (for --resume)
    training_log.csv        one line of losses and accuracies per epoch
    logs/                   TensorBoard (`tensorboard --logdir OUTPUT/logs`)
    attention/              cross-attention of two validation sentences, every epoch
    translator.keras        the trained model (best validation loss)
    serving/                the SavedModel export (strings in, strings out)
    results.json            test BLEU and sample translations

Each dataset has its own defaults (`PRESETS` in `attention_layers/training/translation_task.py`);
flags override them. What is trained is that module's `TranslationTask`; how, the runner's
(`attention_layers/training/runner.py`).
"""

import importlib.util
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow's start-up lines come while it is imported: the filter that drops them starts
# first, loaded from its file (importing the package would import TensorFlow).
_console = importlib.util.spec_from_file_location(
    "_console", os.path.join(os.path.dirname(os.path.abspath(__file__)), "attention_layers",
                             "training", "console.py"))
_console.loader.exec_module(console := importlib.util.module_from_spec(_console))
console.drop_start_up_noise()

from attention_layers.training import runner  # noqa: E402
from attention_layers.training.translation_task import TranslationTask  # noqa: E402

TASK = TranslationTask()


def build_parser():
    return runner.build_parser(TASK)


def main(argv=None):
    """Trains, evaluates, saves and exports; returns the results (`results.json`)."""
    return runner.run_command(TASK, argv)


if __name__ == "__main__":
    main()
    sys.exit(0)
