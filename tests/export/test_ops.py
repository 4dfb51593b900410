"""`python -m attention_layers ops`: every op of our exports is TensorFlow's or TF Text's."""

import json

import pytest

from attention_layers.export import ops


@pytest.fixture(scope="module")
def libraries():
    """The registry's `{library: op names}`, read once (in a fresh process here, as this one
    has imported TF Text)."""
    return ops.op_libraries()


def test_the_registry_tells_tf_text_ops_from_tensorflow_ops(libraries):
    assert sorted(libraries) == [ops.TENSORFLOW, ops.TF_TEXT]
    assert {"NormalizeUTF8", "CaseFoldUTF8", "WordpieceTokenizeWithOffsets"} <= libraries[ops.TF_TEXT]
    assert {"MatMul", "StringSplitV2", "StatefulPartitionedCall"} <= libraries[ops.TENSORFLOW]
    assert not libraries[ops.TF_TEXT] & libraries[ops.TENSORFLOW]
    assert ops.classify_ops(["MatMul", "NormalizeUTF8", "MyCustomOp"], libraries) == {
        "MatMul": ops.TENSORFLOW, "NormalizeUTF8": ops.TF_TEXT, "MyCustomOp": ops.UNKNOWN,
    }  # fmt: skip


@pytest.mark.parametrize("name", ["transformer", "rnn", "classifier"])
def test_every_op_of_an_export_is_tensorflows_or_tf_texts(exports, libraries, name):
    counts = ops.graph_ops(exports[name])
    found = ops.classify_ops(counts, libraries)
    assert set(found.values()) == {ops.TENSORFLOW, ops.TF_TEXT}, found
    # The graph's functions are read too: decoding's loop bodies, the model's layers.
    assert {"While", "MatMul", "Softmax"} <= set(counts) or name == "classifier"
    assert counts["StatefulPartitionedCall"] >= 1


def test_the_command_prints_each_op_with_its_library(
    exports, libraries, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(ops, "op_libraries", lambda: libraries)  # read once, above
    base = tmp_path / "run" / "serving"  # a run folder in TF Serving's layout
    (base / "3").parent.mkdir(parents=True)
    (base / "3").symlink_to(exports["classifier"])
    assert ops.main([str(tmp_path / "run"), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["NormalizeUTF8"] == ops.TF_TEXT and found["MatMul"] == ops.TENSORFLOW
    assert ops.main([str(base / "3")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Ops of {base / '3'} (version 3): {len(found)} types")
    assert "  tensorflow_text  NormalizeUTF8 " in out


def test_a_folder_without_an_export_is_one_line_and_exit_code_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        ops.main([str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"no export in {tmp_path}" in err
