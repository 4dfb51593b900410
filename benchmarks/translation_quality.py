"""Translation quality on real data under a wall-clock budget: our Transformer against the
keras-io reference, Spanish -> English on Tatoeba (`spa.txt`), or with `--source-language
en --target-language es` English -> Spanish, the keras-io example's own direction.

Both models train on the same split (`load_spa_eng(seed=0)`, grouped by Spanish sentence,
the split `train_translator.py` uses; for en -> es its pairs turned round by
`reverse_direction`, as `train_translator.py --dataset spa-eng --source-language en
--target-language es` does) for `--minutes` of wall-clock training each, then
translate its de-duplicated test split (no test pair whose Spanish or English side occurs
in training or validation; the reported figure) and the older random split's test (the
same train and validation, a softer test; printed beside it); sacrebleu scores both
models against the same references (`canonical_text`: lower case, punctuation kept). Both systems lower-case:
the keras-io recipe does, so ours runs with `--case lower` here (`train_translator.py
--dataset spa-eng` keeps Tatoeba's case since `--case`, and is then scored cased).
Evaluation time is not counted.

- ours: `train_translator.py`'s spa-eng preset (`PRESETS["spa-eng"]` of
  `attention_layers.training.tasks.translation`, built by the runner), its sizes chosen
  from the training split and `--minutes` by `fill_preset_from_data` as
  `train_translator.py --max-minutes` chooses them: pre-norm Transformer, word vocabularies
  of 10,000, batches bucketed by length, Adam with the warm-up schedule of Vaswani et al.
  §5.3, the optimizer's moving average of the weights (`--weight-averaging 250`), beam
  search with 4 hypotheses (`--beam-width 4`);
- reference: the keras-io example "English-to-Spanish translation with a
  sequence-to-sequence Transformer" (fchollet), which translates en -> es (by default
  turned es -> en): Keras' `MultiHeadAttention`, post-norm blocks, 1 encoder and 1
  decoder layer, embedding 256, feed-forward 2048, 8 heads of key size 256, learned
  positions, word vocabularies of 15,000, every sequence padded to 20 tokens, batches of
  64, RMSprop. One change: its text goes through our `normalize` (punctuation kept as
  words) instead of stripping punctuation, so that both outputs are scored against the
  same references; its loss ignores padding; and its cross-attention is masked by the
  source padding (the example masks it with the target's causal mask, a slip that would
  only weaken it). It decodes greedily, as the example does.

    python benchmarks/translation_quality.py --minutes 20      # 40+ minutes on 2 CPU cores
    python benchmarks/translation_quality.py --minutes 20 --source-language en \
        --target-language es                           # the keras-io example's direction
    python benchmarks/translation_quality.py --minutes 10 --models ours
    python benchmarks/translation_quality.py --minutes 20 --models ours --seed 1  # another run
    python benchmarks/translation_quality.py --minutes 20 --averages   # how the preset's
                                            # averaging and beam were chosen (on validation)
    python benchmarks/translation_quality.py --minutes 20 --precision mixed_bfloat16

The scale flags are `train_translator.py`'s (`--distribution`, `--replicas`, `--precision`,
`--jit-compile`, `--steps-per-execution`: `add_scale_flags`); they apply to ours, and the
dtype policy (`--precision`) to both models.
"""

import argparse
import dataclasses
import json
import os
import pathlib
import time

# The package's quiet start (imported first, before Keras) drops TensorFlow's start-up lines.
os.environ.setdefault("ATTENTION_LAYERS_QUIET_START", "1")

import attention_layers  # noqa: E402, F401

# isort: split
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers, ops  # noqa: E402

