"""A finished run, loaded in one call: translate or classify raw text, and see the attention.

    import attention_layers as al

    run = al.load_run("runs/translator-builtin")
    run.translate(["¿Dónde duermen mis gatos?"])     # ['where do my cats sleep?']
    run = al.load_run("runs/classifier-builtin")
    run.classify(["The ending was dull."])          # [{'label': 'negative', ...}]

A run folder is what `train_translator.py` or `train_classifier.py` wrote (`--output`):
`config.json` (whose `"command"` names the task), the tokenizers' vocabularies and the
trained model (`translator.keras` or `classifier.keras`: one model, a `ClassifierEnsemble`
of `--ensemble` members, with int8 tables after `--quantize-embeddings`; all of them load
the same way). The model is loaded in Keras' safe mode.

Text takes the steps of the serving export (`attention_layers.export`): `clean_text`,
tokenization cut to the run's `--max-length`, then greedy decoding or beam search (GNMT
length penalty 0.6) and detokenization for a translator, the model's probability for a
classifier. So `translate` gives what the run's `serving/` export and its test BLEU
(`evaluate_bleu`) give for the same sentences, and `classify` the export's probabilities.

This module reads a run folder and uses the export's code; it imports nothing of the
training code (`attention_layers.training`).
"""

import dataclasses
import json
import pathlib

import numpy as np

# What a finished run of each command holds (`Task.name`, `Task.vocabulary_files` and the
# `{name}.keras` of `attention_layers/training/saving.py`; tests/apps checks they agree).
MODEL_FILES = {"translator": "translator.keras", "classifier": "classifier.keras"}
VOCABULARY_FILES = {
    "translator": ("source_vocab.txt", "target_vocab.txt"),
    "classifier": ("vocab.txt",),
}
# The classifier's label 0 and label 1 (the generated corpus and SST-2 both use 0 for a
# negative and 1 for a positive review). The export says `label` 1 from P(positive) >= 0.5.
CLASS_NAMES = ("negative", "positive")
THRESHOLD = 0.5
# Sentences run through the model at once (`attention_layers.export.MAX_BATCH_SIZE`).
BATCH_SIZE = 256


class RunError(ValueError):
    """A folder that is not a finished run; the message says what is missing."""


def read_run_config(folder):
    """The `config.json` of the finished run in `folder` (a `pathlib.Path`), after checking
    that the model and vocabulary files are there; `RunError` otherwise. Needs no
    TensorFlow: commands call it before their slow imports."""
    if not folder.is_dir():
        raise RunError(f"{folder}: no such folder; give the --output folder of a "
                       "train_translator.py or train_classifier.py run.")
    path = folder / "config.json"
    if not path.is_file():
        raise RunError(f"{folder}: no config.json; give the --output folder of a "
                       "train_translator.py or train_classifier.py run.")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise RunError(f"{path} is not valid JSON: {error}") from error
    command = config.get("command") if isinstance(config, dict) else None
    if command not in MODEL_FILES:
        raise RunError(f"{path}: \"command\" is {command!r}; expected one of "
                       f"{sorted(MODEL_FILES)}.")
    for name in (MODEL_FILES[command], *VOCABULARY_FILES[command]):
        if not (folder / name).is_file():
            raise RunError(f"{folder}: no {name}; the {command} run has not finished "
                           "(let it finish, or continue it with --resume).")
    return config


def _check_texts(name, texts):
    """`texts` as a list of Python strings; a clear error for a lone string or a non-string."""
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"`{name}` must be a list of strings; received one string (wrap it "
                        "in a list: [text]).")
    texts = list(texts)
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"`{name}[{index}]` must be a string; received "
                            f"{type(text).__name__}.")
    return texts


def _token_list(tokenizer, ids):
    """The token strings of a 1-D array of ids."""
    return [token.decode("utf-8") for token in tokenizer.ids_to_tokens(ids).numpy()]


@dataclasses.dataclass(frozen=True)
class TranslationAttention:
    """A translation and the cross-attention that produced it (`TranslatorRun.attention`).

    Attributes:
        translation: the translated sentence, as `translate` returns it.
        source_tokens: the `S` source tokens the model read, `[START]` and `[END]` included.
        output_tokens: the `T` tokens it produced, `[END]` last (when it stopped in time).
        cross_attention: `{layer name: float32 (heads, T, S)}`, every decoder layer's
            cross-attention, in the model's order; row `t` is where output token `t` was
            read from (a recurrent translator has one layer and one "head").
    """

    translation: str
    source_tokens: list
    output_tokens: list
    cross_attention: dict


