"""Writing SavedModels atomically: a crash leaves the old export or the new one, never half.

`export_translator` and `export_classifier` wrap a model in `TranslatorServer` /
`ClassifierServer` and save it with `tf.saved_model.save` into a fresh directory beside
the destination, then move it into place. The SavedModel needs only `tensorflow` and
`tensorflow_text` to load (`tf.saved_model.load(path).signatures["serving_default"]`),
not this project.

Besides the SavedModel files, `assets.extra/` holds `export.json` (the kind of model,
the signatures and the limits) and the vocabularies as text files.

The training commands keep their exports in TensorFlow Serving's layout, one folder per
version under a base folder (`export_new_version`):

    runs/translator-builtin/serving/     <- tensorflow_model_server --model_base_path
        1/  saved_model.pb  variables/  assets/  assets.extra/export.json
        2/  ...                          <- the newest version, the one that is served

A re-export (`--resume`, `python -m attention_layers.training.runner export RUN`) adds
version N+1 and then removes all but the newest `KEEP_VERSIONS`. A `serving/` folder that
is itself a SavedModel (written before versions existed) is read as version 1 and moved
to `serving/1/` by the next export.
"""

import json
import os
import pathlib
import re
import shutil
import uuid

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from attention_layers.export import serving
from attention_layers.text.tokenizers import DEFAULT_MAX_LENGTH
from attention_layers.utils.files import PARTIAL_PREFIX, atomic_path, remove_partials

EXTRA_DIRECTORY = "assets.extra"
# Versions kept under a base folder: the newest, which TensorFlow Serving serves (its
# default version policy is the latest one), and the one before, to roll back to by
# deleting the newest folder or naming it in a model config's version policy.
KEEP_VERSIONS = 2
_VERSION_NAME = re.compile(r"^[0-9]+$")
# What a SavedModel folder holds; a legacy `serving/` export is these entries.
_SAVED_MODEL_ENTRIES = ("saved_model.pb", "fingerprint.pb", "variables", "assets", EXTRA_DIRECTORY)


def _describe(signatures, saved_model_path):
    """`{name: {"inputs": {...}, "outputs": {...}}}` with dtypes and shapes, for export.json.

    The inputs come from each `tf.function`'s input signature, the outputs from the
    signature definitions in the `saved_model.pb` just written: reading them back costs
    nothing, whereas asking the functions for their outputs would trace them again outside
    the save (a translator's export took 40% longer that way).
    """

    def spec(dtype, shape):
        return {"dtype": tf.as_dtype(dtype).name, "shape": shape}

    def info_shape(tensor_info):
        shape = tensor_info.tensor_shape
        return None if shape.unknown_rank else [d.size if d.size >= 0 else None for d in shape.dim]

    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((pathlib.Path(saved_model_path) / "saved_model.pb").read_bytes())
    definitions = saved_model.meta_graphs[0].signature_def
    description = {}
    for name, function in signatures.items():
        outputs = definitions[name].outputs
        description[name] = {
            "inputs": {value.name: spec(value.dtype, value.shape.as_list())
                       for value in function.input_signature},
            "outputs": {key: spec(outputs[key].dtype, info_shape(outputs[key]))
                        for key in sorted(outputs)},
        }
    return description


def _save_server(server, kind, vocabularies, path, **described):
    """Saves `server` with `export.json` (which adds the `described` entries) and its
    `{file name: tokenizer}` vocabularies."""
    signatures = server.signatures()

    def extra_files(staging):
        info = {
            "kind": kind,
            "model": type(server.model).__name__,
            **described,
            "limits": server.limits(),
            "signatures": _describe(signatures, staging),
        }
        files = {"export.json": json.dumps(info, indent=2) + "\n"}
        for name, tokenizer in vocabularies.items():
            files[name] = "".join(f"{token}\n" for token in tokenizer.vocabulary)
        return files

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
        signatures: `{name: tf.function with an input signature, or concrete function}`
            for `tf.saved_model.save`. Give the `tf.function`s of `module` themselves:
            the save then traces each once, whereas a function traced before the save is
            traced again inside it.
        path: the SavedModel directory. If it exists it must be a SavedModel (a
            directory with `saved_model.pb`) or empty: nothing else is overwritten.
        extra_files: optional `{file name: text}` to write under `assets.extra/`, or a
            function of the staged SavedModel's folder that returns them.

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
        if callable(extra_files):
            extra_files = extra_files(staging)
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
    # The graph lower-cases (or not) as the tokenizers do; `case` says so to the commands
    # that score an export's output (`evaluate`) without reading its graph.
    case = {side: "lower" if tokenizer.lowercase else "keep"
            for side, tokenizer in (("source", source_tokenizer), ("target", target_tokenizer))}
    return _save_server(server, "translator", vocabularies, path, case=case)


def export_classifier(
    model,
    tokenizer,
    path,
    *,
    max_input_tokens=DEFAULT_MAX_LENGTH,
    max_input_characters=serving.MAX_INPUT_CHARACTERS,
    threshold=0.5,
    classes=None,
):
    """Exports a classifier as a SavedModel that reads raw strings.

    Signatures (both take `text`: `tf.string` `[None]`):

    - `serving_default` -> `probability` `[None]` float32 (of the positive class) and
      `label` `[None]` int64 (1 when `probability >= threshold`); with `classes`,
      `label` `[None]` string (the class name) and `probabilities` `[None, N]` float32
      in the order `export.json` lists as `"classes"`, and for two classes `probability`
      (of `classes[1]`) too;
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
        threshold: the probability from which `label` is 1 (or `classes[1]`).
        classes: `None`, or the class names in the order of the model's labels (a run on
            labelled files): `label` is then a name, and `export.json` lists them.

    Returns:
        The export's path (`pathlib.Path`).
    """
    server = serving.ClassifierServer(
        model,
        tokenizer,
        max_input_tokens=max_input_tokens,
        max_input_characters=max_input_characters,
        threshold=threshold,
        classes=classes,
    )
    described = {} if classes is None else {"classes": list(server.classes)}
    return _save_server(server, "classifier", {"vocabulary.txt": tokenizer}, path, **described)


