"""Tokenizers: text to integer ids and back, at word level and with WordPiece subwords.

Both tokenizers share one interface (`Tokenizer`), the normalization of
`attention_layers.text.normalize`, and the same reserved ids:

| id | token     | meaning                                        |
|---:|-----------|------------------------------------------------|
| 0  | `[PAD]`   | padding; `RaggedTensor.to_tensor()` fills with 0 |
| 1  | `[UNK]`   | a word (or WordPiece) not in the vocabulary    |
| 2  | `[START]` | first token of every tokenized sequence         |
| 3  | `[END]`   | last token; `detokenize` stops at the first one |

They are `tf.Module`s whose `tokenize` and `detokenize` are TensorFlow ops only: call them
inside `tf.function`, `tf.data.Dataset.map`, or a SavedModel signature taking a
`tf.string` tensor of shape `[None]`. The vocabulary is held as constants, so a SavedModel
that calls them carries its vocabulary; `save` and `load` also write and read it as a plain
text file, one token per line, line number = id.

A tokenizer lower-cases text unless it is made with `lowercase=False` (for cased data:
then it writes cased text). The setting is not in the vocabulary file: whoever saves the
file records it (a run's `config.json`, an export's `export.json`) and passes it to `load`,
whose default, lower-case, is what every file written before the setting existed means.
"""

import collections
import pathlib

import keras
import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text
from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib

from attention_layers.text.normalization import join_punctuation, normalize
from attention_layers.utils import token_ids as _reserved
from attention_layers.utils.files import atomic_write_text

# Defined once in the backend-neutral utils; re-exported here, where users look for them.
RESERVED_TOKENS = _reserved.RESERVED_TOKENS
PAD_TOKEN, UNK_TOKEN, START_TOKEN, END_TOKEN = RESERVED_TOKENS
PAD_ID, UNK_ID, START_ID, END_ID = (_reserved.PAD_ID, _reserved.UNK_ID, _reserved.START_ID,
                                    _reserved.END_ID)
DEFAULT_MAX_LENGTH = 128
WORDPIECE_SUFFIX = "##"

# Texts are normalized in batches of this many strings when counting words.
_COUNTING_BATCH_SIZE = 4096


def count_words(texts, lowercase=True):
    """Counts the words of `normalize`d texts.

    Args:
        texts: an iterable of Python strings, a 1-D `tf.string` tensor, or a
            `tf.data.Dataset` of scalar `tf.string` elements.
        lowercase: `normalize`'s: whether to lower-case the words.

    Returns:
        A `collections.Counter` mapping each normalized word to its number of occurrences.

    Example:

    >>> count_words(["¡Hola, Tom!", "hola"])["hola"]
    2
    """
    if isinstance(texts, tf.data.Dataset):
        batches = texts.batch(_COUNTING_BATCH_SIZE)
    else:
        if isinstance(texts, tf.Tensor):
            texts = texts.numpy()
        texts = [text.decode("utf-8") if isinstance(text, bytes) else text for text in texts]
        batches = (
            texts[start : start + _COUNTING_BATCH_SIZE]
            for start in range(0, len(texts), _COUNTING_BATCH_SIZE)
        )
    counts = collections.Counter()
    for batch in batches:
        for line in normalize(batch, lowercase).numpy():
            counts.update(line.decode("utf-8").split())
    return counts


class VocabularyError(ValueError):
    """A vocabulary file that `Tokenizer.load` cannot read (the message names the file)."""