@dataclasses.dataclass(frozen=True)
class ClassificationAttention:
    """A prediction and the pooling attention over the words (`ClassifierRun.attention`).

    Attributes:
        label: the predicted class name, e.g. `"positive"`.
        probability: the probability of `label`.
        probabilities: `{class name: probability}` of every class.
        tokens: the `T` tokens the model read (cut to the run's `--max-length`).
        weights: float32 `(T,)`, the pooling attention of each token (summing to 1).
    """

    label: str
    probability: float
    probabilities: dict
    tokens: list
    weights: np.ndarray


class _Run:
    """What both kinds share: the folder, its flags and the model."""

    kind = None

    def __init__(self, folder, config, model, tokenizers):
        self.folder = folder
        self.config = config
        self.model = model
        self.tokenizers = tokenizers
        self.max_length = int(config["max_length"])

    def __repr__(self):
        return f"{type(self).__name__}({str(self.folder)!r}, model={type(self.model).__name__})"


class TranslatorRun(_Run):
    """A finished `train_translator.py` run: `translate` sentences, see their `attention`.

    Made by `load_run`. Attributes: `folder`, `config` (the run's flags, `config.json`),
    `model` (a `TransformerTranslator` or `RNNTranslator`), `source_tokenizer`,
    `target_tokenizer` and `max_length` (the most tokens read per sentence and written per
    translation, `[START]`/`[END]` included, as in the run's export).

    Example:

    >>> run = load_run("runs/translator-builtin")
    >>> run.translate(["¿Dónde duermen mis gatos?", "El perro duerme."], beam_width=4)
    ['where do my cats sleep?', 'the dog sleeps.']
    >>> view = run.attention("El perro duerme.")
    >>> view.source_tokens, view.output_tokens
    (['[START]', 'el', 'perro', 'duerme', '.', '[END]'], ['the', 'dog', 'sleeps', '.', '[END]'])
    >>> {name: weights.shape for name, weights in view.cross_attention.items()}
    {'decoder_0/cross_attention': (4, 5, 6), 'decoder_1/cross_attention': (4, 5, 6)}
    """

    kind = "translator"

    def __init__(self, folder, config, model, tokenizers):
        super().__init__(folder, config, model, tokenizers)
        self.source_tokenizer, self.target_tokenizer = tokenizers
        # Whether translations come lower-cased (`evaluate` scores against references so).
        self.target_lowercase = self.target_tokenizer.lowercase
        from attention_layers.export import TranslatorServer

        # The export's preprocessing (its `source_ids`), with the limits the run exported.
        self._server = TranslatorServer(
            model, *tokenizers, max_input_tokens=self.max_length,
            max_output_length=self.max_length,
        )

    def translate(self, sentences, beam_width=1):
        """Translates sentences, as the run's export and its test BLEU do.

        The sentences are translated together, `256 // beam_width` at a time.

        Args:
            sentences: a list of source sentences (Python strings, any text: what the
                vocabulary lacks becomes `[UNK]`, long sentences are cut to `max_length`
                tokens).
            beam_width: 1 decodes greedily; more runs beam search with that many
                hypotheses per sentence (the export's `beam_search` signature).

        Returns:
            A list of translations, one string per sentence, in the target tokenizer's
            canonical form (lower case, unless the run kept the target's case with
            `--case`; as the test references are compared).

        Raises:
            TypeError: `sentences` is a string or holds a non-string.
            ValueError: `beam_width` is not a positive int.

        Example:

        >>> load_run("runs/translator-builtin").translate(["El perro duerme."])
        ['the dog sleeps.']
        """
        from attention_layers.export import LENGTH_PENALTY, translate
        from attention_layers.utils.checks import check_positive_int

        sentences = _check_texts("sentences", sentences)
        check_positive_int("beam_width", beam_width)
        chunk = max(1, BATCH_SIZE // beam_width)
        translations = []
        for start in range(0, len(sentences), chunk):
            translations += translate(
                self.model, self.source_tokenizer, self.target_tokenizer,
                sentences[start : start + chunk], beam_width=beam_width,
                max_length=self.max_length, length_penalty=LENGTH_PENALTY,
                max_input_tokens=self.max_length,
            )
        return translations

    def attention(self, sentence, beam_width=1):
        """Translates one sentence and returns the cross-attention of every layer and head.

        1. `source_ids = tokenize(clean_text(sentence))`: `(1, S)`, as the export reads it;
        2. `output_ids`: greedy decoding, or beam search with `beam_width`: `(1, T)`, cut
           after the first `[END]`;
        3. `model.get_attention_weights((source_ids, [START] + output_ids[:-1]))`: the
           decoder reads its own output again (teacher forcing), which gives the weights
           it attended with while decoding, for every layer and head: `(1, heads, T, S)`
           per layer.

        Args:
            sentence: one source sentence (a Python string).
            beam_width: as in `translate`.

        Returns:
            A `TranslationAttention` (translation, source and output tokens, and
            `{layer name: (heads, T, S)}`).

        Example:

        >>> view = load_run("runs/translator-builtin").attention("El perro duerme.")
        >>> view.translation, view.output_tokens
        ('the dog sleeps.', ['the', 'dog', 'sleeps', '.', '[END]'])
        """
        import keras
        import tensorflow as tf

        from attention_layers.decoding import beam_search_decode, greedy_decode
        from attention_layers.export import LENGTH_PENALTY
        from attention_layers.utils.checks import check_positive_int
        from attention_layers.utils.token_ids import END_ID, START_ID

        (sentence,) = _check_texts("sentence", [sentence])
        check_positive_int("beam_width", beam_width)
        source_ids = self._server.source_ids(tf.constant([sentence]))  # (1, S)
        if beam_width == 1:
            output_ids = greedy_decode(
                self.model, source_ids, self.max_length, return_attention=False
            )
        else:
            output_ids = beam_search_decode(
                self.model, source_ids, self.max_length, beam_width, LENGTH_PENALTY,
                return_attention=False,
            )
        output_ids = np.asarray(output_ids)[0]  # (T,)
        ends = np.flatnonzero(output_ids == END_ID)
        output_ids = output_ids[: ends[0] + 1] if len(ends) else output_ids[output_ids != 0]
        target_in = np.concatenate([[START_ID], output_ids[:-1]]).astype("int32")[None]
        weights = self.model.get_attention_weights((np.asarray(source_ids), target_in))
        cross_attention = {}
        for name, layer_weights in weights.items():
            if "cross" not in name:
                continue
            layer_weights = keras.ops.convert_to_numpy(layer_weights).astype("float32")[0]
            # A recurrent decoder's (T, S): one "head".
            cross_attention[name] = layer_weights[None] if layer_weights.ndim == 2 else layer_weights
        return TranslationAttention(
            translation=self.target_tokenizer.detokenize(output_ids[None]).numpy()[0].decode(
                "utf-8"
            ),
            source_tokens=_token_list(self.source_tokenizer, np.asarray(source_ids)[0]),
            output_tokens=_token_list(self.target_tokenizer, output_ids),
            cross_attention=cross_attention,
        )


class ClassifierRun(_Run):
    """A finished `train_classifier.py` run: `classify` texts, see the words it read.

    Made by `load_run`. Attributes: `folder`, `config`, `model` (a `TransformerClassifier`,
    a `BiGRUClassifier` or a `ClassifierEnsemble`), `tokenizer`, `max_length` (tokens
    read per text) and `class_names` (`("negative", "positive")`: label 0, label 1; a run
    on labelled files (`--train`): its classes, as `config.json` lists them).

    Example:

    >>> run = load_run("runs/classifier-builtin")
    >>> run.classify(["The ending was dull."])
    [{'label': 'negative', 'probability': 0.99994, 'probabilities': {'negative': 0.99994, 'positive': 6.1e-05}}]
    >>> view = run.attention("The ending was dull.")
    >>> view.tokens, view.weights.round(2)
    (['the', 'ending', 'was', 'dull', '.'], array([0., 0., 0., 1., 0.], dtype=float32))
    """

    kind = "classifier"
    class_names = CLASS_NAMES

    def __init__(self, folder, config, model, tokenizers):
        super().__init__(folder, config, model, tokenizers)
        (self.tokenizer,) = tokenizers
        self.class_names = tuple(config.get("classes") or CLASS_NAMES)
        from attention_layers.export import ClassifierServer

        # The export's preprocessing (its `token_ids`: no [START]/[END], at least one column).
        self._server = ClassifierServer(
            model, self.tokenizer, max_input_tokens=self.max_length, threshold=THRESHOLD
        )

    def _predict(self, texts, with_attention):
        """The model's output `(n, 1)` (P(class 1)) or `(n, N)`, and the token ids
        `(n, T)` and pooling weights `(n, T)`."""
        import keras
        import tensorflow as tf

        token_ids = np.asarray(self._server.token_ids(tf.constant(texts)))
        outputs = keras.ops.convert_to_numpy(self.model(token_ids, training=False))
        outputs = outputs.astype("float32")
        if not with_attention:
            return outputs, None, None
        weights = self.model.get_attention_weights(token_ids)["pooling"]
        weights = keras.ops.convert_to_numpy(weights).astype("float32")[:, 0]
        return outputs, token_ids, weights

    def _prediction(self, output):
        if len(output) == 1:  # P(class 1), read at the export's threshold
            positive = float(output[0])
            values = [1.0 - positive, positive]
            index = int(positive >= THRESHOLD)
        else:
            values = [float(value) for value in output]
            index = int(np.argmax(output))
        probabilities = dict(zip(self.class_names, values, strict=True))
        label = self.class_names[index]
        return {"label": label, "probability": probabilities[label],
                "probabilities": probabilities}

    def classify(self, texts):
        """Classifies texts, as the run's export does.

        Args:
            texts: a list of Python strings (any text; long ones are cut to `max_length`
                tokens).

        Returns:
            One dict per text: `{"label": "positive" or "negative", "probability": the
            probability of that label, "probabilities": {"negative": p0, "positive": p1}}`.
            The label is "positive" when P(positive) >= 0.5, as the export's `label` 1. A
            run on labelled files names its own classes; with more than two, the label is
            the most probable one.

        Raises:
            TypeError: `texts` is a string or holds a non-string.

        Example:

        >>> load_run("runs/classifier-builtin").classify(["The ending was dull."])[0]["label"]
        'negative'
        """
        texts = _check_texts("texts", texts)
        results = []
        for start in range(0, len(texts), BATCH_SIZE):
            outputs, _, _ = self._predict(texts[start : start + BATCH_SIZE], False)
            results += [self._prediction(output) for output in outputs]
        return results

    def attention(self, text):
        """Classifies one text and returns its tokens with their pooling attention.

        Args:
            text: one Python string.

        Returns:
            A `ClassificationAttention`: the prediction of `classify`, the tokens read and
            their weights `(T,)` (an ensemble's: the mean of its members').

        Example:

        >>> view = load_run("runs/classifier-builtin").attention("The ending was dull.")
        >>> view.label, view.tokens
        ('negative', ['the', 'ending', 'was', 'dull', '.'])
        """
        (text,) = _check_texts("text", [text])
        outputs, token_ids, weights = self._predict([text], True)
        length = int(np.count_nonzero(token_ids[0]))
        return ClassificationAttention(
            **self._prediction(outputs[0]),
            tokens=_token_list(self.tokenizer, token_ids[0, :length]),
            weights=weights[0, :length],
        )


def load_run(path):
    """Loads a finished training run: its model (in safe mode) and its tokenizers.

    Args:
        path: the run's folder, the `--output` of `train_translator.py` (default
            `runs/translator-builtin`) or `train_classifier.py` (`runs/classifier-builtin`).

    Returns:
        A `TranslatorRun` (`translate`, `attention`) or a `ClassifierRun` (`classify`,
        `attention`), as the run's `config.json` says.

    Raises:
        RunError: `path` is not a finished run (no folder, no `config.json`, an unknown
            command, no model or vocabulary file); the message says which.

    Example:

    >>> import attention_layers as al
    >>> run = al.load_run("runs/translator-builtin")
    >>> run.translate(["¿Dónde duermen mis gatos?"])
    ['where do my cats sleep?']
    >>> al.load_run("runs/classifier-builtin").classify(["The ending was dull."])[0]["label"]
    'negative'
    """
    from attention_layers import load_model
    from attention_layers.text import WordPieceTokenizer, WordTokenizer

    folder = pathlib.Path(path)
    config = read_run_config(folder)
    command = config["command"]
    kind = WordPieceTokenizer if config.get("vocabulary") == "wordpiece" else WordTokenizer
    # A translator trained with --case keeps the case of the sides it chose (config.json's
    # "case_by_side"); runs from before --case, and every classifier, lower-case.
    case_by_side = config.get("case_by_side") if command == "translator" else None
    sides = ("source", "target") if command == "translator" else (None,)
    tokenizers = tuple(
        kind.load(folder / name, lowercase=(case_by_side or {}).get(side) != "keep")
        for name, side in zip(VOCABULARY_FILES[command], sides, strict=True)
    )
    # Inference only: the optimizer state of a translator's file is not restored.
    model = load_model(folder / MODEL_FILES[command], compile=False, safe_mode=True)
    run_class = TranslatorRun if command == "translator" else ClassifierRun
    return run_class(folder, config, model, tokenizers)
