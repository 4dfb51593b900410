"""What `train_classifier.py` trains: a text classifier with attention pooling, on the
generated sentiment corpus, SST-2, or the user's labelled files (`--train`, any labels).

The runner (`attention_layers.training.runner`) does the training; this `Task` gives the
corpus, the tokenizer, the model (or `--ensemble` of models), the evaluation (accuracy, the
most attended words, the attention on the deciding words; on files macro-F1, a per-class
table and a confusion matrix) and the export. `--teacher` distils a finished run (the SST-2
ensemble) into the model trained. Its flags, presets and typed config are in
`classification_flags.py`, what a run on the user's files adds in `labelled_files.py`.
"""

import dataclasses
import pathlib

import keras
import numpy as np
import tensorflow as tf

from attention_layers.data import (
    ChecksumError,
    CorpusFormatError,
    generate_sentiment_corpus,
    load_sst2,
    make_classification_datasets,
)
from attention_layers.models import BiGRUClassifier, ClassifierEnsemble, TransformerClassifier
from attention_layers.text import WordTokenizer
from attention_layers.text.conversions import make_token_ids, token_strings
from attention_layers.text.tokenizers import VocabularyError
from attention_layers.training.distillation import taught_corpus
from attention_layers.training.evaluation import (
    accuracy,
    predicted_classes,
    report_deciding,
    report_samples,
)
from attention_layers.training.flags import UsageError
from attention_layers.training.metrics import class_crossentropy, thresholded_accuracy
from attention_layers.training.schedules import model_adam
from attention_layers.training.tasks import labelled_files
from attention_layers.training.tasks.base import (
    Evaluation,
    Member,
    Task,
    TaskData,
    load_tokenizers,
    overlong_report,
    preset_note,
)
from attention_layers.training.tasks.classification_flags import (  # noqa: F401 (re-exported)
    RUN_DEFINING,
    ClassificationConfig,
    ClassificationFlags,
    check_sst2_folder,
)
from attention_layers.training.tasks.classification_presets import PRESETS  # noqa: F401 (re-exported)
from attention_layers.training.tasks.classification_rule import describe_choice
from attention_layers.training.tasks.labelled_files import (
    CONFUSION_MATRIX,
    balanced_class_weights,
    files_key,
)
from attention_layers.utils.keras_files import ModelFileError

SAMPLES = 5


def weights_only(model):
    """A copy of a trained classifier without its optimizer (saving it stores the weights)."""
    copy = type(model).from_config(model.get_config())
    copy.build()
    copy.set_weights(model.get_weights())
    return copy


def combine(models):
    """The ensemble of the trained `models` (`--ensemble M`), without their optimizers."""
    # Copies without the optimizers: a member's Adam moments would triple the file. The
    # ensemble is not compiled either, so that its file holds no optimizer at all.
    model = ClassifierEnsemble([weights_only(member) for member in models], name="ensemble")
    print(f"\nEnsemble of {len(models)} classifiers, {model.count_params():,} parameters")
    return model


def headline(results):
    """The run's main figures in a few words."""
    text = f"validation accuracy {results['validation_accuracy']:.4f}"
    if "validation_macro_f1" in results:
        text += f", macro-F1 {results['validation_macro_f1']:.4f}"
    if "deciding_attention" in results:
        text += f", {results['deciding_attention']:.0%} of the attention on deciding words"
    return text


