"""Train a Spanish -> English translator with attention, then report BLEU and export it.

    python train_translator.py                                   # generated corpus, minutes
    python train_translator.py --model rnn --attention luong-general --output runs/rnn
    python train_translator.py --dataset spa-eng --data path/to/spa.txt
    python train_translator.py --resume                          # after an interruption
    python train_translator.py --overwrite                       # a new run in a used folder

The run writes under `--output` (default `runs/translator-DATASET`: `runs/translator-builtin`,
`runs/translator-spa-eng`), one run per folder:

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

A fresh run refuses a folder that holds a run: `--resume` continues it, `--overwrite`
removes its files (those above, nothing else) first. How a run that cannot finish ends (one
line saying what was kept, exit code 2, 1 or 130): docs/training.md, "Nothing lost".

The generated corpus has fixed defaults; a real corpus (spa-eng, your --train files) gets
them from its training split's size and lengths (docs/training.md, "How the preset is
chosen"); flags override them. What is trained is that module's `TranslationTask`; how, the runner's
(`attention_layers/training/runner.py`).
"""

import os

# Before the package is imported: it asks for a quiet start (`attention_layers/_start_up.py`).
if __name__ == "__main__":
    os.environ["ATTENTION_LAYERS_QUIET_START"] = "1"

from attention_layers.training import runner  # noqa: E402
from attention_layers.training.tasks.translation import TranslationTask  # noqa: E402

build_parser, main = runner.entry_points(TranslationTask())

if __name__ == "__main__":
    main()
