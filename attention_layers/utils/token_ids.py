"""The reserved token ids, and the one place padding is tested (backend-neutral).

| id | token     | meaning                                          |
|---:|-----------|--------------------------------------------------|
| 0  | `[PAD]`   | padding; `RaggedTensor.to_tensor()` fills with 0 |
| 1  | `[UNK]`   | a word (or WordPiece) not in the vocabulary      |
| 2  | `[START]` | first token of every tokenized sequence          |
| 3  | `[END]`   | last token; decoding stops at the first one      |
"""

from keras import ops

PAD_TOKEN, UNK_TOKEN, START_TOKEN, END_TOKEN = "[PAD]", "[UNK]", "[START]", "[END]"
RESERVED_TOKENS = (PAD_TOKEN, UNK_TOKEN, START_TOKEN, END_TOKEN)
PAD_ID, UNK_ID, START_ID, END_ID = 0, 1, 2, 3


def padding_mask(token_ids):
    """Boolean mask, `True` at real tokens and `False` at padding: `(batch, T) -> (batch, T)`.

    Example:

    >>> import numpy as np
    >>> ops.convert_to_numpy(padding_mask(np.array([[5, 6, 0]]))).tolist()
    [[True, True, False]]
    """
    return ops.not_equal(token_ids, PAD_ID)
