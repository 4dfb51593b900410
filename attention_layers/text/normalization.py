"""Text normalization shared by every tokenizer: one canonical form for text of any script.

`normalize` turns raw text into words separated by single spaces, lower-cased unless the
caller keeps the case (`lowercase=False`, for cased data), with each punctuation mark its
own word; `join_punctuation` undoes the spacing for display. Both are
TensorFlow ops only, so they run inside `tf.function`, `tf.data` and an exported SavedModel.
"""

import tensorflow as tf
import tensorflow_text as tf_text

# Typographic apostrophes and the acute accent typed in their place ("don´t") become "'".
# This must run before NFKD, which would turn "´" into a space and a combining accent.
_APOSTROPHE_VARIANTS = "[\u2018\u2019\u02bc\u00b4`]"
# Control characters act as spaces, and so do all Unicode separators (ogham space, line
# and paragraph separators) and the zero-width space (a word boundary by definition):
# RE2's `\s` is ASCII only, and the tokenizers split on the spaces `normalize` leaves.
_SPACE_LIKE = r"[\p{Cc}\p{Z}\x{200B}]"
# The other invisible format characters (category Cf: soft hyphen, zero-width joiner and
# non-joiner, word joiner, BOM, direction marks) sit inside words and are removed, so that
# "ni\u00adño" stays "niño" instead of splitting into "ni" and "ño".
_FORMAT = r"\p{Cf}"
# Everything that is not a letter, a combining mark, a digit, a space or an apostrophe is
# punctuation (or a symbol) and becomes a word of its own: "¿", "?", "¡", ",", "$", "-".
_PUNCTUATION = r"([^\pL\pM\pN\s'])"
_WORD_CHARACTER = r"[\pL\pM\pN]"
# Scripts written without spaces between words: each character (with the combining marks
# that follow it) becomes a word of its own, as BERT splits CJK ideographs before WordPiece
# (Devlin et al., 2019, `_tokenize_chinese_chars`), here with kana and the scripts of
# South-East Asia too. `join_punctuation` joins them again.
_UNSPACED = r"[\p{Han}\p{Hiragana}\p{Katakana}\x{30FC}\x{3005}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]"
# Marks that take no space before them: Latin and Spanish ones, and those of CJK (。、),
# Arabic (، ؛ ؟), Urdu (۔) and Devanagari (। ॥).
_CLOSING = ".,!?;:%)\\]}»。、！？；：）」』】〉》،؛؟۔।॥"


def normalize(text, lowercase=True):
    """Normalizes text to (lower-case) words and punctuation separated by single spaces.

    The steps, in order:

    0. Control characters (NUL, tab), the zero-width space and every Unicode space or
       separator (no-break, ogham, ideographic spaces, U+2028, U+2029) become spaces;
       the other invisible format characters (soft hyphen, zero-width joiner and
       non-joiner, BOM, direction marks: category Cf) are removed, so that a word they
       sit in stays whole ("niño" with a soft hyphen, U+00AD, after "ni" is "niño").
    1. Typographic apostrophes (`’`, `´`, ...) become `'`.
    2. `tensorflow_text.normalize_utf8(text, "NFKD")`: compatibility decomposition, so that
       full-width letters, ligatures (`ﬁ`) and non-breaking spaces become plain characters,
       and `á` typed as one code point or as `a` + combining accent reads the same.
    3. With `lowercase` (the default), lower-casing of all Unicode letters (`Á` -> `á`,
       `Ñ` -> `ñ`, `Ж` -> `ж`); without it the case is kept and only this step is
       skipped, so that a translator trained on cased text writes cased text.
    4. `normalize_utf8(text, "NFC")`: accents are kept (`sí` and `si` are different Spanish
       words) and recomposed, so that a vocabulary entry or a WordPiece never separates a
       letter from its accent.
    5. Punctuation and symbols are split off as words of their own, the Spanish `¿ ¡`
       included. An apostrophe stays inside a word when it sits between two letters
       (`don't`, `tom's`) and is split off otherwise (`'hola'` -> `' hola '`). In scripts
       written without spaces (Chinese, Japanese kana, Thai, Lao, Khmer, Myanmar) each
       character is a word, as BERT splits Chinese (`我爱你` -> `我 爱 你`).
    6. Runs of whitespace become one space; leading and trailing spaces are removed.

    The result is idempotent: `normalize(normalize(text)) == normalize(text)`, with either
    `lowercase`.

    Args:
        text: a `tf.string` tensor of any shape, or something convertible to one.
        lowercase: whether to lower-case (a Python bool: it is part of the graph, as in a
            tokenizer's `tokenize`).

    Returns:
        A `tf.string` tensor of the same shape.

    Example:

    >>> [s.decode() for s in normalize(["¿Dónde está el BAÑO?", "Tom's dog—isn't it?"]).numpy()]
    ['¿ dónde está el baño ?', "tom's dog — isn't it ?"]
    >>> normalize(["Tom lives in Paris."], lowercase=False).numpy()[0].decode()
    'Tom lives in Paris .'
    """
    text = tf.convert_to_tensor(text, dtype=tf.string)
    # First: `tf.strings.lower` (step 3) ends a string at its first NUL byte.
    text = tf.strings.regex_replace(text, _SPACE_LIKE, " ")
    text = tf.strings.regex_replace(text, _FORMAT, "")
    text = tf.strings.regex_replace(text, _APOSTROPHE_VARIANTS, "'")
    text = tf_text.normalize_utf8(text, "NFKD")
    if lowercase:
        text = tf.strings.lower(text, encoding="utf-8")
    text = tf_text.normalize_utf8(text, "NFC")
    text = tf.strings.regex_replace(text, _PUNCTUATION, r" \1 ")
    text = tf.strings.regex_replace(text, rf"({_UNSPACED}\pM*)", r" \1 ")
    text = tf.strings.regex_replace(text, "'", " ' ")
    # A match consumes the letter after the apostrophe, so in "rock'n'roll" the second
    # apostrophe is only rejoined by a second pass.
    for _ in range(2):
        text = tf.strings.regex_replace(
            text, rf"({_WORD_CHARACTER}) ' ({_WORD_CHARACTER})", r"\1'\2"
        )
    text = tf.strings.regex_replace(text, r"\s+", " ")
    return tf.strings.strip(text)


