"""Writing SavedModels atomically: a crash leaves the old export or the new one, never half.

`export_translator` and `export_classifier` wrap a model in `TranslatorServer` /
`ClassifierServer` and save it with `tf.saved_model.save` into a fresh directory beside
the destination, then move it into place. The SavedModel needs only `tensorflow` and
`tensorflow_text` to load (`tf.saved_model.load(path).signatures["serving_default"]`),
not this project.

Besides the SavedModel files, `assets.extra/` holds `export.json` (the kind of model,
the signatures and the limits) and the vocabularies as text files.
"""

import json
import pathlib

import tensorflow as tf

from attention_layers.export import serving
from attention_layers.text.tokenizers import DEFAULT_MAX_LENGTH
from attention_layers.utils.files import atomic_path, remove_partials

EXTRA_DIRECTORY = "assets.extra"


def _describe(signatures):
    """`{name: {"inputs": {...}, "outputs": {...}}}` with dtypes and shapes, for export.json."""

    def spec(tensor_spec):
        return {"dtype": tensor_spec.dtype.name, "shape": tensor_spec.shape.as_list()}

    description = {}
    for name, function in signatures.items():
        inputs = tf.nest.flatten(function.structured_input_signature)
        description[name] = {
            "inputs": {value.name: spec(value) for value in inputs},
            "outputs": {key: spec(value) for key, value in function.structured_outputs.items()},
        }
    return description


def _save_server(server, kind, vocabularies, path):
    """Saves `server` with `export.json` and its `{file name: tokenizer}` vocabularies."""
    signatures = server.signatures()
    info = {
        "kind": kind,
        "model": type(server.model).__name__,
        "limits": server.limits(),
        "signatures": _describe(signatures),
    }
    extra_files = {"export.json": json.dumps(info, indent=2) + "\n"}
    for name, tokenizer in vocabularies.items():
        extra_files[name] = "".join(f"{token}\n" for token in tokenizer.vocabulary)
    return save_atomically(server, signatures, path, extra_files=extra_files)


