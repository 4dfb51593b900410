"""Generated long-range tasks: the answer depends on a token `distance` positions back.

Every task returns `(tokens, answers)`: `tokens (n, length)` int32 and `answers
(n, answer_length)` int32 in `[0, NUM_SYMBOLS)`. The model reads the whole sequence and
predicts the answers at its last `answer_length` positions, so chance accuracy is
`1 / NUM_SYMBOLS`. Three alphabets keep the roles apart: symbols (the answers), keys
(associative recall) and noise (the filler between them), plus a query marker `?`.

- `recall_first`: `[s, noise * (d - 1), ?] -> s`. The symbol to recall is exactly `d`
  positions before the query (the "copying memory" problem of Hochreiter and Schmidhuber
  1997 with one symbol; Arjovsky et al. 2016, §4.1).
- `selective_copy`: `COPY_LENGTH` symbols scattered among `d` noise positions, the first at
  position 0, then `COPY_LENGTH` markers `?` -> the symbols in order (Gu and Dao 2023,
  "Mamba", §3.1). The first symbol is `d` positions before its answer.
- `associative_recall`: `PAIRS` (key, symbol) pairs at the start, noise up to position
  `d`, then one of the keys -> its symbol (Ba et al. 2016, "Using Fast Weights", §4.1; here
  the pairs lie between `d - 2 * PAIRS + 2` and `d` positions before the query).
"""

import numpy as np

NUM_SYMBOLS = 8
NUM_KEYS = 8
NUM_NOISE = 4
COPY_LENGTH = 4
PAIRS = 4

SYMBOLS = np.arange(NUM_SYMBOLS)
KEYS = NUM_SYMBOLS + np.arange(NUM_KEYS)
NOISE = NUM_SYMBOLS + NUM_KEYS + np.arange(NUM_NOISE)
QUERY = NUM_SYMBOLS + NUM_KEYS + NUM_NOISE
VOCABULARY_SIZE = QUERY + 1


def _noise(rng, count, length):
    return rng.choice(NOISE, size=(count, length)).astype("int32")


def recall_first(count, distance, rng):
    """`[s, noise * (distance - 1), ?] -> [s]`: tokens `(count, distance + 1)`."""
    _check_distance(distance, 1)
    tokens = _noise(rng, count, distance + 1)
    answers = rng.choice(SYMBOLS, size=(count, 1)).astype("int32")
    tokens[:, 0] = answers[:, 0]
    tokens[:, -1] = QUERY
    return tokens, answers


def selective_copy(count, distance, rng):
    """Copy `COPY_LENGTH` scattered symbols in order: tokens `(count, distance + COPY_LENGTH)`."""
    _check_distance(distance, COPY_LENGTH)
    tokens = _noise(rng, count, distance + COPY_LENGTH)
    answers = rng.choice(SYMBOLS, size=(count, COPY_LENGTH)).astype("int32")
    rows = np.arange(count)[:, None]
    later = np.sort(
        np.argsort(rng.random((count, distance - 1)), axis=1)[:, : COPY_LENGTH - 1] + 1, axis=1
    )  # distinct positions in [1, distance), in order
    positions = np.concatenate([np.zeros((count, 1), "int64"), later], axis=1)
    tokens[rows, positions] = answers
    tokens[:, distance:] = QUERY
    return tokens, answers


def associative_recall(count, distance, rng):
    """`[k1 s1 ... k4 s4, noise, k_i] -> [s_i]`: tokens `(count, distance + 1)`."""
    _check_distance(distance, 2 * PAIRS)
    tokens = _noise(rng, count, distance + 1)
    keys = np.argsort(rng.random((count, NUM_KEYS)), axis=1)[:, :PAIRS] + KEYS[0]
    symbols = rng.choice(SYMBOLS, size=(count, PAIRS))
    tokens[:, 0 : 2 * PAIRS : 2] = keys
    tokens[:, 1 : 2 * PAIRS : 2] = symbols
    asked = rng.integers(0, PAIRS, size=count)
    rows = np.arange(count)
    tokens[:, -1] = keys[rows, asked]
    return tokens, symbols[rows, asked][:, None].astype("int32")


TASKS = {
    "recall_first": recall_first,
    "selective_copy": selective_copy,
    "associative_recall": associative_recall,
}
ANSWER_LENGTHS = {"recall_first": 1, "selective_copy": COPY_LENGTH, "associative_recall": 1}


def _check_distance(distance, minimum):
    if distance < minimum:
        raise ValueError(f"`distance` must be at least {minimum} for this task; got {distance}.")


def generate(task, count, distance, seed):
    """`(tokens, answers)` of `task` (a name in `TASKS`), reproducible from `seed`."""
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}; choose one of {sorted(TASKS)}.")
    return TASKS[task](count, distance, np.random.default_rng(seed))
