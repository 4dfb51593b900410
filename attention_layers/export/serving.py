"""Raw strings in, translations or probabilities out, in one TensorFlow graph.

`TranslatorServer` and `ClassifierServer` are `tf.Module`s whose `tf.function`s take a
batch of raw strings (`tf.string`, shape `[None]`) and do everything inside the graph:
clean the text (`clean_text`), normalize and tokenize it (`attention_layers.text`), run the
model (greedy or beam search for a translator), detokenize. `export_translator` and
`export_classifier` save them as SavedModels; `translate` runs the same steps eagerly, so
an export translates exactly as the model did in the program that trained it.

Any string is valid input: empty or whitespace-only strings, emoji, scripts the
vocabulary never saw (they become `[UNK]`), control characters, invalid UTF-8 (replaced
by U+FFFD) and strings of any length (cut to `max_input_characters` characters, then to
`max_input_tokens` tokens).
"""

import tensorflow as tf

from attention_layers.decoding import (
    beam_search_decode,
    check_length_penalty,
    check_translator,
    greedy_decode,
)
from attention_layers.text.tokenizers import DEFAULT_MAX_LENGTH
from attention_layers.utils.checks import check_positive_int, check_positive_ints
from attention_layers.utils.token_ids import PAD_ID, padding_mask

# The limits of an export, unless told otherwise (see docs/export.md, "Limits").
MAX_INPUT_CHARACTERS = 4096
MAX_OUTPUT_LENGTH = 64
MAX_BEAM_WIDTH = 8
MAX_BATCH_SIZE = 256
LENGTH_PENALTY = 0.6

_TEXT = tf.TensorSpec([None], tf.string, name="text")


def clean_text(strings, max_characters=MAX_INPUT_CHARACTERS):
    """Makes any string safe to tokenize: valid UTF-8, at most `max_characters` long.

    Invalid UTF-8 bytes become U+FFFD (which the tokenizers map to `[UNK]`); a string is
    cut after `max_characters` characters, which bounds the work of normalization for
    a 10-megabyte request. Everything else (control characters, emoji, empty strings)
    is left to `attention_layers.text.normalize`.

    Args:
        strings: a `tf.string` tensor of any shape (or a list of Python strings).
        max_characters: the most Unicode characters kept per string.

    Returns:
        A `tf.string` tensor of the same shape.

    Raises:
        ValueError: `max_characters` is not a positive int.

    Example:

    >>> clean_text([b"caf\\xe9 ok", "hola"], max_characters=3).numpy().tolist()
    [b'caf', b'hol']
    """
    check_positive_int("max_characters", max_characters)
    strings = tf.convert_to_tensor(strings, tf.string)
    strings = tf.strings.unicode_transcode(
        strings, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
    )
    return tf.strings.substr(strings, 0, max_characters, unit="UTF8_CHAR")


def check_text_batch(text):
    """Fails with a clear message unless `text` is a 1-D batch of strings, shape `[batch]`.

    A SavedModel signature does not enforce the shape it declares (`[None]`): a caller
    of TensorFlow Serving or of `signatures[...]` may pass a scalar or a 2-D tensor, which
    would otherwise fail deep inside the tokenizer ("input must be a vector").
    Each signature runs this check first. The rank is read from the runtime shape as a
    string, so that graph optimization (which trusts the declared rank) cannot remove it.

    Args:
        text: a `tf.string` tensor.

    Returns:
        `text`, once the check has passed.

    Raises:
        tf.errors.InvalidArgumentError: at run time, "`text` must be a 1-D batch of
            strings, shape [batch] ...; got shape [2,3]".
    """
    shape = tf.strings.reduce_join(tf.strings.as_string(tf.shape(text)), separator=",")
    message = tf.strings.join(
        [
            "`text` must be a 1-D batch of strings, shape [batch] (wrap one string in a "
            "list; flatten a 2-D batch); got shape [",
            shape,
            "]",
        ]
    )
    check = tf.debugging.Assert(tf.strings.regex_full_match(shape, "[0-9]+"), [message])
    with tf.control_dependencies([check]):
        return tf.identity(text)