from attention_layers.data import (  # noqa: E402
    load_spa_eng,
    make_translation_dataset,
    reverse_direction,
)
from attention_layers.text import (  # noqa: E402
    END_ID,
    PAD_ID,
    START_ID,
    WordTokenizer,
    canonical_text,
)  # noqa: E402
from attention_layers.training import corpus_bleu, describe_device, evaluate_bleu  # noqa: E402
from attention_layers.training.distribution import add_scale_flags, configure_scale  # noqa: E402
from attention_layers.training.fitting import averaging  # noqa: E402
from attention_layers.training.tasks.preset_rule import fill_preset_from_data  # noqa: E402
from attention_layers.training.tasks.translation import (  # noqa: E402
    PRESETS,
    TranslationConfig,
    TranslationTask,
)
from attention_layers.training.tasks.translation_presets import FROM_DATA  # noqa: E402

LANGUAGES = ("es", "en")  # load_spa_eng's pairs: (Spanish, English)
VALIDATION_PAIRS = 3000  # scored for ours, to compare settings without the test split

REFERENCE = {
    "vocabulary_size": 15_000,
    "sequence_length": 20,
    "embedding_dim": 256,
    "feed_forward_dim": 2048,
    "heads": 8,
    "batch_size": 64,
}


class TimeBudget(keras.callbacks.Callback):
    """Stops `fit` once `seconds` of training have passed; counts the steps taken.

    With `clock="cpu"` the budget is `seconds * os.cpu_count()` seconds of this process's
    CPU time: what `seconds` of wall-clock time would give on an otherwise idle machine,
    so that two models compared on a shared machine get the same compute.
    """

    def __init__(self, seconds, clock="wall"):
        super().__init__()
        self.seconds = seconds
        self.clock = clock
        self.steps = 0
        self.elapsed = self.cpu_seconds = 0.0

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self._cpu_start = time.process_time()

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        self.elapsed = time.perf_counter() - self._start
        self.cpu_seconds = time.process_time() - self._cpu_start
        if self.clock == "wall":
            spent = self.elapsed >= self.seconds
        else:
            spent = self.cpu_seconds >= self.seconds * os.cpu_count()
        if spent:
            self.model.stop_training = True


class WeightAverages(keras.callbacks.Callback):
    """Exponential moving averages of the weights (Polyak averaging), for several horizons.

    Every `every` steps each average moves towards the current weights with momentum
    `(1 - 1 / horizon) ** every`, so `horizon` is the average's time constant in steps.
    Tracked in NumPy beside training (a copy of the weights every `every` steps); the
    product's own averaging is `--weight-averaging` (Keras' optimizer EMA).
    """

    def __init__(self, horizons=(250, 500, 1000), every=10):
        super().__init__()
        self.horizons, self.every = horizons, every
        self.averages = {}
        self._step = 0

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self._step % self.every:
            return
        weights = self.model.get_weights()
        for horizon in self.horizons:
            average = self.averages.get(horizon)
            if average is None:
                self.averages[horizon] = [w.copy() for w in weights]
                continue
            momentum = (1 - 1 / horizon) ** self.every
            for mean, value in zip(average, weights, strict=True):
                mean *= momentum
                mean += (1 - momentum) * value


def token_statistics(dataset):
    """(batches, non-padding tokens, all token positions) of one epoch of `dataset`."""
    batches = tokens = positions = 0
    for (source, _), target_out in dataset:
        batches += 1
        for tensor in (source, target_out):
            tokens += int(tf.math.count_nonzero(tensor))
            positions += int(tf.size(tensor))
    return batches, tokens, positions


def train_for(model, dataset, seconds, clock, callbacks=()):
    """Trains until the budget is spent; returns the `TimeBudget` (steps, elapsed)."""
    budget = TimeBudget(seconds, clock)
    # Enough epochs that only the clock stops training.
    model.fit(dataset, epochs=10_000, callbacks=[budget, *callbacks], verbose=2)
    return budget


# --- ours ---------------------------------------------------------------------------------


def compiled_translator(task, config, tokenizers, plan, weight_averaging=0):
    """The task's model (`TranslationTask.build_model` of the `TranslationConfig`),
    built and compiled inside `plan`'s distribution scope with the task's optimizer, loss
    and metrics, as the runner compiles the model of a run (`fitting.compiled_member`);
    `weight_averaging` is `--weight-averaging`'s steps (0: none)."""
    with plan.scope():
        model = task.build_model(config, tokenizers)
        model.compile(**task.compile_args(config, **averaging(weight_averaging)),
                      **plan.compile_kwargs())
    return model


