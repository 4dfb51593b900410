"""`translate` and `classify`: a file (or stdin) of lines through a run or an export.

    python -m attention_layers translate runs/translator-builtin < in.txt > out.txt
    python -m attention_layers translate runs/translator-builtin --beam-width 4 \\
        --input in.txt --output out.txt
    python -m attention_layers classify runs/classifier-builtin --input reviews.txt

One sentence (or text) a line, read as UTF-8 (a BOM and CRLF line endings are read
correctly). `translate` writes one translation a line, in the input's order; an empty
(or blank) line gives an empty line, without running the model. `classify` writes a TSV
file: a header `text<TAB>label<TAB>probability`, then one row per input line.

RUN is a run folder (`load_run`: the `.keras` model, as the run's test scores) or an
export (a run's `serving/`, a version folder or any SavedModel folder: what
`find_export` reads), whose signatures give the same outputs. Lines go through the model
`--batch-size` at a time; a progress bar goes to stderr when stderr is a terminal.
`--output` is written whole or not at all; to stdout, lines are written batch by batch.
"""

import argparse
import os
import pathlib
import sys

from attention_layers.apps.command_line import CommandParser

DEFAULT_BATCH_SIZE = 64
# The widest beam the export's `beam_search` runs (`attention_layers.export.MAX_BEAM_WIDTH`;
# not imported from there, which would start TensorFlow before the command line is read).
MAX_BEAM_WIDTH = 8
ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
TSV_HEADER = "text\tlabel\tprobability"

_ESCAPE_HELP = (
    "The text column is the input line with backslash, tab, newline and carriage return "
    "written as \\\\, \\t, \\n and \\r (the 'linear TSV' convention: undo those four to get "
    "the text back); probability is that of the label, 6 decimals."
)


class CommandError(Exception):
    """Bad input found after the command line was read; the message is one line."""


def escape_tsv(text):
    """`text` as one TSV field: `\\`, tab, newline and CR as `\\\\`, `\\t`, `\\n`, `\\r`."""
    return "".join(ESCAPES.get(character, character) for character in text)


def unescape_tsv(field):
    """The inverse of `escape_tsv`."""
    unescape = {value[1]: key for key, value in ESCAPES.items()}
    characters, index = [], 0
    while index < len(field):
        if field[index] == "\\" and index + 1 < len(field) and field[index + 1] in unescape:
            characters.append(unescape[field[index + 1]])
            index += 2
        else:
            characters.append(field[index])
            index += 1
    return "".join(characters)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _beam_width(text):
    value = _positive_int(text)
    if value > MAX_BEAM_WIDTH:
        raise argparse.ArgumentTypeError(
            f"at most {MAX_BEAM_WIDTH} (the widest beam the export runs), got {value}"
        )
    return value


def build_parser(command):
    if command == "translate":
        parser = CommandParser(
            prog="python -m attention_layers translate",
            description="Translate one sentence a line (stdin to stdout by default) with a "
            "run folder or an export. Order and empty lines are kept.",
        )
    else:
        parser = CommandParser(
            prog="python -m attention_layers classify",
            description="Classify one text a line (stdin by default); writes TSV with a "
            "header: text, label, probability. " + _ESCAPE_HELP,
        )
    parser.add_argument("run", metavar="RUN",
                        help="a run folder (train_*.py --output) or an export (its serving/ "
                        "folder, a version folder or a SavedModel folder)")
    if command == "translate":
        parser.add_argument("--beam-width", type=_beam_width, default=1,
                            help=f"1 decodes greedily (default); 2 to {MAX_BEAM_WIDTH} run "
                            "beam search (GNMT length penalty 0.6), as the export")
    parser.add_argument("--input", type=pathlib.Path,
                        help="UTF-8 text file, one line each (default: stdin)")
    parser.add_argument("--output", type=pathlib.Path,
                        help="file to write, whole or not at all (default: stdout)")
    parser.add_argument("--batch-size", type=_positive_int, default=DEFAULT_BATCH_SIZE,
                        help=f"lines through the model at once (default {DEFAULT_BATCH_SIZE})")
    return parser