# --- versions (TensorFlow Serving's layout) ----------------------------------------------


def version_path(base, version):
    """The folder of `version` (a positive int) under the base folder `base`."""
    return pathlib.Path(base) / str(int(version))


def export_versions(base):
    """`{version: path}` of the whole SavedModels under `base`, oldest first.

    A version is a folder named by digits that holds `saved_model.pb` (as TensorFlow
    Serving reads them, `007` is version 7); folders being written (`.partial-*`) are
    not versions. A `base` that is itself a SavedModel (an export written before versions
    existed) is `{1: base}`.

    Args:
        base: the base folder, e.g. `runs/translator-builtin/serving`.

    Returns:
        A dict, empty when `base` holds no export.
    """
    base = pathlib.Path(base)
    if not base.is_dir():
        return {}
    versions = {
        int(entry.name): entry
        for entry in base.iterdir()
        if _VERSION_NAME.match(entry.name) and (entry / "saved_model.pb").is_file()
    }
    if not versions and (base / "saved_model.pb").is_file():
        versions[1] = base
    return dict(sorted(versions.items()))


def latest_version(base):
    """`(version, path)` of the newest whole SavedModel under `base`, or None."""
    versions = export_versions(base)
    return max(versions.items()) if versions else None


def _move_legacy_export(base):
    """Moves a SavedModel written directly in `base` to `base/1` (or the next free version).

    The copy is whole (written under a temporary name, then renamed) before the old
    files are removed, `saved_model.pb` first: at every moment `base` holds a whole export.
    """
    if not (base / "saved_model.pb").is_file():
        return
    if not any(_VERSION_NAME.match(entry.name) for entry in base.iterdir()):
        with atomic_path(version_path(base, 1)) as staging:
            staging.mkdir()
            for name in _SAVED_MODEL_ENTRIES:
                source = base / name
                if source.is_dir():
                    shutil.copytree(source, staging / name)
                elif source.is_file():
                    shutil.copy2(source, staging / name)
    for name in _SAVED_MODEL_ENTRIES:
        _discard(base / name)


def _discard(path):
    """Removes `path`: renamed aside first, so that no reader sees it half deleted."""
    if not os.path.lexists(path):
        return
    aside = path.with_name(f"{PARTIAL_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}-{path.name}")
    os.rename(path, aside)
    if aside.is_dir() and not aside.is_symlink():
        shutil.rmtree(aside, ignore_errors=True)
    else:
        aside.unlink(missing_ok=True)


def export_new_version(base, write, keep=KEEP_VERSIONS):
    """Writes a new version under `base` with `write(path)`, then keeps the newest `keep`.

    The new version is one more than the highest version folder under `base` (1 for an
    empty or missing `base`). `write` must write the folder all or nothing (as
    `export_translator` and `export_classifier` do): until it is renamed into place,
    TensorFlow Serving and `export_versions` see only the previous versions, and they
    stay if `write` raises. Only then are the versions older than the newest `keep`
    removed. A legacy export in `base` itself is first moved to version 1.

    Example:

    >>> export_new_version("runs/t/serving", lambda path: export_translator(m, s, t, path))
    PosixPath('/.../runs/t/serving/2')

    Args:
        base: the base folder (`OUTPUT/serving`); created if missing.
        write: a function of the new version's path that writes it and returns its path.
        keep: how many versions to keep, the new one included (at least 1).

    Returns:
        What `write` returned: the new version's path.
    """
    if keep < 1:
        raise ValueError(f"`keep` must be at least 1; received {keep}.")
    base = pathlib.Path(base).absolute()
    base.mkdir(parents=True, exist_ok=True)
    remove_partials(base)
    _move_legacy_export(base)
    numbers = [int(entry.name) for entry in base.iterdir() if _VERSION_NAME.match(entry.name)]
    path = write(version_path(base, max(numbers, default=0) + 1))
    for old in list(export_versions(base).values())[:-keep]:
        _discard(old)
    return path


def find_export(path):
    """The export that `path` names: `(version, SavedModel folder)`, the newest one.

    `path` may be a run folder (its `serving/` base folder is read), a base folder
    (`OUTPUT/serving`), a version folder (`OUTPUT/serving/3`, version 3) or a SavedModel
    folder of any other name (version 1, e.g. a `serving/` written before versions).

    Raises:
        FileNotFoundError: `path` does not exist or holds no SavedModel; the message
            names what was looked for.
    """
    path = pathlib.Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path} is not a folder (expected a run folder or an export)")
    if (path / "saved_model.pb").is_file():
        return (int(path.name) if _VERSION_NAME.match(path.name) else 1), path
    for base in (path / "serving", path):
        latest = latest_version(base)
        if latest is not None:
            return latest
    raise FileNotFoundError(
        f"no export in {path}: expected {path}/serving/<version>/saved_model.pb, "
        f"{path}/<version>/saved_model.pb or {path}/saved_model.pb"
    )
