"""What `train_translator.py` trains: a translator between any two languages (Spanish ->
English by default, or the user's files in either direction), scored by test BLEU.

The runner (`attention_layers.training.runner`) does the training; this `Task` gives the
corpus, the tokenizers, the model, the evaluation and the export. Its flags, presets and
typed config are in `translation_flags.py`.
"""

import dataclasses
import pathlib

import numpy as np

from attention_layers.data import (
    ChecksumError,
    CorpusFormatError,
    generate_translation_corpus,
    load_spa_eng,
    load_translation_files,
    make_translation_datasets,
    reverse_direction,
)
from attention_layers.data.corpora import too_few_sentences
from attention_layers.models import RNNTranslator, TransformerTranslator
from attention_layers.text import WordPieceTokenizer, WordTokenizer
from attention_layers.text.conversions import token_strings
from attention_layers.text.tokenizers import VocabularyError
from attention_layers.training.evaluation import evaluate_bleu
from attention_layers.training.flags import UsageError
from attention_layers.training.metrics import masked_accuracy, masked_loss
from attention_layers.training.schedules import model_adam
from attention_layers.training.tasks.base import (
    Evaluation,
    Member,
    Task,
    TaskData,
    overlong_report,
    preset_note,
)
from attention_layers.training.tasks.preset_rule import (
    RULE_FLAGS,
    choose_case,
    choose_preset,
    describe_case,
    describe_choice,
    measure_corpus,
    preset_record,
)
from attention_layers.training.tasks.translation_flags import (
    BUILTIN_LANGUAGES,
    TranslationConfig,
    TranslationFlags,
)
from attention_layers.training.tasks.translation_presets import PRESETS  # noqa: F401 (re-exported)

SAMPLES = 5


