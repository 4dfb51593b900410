"""Text processing with TensorFlow ops only: normalization, tokenizers, detokenization.

Everything here runs inside `tf.function`, `tf.data` and exported SavedModels.

- `normalize`: NFKD, lower case, accents kept, punctuation (`¿ ¡` included) split off.
- `join_punctuation`, `canonical_text`: the readable form detokenization produces.
- `WordTokenizer` (Keras `TextVectorization`) and `WordPieceTokenizer`
  (tensorflow-text `FastWordpieceTokenizer`), both `tf.Module`s with `tokenize`,
  `detokenize`, `vocabulary_size`, reserved ids `[PAD]`=0, `[UNK]`=1, `[START]`=2,
  `[END]`=3, and `save`/`load` of a plain-text vocabulary.
"""

from attention_layers.text.normalization import canonical_text, join_punctuation, normalize
from attention_layers.text.tokenizers import (
    DEFAULT_MAX_LENGTH,
    END_ID,
    END_TOKEN,
    PAD_ID,
    PAD_TOKEN,
    RESERVED_TOKENS,
    START_ID,
    START_TOKEN,
    UNK_ID,
    UNK_TOKEN,
    Tokenizer,
    WordPieceTokenizer,
    WordTokenizer,
    count_words,
)

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "END_ID",
    "END_TOKEN",
    "PAD_ID",
    "PAD_TOKEN",
    "RESERVED_TOKENS",
    "START_ID",
    "START_TOKEN",
    "UNK_ID",
    "UNK_TOKEN",
    "Tokenizer",
    "WordPieceTokenizer",
    "WordTokenizer",
    "canonical_text",
    "count_words",
    "join_punctuation",
    "normalize",
]