def read_lines(data, name):
    """The lines of UTF-8 `data` (bytes): a BOM and CRLF endings read correctly; the line
    of the first undecodable byte named otherwise."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CommandError(
            f"{name}, line {line}: not UTF-8 (byte {data[error.start]:#04x}); "
            "convert it, e.g. with iconv -t UTF-8"
        ) from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _read_input(path):
    if path is None:
        stream = sys.stdin
        data = stream.buffer.read() if hasattr(stream, "buffer") else stream.read().encode()
        return read_lines(data, "stdin")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CommandError(f"cannot read --input {path}: {error.strerror or error}") from None
    return read_lines(data, str(path))


class _ExportModel:
    """An export's signatures behind `translate`/`classify`, as `load_run` gives them."""

    def __init__(self, path, kind):
        import tensorflow as tf
        import tensorflow_text  # noqa: F401  (registers the text ops the graph uses)

        from attention_layers.apps.run import CLASS_NAMES

        self.kind = kind
        info = _export_info(path)
        self.class_names = tuple(info.get("classes") or CLASS_NAMES)
        # Exports from before --case have no "case": they lower-case.
        self.target_lowercase = (info.get("case") or {}).get("target") != "keep"
        self._tf = tf
        self._signatures = tf.saved_model.load(str(path)).signatures

    def translate(self, sentences, beam_width=1):
        text = self._tf.constant(sentences, dtype=self._tf.string)
        if beam_width == 1:
            outputs = self._signatures["serving_default"](text=text)
        else:
            outputs = self._signatures["beam_search"](
                text=text, beam_width=self._tf.constant(beam_width, self._tf.int32)
            )
        return [value.decode("utf-8") for value in outputs["translation"].numpy()]

    def classify(self, texts):
        outputs = self._signatures["serving_default"](text=self._tf.constant(texts))
        if "probabilities" in outputs:  # an export of a run on files: labels are names
            labels = [label.decode("utf-8") for label in outputs["label"].numpy()]
            return [
                {"label": label, "probability": float(row[self.class_names.index(label)])}
                for label, row in zip(labels, outputs["probabilities"].numpy(), strict=True)
            ]
        results = []
        for positive, label in zip(outputs["probability"].numpy(), outputs["label"].numpy(), strict=True):
            probability = float(positive) if label == 1 else 1.0 - float(positive)
            results.append({"label": self.class_names[int(label)], "probability": probability})
        return results


def _export_info(export):
    """The export's `assets.extra/export.json` (a dict); `CommandError` when unreadable."""
    import json

    try:
        info = json.loads((export / "assets.extra" / "export.json").read_text("utf-8"))
        if not isinstance(info, dict):
            raise TypeError("not an object")
    except (OSError, ValueError, TypeError):
        raise CommandError(f"{export}: no readable assets.extra/export.json (the export's "
                           "kind); export the run again") from None
    return info


def _kind(path):
    """`(kind, export folder or None)` of RUN, read without TensorFlow; `CommandError`
    when it is neither a finished run nor an export."""
    from attention_layers.apps.run import RunError, read_run_config

    if (path / "config.json").is_file():
        try:
            return read_run_config(path)["command"], None
        except RunError as error:
            raise CommandError(str(error)) from None
    from attention_layers.export.saving import find_export

    try:
        _, export = find_export(path)
    except FileNotFoundError as error:
        raise CommandError(f"{error}; give a run folder (train_*.py --output) or an "
                           "export") from None
    kind = _export_info(export).get("kind")
    if not isinstance(kind, str):
        raise CommandError(f"{export}: assets.extra/export.json names no kind; export the "
                           "run again")
    return kind, export


def _load(path, command):
    """The run or export at `path`, checked to be of the kind `command` needs."""
    needs, other = ("translator", "classify") if command == "translate" else (
        "classifier", "translate")
    kind, export = _kind(path)
    if kind != needs:
        raise CommandError(f"{path} is a {kind}, not a {needs}; use "
                           f"'python -m attention_layers {other}'"
                           if kind in ("translator", "classifier")
                           else f"{path} is a {kind!r} export, not a {needs}")
    if export is not None:
        return _ExportModel(export, kind)
    from attention_layers.apps.run import load_run

    return load_run(path)


