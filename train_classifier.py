"""Train a text classifier with attention pooling, then show which words decided.

    python train_classifier.py                                   # generated corpus, minutes
    python train_classifier.py --model bigru --output runs/bigru
    python train_classifier.py --dataset sst2 --data path/to/SST-2
    python train_classifier.py --train texts.csv --class-weight balanced  # your labels, N classes
    python train_classifier.py --resume                          # after an interruption
    python train_classifier.py --overwrite                       # a new run in a used folder
    python train_classifier.py --dataset sst2 --data path/to/SST-2 --ensemble 1 \
        --bigram-buckets 16381 --teacher runs/classifier-sst2 --output runs/student  # distil it

The run writes under `--output` (default `runs/classifier-DATASET`: `runs/classifier-builtin`,
`runs/classifier-sst2`; with `--train`, `runs/classifier-files`), one run per folder:

    config.json             the flags of the run (`--resume` reads them back)
    vocab.txt               the tokenizer's vocabulary, one token per line
    checkpoints/            weights + optimizer state after every epoch (for --resume)
    training_log.csv        one line of loss and accuracy per epoch
    logs/                   TensorBoard (`tensorboard --logdir OUTPUT/logs`)
    attention/              the pooling attention of two validation sentences, every epoch
    classifier.keras        the trained model (best validation loss)
    serving/                the SavedModel export (strings in, probabilities out)
    results.json            validation (and test) accuracy and the most attended words
                            (with --train also macro-F1, per-class scores, confusion matrices)
    confusion_matrix.png    with --train: the test split's confusion matrix

With `--ensemble M` (M > 1) each member trains in `member_I/` (its checkpoints/,
training_log.csv, logs/, attention/), and `classifier.keras` and `serving/` hold their mean
(`ClassifierEnsemble`); `--resume` keeps the members that finished. With `--teacher RUN`
the model trains against the mean of each label and RUN's probability (distillation) and
reads RUN's `vocab.txt` (RUN cannot be `--output`).

A fresh run refuses a folder that holds a run: `--resume` continues it, `--overwrite`
removes its files (those above, nothing else) first. How a run that cannot finish ends (one
line saying what was kept, exit code 2, 1 or 130): docs/training.md, "Nothing lost".

Each dataset has its own defaults (`PRESETS` in
`attention_layers/training/tasks/classification.py`); flags override them. For SST-2 the
validation split is GLUE's dev set (the test labels are not public). What is trained is
that module's `ClassificationTask`; how, the runner's (`attention_layers/training/runner.py`).
"""

import os

# Before the package is imported: it asks for a quiet start (`attention_layers/_start_up.py`).
if __name__ == "__main__":
    os.environ["ATTENTION_LAYERS_QUIET_START"] = "1"

from attention_layers.training import runner  # noqa: E402
from attention_layers.training.tasks.classification import ClassificationTask  # noqa: E402

build_parser, main = runner.entry_points(ClassificationTask())

if __name__ == "__main__":
    main()
