"""Export: SavedModels that serve raw strings, with batched greedy and beam search.

Decoding (`greedy_decode`, `beam_search_decode`, ...) lives in `attention_layers.decoding`.

Serving (TensorFlow):

- `translate(model, source_tokenizer, target_tokenizer, strings, beam_width=1)`: Python
  strings in and out, exactly as an export translates;
- `export_translator(...)`, `export_classifier(...)`: SavedModels whose signatures take raw
  strings and need only `tensorflow` + `tensorflow_text` to run; written atomically.
- `TranslatorServer`, `ClassifierServer`, `clean_text`, `save_atomically`: the parts.

TensorFlow Serving's layout (`BASE/<version>/`, see `saving`): `export_new_version`,
`export_versions`, `latest_version`, `find_export`, `version_path`, `KEEP_VERSIONS`.
"""

from attention_layers.export.saving import (
    KEEP_VERSIONS,
    export_classifier,
    export_new_version,
    export_translator,
    export_versions,
    find_export,
    latest_version,
    save_atomically,
    version_path,
)
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
    "KEEP_VERSIONS",
    "LENGTH_PENALTY",
    "MAX_BATCH_SIZE",
    "MAX_BEAM_WIDTH",
    "MAX_INPUT_CHARACTERS",
    "MAX_OUTPUT_LENGTH",
    "ClassifierServer",
    "TranslatorServer",
    "clean_text",
    "export_classifier",
    "export_new_version",
    "export_translator",
    "export_versions",
    "find_export",
    "latest_version",
    "save_atomically",
    "translate",
    "version_path",
]