def check_beam_width(beam_width):
    """Fails with a clear message unless `beam_width` holds one int32; returns it as a
    scalar.

    A SavedModel signature does not enforce the shape it declares (`[]` for
    `beam_search`'s `beam_width`), and a vector would fail deep inside the beam search
    with an obscure graph error. The values are counted at run time, in a way that graph
    optimization (which trusts the declared `[]`) cannot fold away. Nor can it see the
    rank that is really given, so one value of any shape (`[2]`, `[[2]]`) is read as
    that value, taken out at run time; the REST server refuses those with a 400 before.

    Args:
        beam_width: an int32 tensor.

    Returns:
        The one value of `beam_width`, an int32 scalar, once the check has passed.

    Raises:
        tf.errors.InvalidArgumentError: at run time, "`beam_width` must be one int32, a
            scalar (shape []) ...; got 2 values".
    """
    # `where` has a run-time length that graph optimization cannot fold: the number of
    # values that `beam_width` really holds.
    values = tf.reshape(beam_width, [-1])
    count = tf.shape(tf.where(tf.equal(values, values)), out_type=tf.int32)[0]
    message = tf.strings.join(
        ["`beam_width` must be one int32, a scalar (shape []) for the whole batch; got ",
         tf.strings.as_string(count), " values"]
    )
    check = tf.debugging.Assert(tf.equal(count, 1), [message])
    with tf.control_dependencies([check]):
        # `values` really has shape [1] here: its first value is a true scalar.
        return tf.gather(values, 0)


def _check_tokenizer(name, tokenizer, vocabulary_size):
    if tokenizer.vocabulary_size != vocabulary_size:
        raise ValueError(
            f"`{name}` has {tokenizer.vocabulary_size} tokens but the model expects "
            f"{vocabulary_size}."
        )


def _max_input_tokens(model, max_input_tokens):
    """The longest source, `[START]`/`[END]` included, that `model` accepts."""
    check_translator(model)
    limit = model.max_source_length
    if max_input_tokens is None:
        return min(DEFAULT_MAX_LENGTH, limit or DEFAULT_MAX_LENGTH)
    check_positive_int("max_input_tokens", max_input_tokens)
    if max_input_tokens < 2:
        raise ValueError(f"`max_input_tokens` must be >= 2; received {max_input_tokens}.")
    if limit is not None and max_input_tokens > limit:
        raise ValueError(
            f"`max_input_tokens` ({max_input_tokens}) is more than the model's "
            f"`max_source_length` ({limit})."
        )
    return max_input_tokens


def _source_ids(tokenizer, text, max_input_tokens, max_input_characters):
    """Raw strings `[batch]` -> source ids int32 `(batch, S)`, `[START] ... [END]`, 0-padded."""
    ids = tokenizer.tokenize(clean_text(text, max_input_characters), max_length=max_input_tokens)
    return tf.cast(ids.to_tensor(default_value=PAD_ID), tf.int32)


class _Untracked:
    """Holds an object outside a `tf.Module`'s object graph (see `_track_weights`)."""

    def __init__(self, value):
        self.value = value


def _track_weights(module, model):
    """Saves `model`'s weights with `module`, in a form every SavedModel loader restores.

    A Keras 3 variable tracked through its model is exported as a copy that only Python's
    `tf.saved_model.load` connects to the graph; the C++ loader of TensorFlow Serving and
    `saved_model_cli run` would find the graph's variables uninitialized. So the module
    tracks the `tf.Variable`s inside the Keras variables (which the traced functions
    read) and keeps the model itself out of its object graph. Call it once the model is
    built (a model may create its weights on its first call).
    """
    module.model_variables = [variable.value for variable in model.variables]


def _token_strings(tokenizer, ids):
    """Token strings of `ids`, `""` where the id is `[PAD]`."""
    return tf.where(padding_mask(ids), tokenizer.ids_to_tokens(ids), "")


def _empty_with_attention():
    """The outputs of `translate_with_attention` for an empty batch."""
    return {
        "translation": tf.fill([0], ""),
        "source_tokens": tf.fill([0, 0], ""),
        "target_tokens": tf.fill([0, 0], ""),
        "cross_attention": tf.zeros([0, 0, 0], tf.float32),
    }


class _Server(tf.Module):
    """What both servers share: the model kept out of the object graph, the signatures
    and the limits. A subclass names its `_LIMITS` (attributes) and `_SIGNATURES`
    (`{signature name: tf.function attribute}`)."""

    _LIMITS = ()
    _SIGNATURES = {}

    def __init__(self, model, name):
        super().__init__(name=name)
        self._model = _Untracked(model)

    @property
    def model(self):
        """The served Keras model."""
        return self._model.value

    def signatures(self):
        """The SavedModel signatures, `{name: tf.function}` (see the class docstring for
        the names), each with its input signature.

        Call it before `tf.saved_model.save(server, path, signatures=...)`: it also
        records the model's weights on the module (see `export_translator`). The
        functions of a built model are given untraced: the save traces each once, whereas
        a function traced before the save is traced again inside it. A model not built
        yet creates its weights on its first call, so `serving_default` (which calls the
        whole model) is traced here first, to build it.
        """
        signatures = {name: getattr(self, function) for name, function in self._SIGNATURES.items()}
        if not self.model.built:
            signatures["serving_default"].get_concrete_function()
        _track_weights(self, self.model)
        return signatures

    def limits(self):
        """The export's limits, as a dict of ints and floats."""
        return {name: getattr(self, name) for name in self._LIMITS}