def run_ours(corpus, tests, seconds, clock, plan, scale_flags, averages=False, overrides=None,
             seed=0):
    """Trains and scores ours; `plan` is `configure_scale`'s, `scale_flags` the flags of
    `add_scale_flags` (a dict) that made it. The preset's sizes are chosen from the
    training split and the budget, as `train_translator.py --max-minutes` chooses them."""
    # Lower-cased, as the keras-io recipe: both are scored against the same references.
    preset = fill_preset_from_data(
        {**PRESETS["spa-eng"], "case": "lower", **(overrides or {})}, corpus.train,
        max_minutes=seconds / 60,
    )
    preset["case_by_side"] = {"source": "lower", "target": "lower"}
    if averages:  # the exploration starts from the raw weights, decoded greedily
        preset.update(weight_averaging=0, beam_width=1)
    args = argparse.Namespace(**preset, **scale_flags)
    task, task_config = TranslationTask(), TranslationConfig.from_flags(preset)
    started = time.perf_counter()
    source_tokenizer, target_tokenizer = task.tokenizers(task_config, corpus)
    print(f"Tokenizers learned in {time.perf_counter() - started:.0f} s (not counted)",
          flush=True)
    train = make_translation_dataset(
        corpus.train, source_tokenizer, target_tokenizer,
        batch_size=args.batch_size, max_length=args.max_length, shuffle=True, seed=seed,
    )
    keras.utils.set_random_seed(seed)
    model = compiled_translator(task, task_config, (source_tokenizer, target_tokenizer), plan,
                                args.weight_averaging)
    config = (
        f"Transformer {args.layers}+{args.layers} layers, d_model {args.model_dim}, "
        f"{args.heads} heads, feed-forward {args.feed_forward_dim}, dropout {args.dropout}, "
        f"pre-norm; {task.describe_vocabulary(task_config, (source_tokenizer, target_tokenizer))}"
        f"; length <= {args.max_length}, batches of "
        f"{args.batch_size} bucketed by length; Adam, warm-up {args.warmup_steps} steps to "
        f"{args.learning_rate}, then 1/sqrt(step); "
        + (f"moving average of the weights over {args.weight_averaging} steps; "
           if args.weight_averaging else "")
        + (f"label smoothing {args.label_smoothing}; " if args.label_smoothing else "")
        + f"{'greedy' if args.beam_width == 1 else f'beam {args.beam_width}'} decoding; "
        + (f"dtype policy {plan.precision}; " if plan.precision != "float32" else "")
        + f"{model.count_params():,} parameters"
    )
    def bleu_fn(pairs, beam_width=args.beam_width):
        return evaluate_bleu(
            model, source_tokenizer, target_tokenizer, pairs, max_length=args.max_length,
            beam_width=beam_width,
        )

    averager = WeightAverages() if averages else None
    result = evaluate(
        "ours", config, model, train, seconds, clock, bleu_fn, tests,
        callbacks=[averager] if averager else (),
    )
    # Settings are compared on validation pairs, never on test.
    validation = validation_sample(corpus)
    bleu, _, _ = bleu_fn(validation)
    result["validation_bleu"] = round(bleu.score, 2)
    print(f"== ours: validation BLEU {bleu.score:.2f} ({len(validation)} validation pairs, "
          "the same decoding; what settings are chosen on)", flush=True)
    if averager:
        validation = make_translation_dataset(
            corpus.validation, source_tokenizer, target_tokenizer,
            batch_size=args.batch_size, max_length=args.max_length,
        )
        result["averaged"] = evaluate_averages(model, averager, validation, bleu_fn, tests)
    return result


def validation_sample(corpus):
    """The `VALIDATION_PAIRS` validation pairs that settings are compared on (a seeded
    choice, in corpus order; also `beam_settings.py`'s)."""
    rng = np.random.default_rng(0)
    chosen = sorted(rng.permutation(len(corpus.validation))[:VALIDATION_PAIRS])
    return [corpus.validation[i] for i in chosen]