class Tokenizer(tf.Module):
    """Base class: a vocabulary, its reserved ids, `tokenize`, `detokenize`, `save`, `load`.

    Subclasses define how normalized text becomes ids (`_ids_from_normalized`) and how
    tokens are joined back into words (`_join_tokens`).

    Args:
        vocabulary: a sequence of distinct token strings whose first four entries are
            `RESERVED_TOKENS` (`[PAD]`, `[UNK]`, `[START]`, `[END]`). A token's id is its
            position.
        lowercase: whether `tokenize` lower-cases text (`normalize`'s `lowercase`); a
            Python bool, fixed in every graph that calls the tokenizer (an export).
        name: the `tf.Module` name.

    Example, a tokenizer inside an exported string-to-string model:

    ```python
    class Exported(tf.Module):
        def __init__(self, tokenizer):
            self.tokenizer = tokenizer  # its vocabulary is saved with the module

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def round_trip(self, strings):
            ids = self.tokenizer.tokenize(strings).to_tensor()  # (batch, length), 0-padded
            return self.tokenizer.detokenize(ids)

    tf.saved_model.save(Exported(WordTokenizer.build(texts)), "exported")
    ```
    """

    pad_id = PAD_ID
    unk_id = UNK_ID
    start_id = START_ID
    end_id = END_ID

    def __init__(self, vocabulary, name=None, *, lowercase=True):
        super().__init__(name=name)
        vocabulary = [str(token) for token in vocabulary]
        _check_vocabulary(vocabulary)
        if not isinstance(lowercase, bool):
            raise ValueError(f"lowercase must be True or False, got {lowercase!r}")
        self._tokens = tuple(vocabulary)
        self._token_strings = tf.constant(vocabulary, dtype=tf.string)
        self._lowercase = lowercase

    @property
    def lowercase(self):
        """Whether `tokenize` lower-cases text; `False` keeps the case (cased data)."""
        return self._lowercase

    @property
    def vocabulary(self):
        """The tokens, as a tuple of strings; a token's id is its index."""
        return self._tokens

    @property
    def vocabulary_size(self):
        """The number of tokens, reserved ones included (the embedding's input size)."""
        return len(self._tokens)

    def tokenize(self, strings, *, add_start_end=True, max_length=DEFAULT_MAX_LENGTH):
        """Turns strings into token ids.

        Text is `normalize`d (lower-cased if `lowercase`), split into words and looked up; sequences longer than
        `max_length` are cut (keeping the beginning, and `[END]` when added), so any
        input, from `""` to a 10,000-character line, gives at most `max_length` ids.

        Args:
            strings: a 1-D `tf.string` tensor (or a list of Python strings), `[batch]`.
            add_start_end: whether to wrap each sequence in `[START]` ... `[END]`.
            max_length: the most ids per sequence, `[START]` and `[END]` included.

        Returns:
            An int64 `tf.RaggedTensor` of shape `[batch, (tokens)]`. Call
            `.to_tensor()` for a dense tensor padded with `pad_id` (0).

        Raises:
            ValueError: `max_length` is not an int of at least 2 (0 without
                `add_start_end`), or `strings` is not 1-D (a single string, a 2-D batch).
        """
        reserved_slots = 2 if add_start_end else 0
        if isinstance(max_length, bool) or not isinstance(max_length, int | np.integer):
            raise ValueError(
                f"max_length must be >= {reserved_slots} (an int), got {max_length!r}"
            )
        if max_length < reserved_slots:
            raise ValueError(f"max_length must be >= {reserved_slots}, got {max_length}")
        strings = tf.convert_to_tensor(strings, dtype=tf.string)
        if strings.shape.rank not in (None, 1):
            raise ValueError(
                "`strings` must be a 1-D batch of strings, shape [batch] (wrap one string "
                f"in a list); got shape {strings.shape}"
            )
        ids = self._ids_from_normalized(normalize(strings, self.lowercase))  # (batch, (tokens))
        ids = ids[:, : max_length - reserved_slots]
        if add_start_end:
            column_shape = tf.stack([ids.nrows(), 1])  # (batch, 1)
            start = tf.fill(column_shape, tf.constant(START_ID, tf.int64))
            end = tf.fill(column_shape, tf.constant(END_ID, tf.int64))
            ids = tf.concat(
                [tf.RaggedTensor.from_tensor(start), ids, tf.RaggedTensor.from_tensor(end)],
                axis=1,
            )
        return ids

    def detokenize(self, ids):
        """Turns token ids back into readable text.

        `[PAD]` and `[START]` are dropped, and each sequence stops at its first `[END]`, so
        the raw output of a decoder can be passed in. Words are joined with spaces and
        the punctuation spacing of `normalize` is undone (`join_punctuation`); the result
        is the input's `canonical_text` (with this tokenizer's `lowercase`) when every
        word was in the vocabulary.

        Args:
            ids: integer ids of shape `[batch, tokens]`: a dense tensor (padded with 0) or
                a `tf.RaggedTensor`.

        Returns:
            A `tf.string` tensor of shape `[batch]`.

        Raises:
            ValueError: when run eagerly, an id is outside `[0, vocabulary_size)`.
        """
        if isinstance(ids, tf.RaggedTensor):
            ids = ids.to_tensor(default_value=PAD_ID)
        ids = tf.cast(tf.convert_to_tensor(ids), tf.int64)
        ended = tf.cumsum(tf.cast(tf.equal(ids, END_ID), tf.int32), axis=-1) > 0
        keep = tf.logical_not(ended) & tf.not_equal(ids, PAD_ID) & tf.not_equal(ids, START_ID)
        tokens = tf.ragged.boolean_mask(self.ids_to_tokens(ids), keep)
        return join_punctuation(self._join_tokens(tokens))

    def ids_to_tokens(self, ids):
        """Looks up the token string of each id, e.g. to label an attention plot.

        Args:
            ids: integer ids of any shape, dense or ragged.

        Returns:
            A `tf.string` tensor (ragged if `ids` is) of the same shape.

        Raises:
            ValueError: when run eagerly, an id is outside `[0, vocabulary_size)`. (In a
                graph the ids come from a model whose outputs are the vocabulary.)
        """
        ids = tf.cast(ids, tf.int64)
        if tf.executing_eagerly():
            values = (ids.flat_values if isinstance(ids, tf.RaggedTensor) else ids).numpy()
            outside = values[(values < 0) | (values >= self.vocabulary_size)]
            if outside.size:
                raise ValueError(
                    f"`ids` must be token ids of this vocabulary, in [0, "
                    f"{self.vocabulary_size}); got {outside.flat[0]}"
                )
        return tf.gather(self._token_strings, ids)

    def token_to_id(self, token):
        """Returns the id of `token` (a Python string), or `unk_id` if it is unknown."""
        try:
            return self._tokens.index(token)
        except ValueError:
            return UNK_ID

    def save(self, path):
        """Writes the vocabulary to a UTF-8 text file, one token per line, all or nothing.

        The file is written under a temporary name and renamed into place, so a process
        killed while saving leaves the previous vocabulary (see `attention_layers.utils.
        files`).

        Args:
            path: the file to write.

        Returns:
            The path, as a `pathlib.Path`.
        """
        return atomic_write_text(path, "".join(f"{token}\n" for token in self._tokens))

    @classmethod
    def load(cls, path, **kwargs):
        """Creates a tokenizer from a vocabulary file written by `save`.

        Args:
            path: the vocabulary file.
            **kwargs: passed to the constructor, e.g. `lowercase=False` for a cased
                tokenizer's file (the file does not say; the default lower-cases).

        Returns:
            A tokenizer of this class.

        Raises:
            VocabularyError: the file is not a vocabulary (empty, not UTF-8, no reserved
                tokens first, duplicate tokens) or not a regular file (a pipe with no
                writer would be waited on forever); the message names it.
        """
        path = pathlib.Path(path)
        if path.exists() and not path.is_dir() and not path.is_file():
            raise VocabularyError(f"{path} is not a regular file (a pipe, a device or a "
                                  "socket), not a vocabulary file")
        try:
            text = path.read_text(encoding="utf-8")
            return cls(text.splitlines(), **kwargs)
        except ValueError as error:  # UnicodeDecodeError included
            raise VocabularyError(f"{path} is not a vocabulary file (one token per line, "
                             f"written by `save`): {error}") from error

    def _ids_from_normalized(self, normalized):
        """Maps normalized strings `[batch]` to int64 ids, ragged `[batch, (tokens)]`."""
        raise NotImplementedError

    def _join_tokens(self, tokens):
        """Joins token strings, ragged `[batch, (tokens)]`, into `[batch]` strings."""
        return tf.strings.reduce_join(tokens, axis=-1, separator=" ")