class TranslatorServer(_Server):
    """A translator with its tokenizers, as string-to-string `tf.function`s.

    Functions (each takes `text`, `tf.string` `[batch]`, and returns a dict):

    - `translate(text)`: greedy decoding -> `{"translation": [batch] string}`;
    - `beam_search(text, beam_width)`: beam search, `beam_width` an int32 scalar
      (clipped to `[1, max_beam_width]`) -> `{"translation"}`;
    - `translate_with_attention(text)`: greedy decoding -> `{"translation",
      "source_tokens" [batch, S] string, "target_tokens" [batch, T] string,
      "cross_attention" [batch, T, S] float32}`; token strings are `""` on padding,
      source tokens include `[START]` and `[END]`, target tokens end with `[END]`;
      an empty batch gives empty outputs (`[0]`, `[0, 0]`, `[0, 0]`, `[0, 0, 0]`).

    `signatures()` exports them as `serving_default` (`translate`), `beam_search` and
    `translate_with_attention`.

    `translate` and `beam_search` decode at most `max_batch_size` sentences at once: a
    larger batch is decoded in chunks, one after the other, so that memory stays bounded
    whatever the request (the result is the same: decoding is independent per sentence).
    `translate_with_attention` decodes its batch at once (it is meant for a few sentences
    to visualize).

    Args:
        model: a `TransformerTranslator` or `RNNTranslator`.
        source_tokenizer: the `attention_layers.text.Tokenizer` of the source language.
        target_tokenizer: the `Tokenizer` of the target language.
        max_input_tokens: source tokens kept, `[START]`/`[END]` included (default 128,
            or the model's `max_source_length` when it has one, e.g. the RNN with
            location attention).
        max_input_characters: characters kept of each input string.
        max_output_length: tokens generated at most, `[END]` included.
        max_beam_width: the widest beam `beam_search` runs.
        max_batch_size: sentences decoded at once by `translate` and `beam_search`.
        length_penalty: `alpha` of the GNMT length penalty in `beam_search`.
        name: the `tf.Module` name.

    Example:

    >>> server = TranslatorServer(model, spanish, english)
    >>> server.translate(tf.constant(["¿Dónde está el gato?"]))["translation"]
    """

    _LIMITS = (
        "max_input_tokens", "max_input_characters", "max_output_length", "max_beam_width",
        "max_batch_size", "length_penalty",
    )
    _SIGNATURES = {
        "serving_default": "translate",
        "beam_search": "beam_search",
        "translate_with_attention": "translate_with_attention",
    }

    def __init__(
        self,
        model,
        source_tokenizer,
        target_tokenizer,
        *,
        max_input_tokens=None,
        max_input_characters=MAX_INPUT_CHARACTERS,
        max_output_length=MAX_OUTPUT_LENGTH,
        max_beam_width=MAX_BEAM_WIDTH,
        max_batch_size=MAX_BATCH_SIZE,
        length_penalty=LENGTH_PENALTY,
        name=None,
    ):
        super().__init__(model, name)
        _check_tokenizer("source_tokenizer", source_tokenizer, model.source_vocab_size)
        _check_tokenizer("target_tokenizer", target_tokenizer, model.target_vocab_size)
        check_positive_ints(
            max_input_characters=max_input_characters, max_output_length=max_output_length,
            max_beam_width=max_beam_width, max_batch_size=max_batch_size,
        )
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.max_input_tokens = _max_input_tokens(model, max_input_tokens)
        self.max_input_characters = max_input_characters
        self.max_output_length = max_output_length
        self.max_beam_width = max_beam_width
        self.max_batch_size = max_batch_size
        check_length_penalty(length_penalty)
        self.length_penalty = float(length_penalty)
        self.translate = tf.function(
            self._translate, input_signature=[_TEXT], autograph=False
        )
        self.beam_search = tf.function(
            self._beam_search,
            input_signature=[_TEXT, tf.TensorSpec([], tf.int32, name="beam_width")],
            autograph=False,
        )
        self.translate_with_attention = tf.function(
            self._translate_with_attention, input_signature=[_TEXT], autograph=False
        )

    def source_ids(self, text):
        """Raw strings `[batch]` -> source ids int32 `(batch, S)`, padded with 0."""
        return _source_ids(
            self.source_tokenizer, text, self.max_input_tokens, self.max_input_characters
        )

    def _in_chunks(self, translate, text):
        """`translate(text) -> [n] strings`, on at most `max_batch_size` sentences at once."""
        batch = tf.shape(text)[0]
        chunk = tf.maximum(tf.minimum(batch, self.max_batch_size), 1)
        # At least one chunk (of one empty string for an empty batch): `map_fn` cannot
        # stack zero outputs of unknown shape.
        chunks = tf.maximum((batch + chunk - 1) // chunk, 1)
        # The last chunk is filled up with empty strings, whose outputs are dropped.
        padded = tf.concat([text, tf.fill([chunks * chunk - batch], "")], axis=0)
        translations = tf.map_fn(
            translate,
            tf.reshape(padded, [chunks, chunk]),
            fn_output_signature=tf.TensorSpec([None], tf.string),
            parallel_iterations=1,
        )  # (chunks, chunk)
        return tf.reshape(translations, [-1])[:batch]

    def _translate(self, text):
        text = check_text_batch(text)

        def translate(text):
            token_ids = greedy_decode(
                self.model, self.source_ids(text), self.max_output_length,
                return_attention=False,
            )
            return self.target_tokenizer.detokenize(token_ids)

        return {"translation": self._in_chunks(translate, text)}

    def _beam_search(self, text, beam_width):
        text = check_text_batch(text)
        beam_width = tf.clip_by_value(check_beam_width(beam_width), 1, self.max_beam_width)

        def translate(text):
            token_ids = beam_search_decode(
                self.model, self.source_ids(text), self.max_output_length, beam_width,
                self.length_penalty, return_attention=False,
            )
            return self.target_tokenizer.detokenize(token_ids)

        return {"translation": self._in_chunks(translate, text)}

    def _translate_with_attention(self, text):
        text = check_text_batch(text)
        # An empty batch decodes nothing: a recurrent encoder cannot run over the zero
        # source positions that its padded ids would have.
        return tf.cond(
            tf.size(text) > 0, lambda: self._with_attention(text), _empty_with_attention
        )

    def _with_attention(self, text):
        source_ids = self.source_ids(text)
        token_ids, cross_attention = greedy_decode(
            self.model, source_ids, self.max_output_length
        )  # (batch, T), (batch, T, S)
        return {
            "translation": self.target_tokenizer.detokenize(token_ids),
            "source_tokens": _token_strings(self.source_tokenizer, source_ids),
            "target_tokens": _token_strings(self.target_tokenizer, token_ids),
            "cross_attention": cross_attention,
        }


class ClassifierServer(_Server):
    """A sentiment classifier with its tokenizer, as string-to-probability `tf.function`s.

    Functions (each takes `text`, `tf.string` `[batch]`, and returns a dict):

    - `classify(text)` -> `{"probability": [batch] float32 (of the positive class),
      "label": [batch] int64 (1 when probability >= threshold)}`; with `classes` (the
      class names of a run on labelled files), `{"label": [batch] string (the class
      name), "probabilities": [batch, N] float32 (in `classes` order)}`, and for two
      classes `"probability"` of `classes[1]` too;
    - `classify_with_attention(text)` -> also `{"tokens": [batch, T] string ("" on
      padding), "attention": [batch, T] float32}`, the pooling weights per token.

    `signatures()` exports them as `serving_default` (`classify`) and
    `classify_with_attention`.

    Text is tokenized without `[START]`/`[END]`, as the classification pipelines do.

    Args:
        model: a classifier with `call(token_ids) -> (batch, 1)` probabilities and
            `get_attention_weights(token_ids) -> {"pooling": (batch, 1, T), ...}`
            (`TransformerClassifier`, `BiGRUClassifier`).
        tokenizer: the `attention_layers.text.Tokenizer` it was trained with.
        max_input_tokens: tokens kept per text.
        max_input_characters: characters kept of each input string.
        threshold: the probability from which the label is 1 (two classes).
        classes: `None` (labels 0 and 1), or the `N` class names, in the order of the
            model's labels: `label` is then the name.
        name: the `tf.Module` name.
    """

    _LIMITS = ("max_input_tokens", "max_input_characters", "threshold")
    _SIGNATURES = {
        "serving_default": "classify",
        "classify_with_attention": "classify_with_attention",
    }

    def __init__(
        self,
        model,
        tokenizer,
        *,
        max_input_tokens=DEFAULT_MAX_LENGTH,
        max_input_characters=MAX_INPUT_CHARACTERS,
        threshold=0.5,
        classes=None,
        name=None,
    ):
        super().__init__(model, name)
        check_positive_ints(
            max_input_tokens=max_input_tokens, max_input_characters=max_input_characters
        )
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"`threshold` must be in [0, 1]; received {threshold!r}.")
        width = getattr(model, "num_classes", 2)
        if classes is not None and len(classes) != width:
            raise ValueError(f"`classes` names {len(classes)} classes; the model has {width}.")
        self.classes = None if classes is None else tuple(str(name) for name in classes)
        self.tokenizer = tokenizer
        self.max_input_tokens = max_input_tokens
        self.max_input_characters = max_input_characters
        self.threshold = float(threshold)
        self.classify = tf.function(self._classify, input_signature=[_TEXT], autograph=False)
        self.classify_with_attention = tf.function(
            self._classify_with_attention, input_signature=[_TEXT], autograph=False
        )

    def token_ids(self, text):
        """Raw strings `[batch]` -> int32 `(batch, T)` ids, `T >= 1`, padded with 0."""
        ids = self.tokenizer.tokenize(
            clean_text(text, self.max_input_characters),
            add_start_end=False,
            max_length=self.max_input_tokens,
        ).to_tensor(default_value=PAD_ID)
        # An all-empty batch still gets one (padding) column: the model needs T >= 1.
        missing = tf.maximum(0, 1 - tf.shape(ids)[1])
        return tf.cast(tf.pad(ids, [[0, 0], [0, missing]]), tf.int32)

    def _outputs(self, token_ids):
        outputs = tf.cast(self.model(token_ids, training=False), tf.float32)
        if self.classes is None:  # the builtin and SST-2 runs: labels 0 and 1
            probability = outputs[:, 0]
            label = tf.cast(probability >= self.threshold, tf.int64)
            return {"probability": probability, "label": label}
        if len(self.classes) == 2:  # (batch, 1): P(classes[1])
            probability = outputs[:, 0]
            index = tf.cast(probability >= self.threshold, tf.int32)
            probabilities = tf.stack([1.0 - probability, probability], axis=1)  # (batch, 2)
            return {"probability": probability, "probabilities": probabilities,
                    "label": tf.gather(tf.constant(self.classes), index)}
        index = tf.argmax(outputs, axis=-1, output_type=tf.int32)  # (batch,)
        return {"probabilities": outputs, "label": tf.gather(tf.constant(self.classes), index)}

    def _classify(self, text):
        text = check_text_batch(text)
        return self._outputs(self.token_ids(text))

    def _classify_with_attention(self, text):
        text = check_text_batch(text)
        token_ids = self.token_ids(text)
        attention = self.model.get_attention_weights(token_ids)["pooling"][:, 0, :]
        return {
            **self._outputs(token_ids),
            "tokens": _token_strings(self.tokenizer, token_ids),
            "attention": tf.cast(attention, tf.float32),  # (batch, T)
        }