class _Progress:
    """`translate: 120/500 lines` on stderr, redrawn in place; silent off a terminal."""

    def __init__(self, command, total):
        self.command = command
        self.total = total
        self.shown = total > 0 and sys.stderr.isatty()

    def update(self, done):
        if self.shown:
            width = 30
            filled = width * done // self.total
            sys.stderr.write(f"\r{self.command}: [{'#' * filled}{'.' * (width - filled)}] "
                             f"{done}/{self.total} lines")
            sys.stderr.flush()

    def close(self):
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def translate_lines(model, lines, beam_width, batch_size, progress=None):
    """Translations of `lines`, one string each, in order; blank lines give "" (the
    model sees only the others, `batch_size` at a time)."""
    yield from _batched(
        lines, batch_size, progress,
        # A translation is one line, whatever the detokenizer gave.
        lambda batch: [text.replace("\r", " ").replace("\n", " ")
                       for text in model.translate(batch, beam_width)],
        lambda line: "",
    )


def classify_lines(model, lines, batch_size, progress=None):
    """One TSV row per line: escaped text, label, probability (6 decimals)."""
    def rows(batch):
        return [f"{escape_tsv(text)}\t{result['label']}\t{result['probability']:.6f}"
                for text, result in zip(batch, model.classify(batch), strict=True)]

    yield from _batched(lines, batch_size, progress, rows, None)


def _batched(lines, batch_size, progress, run_batch, blank):
    """`run_batch` over `lines` in batches, yielding its outputs in order; a line that is
    blank (when `blank` is given) yields `blank(line)` without going through the model."""
    done = 0
    for start in range(0, len(lines), batch_size):
        batch = lines[start : start + batch_size]
        if blank is None:
            outputs = run_batch(batch)
        else:
            kept = [line for line in batch if line.strip()]
            results = iter(run_batch(kept) if kept else [])
            outputs = [next(results) if line.strip() else blank(line) for line in batch]
        yield from outputs
        done += len(batch)
        if progress is not None:
            progress.update(done)


def _write(output, header, rows):
    """Writes `rows` (an iterator of lines) to `output`, whole or not at all, or to stdout
    as they come."""
    if output is None:
        if header is not None:
            print(header, flush=True)
        for row in rows:
            print(row, flush=True)
        return
    from attention_layers.utils.files import atomic_write_text

    lines = ([] if header is None else [header]) + list(rows)
    atomic_write_text(output, "".join(f"{line}\n" for line in lines))


def main(argv=None, command="translate"):
    """Runs `command` (`translate` or `classify`); returns the exit code."""
    parser = build_parser(command)
    args = parser.parse_args(argv)
    try:
        return _run(command, args)
    except CommandError as error:
        print(f"{command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\n{command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`... | head`): no traceback, and none at exit either.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 1


def _run(command, args):
    path = pathlib.Path(args.run)
    if args.output is not None:
        folder = args.output.parent
        if not folder.is_dir():
            raise CommandError(f"--output {args.output}: folder {folder} does not exist")
        if args.output.is_dir():
            raise CommandError(f"--output {args.output} is a folder; give a file name")
    if args.input is not None and not args.input.is_file():
        raise CommandError(f"--input {args.input}: no such file")
    _kind(path)  # a wrong RUN fails before the input is read or the model loaded
    lines = _read_input(args.input)
    model = _load(path, command)
    progress = _Progress(command, len(lines))
    if command == "translate":
        rows = translate_lines(model, lines, args.beam_width, args.batch_size, progress)
        header = None
    else:
        rows = classify_lines(model, lines, args.batch_size, progress)
        header = TSV_HEADER
    try:
        _write(args.output, header, rows)
    finally:
        progress.close()
    return 0


def translate_main(argv=None):
    return main(argv, "translate")


def classify_main(argv=None):
    return main(argv, "classify")
