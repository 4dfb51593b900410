"""Between text, token ids and token strings, as the training commands and plots need them."""

import numpy as np


def token_strings(tokenizer, ids):
    """The token strings of each row of `ids` `(batch, T)`, padding (id 0) dropped.

    Example:

    >>> token_strings(tokenizer, [[2, 7, 3, 0]])
    [['[START]', 'hola', '[END]']]
    """
    return [
        [token.decode("utf-8") for token in tokenizer.ids_to_tokens(row[row != 0]).numpy()]
        for row in np.asarray(ids)
    ]


def make_token_ids(tokenizer, texts, max_length):
    """Token ids `(len(texts), T)` padded with 0, without `[START]`/`[END]` (as a classifier
    reads them), each text cut to `max_length` tokens."""
    ragged = tokenizer.tokenize(texts, add_start_end=False, max_length=max_length)
    return ragged.to_tensor().numpy()