def translate(
    model,
    source_tokenizer,
    target_tokenizer,
    strings,
    *,
    beam_width=1,
    max_length=MAX_OUTPUT_LENGTH,
    length_penalty=LENGTH_PENALTY,
    max_input_tokens=None,
    max_input_characters=MAX_INPUT_CHARACTERS,
):
    """Translates Python strings, eagerly, exactly as an export of the model would.

    The text goes through the steps of `TranslatorServer` (`clean_text`, tokenization,
    decoding, detokenization); decoding runs a compiled graph on the TensorFlow backend.

    Args:
        model: a `TransformerTranslator` or `RNNTranslator`.
        source_tokenizer, target_tokenizer: `attention_layers.text.Tokenizer`s.
        strings: a list of source sentences (or a 1-D `tf.string` tensor).
        beam_width: 1 for greedy decoding, more for beam search.
        max_length: the most tokens generated per sentence, `[END]` included.
        length_penalty: `alpha` of the GNMT length penalty (beam search only).
        max_input_tokens, max_input_characters: as for `TranslatorServer`.

    Returns:
        A list of translated strings, one per input.

    Example:

    >>> translate(model, spanish, english, ["El gato duerme."], beam_width=4)
    ['the cat sleeps.']
    """
    check_positive_int("beam_width", beam_width)
    max_input_tokens = _max_input_tokens(model, max_input_tokens)
    source_ids = _source_ids(source_tokenizer, strings, max_input_tokens, max_input_characters)
    if beam_width == 1:
        token_ids = greedy_decode(model, source_ids, max_length, return_attention=False)
    else:
        token_ids = beam_search_decode(
            model, source_ids, max_length, beam_width, length_penalty, return_attention=False
        )
    return [text.decode("utf-8") for text in target_tokenizer.detokenize(token_ids).numpy()]