def save_atomically(module, signatures, path, extra_files=None):
    """Saves a `tf.Module` as a SavedModel at `path`, all or nothing.

    The SavedModel is written to a new directory `.partial-<pid>-*-<name>` next to `path`
    (same file system), the `extra_files` are added under `assets.extra/`, and the
    directory replaces `path` in one rename (`attention_layers.utils.files.atomic_path`).
    If saving raises, or the process dies while writing, `path` keeps its previous
    content; the leftovers of a killed export are removed by the next export into the
    same folder. The export's files and folders get the umask's permissions (0644 and
    0755 under the usual umask 022), so another user's serving process can read them.

    Args:
        module: the `tf.Module` to save.
        signatures: `{name: concrete function}` for `tf.saved_model.save`.
        path: the SavedModel directory. If it exists it must be a SavedModel (a
            directory with `saved_model.pb`) or empty: nothing else is overwritten.
        extra_files: optional `{file name: text}` to write under `assets.extra/`.

    Returns:
        `path`, as an absolute `pathlib.Path`.
    """
    path = pathlib.Path(path).absolute()
    if path.exists():
        if not path.is_dir():
            raise FileExistsError(f"{path} exists and is not a directory.")
        if any(path.iterdir()) and not (path / "saved_model.pb").exists():
            raise FileExistsError(
                f"{path} exists and is not a SavedModel; refusing to overwrite it."
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_partials(path.parent, path.name)
    with atomic_path(path) as staging:
        tf.saved_model.save(module, str(staging), signatures=signatures)
        extra = staging / EXTRA_DIRECTORY
        extra.mkdir(exist_ok=True)
        for name, text in (extra_files or {}).items():
            (extra / name).write_text(text, encoding="utf-8")
    return path


def export_translator(
    model,
    source_tokenizer,
    target_tokenizer,
    path,
    *,
    max_input_tokens=None,
    max_input_characters=serving.MAX_INPUT_CHARACTERS,
    max_output_length=serving.MAX_OUTPUT_LENGTH,
    max_beam_width=serving.MAX_BEAM_WIDTH,
    max_batch_size=serving.MAX_BATCH_SIZE,
    length_penalty=serving.LENGTH_PENALTY,
):
    """Exports a translator as a SavedModel that translates raw strings.

    Signatures (all take `text`: `tf.string` `[None]`, one sentence per entry):

    - `serving_default`: greedy decoding -> `translation` `[None]` string;
    - `beam_search`: also `beam_width` (int32 scalar, clipped to `[1, max_beam_width]`)
      -> `translation`;
    - `translate_with_attention`: greedy -> `translation`, `source_tokens` `[None, S]`,
      `target_tokens` `[None, T]` (strings, `""` on padding) and `cross_attention`
      `[None, T, S]` float32 (the Transformer's last layer, heads averaged).

    Cleaning (`clean_text`), normalization, tokenization, decoding with cached keys and
    values, and detokenization all run inside the graph: a program that loads it needs
    `import tensorflow, tensorflow_text` (for the text ops) and nothing from this project.

    Example:

    >>> export_translator(model, spanish, english, "exports/translator")
    >>> # elsewhere, with only tensorflow and tensorflow_text installed:
    >>> import tensorflow as tf, tensorflow_text  # noqa: F401 (registers the text ops)
    >>> translator = tf.saved_model.load("exports/translator")
    >>> translator.signatures["serving_default"](text=tf.constant(["Hola."]))["translation"]
    >>> translator.signatures["beam_search"](text=tf.constant(["Hola."]),
    ...                                      beam_width=tf.constant(4))

    Args:
        model: a trained `TransformerTranslator` or `RNNTranslator`.
        source_tokenizer: the source language's `attention_layers.text.Tokenizer`.
        target_tokenizer: the target language's `Tokenizer`.
        path: the SavedModel directory (replaced atomically; see `save_atomically`).
        max_input_tokens: source tokens kept, `[START]`/`[END]` included (default 128,
            or the RNN's `max_source_length` for location attention); longer inputs are
            cut, not rejected.
        max_input_characters: characters kept of each input string.
        max_output_length: tokens generated at most, `[END]` included; bounds every
            decoding loop and sizes the Transformer's key/value caches.
        max_beam_width: the widest beam the `beam_search` signature runs.
        max_batch_size: sentences that `serving_default` and `beam_search` decode at
            once; larger requests are decoded in chunks of this many, which bounds
            memory (about `max_batch_size * beam_width` decoder rows).
        length_penalty: `alpha` of the GNMT length penalty in `beam_search`.

    Returns:
        The export's path (`pathlib.Path`).
    """
    server = serving.TranslatorServer(
        model,
        source_tokenizer,
        target_tokenizer,
        max_input_tokens=max_input_tokens,
        max_input_characters=max_input_characters,
        max_output_length=max_output_length,
        max_beam_width=max_beam_width,
        max_batch_size=max_batch_size,
        length_penalty=length_penalty,
    )
    vocabularies = {
        "source_vocabulary.txt": source_tokenizer,
        "target_vocabulary.txt": target_tokenizer,
    }
    return _save_server(server, "translator", vocabularies, path)


def export_classifier(
    model,
    tokenizer,
    path,
    *,
    max_input_tokens=DEFAULT_MAX_LENGTH,
    max_input_characters=serving.MAX_INPUT_CHARACTERS,
    threshold=0.5,
):
    """Exports a sentiment classifier as a SavedModel that reads raw strings.

    Signatures (both take `text`: `tf.string` `[None]`):

    - `serving_default` -> `probability` `[None]` float32 (of the positive class) and
      `label` `[None]` int64 (1 when `probability >= threshold`);
    - `classify_with_attention` -> also `tokens` `[None, T]` string (`""` on padding)
      and `attention` `[None, T]` float32, the pooling weight of each token.

    Example:

    >>> export_classifier(model, tokenizer, "exports/sentiment")
    >>> classifier = tf.saved_model.load("exports/sentiment")
    >>> classifier.signatures["serving_default"](text=tf.constant(["A fine film."]))

    Args:
        model: a classifier with `call(token_ids) -> (batch, 1)` probabilities and
            `get_attention_weights(token_ids)["pooling"]` `(batch, 1, T)`
            (`TransformerClassifier`, `BiGRUClassifier`).
        tokenizer: the `attention_layers.text.Tokenizer` it was trained with.
        path: the SavedModel directory (replaced atomically; see `save_atomically`).
        max_input_tokens: tokens kept per text; longer texts are cut.
        max_input_characters: characters kept of each input string.
        threshold: the probability from which `label` is 1.

    Returns:
        The export's path (`pathlib.Path`).
    """
    server = serving.ClassifierServer(
        model,
        tokenizer,
        max_input_tokens=max_input_tokens,
        max_input_characters=max_input_characters,
        threshold=threshold,
    )
    return _save_server(server, "classifier", {"vocabulary.txt": tokenizer}, path)