class WordTokenizer(Tokenizer):
    """Word-level tokenizer: each normalized word is one id (Keras `TextVectorization`).

    Words are what `normalize` separates with spaces, so punctuation marks are tokens of
    their own. Words outside the vocabulary become `[UNK]`.

    Args:
        vocabulary: distinct tokens, starting with `RESERVED_TOKENS`; usually from
            `WordTokenizer.build` or `WordTokenizer.load`.
        lowercase: whether text is lower-cased (the default) or keeps its case.
        name: the `tf.Module` name.

    Example:

    >>> tokenizer = WordTokenizer.build(["El perro negro duerme.", "¿Duerme el perro?"])
    >>> tokenizer.vocabulary[:8]
    ('[PAD]', '[UNK]', '[START]', '[END]', 'duerme', 'el', 'perro', '.')
    >>> tokenizer.tokenize(["El gato duerme."]).to_list()
    [[2, 5, 1, 4, 7, 3]]
    >>> tokenizer.detokenize([[2, 6, 4, 7, 3, 0]]).numpy()[0].decode()
    'perro duerme.'
    >>> cased = WordTokenizer.build(["Tom lives in Paris."], lowercase=False)
    >>> cased.detokenize(cased.tokenize(["Tom lives in Paris."])).numpy()[0].decode()
    'Tom lives in Paris.'
    """

    def __init__(self, vocabulary, name=None, *, lowercase=True):
        super().__init__(vocabulary, lowercase=lowercase, name=name)
        # TextVectorization numbers its padding ("") 0 and its out-of-vocabulary token
        # "[UNK]" 1, the same ids as our [PAD] and [UNK]; the rest follows in order.
        self._vectorizer = keras.layers.TextVectorization(
            standardize=None,
            split="whitespace",
            output_mode="int",
            vocabulary=list(self.vocabulary[len((PAD_TOKEN, UNK_TOKEN)) :]),
        )

    @classmethod
    def build(cls, texts, *, max_vocabulary_size=None, min_count=1, lowercase=True):
        """Builds the vocabulary from training text: the most frequent normalized words.

        Args:
            texts: the training text (see `count_words` for the accepted types).
            max_vocabulary_size: the most tokens, reserved ones included; `None` keeps
                every word seen at least `min_count` times.
            min_count: the fewest occurrences for a word to enter the vocabulary.
            lowercase: whether the tokenizer lower-cases text (the default) or keeps
                its case, `Paris` and `paris` then being two words.

        Returns:
            A `WordTokenizer`. Ties in frequency are broken alphabetically, so the same
            text always gives the same ids.
        """
        counts = count_words(texts, lowercase)
        words = sorted(
            (word for word, count in counts.items() if count >= min_count),
            key=lambda word: (-counts[word], word),
        )
        if max_vocabulary_size is not None:
            words = words[: max(0, max_vocabulary_size - len(RESERVED_TOKENS))]
        return cls(list(RESERVED_TOKENS) + words, lowercase=lowercase)

    def _ids_from_normalized(self, normalized):
        # The vectorizer pads to the longest line with 0; a word is never 0 (unknown ones
        # are 1), so stripping trailing zeros recovers each line's length.
        padded = self._vectorizer(normalized)  # (batch, longest)
        return tf.RaggedTensor.from_tensor(tf.cast(padded, tf.int64), padding=PAD_ID)


