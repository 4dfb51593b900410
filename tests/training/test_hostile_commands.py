"""Hostile cases of the training commands as a table: what a careless or unlucky user runs,
and what must happen (issue 29, the third hostile round).

Each row of `CASES` is one case: the command, the files it meets (a `setup` that crafts
them), its arguments, environment variables, and the outcome. Handled means either a clear
error, that is the exit code (2 for bad input), a last line of standard error matching
`message` and no traceback, or a correct run (exit code 0). A new case is one row.

Rows run in-process (`main(argv)` of the command script, `SystemExit` caught, standard
error captured), which costs no TensorFlow start-up; `subprocess=True` rows start the
command as a user does, for what must happen before Keras is imported (`KERAS_BACKEND`).
Rows that need a finished run get a copy of one tiny run trained once per session
(`{run}` in the arguments); `{tmp}` is the row's own empty folder.
"""

import dataclasses
import fcntl
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

import train_classifier
import train_translator
from tests.helpers import ROOT, tiny_translator_run

COMMANDS = {"translator": train_translator, "classifier": train_classifier}
SCRIPTS = {"translator": "train_translator.py", "classifier": "train_classifier.py"}
# The run the rows copy: model_dim 16 is in a row's message; short sentences (few length
# buckets, so few batch shapes to trace when a row resumes or trains) and few pairs.
TINY_TRANSLATOR = (
    "--num-pairs 200 --layers 1 --model-dim 16 --heads 2 --feed-forward-dim 32 "
    "--batch-size 64 --max-length 12 --patience 0 --no-attention-plots --no-export"
)
TINY_CLASSIFIER = (
    "--num-examples 300 --layers 1 --model-dim 16 --heads 2 --feed-forward-dim 32 "
    "--batch-size 32 --epochs 1 --no-attention-plots --no-export"
)
RESUME = "--resume --output {run} --epochs 2 --no-export --no-attention-plots"


@dataclasses.dataclass(frozen=True)
class Case:
    """One hostile case and what must happen.

    Attributes:
        id: a short name (the test id).
        command: `"translator"` or `"classifier"`.
        argv: the arguments, split on spaces; `{run}` is a copy of the finished run,
            `{tmp}` the case's empty folder.
        setup: `setup(tmp, run)` crafts the files the case meets (`run` is `None` unless
            `{run}` is in `argv`).
        env: environment variables set for the command.
        code: the exit code expected: 2 for bad input, 0 for a correct run.
        message: a regular expression that the last line of standard error must match
            (searched; ignored when `code` is 0).
        subprocess: run the command in a new process (what happens before Keras imports).
        needs_run: the setup reads the finished run (implied by `{run}` in `argv`).
        skip: `None`, or a reason to skip the row on this machine.
    """

    id: str
    command: str
    argv: str
    setup: object = None
    env: dict = dataclasses.field(default_factory=dict)
    code: int = 2
    message: str = ""
    subprocess: bool = False
    needs_run: bool = False
    skip: str = None


# --- what the cases craft -----------------------------------------------------------------


def write(relative, content):
    """A setup that writes `content` (str or bytes) to `{run}/relative`."""

    def setup(tmp, run):
        path = run / relative
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)

    return setup


def cut_in_half(relative):
    def setup(tmp, run):
        path = run / relative
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    return setup


def edit_config(**values):
    def setup(tmp, run):
        path = run / "config.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), **values}))

    return setup


def teacher(config=None, model=None):
    """A setup that makes `{tmp}/teacher`: `config.json` (text), and as `classifier.keras`
    `model(run)`'s bytes (default: a few bytes), beside a vocabulary."""

    def setup(tmp, run):
        folder = tmp / "teacher"
        folder.mkdir()
        if config is not None:
            (folder / "config.json").write_text(config)
        (folder / "vocab.txt").write_text("[PAD]\n[UNK]\n[START]\n[END]\nbueno\n")
        (folder / "classifier.keras").write_bytes(model(run) if model else b"PK\x03\x04")

    return setup


def translator_file(run):
    return (run / "translator.keras").read_bytes()


def huge_vocabulary_file(run):
    """The run's `translator.keras` with a config that declares a 2,000,000,000-word
    source vocabulary."""
    source = run / "translator.keras"
    crafted = run / "crafted.keras"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(crafted, "w") as copy:
        for item in original.infolist():
            data = original.read(item)
            if item.filename == "config.json":
                config = json.loads(data)
                config["config"]["source_vocab_size"] = 2_000_000_000
                data = json.dumps(config).encode()
            copy.writestr(item, data)
    return crafted.read_bytes()


