"""A third task in one file: reversing a sequence of symbols with a tiny Transformer.

The task below is all a new task needs: its typed config (a `TaskConfig` dataclass of the
flags it reads), its flags (a `TaskFlags`: the flag groups and presets, and the one step
that turns the parsed flags into the config), a `Task` subclass (one hook a stage: the
data, what each model trains with, the ending, the export) and, at the bottom, the script
that runs it. The
test drives it through the runner end to end: fit, a run stopped right after its first
checkpoint, `--resume`, evaluation, the `.keras` file, and the serving export written
from the run's folder alone (`config.json` names the task by its import path; nothing
central lists the tasks).
"""

import csv
import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf

import attention_layers
from attention_layers.data import make_translation_datasets
from attention_layers.data.corpora import TranslationCorpus
from attention_layers.decoding import greedy_decode
from attention_layers.models import TransformerTranslator
from attention_layers.text import WordTokenizer
from attention_layers.training import checkpoints, command_line, runner, saving
from attention_layers.training.configs import TaskConfig
from attention_layers.training.evaluation import evaluate_bleu
from attention_layers.training.flags import seed_int
from attention_layers.training.metrics import masked_accuracy, masked_loss
from attention_layers.training.schedules import transformer_adam
from attention_layers.training.tasks import base

SYMBOLS = "abcdefgh"


def reversal_corpus(count, seed):
    """`count` pairs ("c a b", "b a c") of 2 to 5 symbols, split 80 / 10 / 10."""
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(count):
        words = [SYMBOLS[i] for i in rng.integers(0, len(SYMBOLS), rng.integers(2, 6))]
        pairs.append((" ".join(words), " ".join(reversed(words))))
    train, validation = int(0.8 * count), int(0.9 * count)
    return TranslationCorpus(train=pairs[:train], validation=pairs[train:validation],
                             test=pairs[validation:])


@dataclasses.dataclass(frozen=True)
class ReversalConfig(TaskConfig):
    """The flags that the task reads (its own and the training flags it uses)."""

    num_examples: int = 200
    model_dim: int = 16
    max_length: int = 8
    seed: int = 0
    batch_size: int = 16
    learning_rate: float = 1e-2
    warmup_steps: int = 5


class ReversalFlags(base.TaskFlags):
    """Its flags: added to the parser, then the preset filled in and the config made."""

    presets = {"builtin": {"num_examples": 200, "model_dim": 16, "epochs": 2, "batch_size": 16,
                           "max_length": 8, "learning_rate": 1e-2, "warmup_steps": 5,
                           "patience": 0, "weight_averaging": 0, "label_smoothing": 0.0}}
    run_defining = ("num_examples", "model_dim", "max_length", "seed", "batch_size",
                    "learning_rate", "warmup_steps", "precision", "weight_averaging")

    def add(self, parser):
        data = command_line.add_dataset_flags(
            parser, self.presets, dataset_help="the generated sequences.", data_help="unused.",
            size_flag="--num-examples", size_help="sequences to generate (preset).")
        command_line.add_count_flags(data, {"--max-length": "tokens per sequence (preset).",
                                            "--model-dim": "d_model (preset)."})
        data.add_argument("--seed", type=seed_int, default=0)

    def resolve(self, parser, args, given):
        if not args.resume:
            command_line.fill_preset(args, self.presets[args.dataset])
        return ReversalConfig.from_flags(args)