class ClassificationTask(Task):
    """Text classification: Transformer encoder or BiGRU with attention pooling."""

    name = "classifier"
    config_class = ClassificationConfig
    description = (
        "Train a text classifier with attention pooling (Transformer encoder or BiGRU) on "
        "the generated sentiment corpus, SST-2 or your own labelled files (--train, any "
        "labels), report validation accuracy and the words with the most attention, and "
        "save the model."
    )
    default_output = "runs/classifier-{dataset}"
    files_output = "runs/classifier-files"
    ensembles = True
    recurrent_model = "bigru"
    example = "sentences"
    data_errors = (CorpusFormatError, ChecksumError, VocabularyError, ModelFileError)
    vocabulary_files = ("vocab.txt",)
    serving_request = '{"instances": ["The acting was not boring."]}'

    def __init__(self):
        # Its own flags object: a fresh run on files reads them there (for the preset), and
        # `load_corpus` takes that corpus instead of reading the files a second time.
        self.flags = ClassificationFlags()

    def prepare_data(self, config, settings, output, ready_folder):
        """The labelled corpus, its tokenizer (learned, the teacher's, or read back from
        `output` when resuming) and the report; the preset read the data in `resolve`."""
        corpus = self.load_corpus(config)
        ready_folder()
        tokenizers = self.tokenizers(config, corpus, output if settings.resume else None)
        return TaskData(corpus, tokenizers, self.describe_data(config, corpus, tokenizers))

    def load_corpus(self, config):
        corpus = self._labelled_corpus(config)
        if not config.teacher:
            return corpus
        return taught_corpus(corpus, config.teacher, config.teacher_weight, config.max_length)

    def _labelled_corpus(self, config):
        if config.dataset == "files":
            return self._files_corpus_checked(config)
        if config.dataset == "builtin":
            return generate_sentiment_corpus(config.num_examples, seed=config.seed)
        if config.data is not None:
            check_sst2_folder(config.data)
        corpus = load_sst2(config.data, strict=True)
        for name in ("train", "validation"):
            if not corpus.split(name):
                raise UsageError(f"--data {config.data}: the {name} split is empty.")
        labels = sorted({label for _, label in corpus.train})
        if len(labels) < 2:
            raise UsageError(
                f"--data {config.data}: every sentence of train.tsv has label {labels[0]}; a "
                "classifier learns from both labels (0 and 1)."
            )
        return corpus

    def _files_corpus_checked(self, config):
        ahead, self.flags.read_ahead = self.flags.read_ahead, None
        # The fresh run whose flags read these files: its corpus; else read them.
        same_files = ahead is not None and files_key(ahead[0]) == files_key(config)
        return labelled_files.checked_corpus(config, ahead[1] if same_files else None)

    def tokenizers(self, config, corpus=None, folder=None):
        if folder is not None:
            return load_tokenizers(WordTokenizer, folder, self.vocabulary_files)
        if config.teacher:  # the teacher's ids: it labels the student's text
            return (WordTokenizer.load(pathlib.Path(config.teacher) / "vocab.txt"),)
        texts = [text for text, _ in corpus.train]
        return (WordTokenizer.build(
            texts, max_vocabulary_size=config.vocabulary_size, min_count=config.min_count
        ),)

    def describe_data(self, config, corpus, tokenizers):
        labelled = bool(corpus.test) and corpus.test[0][1] is not None
        classes = ""
        if config.classes:
            classes = f"; {len(config.classes)} classes ({', '.join(config.classes)})"
        report = overlong_report(
            f"Data: {config.dataset}, {len(corpus.train)} / {len(corpus.validation)} / "
            f"{len(corpus.test)} train / validation / test sentences"
            + ("" if labelled else " (test unlabelled)")
            + f"; vocabulary of {tokenizers[0].vocabulary_size} words{classes}"
            + preset_note(config.data_preset, describe_choice), corpus,
        )
        weights = self._class_weights(config, corpus)
        if weights is not None:
            names = config.classes or ("0", "1")
            report.record["class_weights"] = dict(zip(names, weights, strict=True))
            print("Class weights (--class-weight balanced): " + ", ".join(
                f"{name} {weight:.3f}" for name, weight in zip(names, weights, strict=True)))
        return report

    def _class_weights(self, config, corpus):
        if config.class_weight != "balanced":
            return None
        return balanced_class_weights([label for _, label in corpus.train], config.num_classes)

    def member(self, config, data, run):
        """A classifier (one member of an ensemble), the sentences it learns from (weighted
        by class with `--class-weight balanced`) and the plots of its pooling attention."""
        datasets = self.make_datasets(config, data.corpus, data.tokenizers, run.seed,
                                      run.batch_multiple)
        model = self.build_model(config, data.tokenizers)
        plots = run.attention_plots and self.attention_callback(
            config, data.corpus, datasets, data.tokenizers, run.folder)
        return Member(model, datasets, self.compile_args(config, **run.averaging), plots or None)

    def make_datasets(self, config, corpus, tokenizers, seed, batch_multiple):
        datasets = make_classification_datasets(
            corpus, tokenizers[0], batch_size=config.batch_size, max_length=config.max_length,
            seed=seed, batch_multiple=batch_multiple,
        )
        weights = self._class_weights(config, corpus)
        if weights is None:
            return datasets
        table = tf.constant(weights, tf.float32)  # (N,): the loss weight of each class
        return dataclasses.replace(datasets, train=datasets.train.map(
            lambda tokens, labels: (tokens, labels, tf.gather(table, labels))
        ))

    def build_model(self, config, tokenizers):
        bigrams = config.bigram_buckets or None
        pooling_heads = config.pooling_heads or 1
        if config.model == "transformer":
            model = TransformerClassifier(
                tokenizers[0].vocabulary_size, num_layers=config.layers,
                model_dim=config.model_dim, num_heads=config.heads,
                feed_forward_dim=config.feed_forward_dim, dropout=config.dropout,
                bigram_buckets=bigrams,
                # One query is Yang et al.'s pooling; a run from before the flag had one.
                pooling_heads=pooling_heads if pooling_heads > 1 else None,
                num_classes=config.num_classes,
            )
        else:
            model = BiGRUClassifier(
                tokenizers[0].vocabulary_size, embedding_dim=config.embedding_dim,
                units=config.units, attention_units=config.attention_units,
                dropout=config.dropout, bigram_buckets=bigrams,
                num_classes=config.num_classes,
            )
        model(np.ones((1, 2), "int32"))
        return model

    def compile_args(self, config, **averaging):
        if config.num_classes > 2:
            return {
                "optimizer": model_adam(config, **averaging),
                "loss": class_crossentropy(config.num_classes, config.label_smoothing or 0.0),
                "metrics": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            }
        return {
            "optimizer": model_adam(config, **averaging),
            "loss": keras.losses.BinaryCrossentropy(
                label_smoothing=config.label_smoothing or 0.0
            ),
            "metrics": [keras.metrics.MeanMetricWrapper(thresholded_accuracy, name="accuracy")],
        }

    def attention_callback(self, config, corpus, datasets, tokenizers, folder):
        """Plots the pooling attention of two validation sentences after every epoch."""
        from attention_layers.visualization import AttentionPlotCallback

        texts = [text for text, _ in corpus.validation[:2]]
        ids = make_token_ids(tokenizers[0], texts, config.max_length)
        names = tuple(config.classes or ("negative", "positive"))

        def pooling_only(model, inputs):
            # The self-attention grids would triple the plotting time for little insight.
            return {"pooling": model.get_attention_weights(inputs)["pooling"]}

        def predicted(model, inputs):  # e.g. "positive (0.93)", P(positive) in brackets
            probabilities = keras.ops.convert_to_numpy(model(inputs, training=False))
            if probabilities.shape[-1] == 1:
                return [f"{names[int(p >= 0.5)]} ({p:.2f})" for p in probabilities.reshape(-1)]
            return [f"{names[index]} ({row[index]:.2f})" for row, index in
                    zip(probabilities, predicted_classes(probabilities), strict=True)]

        plots = AttentionPlotCallback(
            ids, folder / "attention", source_tokens=token_strings(tokenizers[0], ids),
            log_dir=folder / "logs" / "attention", attention_fn=pooling_only,
            true_labels=[names[int(label)] for _, label in corpus.validation[:2]],
            predicted_labels=predicted,
        )
        # `evaluate` puts the confusion matrix, known after training, under its view.
        self._attention_plots = (config, plots)
        return plots

    def final_model(self, config, models):
        """The trained model without its optimizer, or the ensemble of the members; with
        `--quantize-embeddings`, its embedding tables quantized."""
        # classifier.keras is for inference and serving (training state is in checkpoints/):
        # without Adam's two moments per weight it is a third of the size.
        model = weights_only(models[0]) if len(models) == 1 else combine(models)
        mode = config.quantize_embeddings
        if mode:
            for classifier in getattr(model, "members", [model]):
                classifier.quantize_embeddings(mode)
            print(f"Embedding tables quantized to {mode}")
        return model

    def conclude(self, config, members, data, datasets):
        """The model that is saved (`final_model`: one, or the ensemble) and its accuracy."""
        model = self.final_model(config, members)
        return model, self.evaluate(config, model, members, data.corpus, data.tokenizers,
                                    datasets)

    def evaluate(self, config, model, members, corpus, tokenizers, datasets):
        results = {}
        # Only train is shuffled (by seed): every member's validation and test splits match.
        if len(members) > 1:
            results["member_validation_accuracy"] = [
                accuracy(member, datasets.validation) for member in members
            ]
            print("Validation accuracy of each member: " + ", ".join(
                f"{value:.4f}" for value in results["member_validation_accuracy"]
            ))
        results["validation_accuracy"] = accuracy(model, datasets.validation)
        print(
            f"Validation accuracy: {results['validation_accuracy']:.4f} on "
            f"{len(corpus.validation)} sentences"
            + (" (SST-2 dev)" if config.dataset == "sst2" else "")
        )
        if config.quantize_embeddings:  # what the quantization cost
            trained = members[0] if len(members) == 1 else ClassifierEnsemble(members)
            results["validation_accuracy_float32_tables"] = accuracy(
                trained, datasets.validation
            )
            print(f"  with float32 embedding tables (before --quantize-embeddings): "
                  f"{results['validation_accuracy_float32_tables']:.4f}")
        if corpus.test and corpus.test[0][1] is not None:
            results["test_accuracy"] = accuracy(model, datasets.test)
            print(f"Test accuracy: {results['test_accuracy']:.4f} on {len(corpus.test)} "
                  "sentences")
        files = {}
        if config.classes:
            files = labelled_files.class_scores(config, model, datasets, results)
        files.update(self._view_with_matrix(config, members, files))
        results["samples"] = report_samples(model, corpus, tokenizers[0], config.max_length,
                                            SAMPLES, classes=config.classes)
        if getattr(corpus, "deciding_tokens", None):
            results.update(report_deciding(model, corpus, tokenizers[0], config.max_length))
        samples = results["samples"]
        return Evaluation(results, headline(results), files,
                          example=samples[0]["text"] if samples else None)

    def _view_with_matrix(self, config, members, files):
        """The run's attention view (`attention/attention.html`) with the confusion matrix
        of `files` under it, when this run (one model, not an ensemble) wrote both."""
        plotted, self._attention_plots = getattr(self, "_attention_plots", None), None
        if (plotted is None or plotted[0] is not config or len(members) > 1
                or CONFUSION_MATRIX not in files):
            return {}
        return labelled_files.view_with_matrix(plotted[1], files[CONFUSION_MATRIX])

    def export(self, config, model, tokenizers, path):
        from attention_layers.export import export_classifier

        return export_classifier(model, tokenizers[0], path, max_input_tokens=config.max_length,
                                 classes=config.classes)