def join_punctuation(text):
    """Removes the spaces that `normalize` put around punctuation, for display.

    `"¿ dónde está el baño ?"` becomes `"¿dónde está el baño?"`. Only spaces next to
    punctuation are removed, so `normalize(join_punctuation(t)) == t` for any normalized
    `t`: joining loses nothing that the tokenizers see.

    Rules: no space before `. , ! ? ; : % ) ] } »` (nor the closing marks of CJK, Arabic
    and Devanagari: `。 、 ؟ ، ।` ...), none after `¿ ¡ ( [ { «`, none around a `-`
    between two words (`e-mail`) or around `. , :` between two numbers (`3.50`, `10:30`),
    none between two characters of a script written without spaces (`我 爱 你` -> `我爱你`)
    nor between such a character and punctuation. Quotes are left spaced: whether one
    opens or closes is ambiguous.

    Args:
        text: a `tf.string` tensor of normalized text, any shape.

    Returns:
        A `tf.string` tensor of the same shape.

    Example:

    >>> join_punctuation(["¡ hola , tom ! son las 10 : 30 ."]).numpy()[0].decode()
    '¡hola, tom! son las 10:30.'
    """
    text = tf.convert_to_tensor(text, dtype=tf.string)
    # Each of these matches consumes the character on its right, which may be the left
    # character of the next match ("1 . 2 . 3"), hence two passes.
    for _ in range(2):
        text = tf.strings.regex_replace(text, r"(\pN) ([.,:]) (\pN)", r"\1\2\3")
        text = tf.strings.regex_replace(
            text, rf"({_WORD_CHARACTER}) - ({_WORD_CHARACTER})", r"\1-\2"
        )
        text = tf.strings.regex_replace(text, rf"({_UNSPACED}\pM*) ({_UNSPACED}|\pP)", r"\1\2")
        text = tf.strings.regex_replace(text, rf"(\pP) ({_UNSPACED})", r"\1\2")
    text = tf.strings.regex_replace(text, rf" ([{_CLOSING}])", r"\1")
    return tf.strings.regex_replace(text, r"([¿¡(\[{«]) ", r"\1")


def canonical_text(text, lowercase=True):
    """Returns text in the form `Tokenizer.detokenize` produces: `join_punctuation(normalize(text))`.

    Use it on reference translations before computing BLEU against detokenized model
    output, so that spacing differences (and, for a lower-casing tokenizer, case) do not
    count as errors. `text` is a `tf.string` tensor of raw text, of any shape; the result
    has the same shape. `lowercase` is the tokenizer's (`Tokenizer.lowercase`): a cased
    translator is scored against cased references.

    Example:

    >>> canonical_text(["¿Dónde  está?"]).numpy()[0].decode()
    '¿dónde está?'
    """
    return join_punctuation(normalize(text, lowercase))