class ReversalTask(base.Task):
    """Reverse a sequence of symbols: a Transformer translator, scored by exact match."""

    name = "reverser"
    config_class = ReversalConfig
    flags = ReversalFlags()
    description = "Train a Transformer to reverse a sequence of symbols."
    default_output = "runs/reverser-{dataset}"
    example = "sequences"
    vocabulary_files = ("vocab.txt",)

    def prepare_data(self, config, settings, output, ready_folder):
        corpus = reversal_corpus(config.num_examples, config.seed)
        ready_folder()
        tokenizers = self.tokenizers(config, corpus, output if settings.resume else None)
        report = base.overlong_report(f"Data: {len(corpus.train)} training sequences", corpus)
        return base.TaskData(corpus, tokenizers, report)

    def tokenizers(self, config, corpus=None, folder=None):
        if folder is not None:
            return base.load_tokenizers(WordTokenizer, folder, self.vocabulary_files)
        return (WordTokenizer.build([text for pair in corpus.train for text in pair]),)

    def member(self, config, data, run):
        tokenizer, size = data.tokenizers[0], data.tokenizers[0].vocabulary_size
        datasets = make_translation_datasets(
            data.corpus, tokenizer, tokenizer, batch_size=config.batch_size,
            max_length=config.max_length, seed=run.seed, batch_multiple=run.batch_multiple)
        model = TransformerTranslator(size, size, num_layers=1, model_dim=config.model_dim,
                                      num_heads=2, feed_forward_dim=2 * config.model_dim,
                                      dropout=0.0)
        model((np.ones((1, 2), "int32"), np.ones((1, 2), "int32")))
        optimizer = transformer_adam(config.learning_rate, config.model_dim,
                                     config.warmup_steps, **run.averaging)
        return base.Member(model, datasets, {"optimizer": optimizer, "loss": masked_loss(),
                                             "metrics": [masked_accuracy]})

    def conclude(self, config, members, data, datasets):
        (model,), tokenizer = members, data.tokenizers[0]
        _, hypotheses, references = evaluate_bleu(model, tokenizer, tokenizer, data.corpus.test,
                                                  max_length=config.max_length)
        matches = [h == r for h, r in zip(hypotheses, references, strict=True)]
        results = {"exact_match": float(np.mean(matches)), "translations": hypotheses}
        return model, base.Evaluation(results, f"exact match {results['exact_match']:.2f}")

    def export(self, config, model, tokenizers, path):
        from attention_layers.export import export_translator

        return export_translator(model, tokenizers[0], tokenizers[0], path,
                                 max_input_tokens=config.max_length,
                                 max_output_length=config.max_length)


build_parser, main = runner.entry_points(ReversalTask())  # the task's script

if __name__ == "__main__":
    main()


# --- the test -----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_third_task_is_one_file_and_runs_end_to_end(tmp_path, capsys, monkeypatch):
    output = tmp_path / "run"
    argv = ["--output", str(output), "--no-attention-plots", "--no-export"]
    after_epoch = checkpoints.EpochCheckpoint.on_epoch_end

    def stopped_after_the_first_checkpoint(self, epoch, logs=None):
        after_epoch(self, epoch, logs)
        raise KeyboardInterrupt  # as a kill right after the checkpoint was written

    monkeypatch.setattr(checkpoints.EpochCheckpoint, "on_epoch_end",
                        stopped_after_the_first_checkpoint)
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 130
    assert "continues with epoch 2" in capsys.readouterr().err
    config = json.loads((output / "config.json").read_text())
    assert config["task"] == "tests.training.test_third_task:ReversalTask"
    assert config["task"] == base.task_path(ReversalTask())
    assert json.loads((output / "checkpoints" / "state.json").read_text())["epoch"] == 1

    monkeypatch.undo()
    results = main(["--resume", "--output", str(output), "--no-attention-plots", "--no-export"])
    out = capsys.readouterr().out
    assert "Resuming after epoch 1" in out
    assert json.loads((output / "results.json").read_text()) == results
    state = json.loads((output / "checkpoints" / "state.json").read_text())
    assert state["epoch"] == 2
    with open(output / "training_log.csv", newline="") as log:
        losses = [float(row["loss"]) for row in csv.DictReader(log)]
    # Epoch 1's row was never written (the run stopped inside its checkpoint's callback);
    # the resumed epoch 2 learned: its loss is below the untrained model's.
    assert len(losses) == 1 and losses[0] < state["initial_loss"]

    # The saved model decodes what evaluation reported.
    model = attention_layers.load_model(output / "reverser.keras")
    tokenizer = WordTokenizer.load(output / "vocab.txt")
    test = reversal_corpus(200, 0).test
    source = tokenizer.tokenize([source for source, _ in test[:4]], max_length=8).to_tensor()
    decoded = tokenizer.detokenize(greedy_decode(model, source, 8, return_attention=False))
    assert [text.decode() for text in decoded.numpy()] == results["translations"][:4]

    # The run's folder alone writes the export (config.json names the task), which serves
    # the same translations.
    export = saving.export_run(output)
    assert export == output / "serving" / "1"
    served = tf.saved_model.load(str(export)).signatures["serving_default"](
        text=tf.constant([source for source, _ in test[:4]]))["translation"]
    assert [text.decode() for text in served.numpy()] == results["translations"][:4]