def evaluate_averages(model, averager, validation, bleu_fn, tests):
    """Validation loss of the last weights and of each average; the average with the
    lowest one (chosen on validation, never on test) is scored on the test splits,
    greedy and with a beam of 4."""
    losses = {"last": float(model.evaluate(validation, verbose=0)[0])}
    last = model.get_weights()
    for horizon, weights in averager.averages.items():
        model.set_weights(weights)
        losses[f"ema_{horizon}"] = float(model.evaluate(validation, verbose=0)[0])
    chosen = min(losses, key=losses.get)
    print("== ours, validation loss of the last weights and the averages: "
          + ", ".join(f"{name} {loss:.4f}" for name, loss in losses.items())
          + f"; chosen: {chosen}", flush=True)
    model.set_weights(last if chosen == "last" else averager.averages[int(chosen[4:])])
    scores = {}
    for beam_width in (1, 4):
        for split, pairs in tests.items():
            start = time.perf_counter()
            bleu, _, _ = bleu_fn(pairs, beam_width=beam_width)
            scores[f"{split}_beam{beam_width}"] = round(bleu.score, 2)
            print(f"== ours, {chosen} weights, {'greedy' if beam_width == 1 else 'beam 4'}, "
                  f"{split} test split: BLEU {bleu.score:.2f} ({bleu}; "
                  f"{time.perf_counter() - start:.0f} s)", flush=True)
    return {"validation_losses": losses, "chosen": chosen, "test_bleu": scores}


# --- the keras-io reference ---------------------------------------------------------------


class PositionalEmbedding(layers.Layer):
    """Token embedding plus a learned embedding of each position (keras-io)."""

    def __init__(self, sequence_length, vocabulary_size, embedding_dim, **kwargs):
        super().__init__(**kwargs)
        self.token_embeddings = layers.Embedding(vocabulary_size, embedding_dim)
        self.position_embeddings = layers.Embedding(sequence_length, embedding_dim)

    def call(self, inputs):
        positions = ops.arange(ops.shape(inputs)[-1])
        return self.token_embeddings(inputs) + self.position_embeddings(positions)

    def compute_mask(self, inputs, mask=None):
        return ops.not_equal(inputs, 0)


class ReferenceEncoder(layers.Layer):
    """Post-norm self-attention and feed-forward block (keras-io `TransformerEncoder`)."""

    def __init__(self, embedding_dim, feed_forward_dim, heads, **kwargs):
        super().__init__(**kwargs)
        self.attention = layers.MultiHeadAttention(num_heads=heads, key_dim=embedding_dim)
        self.dense_proj = keras.Sequential(
            [layers.Dense(feed_forward_dim, activation="relu"), layers.Dense(embedding_dim)]
        )
        self.layernorm_1 = layers.LayerNormalization()
        self.layernorm_2 = layers.LayerNormalization()
        self.supports_masking = True

    def call(self, inputs, mask=None):
        padding_mask = None if mask is None else ops.cast(mask[:, None, :], "int32")
        attended = self.attention(inputs, inputs, attention_mask=padding_mask)
        projected_input = self.layernorm_1(inputs + attended)
        return self.layernorm_2(projected_input + self.dense_proj(projected_input))


