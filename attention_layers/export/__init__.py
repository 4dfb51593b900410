"""Decoding and export: batched greedy and beam search, SavedModels that serve raw strings.

Decoding (`keras.ops`, any backend, eager or in a graph):

- `greedy_decode(model, source_ids, max_length)` and
  `beam_search_decode(model, source_ids, max_length, beam_width, length_penalty)` for
  `TransformerTranslator` (cached keys and values: `O(T)` per step) and `RNNTranslator`
  (its recurrent state), each returning `(token_ids, cross_attention)`;
- `greedy_decode_full_prefix`: the tutorials' way (the whole prefix every step), the
  reference and benchmark baseline;
- `sequence_log_probability`, `length_penalty_factor`.

Serving (TensorFlow):

- `translate(model, source_tokenizer, target_tokenizer, strings, beam_width=1)`: Python
  strings in and out, exactly as an export translates;
- `export_translator(...)`, `export_classifier(...)`: SavedModels whose signatures take raw
  strings and need only `tensorflow` + `tensorflow_text` to run; written atomically.
- `TranslatorServer`, `ClassifierServer`, `clean_text`, `save_atomically`: the parts.
"""

from attention_layers.export.decoding import (
    beam_search_decode,
    greedy_decode,
    greedy_decode_full_prefix,
    length_penalty_factor,
    sequence_log_probability,
)
from attention_layers.export.saving import export_classifier, export_translator, save_atomically
from attention_layers.export.serving import (
    LENGTH_PENALTY,
    MAX_BATCH_SIZE,
    MAX_BEAM_WIDTH,
    MAX_INPUT_CHARACTERS,
    MAX_OUTPUT_LENGTH,
    ClassifierServer,
    TranslatorServer,
    clean_text,
    translate,
)

__all__ = [
    "LENGTH_PENALTY",
    "MAX_BATCH_SIZE",
    "MAX_BEAM_WIDTH",
    "MAX_INPUT_CHARACTERS",
    "MAX_OUTPUT_LENGTH",
    "ClassifierServer",
    "TranslatorServer",
    "beam_search_decode",
    "clean_text",
    "export_classifier",
    "export_translator",
    "greedy_decode",
    "greedy_decode_full_prefix",
    "length_penalty_factor",
    "save_atomically",
    "sequence_log_probability",
    "translate",
]