class TranslationTask(Task):
    """Translation between any two languages: Transformer or RNN with attention, test BLEU."""

    name = "translator"
    config_class = TranslationConfig
    description = (
        "Train a translator with attention (RNN or Transformer) on the generated or Tatoeba "
        "Spanish-English pairs or on your own files (--train), in either direction, report "
        "test BLEU and sample translations, and save the model."
    )
    default_output = "runs/translator-{dataset}"
    flags = TranslationFlags()
    files_output = "runs/translator-{source_language}-{target_language}"
    recurrent_model = "rnn"
    example = "sentence pairs"
    data_errors = (CorpusFormatError, ChecksumError, VocabularyError)
    vocabulary_files = ("source_vocab.txt", "target_vocab.txt")
    serving_request = '{"instances": ["¿Dónde duermen mis gatos?"]}'

    def prepare_data(self, config, settings, output, ready_folder):
        """The pairs, then the flags that the preset takes from them (a fresh run), the
        tokenizers (learned, or read back from `output` when resuming) and the report."""
        corpus = self.load_corpus(config)
        chosen = {} if settings.resume else self.preset_from_data(config, corpus, settings)
        config = dataclasses.replace(config, **chosen)
        ready_folder()
        tokenizers = self.tokenizers(config, corpus, output if settings.resume else None)
        return TaskData(corpus, tokenizers, self.describe_data(config, corpus, tokenizers),
                        chosen)

    def load_corpus(self, config):
        if config.dataset == "files":
            corpus = load_translation_files(
                config.train, config.validation, config.test,
                source_language=config.source_language, target_language=config.target_language,
                seed=config.seed, encoding=config.encoding,
            )
            where = f"--train {config.train}"
        elif config.dataset == "builtin":
            corpus = generate_translation_corpus(config.num_pairs, seed=config.seed)
            where = None
        else:
            if config.data is not None and not pathlib.Path(config.data).exists():
                raise UsageError(f"--data {config.data}: no such file or directory")
            corpus = load_spa_eng(config.data, seed=config.seed, strict=True)
            where = f"--data {config.data}"
        if config.dataset != "files" and (config.source_language or "es") != BUILTIN_LANGUAGES[0]:
            corpus = reverse_direction(corpus)
        for name in ("train", "validation", "test"):
            if where is not None and not corpus.split(name):
                raise UsageError(f"{where}: the {name} split is empty; "
                                 f"{too_few_sentences(corpus)}")
        return corpus

    def preset_from_data(self, config, corpus, settings):
        """`case_by_side` (`preset_rule.choose_case`), and the flags of `RULE_FLAGS` still
        unset, from the training split (`preset_rule`), with `data_preset`, the record of
        what the rule read and chose; the builtin corpus keeps its fixed preset."""
        case = {"case_by_side": choose_case(corpus.train, config.case or "auto",
                                            config.shared_vocabulary)}
        unset = [name for name in RULE_FLAGS if getattr(config, name) is None]
        if config.dataset == "builtin" or not unset:
            return case
        stats = measure_corpus(corpus.train, [case["case_by_side"][side] == "lower"
                                              for side in ("source", "target")])
        fixed = {name: getattr(config, name) for name in RULE_FLAGS if name not in unset}
        chosen = choose_preset(stats, settings.max_minutes, {**fixed, "epochs": settings.epochs})
        return {**case, **chosen, "data_preset": preset_record(stats, chosen, settings.max_minutes)}

    def tokenizers(self, config, corpus=None, folder=None):
        """One tokenizer per language, or with `--shared-vocabulary` one for both."""
        kind = WordPieceTokenizer if config.vocabulary == "wordpiece" else WordTokenizer
        lowercase = [config.lowercase(side) for side in ("source", "target")]
        if folder is not None:
            return tuple(kind.load(folder / name, lowercase=lower)
                         for name, lower in zip(self.vocabulary_files, lowercase, strict=True))
        size = "vocabulary_size" if kind is WordPieceTokenizer else "max_vocabulary_size"

        def build(texts, lower):
            return kind.build(texts, lowercase=lower, **{size: config.vocabulary_size})

        if config.shared_vocabulary:  # `choose_case` gives both sides one case
            shared = build([text for pair in corpus.train for text in pair], lowercase[0])
            return shared, shared
        return tuple(build([pair[side] for pair in corpus.train], lowercase[side])
                     for side in (0, 1))

    def describe_data(self, config, corpus, tokenizers):
        return overlong_report(
            f"Data: {config.dataset} ({config.source_language or 'es'} -> "
            f"{config.target_language or 'en'}), {len(corpus.train)} / {len(corpus.validation)} / "
            f"{len(corpus.test)} train / validation / test pairs; "
            f"{self.describe_vocabulary(config, tokenizers)}; "
            f"{describe_case(config.case_by_side, config.case, corpus.train)}"
            f"{preset_note(config.data_preset, describe_choice, config.model)}",
            corpus,
        )

    def describe_vocabulary(self, config, tokenizers):
        """The tokenizers in words: kind, sizes, and whether the languages share them."""
        source, target = tokenizers
        if config.shared_vocabulary:
            return (f"one {config.vocabulary} vocabulary of {source.vocabulary_size} tokens "
                    "for both languages, one embedding matrix (source, target, output)")
        return (f"{config.vocabulary} vocabularies of {source.vocabulary_size} (source) and "
                f"{target.vocabulary_size} (target) tokens")

    def member(self, config, data, run):
        """A translator, the pairs it learns from, and the plots of its cross-attention."""
        corpus, tokenizers = data.corpus, data.tokenizers
        datasets = self.make_datasets(config, corpus, tokenizers, run.seed, run.batch_multiple)
        model = self.build_model(config, tokenizers)
        plots = None
        if run.attention_plots:
            plots = self.attention_callback(config, corpus, datasets, tokenizers, run.folder)
        return Member(model, datasets, self.compile_args(config, **run.averaging), plots)

    def make_datasets(self, config, corpus, tokenizers, seed, batch_multiple):
        return make_translation_datasets(
            corpus, *tokenizers, batch_size=config.batch_size, max_length=config.max_length,
            seed=seed, batch_multiple=batch_multiple,
        )

    def build_model(self, config, tokenizers):
        sizes = [tokenizer.vocabulary_size for tokenizer in tokenizers]
        if config.model == "transformer":
            model = TransformerTranslator(
                *sizes, num_layers=config.layers, model_dim=config.model_dim,
                num_heads=config.heads, feed_forward_dim=config.feed_forward_dim,
                dropout=config.dropout, shared_embeddings=bool(config.shared_vocabulary),
            )
        else:
            model = RNNTranslator(
                *sizes, embedding_dim=config.embedding_dim, units=config.units,
                cell=config.cell, attention=config.attention,
                input_feeding=config.input_feeding, max_source_length=config.max_length,
                dropout=config.dropout,
            )
        dummy = np.ones((1, 2), "int32")
        model((dummy, dummy))
        return model

    def compile_args(self, config, **averaging):
        return {"optimizer": model_adam(config, **averaging),
                "loss": masked_loss(config.label_smoothing or 0.0),
                "metrics": [masked_accuracy]}

    def attention_callback(self, config, corpus, datasets, tokenizers, folder):
        """Plots the cross-attention of two validation sentences after every epoch."""
        from attention_layers.visualization import AttentionPlotCallback

        (source, target_in), target_out = next(iter(datasets.validation))
        source, target_in, target_out = (
            np.asarray(t)[:2] for t in (source, target_in, target_out)
        )

        def cross_attention(model, inputs):
            # Self-attention plots would triple the plotting time for little insight.
            return {
                name: weights
                for name, weights in model.get_attention_weights(inputs).items()
                if "self" not in name
            }

        return AttentionPlotCallback(
            (source, target_in),
            folder / "attention",
            source_tokens=token_strings(tokenizers[0], source),
            # Row t reads target_in[t] and predicts target_out[t]: label it with the prediction.
            target_tokens=token_strings(tokenizers[1], target_out),
            log_dir=folder / "logs" / "attention",
            attention_fn=cross_attention,
        )

    def conclude(self, config, members, data, datasets):
        """The one trained translator (no ensembles) and its test BLEU."""
        (model,) = members
        return model, self.evaluate(config, model, members, data.corpus, data.tokenizers,
                                    datasets)

    def evaluate(self, config, model, members, corpus, tokenizers, datasets):
        beam_width = config.beam_width or 1
        bleu, hypotheses, references = evaluate_bleu(
            model, *tokenizers, corpus.test, max_length=config.max_length,
            beam_width=beam_width,
        )
        decoding = "greedy" if beam_width == 1 else f"beam {beam_width}"
        case = "lower-cased" if tokenizers[1].lowercase else "cased"
        print(
            f"Test BLEU: {bleu.score:.2f} on {len(corpus.test)} pairs (sacrebleu, {decoding} "
            f"decoding, {case})\n  {bleu}\nSample translations (test split):"
        )
        samples = []
        for (source, _), reference, hypothesis in list(
            zip(corpus.test, references, hypotheses, strict=True)
        )[:SAMPLES]:
            samples.append({"source": source, "reference": reference, "translation": hypothesis})
            print(f"  source:      {source}\n  reference:   {reference}\n"
                  f"  translation: {hypothesis}\n")
        results = {"test_bleu": bleu.score, "bleu": str(bleu), "samples": samples}
        return Evaluation(results, f"test BLEU {bleu.score:.2f}",
                          example=samples[0]["source"] if samples else None)

    def export(self, config, model, tokenizers, path):
        from attention_layers.export import export_translator

        return export_translator(
            model, *tokenizers, path,
            max_input_tokens=config.max_length, max_output_length=config.max_length,
        )

