"""The package as a user installs it: a wheel that declares its dependencies, installed in a
fresh virtual environment, imported and used from outside the checkout."""

import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import venv
import zipfile

import pytest
from packaging.requirements import Requirement

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _requirements(name):
    lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
    return {
        str(Requirement(line))
        for line in (line.strip() for line in lines)
        if line and not line.startswith("#")
    }


def _code_blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def _set_up_command():
    """The README's install command with the test tools (its "Tests and CI" section)."""
    section = README.split("## Tests and CI", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    (command,) = [line for line in block.splitlines() if "pip install" in line]
    return command.strip()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel, built offline from a copy of the sources (no build files in the checkout)."""
    folder = tmp_path_factory.mktemp("build")
    source = folder / "source"
    source.mkdir()
    for name in (
        "pyproject.toml", "README.md", "requirements.txt", "requirements-dev.txt",
        "requirements-demo.txt",
    ):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "attention_layers",
        source / "attention_layers",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--quiet",
            "--wheel-dir",
            str(folder / "dist"),
            str(source),
        ],
        check=True,
        timeout=300,
    )
    (path,) = (folder / "dist").glob("attention_layers-*.whl")
    return path


def test_the_wheel_declares_the_requirement_files(wheel):
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        metadata = archive.read(name).decode("utf-8")
    declared = [
        Requirement(line.split(":", 1)[1].strip())
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    ]
    runtime = {str(req) for req in declared if req.marker is None}
    dev = {
        str(Requirement(str(req).split(";")[0]))
        for req in declared
        if req.marker is not None and req.marker.evaluate({"extra": "dev"})
    }
    assert runtime == _requirements("requirements.txt")
    assert dev == _requirements("requirements-dev.txt")
    demo = {
        str(Requirement(str(req).split(";")[0]))
        for req in declared
        if req.marker is not None and req.marker.evaluate({"extra": "demo"})
    }
    assert demo == _requirements("requirements-demo.txt")
    assert "Provides-Extra: demo" in metadata
    assert "tensorflow<2.22,>=2.21" in runtime
    assert "Provides-Extra: dev" in metadata
    assert any(name.startswith("attention_layers/models/") for name in archive.namelist())


def test_the_wheel_holds_the_word_tables_of_the_generated_corpus(wheel):
    tables = sorted(path.relative_to(ROOT).as_posix()
                    for path in (ROOT / "attention_layers" / "data" / "words").glob("*.tsv"))
    assert len(tables) == 3
    with zipfile.ZipFile(wheel) as archive:
        assert set(tables) <= set(archive.namelist())


def test_the_readme_set_up_installs_the_package_and_ci_runs_it():
    command = _set_up_command()
    arguments = shlex.split(command)
    # The project itself, with the test tools: `.[dev]`, or `.` and requirements-dev.txt.
    assert any(argument == "." or argument.startswith(".[") for argument in arguments), command
    assert ".[dev]" in arguments or "requirements-dev.txt" in arguments, command
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert command in ci_lines


def _see_the_running_site_packages(python):
    """Lets the fresh environment import this interpreter's packages (TensorFlow, Keras,
    pip: no download), but not the checkout: the project itself must come from the wheel.

    Not `system_site_packages=True`: inside a virtual environment that gives the *base*
    interpreter's packages, where Keras may not be installed. A `.pth` file of plain paths
    adds the folders that hold this interpreter's packages; the `.pth` files inside them (an
    editable install of the checkout) are not run.
    """
    folders = [
        entry for entry in sys.path
        if entry.endswith(("site-packages", "dist-packages"))
        and not pathlib.Path(entry).resolve().is_relative_to(ROOT.resolve())
    ]
    assert folders, sys.path
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()
    (pathlib.Path(site_packages) / "running_interpreter.pth").write_text(
        "".join(f"{folder}\n" for folder in folders)
    )


def test_the_installed_wheel_imports_and_runs_the_readme_outside_the_checkout(wheel, tmp_path):
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=False)
    python = environment / "bin" / "python"
    _see_the_running_site_packages(python)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
        check=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    # The first snippet that needs no trained run (test_readme.py states the `# needs:` rule).
    snippet = next(s for s in _code_blocks("python") if not s.lstrip().startswith("# needs:"))
    script = tmp_path / "first_snippet.py"
    script.write_text(
        "import attention_layers\nprint('FILE', attention_layers.__file__)\n" + snippet
    )
    result = subprocess.run(
        [str(python), str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    installed = pathlib.Path(lines[0].split(" ", 1)[1])
    assert installed.is_relative_to(environment), installed
    # Each print of the snippet is followed by `# what it prints`: check it does.
    promised = [
        line.split("#", 1)[1].split(":", 1)[0].strip()
        for line in snippet.splitlines()
        if line.startswith("print(") and "#" in line
    ]
    assert promised and lines[1:] == promised