class WordPieceTokenizer(Tokenizer):
    """Subword tokenizer: WordPiece (Schuster & Nakajima 2012; Wu et al. 2016), fast variant.

    Each normalized word is split into the longest vocabulary pieces from the left;
    pieces after the first carry the `##` prefix (`canción` -> `can ##ción`). A word with
    a character outside the vocabulary, or longer than `max_bytes_per_word`, becomes a
    single `[UNK]`. Tokenization is `tensorflow_text.FastWordpieceTokenizer` (Song et al.
    2021) applied to the words of `normalize`, the same words `WordTokenizer` sees.

    Args:
        vocabulary: distinct tokens, starting with `RESERVED_TOKENS`; usually from
            `WordPieceTokenizer.build` or `WordPieceTokenizer.load`.
        max_bytes_per_word: longer words become `[UNK]`.
        lowercase: whether text is lower-cased (the default) or keeps its case.
        name: the `tf.Module` name.

    Example:

    >>> tokenizer = WordPieceTokenizer.build(["La canción.", "Las canciones."] * 20,
    ...                                      vocabulary_size=60)
    >>> ids = tokenizer.tokenize(["Las canción."])  # pieces of seen words
    >>> tokenizer.detokenize(ids).numpy()[0].decode()
    'las canción.'
    """

    def __init__(self, vocabulary, *, max_bytes_per_word=100, name=None, lowercase=True):
        super().__init__(vocabulary, lowercase=lowercase, name=name)
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            vocab=list(self.vocabulary),
            suffix_indicator=WORDPIECE_SUFFIX,
            max_bytes_per_word=max_bytes_per_word,
            token_out_type=tf.int64,
            unknown_token=UNK_TOKEN,
            no_pretokenization=True,
        )

    @classmethod
    def build(cls, texts, *, vocabulary_size=8000, lower_threshold=10, max_bytes_per_word=100,
              lowercase=True):
        """Learns a WordPiece vocabulary from training text (tensorflow-text's learner).

        This is the algorithm of `tensorflow_text.tools.wordpiece_vocab.
        bert_vocab_from_dataset`, run on the words of `normalize` so that learning and
        tokenizing split text the same way. Every character of the text gets a token,
        so only words longer than `max_bytes_per_word` become `[UNK]`.

        Args:
            texts: the training text (see `count_words` for the accepted types).
            vocabulary_size: the most tokens, reserved ones included.
            lower_threshold: the learner's lowest count for a piece to be kept.
            max_bytes_per_word: passed to the constructor.
            lowercase: whether the tokenizer lower-cases text (the default) or keeps
                its case.

        Returns:
            A `WordPieceTokenizer`.
        """
        counts = count_words(texts, lowercase)
        vocabulary = wordpiece_tokenizer_learner_lib.learn(
            sorted(counts.items()),
            vocabulary_size,
            list(RESERVED_TOKENS),
            lower_thresh=lower_threshold,
            joiner=WORDPIECE_SUFFIX,
        )
        return cls(vocabulary, max_bytes_per_word=max_bytes_per_word, lowercase=lowercase)

    def _ids_from_normalized(self, normalized):
        words = tf.strings.split(normalized)  # (batch, (words))
        pieces = self._wordpiece.tokenize(words)  # (batch, (words), (pieces))
        return pieces.merge_dims(-2, -1)

    def _join_tokens(self, tokens):
        text = super()._join_tokens(tokens)
        # A sequence cut by max_length can start in the middle of a word.
        text = tf.strings.regex_replace(text, "^" + WORDPIECE_SUFFIX, "")
        return tf.strings.regex_replace(text, " " + WORDPIECE_SUFFIX, "")


def _check_vocabulary(vocabulary):
    if tuple(vocabulary[: len(RESERVED_TOKENS)]) != RESERVED_TOKENS:
        raise ValueError(
            f"A vocabulary must start with {list(RESERVED_TOKENS)}, got {vocabulary[:4]}"
        )
    duplicates = [token for token, count in collections.Counter(vocabulary).items() if count > 1]
    if duplicates:
        raise ValueError(f"Duplicate tokens in the vocabulary: {duplicates[:10]}")
    malformed = [token for token in vocabulary if not token or token != "".join(token.split())]
    if malformed:
        raise ValueError(f"Tokens must be non-empty and without whitespace: {malformed[:10]}")