def spa_txt(lines):
    def setup(tmp, run):
        (tmp / "spa.txt").write_text("".join(f"{line}\n" for line in lines))

    return setup


def fifo(tmp, run):
    """`{tmp}/spa.txt` is a FIFO with no writer (`make_fifo`)."""
    make_fifo(tmp / "spa.txt")


def fifo_in_output(tmp, run):
    """`{tmp}/out/config.json` is a FIFO with no writer (`make_fifo`)."""
    (tmp / "out").mkdir()
    make_fifo(tmp / "out" / "config.json")


def fifo_in_run(relative):
    """A setup that replaces `{run}/relative` by a FIFO with no writer (as `fifo`)."""

    def setup(tmp, run):
        (run / relative).unlink()
        make_fifo(run / relative)

    return setup


def make_fifo(path):
    """Makes `path` a FIFO with no writer. Should the command read it after all, from
    60 s on a writer opens and closes it whenever a reader waits, and leaves a
    `PATH.was-read` file, until the row ends: the row fails instead of hanging. The
    writer is a process of its own: a reader blocked in C (h5py) may hold the GIL, which
    no thread of this process would get."""
    os.mkfifo(path)
    script = 'sleep 60; while [ -p "$0" ]; do : > "$0"; touch "$0.was-read"; sleep 0.2; done'
    writer = subprocess.Popen(["sh", "-c", script, str(path)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    _UNBLOCKERS.append((path, writer))


_UNBLOCKERS = []  # `(FIFO, its writer)` of the current row, ended with the row


def sst2_one_class(tmp, run):
    folder = tmp / "SST-2"
    folder.mkdir()
    rows = "".join(f"a fine film number {i} \t1\n" for i in range(50))
    (folder / "train.tsv").write_text("sentence\tlabel\n" + rows)
    (folder / "dev.tsv").write_text("sentence\tlabel\nbad \t0\ngood \t1\n")
    (folder / "test.tsv").write_text("index\tsentence\n0\tfine\n")


_HELD_LOCKS = []  # the locks rows hold, as another run would, until the session ends


def another_run_writes_in_run(tmp, run):
    """`{run}` is locked by a run that is still writing there (process 4242)."""
    handle = open(run / ".lock", "a+")  # noqa: SIM115 (held until the session ends)
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    handle.truncate(0)
    handle.write("4242\n")
    handle.flush()
    _HELD_LOCKS.append(handle)


def link_to_teacher(tmp, run):
    teacher(config='{"dataset": "builtin"}')(tmp, run)
    (tmp / "link").symlink_to(tmp / "teacher")


# --- the table ----------------------------------------------------------------------------

CKPT = "checkpoints/epoch_0001.weights.h5"
CASES = [
    # --resume on a damaged run: each names the file.
    Case("resume-random-checkpoint", "translator", RESUME, write(CKPT, os.urandom(4096)),
         message=r"epoch_0001\.weights\.h5 is damaged .*without --resume"),
    Case("resume-truncated-checkpoint", "translator", RESUME, cut_in_half(CKPT),
         message=r"epoch_0001\.weights\.h5 is damaged \(.*truncated"),
    Case("resume-broken-state", "translator", RESUME,
         write("checkpoints/state.json", '{"epoch": 1, "be'),
         message=r"state\.json is damaged \(not JSON"),
    Case("resume-state-not-object", "translator", RESUME, write("checkpoints/state.json", "[]"),
         message=r"state\.json is damaged \(a JSON list"),
    Case("resume-state-bad-epoch", "translator", RESUME,
         write("checkpoints/state.json", '{"epoch": "one", "best_epoch": null, "best": null}'),
         message=r'state\.json is damaged \("epoch" is \'one\''),
    Case("resume-model-dim-abc", "translator", RESUME, edit_config(model_dim="abc"),
         message=r'config\.json: "model_dim" is \'abc\', not a value of --model-dim'),
    Case("resume-dropout-out-of-range", "translator", RESUME, edit_config(dropout=7),
         message=r'config\.json: "dropout" is 7, not a value of --dropout'),
    Case("resume-unknown-model", "translator", RESUME, edit_config(model="lstm"),
         message=r'"model" is \'lstm\', not a value of --model \(one of transformer, rnn\)'),
    Case("resume-empty-vocabulary", "translator", RESUME, write("source_vocab.txt", ""),
         message=r"source_vocab\.txt is not a vocabulary file"),
    Case("resume-config-not-json", "translator", RESUME, write("config.json", "not json {"),
         message=r"config\.json is not a run's config\.json"),
    # A file of the run replaced by a FIFO with no writer: reading it would wait forever.
    Case("resume-config-fifo", "translator", RESUME, fifo_in_run("config.json"),
         message=r"config\.json is not a regular file \(a pipe, a device, a socket or a"),
    Case("resume-vocabulary-fifo", "translator", RESUME, fifo_in_run("source_vocab.txt"),
         message=r"source_vocab\.txt is not a regular file \(a pipe, a device or a socket\)"),
    Case("resume-state-fifo", "translator", RESUME, fifo_in_run("checkpoints/state.json"),
         message=r"state\.json is damaged \(not a regular file: a pipe"),
    Case("resume-checkpoint-fifo", "translator", RESUME, fifo_in_run(CKPT),
         message=r"epoch_0001\.weights\.h5 is damaged \(not a regular file: a pipe"),
    Case("fresh-run-over-config-fifo", "translator", TINY_TRANSLATOR + " --output {tmp}/out",
         fifo_in_output, message=r"--output .*out already holds a run \(config\.json\)"),
    # config.json values of the wrong type: each names config.json and the key.
    Case("resume-model-dim-null", "translator", RESUME, edit_config(model_dim=None),
         message=r'config\.json: "model_dim" is None, not a value of --model-dim'),
    Case("resume-heads-null", "translator", RESUME, edit_config(heads=None),
         message=r'config\.json: "heads" is None, not a value of --heads'),
    Case("resume-batch-size-string", "translator", RESUME, edit_config(batch_size="32"),
         message=r'config\.json: "batch_size" is \'32\', not a value of --batch-size'),
    Case("resume-layers-bool", "translator", RESUME, edit_config(layers=True),
         message=r'config\.json: "layers" is True, not a value of --layers'),
    Case("resume-model-dim-float", "translator", RESUME, edit_config(model_dim=16.5),
         message=r'config\.json: "model_dim" is 16\.5, not a value of --model-dim'),
    Case("resume-vocabulary-size-negative", "translator", RESUME,
         edit_config(vocabulary_size=-5),
         message=r'config\.json: "vocabulary_size" is -5, not a value of --vocabulary-size'),
    Case("resume-learning-rate-null", "translator", RESUME, edit_config(learning_rate=None),
         message=r'config\.json: "learning_rate" is None, not a value of --learning-rate'),
    Case("resume-epochs-list", "translator", RESUME, edit_config(epochs=[2]),
         message=r'config\.json: "epochs" is \[2\], not a value of --epochs'),
    # Crafted --teacher folders.
    Case("teacher-config-open-brace", "classifier", TINY_CLASSIFIER + " --teacher {tmp}/teacher "
         "--output {tmp}/out", teacher(config="{"), message=r"teacher/config\.json is not JSON"),
    Case("teacher-config-list", "classifier", TINY_CLASSIFIER + " --teacher {tmp}/teacher "
         "--output {tmp}/out", teacher(config="[]"),
         message=r"teacher/config\.json is not a run's config\.json \(a JSON list"),
    Case("teacher-is-a-translator", "classifier", "--model bigru " + TINY_CLASSIFIER.replace(
         "--layers 1 --model-dim 16 --heads 2 --feed-forward-dim 32 ", "") + " --teacher "
         "{tmp}/teacher --output {tmp}/out", teacher(model=translator_file), needs_run=True,
         message=r"classifier\.keras holds a TransformerTranslator, not a classifier"),
    Case("teacher-not-a-zip", "classifier", TINY_CLASSIFIER + " --teacher {tmp}/teacher "
         "--output {tmp}/out", teacher(model=lambda run: b"not a zip archive"),
         message=r"classifier\.keras is not a \.keras file \(not a zip archive\)"),
    Case("teacher-empty-file", "classifier", TINY_CLASSIFIER + " --teacher {tmp}/teacher "
         "--output {tmp}/out", teacher(model=lambda run: b""),
         message=r"classifier\.keras is empty \(0 bytes\)"),
    Case("teacher-truncated-file", "classifier", TINY_CLASSIFIER + " --teacher {tmp}/teacher "
         "--output {tmp}/out", teacher(model=lambda run: translator_file(run)[:5000]),
         needs_run=True,
         message=r"classifier\.keras is not a \.keras file .*cut short"),
    Case("teacher-two-billion-words", "classifier", TINY_CLASSIFIER + " --teacher "
         "{tmp}/teacher --output {tmp}/out", teacher(model=huge_vocabulary_file),
         needs_run=True,
         message=r"source_vocab_size x model_dim` would be 2,000,000,000 x 16 .*above the limit"),
    # The environment: checked before Keras imports a backend (a process of its own).
    Case("keras-backend-nonsense", "translator", "--epochs 1", env={"KERAS_BACKEND": "nonsense"},
         message=r"KERAS_BACKEND='nonsense' is not a backend", subprocess=True),
    Case("keras-backend-torch-missing", "translator", "--epochs 1",
         env={"KERAS_BACKEND": "torch"}, subprocess=True,
         message=r"KERAS_BACKEND=torch, but torch is not installed",
         skip="torch is installed" if importlib.util.find_spec("torch") else None),
    # TF_CONFIG is read before any device or strategy exists: in-process is safe.
    Case("tf-config-list", "translator", "--distribution multi-worker --output {tmp}/out",
         env={"TF_CONFIG": "[]"}, message=r"TF_CONFIG must be an object"),
    Case("tf-config-not-json", "translator", "--distribution multi-worker --output {tmp}/out",
         env={"TF_CONFIG": '{"cluster": '}, message=r"TF_CONFIG is not JSON"),
    Case("tf-config-index-not-int", "translator", "--distribution multi-worker --output {tmp}/o",
         env={"TF_CONFIG": '{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker",'
              ' "index": "first"}}'},
         message=r"TF_CONFIG's task index must be an integer from 0 to 1"),
    Case("tf-config-index-too-large", "translator", "--distribution multi-worker --output {tmp}/o",
         env={"TF_CONFIG": '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", '
              '"index": 3}}'}, message=r"TF_CONFIG's task index must be an integer from 0 to 0"),
    # Flags.
    Case("replicas-without-distribution", "translator",
         "--replicas 3 --distribution none --output {tmp}/out",
         message=r"--replicas 3 applies to --distribution mirrored"),
    Case("replicas-too-many", "translator", "--replicas 100000 --output {tmp}/out",
         message=r"--replicas 100000: at most 64 logical CPU devices"),
    Case("batch-size-absurd", "translator", "--batch-size 99999999999999999999999",
         message=r"argument --batch-size: 99999999999999999999999 is more than 2,147,483,647"),
    Case("epochs-absurd", "classifier", "--epochs 1" + "0" * 30,
         message=r"argument --epochs: 10+ is more than 2,147,483,647"),
    Case("seed-negative", "translator", "--seed -1", message=r"argument --seed: invalid seed"),
    # An unknown codec was a LookupError traceback once the translator read the files.
    Case("encoding-unknown", "translator", "--train {tmp}/corpus --source-language de "
         "--target-language en --encoding nonsense-codec",
         message=r"argument --encoding: 'nonsense-codec' is not a codec Python knows"),
    Case("encoding-not-text", "classifier", "--train {tmp}/train.tsv --encoding rot13",
         message=r"argument --encoding: 'rot13' is not a text codec"),
    Case("seed-absurd", "translator", "--seed 4294967296",
         message=r"argument --seed: 4294967296 is more than 4,294,967,295"),
    Case("model-dim-too-large", "translator", TINY_TRANSLATOR.replace("--model-dim 16 --heads 2",
         "--model-dim 2147483646 --heads 2") + " --epochs 1 --output {tmp}/out",
         message=r"model_dim x model_dim` would be 2,147,483,646 x 2,147,483,646"),
    # Data.
    Case("identical-pairs", "translator", "--dataset spa-eng --data {tmp}/spa.txt "
         "--output {tmp}/out", spa_txt(["Go.\tVe."] * 800),
         message=r"every one of its 800 pairs has the same source sentence"),
    Case("data-is-a-fifo", "translator", "--dataset spa-eng --data {tmp}/spa.txt "
         "--output {tmp}/out", fifo, message=r"spa\.txt is not a regular file"),
    Case("sst2-one-class", "classifier", "--dataset sst2 --data {tmp} --ensemble 1 "
         "--output {tmp}/out", sst2_one_class,
         message=r"every sentence of train\.tsv has label 1"),
    # The run folder and what a run may replace.
    Case("diverging-resume", "translator", RESUME, edit_config(learning_rate=1e30), code=1,
         message=r"training diverged: the training loss is nan in epoch 2, .* the checkpoint "
                 r"of epoch 1 in .* is kept"),
    Case("fresh-run-into-a-used-folder", "translator", TINY_TRANSLATOR + " --output {run}",
         message=r"--output .* already holds a run \(.*\); continue it with --resume, "
                 r"replace it with --overwrite"),
    Case("overwrite-with-resume", "translator", "--resume --overwrite --output {tmp}/out",
         message=r"--overwrite starts a new run in --output; it does not go with --resume"),
    Case("output-in-use", "translator", RESUME, another_run_writes_in_run,
         message=r"--output .*run is in use by another run \(process 4242\)"),
    Case("teacher-is-output", "classifier", TINY_CLASSIFIER + " --teacher {tmp}/teacher "
         "--output {tmp}/elsewhere/../teacher", teacher(config='{"dataset": "builtin"}'),
         message=r"--teacher .*teacher is the --output folder: the student would replace"),
    Case("teacher-is-output-through-a-link", "classifier", TINY_CLASSIFIER + " --teacher "
         "{tmp}/teacher --output {tmp}/link", link_to_teacher,
         message=r"--teacher .*teacher is the --output folder"),
    Case("beam-width-absurd", "translator", "--beam-width 100000 --output {tmp}/out",
         message=r"--beam-width must be at most 8 \(the widest beam the export serves\); "
                 r"received 100000"),
]


# --- running a row ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    """One tiny finished translator run (`tests.helpers.TINY_TRANSLATOR_RUN`: 1 epoch),
    trained once per session and shared with test_runner.py: the rows copy it."""
    return tiny_translator_run(tmp_path_factory)


def run_case(case, tmp, run, capsys, monkeypatch):
    """`(exit code, standard error)` of `case`'s command."""
    replacements = {"{tmp}": str(tmp), "{run}": str(run)}
    argv = [_fill(argument, replacements) for argument in case.argv.split()]
    if case.subprocess:
        result = subprocess.run(
            [sys.executable, str(ROOT / SCRIPTS[case.command]), *argv], cwd=tmp,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **case.env},
            capture_output=True, text=True, timeout=300,
        )
        return result.returncode, result.stderr
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    try:
        COMMANDS[case.command].main(argv)
        code = 0
    except SystemExit as error:
        code = error.code
    return code, capsys.readouterr().err


def _fill(argument, replacements):
    for key, value in replacements.items():
        argument = argument.replace(key, value)
    return argument


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_command(case, tmp_path, request, capsys, monkeypatch):
    if case.skip:
        pytest.skip(case.skip)
    run = None
    if case.needs_run or "{run}" in case.argv:
        run = tmp_path / "run"
        shutil.copytree(request.getfixturevalue("finished_run"), run)
    try:
        if case.setup is not None:
            case.setup(tmp_path, run)
        code, stderr = run_case(case, tmp_path, run, capsys, monkeypatch)
    finally:
        fifos = [path for path, _ in _UNBLOCKERS]
        while _UNBLOCKERS:
            _, writer = _UNBLOCKERS.pop()
            writer.kill()
            writer.wait()
    read = [str(path) for path in fifos if path.with_name(f"{path.name}.was-read").exists()]
    assert not read, f"the command waited for a writer of the FIFO(s) {read}"
    assert "Traceback (most recent call last)" not in stderr, stderr[-3000:]
    assert code == case.code, stderr[-3000:]
    if case.code != 0:
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert lines, "nothing on standard error"
        assert re.search(case.message, lines[-1]), lines[-1]
        assert "error:" in lines[-1]


# `attention_layers.load_model` on damaged paths: (id, what to make of the path, message).
LOAD_MODEL_CASES = [
    ("missing", lambda path, run: None, r"model\.keras: no such file"),
    ("folder", lambda path, run: path.mkdir(), r"model\.keras is a folder, not a \.keras file"),
    ("empty", lambda path, run: path.write_bytes(b""), r"model\.keras is empty \(0 bytes\)"),
    ("not-a-zip", lambda path, run: path.write_text("hello"),
     r"model\.keras is not a \.keras file \(not a zip archive\)"),
    ("truncated", lambda path, run: path.write_bytes(translator_file(run)[:5000]),
     r"model\.keras is not a \.keras file .*cut short"),
    ("fifo", lambda path, run: os.mkfifo(path), r"model\.keras is not a regular file"),
    ("two-billion-words", lambda path, run: path.write_bytes(huge_vocabulary_file(run)),
     r"model\.keras: cannot load the model: `source_vocab_size x model_dim` would be "
     r"2,000,000,000 x 16"),
]


@pytest.mark.slow
@pytest.mark.parametrize("make, message", [case[1:] for case in LOAD_MODEL_CASES],
                         ids=[case[0] for case in LOAD_MODEL_CASES])
def test_load_model_names_what_is_wrong_with_the_file(make, message, tmp_path, finished_run):
    import attention_layers
    from attention_layers.utils.keras_files import ModelFileError

    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    path = tmp_path / "model.keras"
    make(path, run)
    with pytest.raises(ModelFileError, match=message) as raised:
        attention_layers.load_model(path)
    assert "\n" not in str(raised.value)


def test_case_ids_are_unique():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