class ReferenceDecoder(layers.Layer):
    """Causal self-attention, cross-attention, feed-forward (keras-io `TransformerDecoder`)."""

    def __init__(self, embedding_dim, feed_forward_dim, heads, **kwargs):
        super().__init__(**kwargs)
        self.attention_1 = layers.MultiHeadAttention(num_heads=heads, key_dim=embedding_dim)
        self.attention_2 = layers.MultiHeadAttention(num_heads=heads, key_dim=embedding_dim)
        self.dense_proj = keras.Sequential(
            [layers.Dense(feed_forward_dim, activation="relu"), layers.Dense(embedding_dim)]
        )
        self.layernorm_1 = layers.LayerNormalization()
        self.layernorm_2 = layers.LayerNormalization()
        self.layernorm_3 = layers.LayerNormalization()
        self.supports_masking = True

    def call(self, inputs, encoder_outputs, source_mask):
        length = ops.shape(inputs)[1]
        causal = ops.greater_equal(ops.arange(length)[:, None], ops.arange(length)[None, :])
        attended = self.attention_1(inputs, inputs, attention_mask=causal[None])  # (1, T, T)
        out_1 = self.layernorm_1(inputs + attended)
        # keras-io masks the cross-attention with the decoder's causal padding mask, which
        # lets target position i see only source positions <= i; the source padding mask
        # is the intended one, and the reference should not be handicapped by that slip.
        attended = self.attention_2(
            out_1, encoder_outputs, attention_mask=source_mask[:, None, :]  # (batch, 1, S)
        )
        out_2 = self.layernorm_2(out_1 + attended)
        return self.layernorm_3(out_2 + self.dense_proj(out_2))


def build_reference(source_vocabulary, target_vocabulary):
    """The keras-io model, and its two halves for decoding: `(model, encoder, decoder)`.

    `encoder(source) -> encoded`; `decoder([target, encoded, source]) -> probabilities`.
    """
    config = REFERENCE
    length, dim = config["sequence_length"], config["embedding_dim"]
    encoder_inputs = keras.Input((None,), dtype="int64", name="encoder_inputs")
    x = PositionalEmbedding(length, source_vocabulary, dim)(encoder_inputs)
    encoded = ReferenceEncoder(dim, config["feed_forward_dim"], config["heads"])(x)
    encoder = keras.Model(encoder_inputs, encoded)

    decoder_inputs = keras.Input((None,), dtype="int64", name="decoder_inputs")
    encoded_inputs = keras.Input((None, dim), name="encoded")
    sources = keras.Input((None,), dtype="int64", name="sources")  # for the padding mask
    x = PositionalEmbedding(length, target_vocabulary, dim)(decoder_inputs)
    x = ReferenceDecoder(dim, config["feed_forward_dim"], config["heads"])(
        x, encoded_inputs, ops.not_equal(sources, PAD_ID)
    )
    x = layers.Dropout(0.5)(x)
    probabilities = layers.Dense(target_vocabulary, activation="softmax")(x)
    decoder = keras.Model([decoder_inputs, encoded_inputs, sources], probabilities)

    outputs = decoder([decoder_inputs, encoder(encoder_inputs), encoder_inputs])
    model = keras.Model([encoder_inputs, decoder_inputs], outputs, name="keras_io_reference")
    model.compile(
        "rmsprop", loss=keras.losses.SparseCategoricalCrossentropy(ignore_class=PAD_ID)
    )
    return model, encoder, decoder


