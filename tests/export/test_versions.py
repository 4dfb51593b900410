"""TensorFlow Serving's layout: `BASE/<version>/`, a new version whole before an old one goes."""

import os

import pytest

from attention_layers.export import (
    KEEP_VERSIONS,
    export_new_version,
    export_versions,
    latest_version,
    version_path,
)
from attention_layers.utils.files import atomic_path


def _writer(content, fail=False):
    """A `write(path)` that writes a fake SavedModel all or nothing, as the exporters do."""

    def write(path):
        with atomic_path(path) as staging:
            staging.mkdir()
            (staging / "saved_model.pb").write_text(content)
            (staging / "variables").mkdir()
            if fail:
                raise RuntimeError("the export failed half way")
        return path

    return write


def _content(path):
    return (path / "saved_model.pb").read_text()


def test_each_export_adds_a_version_and_keeps_the_newest_two(tmp_path):
    base = tmp_path / "run" / "serving"
    assert export_versions(base) == {} and latest_version(base) is None
    assert export_new_version(base, _writer("first")) == base / "1"
    assert export_new_version(base, _writer("second")) == base / "2"
    assert KEEP_VERSIONS == 2
    assert export_new_version(base, _writer("third")) == base / "3"
    assert sorted(os.listdir(base)) == ["2", "3"]  # version 1 removed, nothing half-written
    assert latest_version(base) == (3, base / "3")
    assert {version: _content(path) for version, path in export_versions(base).items()} == {
        2: "second",
        3: "third",
    }


def test_a_failed_export_keeps_the_versions_there_were(tmp_path):
    base = tmp_path / "serving"
    export_new_version(base, _writer("first"))
    export_new_version(base, _writer("second"))
    with pytest.raises(RuntimeError, match="half way"):
        export_new_version(base, _writer("third", fail=True))
    assert sorted(os.listdir(base)) == ["1", "2"]
    assert _content(latest_version(base)[1]) == "second"


def test_what_is_not_a_whole_version_is_not_counted_nor_overwritten(tmp_path):
    base = tmp_path / "serving"
    (base / "5").mkdir(parents=True)  # a version folder without saved_model.pb
    (base / "notes").mkdir()
    (base / f".partial-{2**22 + 1}-0123abcd-6").mkdir()  # a killed export (no such process)
    (base / "007").mkdir()
    (base / "007" / "saved_model.pb").write_text("seven")
    assert export_versions(base) == {7: base / "007"}  # digits as TF Serving reads them
    assert export_new_version(base, _writer("eight")) == base / "8"
    assert sorted(os.listdir(base)) == ["007", "5", "8", "notes"]
    assert version_path(base, 8) == base / "8"


def test_an_export_written_before_versions_is_version_1_and_moves_there(tmp_path):
    base = tmp_path / "serving"  # today's `serving/` folder: the SavedModel itself
    (base / "variables").mkdir(parents=True)
    (base / "saved_model.pb").write_text("legacy")
    (base / "variables" / "variables.index").write_text("weights")
    (base / "assets.extra").mkdir()
    (base / "assets.extra" / "export.json").write_text('{"kind": "translator"}')
    assert export_versions(base) == {1: base}
    assert latest_version(base) == (1, base)

    assert export_new_version(base, _writer("new")) == base / "2"
    assert sorted(os.listdir(base)) == ["1", "2"]
    assert _content(base / "1") == "legacy"
    assert (base / "1" / "variables" / "variables.index").read_text() == "weights"
    assert (base / "1" / "assets.extra" / "export.json").is_file()
    assert _content(base / "2") == "new"
