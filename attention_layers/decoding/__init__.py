"""Greedy decoding, beam search and their references, written once for every translator.

Each decoder talks to the model only through the decoding interface (`Translator`):
`start_decoding(source_ids, max_length) -> (context, state)`,
`decode_step(token_ids, position, context, state) -> (logits, state, cross_weights)`,
`decode_prefix(prefix_ids, context, position=None) -> (logits, cross_weights)` and
`max_source_length`. `TransformerTranslator` (cached keys and values: `O(T)` per step)
and `RNNTranslator` (its recurrent state) implement it; a new translator that does gets
greedy decoding, beam search and export with no change here.

Every decoder runs the same kind of loop (`keras.ops.while_loop`) over fixed-size
buffers, so it traces once into a graph (`tf.function`, an exported SavedModel) and also
runs eagerly. A sequence stops at its first `[END]` (later positions hold `[PAD]`); the
loop stops when every sequence has stopped, and never runs more than `max_length` steps.

- `greedy_decode`, `beam_search_decode` (with `length_penalty_factor`);
- `greedy_decode_full_prefix`: the tutorials' way (the whole prefix every step), the
  reference and benchmark baseline; `sequence_log_probability`;
- `check_translator`, `check_length_penalty`: the checks the decoders make, for callers
  that check their own arguments first (the export).
"""

from attention_layers.decoding.beam_search import beam_search_decode, length_penalty_factor
from attention_layers.decoding.greedy import greedy_decode
from attention_layers.decoding.interface import (
    Translator,
    check_length_penalty,
    check_translator,
)
from attention_layers.decoding.reference import (
    greedy_decode_full_prefix,
    sequence_log_probability,
)

__all__ = [
    "Translator",
    "beam_search_decode",
    "check_length_penalty",
    "check_translator",
    "greedy_decode",
    "greedy_decode_full_prefix",
    "length_penalty_factor",
    "sequence_log_probability",
]