def reference_dataset(pairs, source_tokenizer, target_tokenizer, batch_size, shuffle, seed=0):
    """keras-io's data: sources of 20 tokens, targets of 21 with [START]/[END], all padded."""
    length = REFERENCE["sequence_length"]
    sources = source_tokenizer.tokenize(
        [source for source, _ in pairs], add_start_end=False, max_length=length
    ).to_tensor(shape=[None, length])
    targets = target_tokenizer.tokenize(
        [target for _, target in pairs], max_length=length + 1
    ).to_tensor(shape=[None, length + 1])
    dataset = tf.data.Dataset.from_tensor_slices(((sources, targets[:, :-1]), targets[:, 1:]))
    if shuffle:
        dataset = dataset.shuffle(len(pairs), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def reference_translate(encoder, decoder, source_tokenizer, target_tokenizer, sources):
    """Batched greedy decoding, keras-io's loop made affordable: sentences sorted by
    length, the encoder run once per batch, and a batch stopped when all have ended."""
    length = REFERENCE["sequence_length"]
    tokenized = source_tokenizer.tokenize(sources, add_start_end=False, max_length=length)
    order = np.argsort(tokenized.row_lengths().numpy(), kind="stable")

    @tf.function(reduce_retracing=True, autograph=False)
    def next_token(target, encoded, source):
        probabilities = decoder([target, encoded, source], training=False)  # (batch, T, V)
        return tf.argmax(probabilities[:, -1], axis=-1, output_type=tf.int64)

    translations = [None] * len(sources)
    for start in range(0, len(sources), 512):
        indices = order[start : start + 512]
        source = tf.gather(tokenized, indices).to_tensor()
        encoded = encoder(source, training=False)
        target = np.full((len(indices), 1), START_ID, np.int64)
        for _ in range(length):
            token = next_token(tf.constant(target), encoded, source).numpy()
            target = np.concatenate([target, token[:, None]], axis=1)
            if (target == END_ID).any(axis=1).all():
                break
        texts = target_tokenizer.detokenize(target).numpy()
        for index, text in zip(indices, texts, strict=True):
            translations[index] = text.decode("utf-8")
    return translations


def run_reference(corpus, tests, seconds, clock, seed=0):
    source_tokenizer = WordTokenizer.build(
        [source for source, _ in corpus.train], max_vocabulary_size=REFERENCE["vocabulary_size"]
    )
    target_tokenizer = WordTokenizer.build(
        [target for _, target in corpus.train], max_vocabulary_size=REFERENCE["vocabulary_size"]
    )
    train = reference_dataset(
        corpus.train, source_tokenizer, target_tokenizer, REFERENCE["batch_size"], shuffle=True,
        seed=seed,
    )
    model, encoder, decoder = build_reference(
        source_tokenizer.vocabulary_size, target_tokenizer.vocabulary_size
    )
    config = (
        "keras-io seq2seq Transformer (keras.layers.MultiHeadAttention), 1+1 layers, "
        f"embedding {REFERENCE['embedding_dim']}, feed-forward {REFERENCE['feed_forward_dim']}, "
        f"{REFERENCE['heads']} heads, post-norm; word vocabularies "
        f"{source_tokenizer.vocabulary_size} / {target_tokenizer.vocabulary_size}; padded to "
        f"{REFERENCE['sequence_length']}, batches of {REFERENCE['batch_size']}; RMSprop 1e-3; "
        f"{model.count_params():,} parameters"
    )

    def evaluate_reference(pairs):
        sources = [source for source, _ in pairs]
        references = [
            text.decode("utf-8") for text in canonical_text([t for _, t in pairs]).numpy()
        ]
        hypotheses = reference_translate(
            encoder, decoder, source_tokenizer, target_tokenizer, sources
        )
        return corpus_bleu(hypotheses, references), hypotheses, references

    return evaluate(
        "reference", config, model, train, seconds, clock, evaluate_reference, tests
    )


# --- both ---------------------------------------------------------------------------------


def evaluate(name, config, model, train, seconds, clock, bleu_fn, tests, callbacks=()):
    """Trains `model` for the budget, then scores greedy translations of each test split
    (`tests`: `{split name: pairs}`, the first one the reported)."""
    print(f"\n== {name}: {config}", flush=True)
    batches, tokens, positions = token_statistics(train)
    budget = train_for(model, train, seconds, clock, callbacks)
    tokens_per_second = budget.steps * tokens / batches / budget.elapsed
    result = {
        "name": name,
        "config": config,
        "train_seconds": round(budget.elapsed, 1),
        "train_cpu_seconds": round(budget.cpu_seconds, 1),
        "steps": budget.steps,
        "epochs": round(budget.steps / batches, 2),
        "tokens_per_second": round(tokens_per_second),
        "padding_fraction": round(1 - tokens / positions, 3),
    }
    print(
        f"== {name}: {result['steps']} steps ({result['epochs']} epochs) in "
        f"{result['train_seconds']} s ({result['train_cpu_seconds']} CPU s), "
        f"{result['tokens_per_second']:,} tokens/s (source + "
        f"target, padding excluded; {100 * result['padding_fraction']:.0f}% of positions "
        f"were padding)", flush=True,
    )
    for split, pairs in tests.items():
        start = time.perf_counter()
        bleu, hypotheses, references = bleu_fn(pairs)
        result.setdefault("test_bleu_by_split", {})[split] = round(bleu.score, 2)
        print(f"== {name}: {split} test split ({len(pairs)} pairs): BLEU {bleu.score:.2f} "
              f"({bleu}; decoding took {time.perf_counter() - start:.0f} s)", flush=True)
        if "test_bleu" in result:
            continue
        result.update(test_bleu=round(bleu.score, 2), bleu=str(bleu), samples=[
            {"source": source, "reference": reference, "translation": hypothesis}
            for (source, _), reference, hypothesis in list(
                zip(pairs, references, hypotheses, strict=True)
            )[:: max(1, len(hypotheses) // 5)][:5]
        ])
        for sample in result["samples"]:
            print(f"   {sample['source']}  ->  {sample['translation']}  "
                  f"(ref: {sample['reference']})")
    return result


def preset_override(text):
    """`argparse` type of `--set NAME=VALUE`: a key of the spa-eng preset and a value of its
    type."""
    name, _, value = text.partition("=")
    if name not in PRESETS["spa-eng"] or not value:
        raise argparse.ArgumentTypeError(
            f"expected NAME=VALUE with NAME one of {', '.join(PRESETS['spa-eng'])}; got {text!r}"
        )
    preset = PRESETS["spa-eng"][name]
    if preset == FROM_DATA:  # the flags that the rule picks are counts
        preset = 0
    if isinstance(preset, bool):
        if value.lower() not in ("true", "false"):
            raise argparse.ArgumentTypeError(f"{name} is true or false; got {value!r}")
        return name, value.lower() == "true"
    if not isinstance(preset, (int, float)):
        return name, value  # strings (and None) as given
    number = float(value)
    return name, int(number) if isinstance(preset, int) else number


def main():
    scale = argparse.ArgumentParser(add_help=False)
    add_scale_flags(scale)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], parents=[scale])
    parser.add_argument("--minutes", type=float, default=20.0,
                        help="wall-clock training budget of each model (default 20)")
    parser.add_argument(
        "--clock", choices=("wall", "cpu"), default="wall",
        help="'wall': --minutes of wall-clock training; 'cpu': --minutes x CPU cores of "
        "this process's CPU time, the compute of --minutes on an idle machine (for fair "
        "comparisons on a shared one)",
    )
    parser.add_argument("--data", default=None,
                        help="spa.txt (default: $ATTENTION_DATA_DIR/spa.txt)")
    parser.add_argument(
        "--source-language", choices=LANGUAGES, default="es",
        help="the language translated from, es or en (default es); en with "
        "--target-language es is the keras-io example's own direction",
    )
    parser.add_argument("--target-language", choices=LANGUAGES, default="en",
                        help="the language translated into (default en)")
    parser.add_argument("--models", choices=("both", "ours", "reference"), default="both",
                        help="which models to train (default both)")
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    parser.add_argument("--test-pairs", type=int, metavar="N",
                        help="score a random N of the test pairs, the same for both models "
                        "(quicker; default all)")
    parser.add_argument(
        "--averages", action="store_true",
        help="ours: also track moving averages of the weights (time constants 250, 500 "
        "and 1000 steps), pick the one with the lowest validation loss and score it "
        "greedy and with a beam of 4 (an exploration of what --weight-averaging and "
        "--beam-width give)",
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", type=preset_override,
        help="ours: override a setting of the spa-eng preset, e.g. --set label_smoothing=0.1 "
        "(repeatable; to explore settings, compared by the validation BLEU printed)",
    )
    parser.add_argument(
        "--seed", type=int, default=0,
        help="seed of both models' initial weights, dropout and shuffling (0); the split "
        "stays load_spa_eng(seed=0)'s, so runs with other seeds score the same test pairs",
    )
    parser.add_argument("--train-pairs", type=int, metavar="N",
                        help="train on a random N training pairs (a smoke test; default all)")
    args = parser.parse_args()
    if args.source_language == args.target_language:
        parser.error(f"--source-language and --target-language are both "
                     f"{args.source_language!r}: spa.txt translates es -> en or en -> es")
    scale_flags = {name: getattr(args, name) for name in vars(scale.parse_args([]))}
    try:  # before anything touches a device
        plan = configure_scale(argparse.Namespace(**scale_flags))
    except ValueError as error:
        parser.error(str(error))
    data = args.data or os.path.join(os.environ.get("ATTENTION_DATA_DIR", ""), "spa.txt")
    if not os.path.isfile(data):
        parser.error(f"{data} not found: pass --data or set ATTENTION_DATA_DIR")

    keras.utils.set_random_seed(0)
    corpus = load_spa_eng(data, seed=0)
    # The older random split has the same train and validation pairs, a larger test.
    random_test = load_spa_eng(data, seed=0, split="random").test
    if args.source_language != LANGUAGES[0]:  # load_spa_eng's pairs are (es, en)
        corpus = reverse_direction(corpus)
        random_test = [(target, source) for source, target in random_test]
    if args.train_pairs or args.test_pairs:
        rng = np.random.default_rng(0)
        train = corpus.train
        if args.train_pairs:
            train = [train[i] for i in sorted(rng.permutation(len(train))[: args.train_pairs])]
        test = corpus.test
        if args.test_pairs:
            test = [test[i] for i in sorted(rng.permutation(len(test))[: args.test_pairs])]
            random_test = [random_test[i] for i in
                           sorted(rng.permutation(len(random_test))[: args.test_pairs])]
        corpus = dataclasses.replace(corpus, train=train, test=test)
    tests = {"deduplicated": corpus.test, "random": random_test}
    direction = f"{args.source_language} -> {args.target_language}"
    print(
        f"spa.txt, {direction}: {len(corpus.train)} / {len(corpus.validation)} / "
        f"{len(corpus.test)} train / validation / test pairs (seed 0, de-duplicated test split; the random "
        f"split's test has {len(random_test)}); both systems lower-cased and scored against "
        f"lower-cased references; budget {args.minutes} min ({args.clock} "
        "clock) per model; "
        f"{describe_device()}; {os.cpu_count()} CPUs, load average "
        f"{', '.join(f'{load:.1f}' for load in os.getloadavg())}",
        flush=True,
    )
    results = {}
    if args.models in ("both", "ours"):
        results["ours"] = run_ours(
            corpus, tests, 60 * args.minutes, args.clock, plan, scale_flags,
            averages=args.averages, overrides=dict(args.set), seed=args.seed,
        )
    if args.models in ("both", "reference"):
        keras.utils.set_random_seed(args.seed)
        results["reference"] = run_reference(
            corpus, tests, 60 * args.minutes, args.clock, seed=args.seed
        )
    print(f"\n{direction}:")
    for name, result in results.items():
        by_split = ", ".join(f"{split} {bleu:.2f}"
                             for split, bleu in result["test_bleu_by_split"].items())
        print(
            f"{name:>9}: test BLEU (lower-cased) {by_split}; {result['tokens_per_second']:>7,} "
            f"tokens/s, {result['epochs']} epochs in {result['train_seconds']} s "
            f"({result['train_cpu_seconds']} CPU s)"
        )
    if len(results) == 2:
        for split in tests:
            ratio = (results["ours"]["test_bleu_by_split"][split]
                     / max(results["reference"]["test_bleu_by_split"][split], 1e-9))
            print(f"BLEU ratio ours / reference, {split} test split: {ratio:.2f}")
        averaged = results["ours"].get("averaged")
        if averaged:
            for split in tests:
                for beam in (1, 4):
                    ratio = (averaged["test_bleu"][f"{split}_beam{beam}"]
                             / max(results["reference"]["test_bleu_by_split"][split], 1e-9))
                    print(f"BLEU ratio ours ({averaged['chosen']} weights, beam {beam}) / "
                          f"reference (greedy), {split} test split: {ratio:.2f}")
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.json:
        results["direction"] = direction
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
