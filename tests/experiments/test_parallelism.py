"""The parallelism experiment compares a GRU and self-attention of equal size and keeps the
spread of its timings."""

import json

import pytest

from attention_layers.experiments import ParallelismConfig, parallelism


@pytest.mark.parametrize("config", [ParallelismConfig(), ParallelismConfig.quick()],
                         ids=["default", "quick"])
def test_attention_key_dim_matches_the_gru_weights_within_5_percent(config):
    counts = {kind: parallelism._model(kind, 8, config).count_params()
              for kind in parallelism.KINDS}
    assert abs(counts["self_attention"] / counts["gru"] - 1) <= parallelism.TOLERANCE


def test_default_sizes_are_the_documented_ones():
    assert parallelism.attention_key_dim(64, 4) == 24
    config = ParallelismConfig()
    counts = {kind: parallelism._model(kind, 8, config).count_params()
              for kind in parallelism.KINDS}
    assert counts == {"gru": 24_960, "self_attention": 24_928}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("parallelism")
    config = ParallelismConfig.quick()
    parallelism.run(config, folder)
    assert 0 < (folder / "parallelism.png").stat().st_size < 200_000
    return json.loads((folder / "parallelism.json").read_text())


@pytest.mark.slow
def test_report_counts_are_the_built_models_and_equal_within_5_percent(report):
    config = ParallelismConfig(**{key: tuple(value) if isinstance(value, list) else value
                                  for key, value in report["config"].items()})
    for kind in parallelism.KINDS:
        built = parallelism._model(kind, config.lengths[0], config)
        assert report["parameters"][kind] == built.count_params()
    gru, attention = report["parameters"]["gru"], report["parameters"]["self_attention"]
    assert report["parameter_difference"] == pytest.approx(attention / gru - 1)
    assert abs(report["parameter_difference"]) <= 0.05
    assert report["key_dim"] == parallelism.attention_key_dim(config.width, config.heads)


@pytest.mark.slow
def test_every_timing_is_kept_and_the_spread_is_consistent(report):
    repeats = report["config"]["repeats"]
    for rows in report["results"].values():
        assert [row["length"] for row in rows] == report["config"]["lengths"]
        for row in rows:
            assert len(row["timings"]) == repeats
            assert row["min"] <= row["median"] <= row["max"]
            assert row["seconds"] == row["median"]
            assert row["min"] == min(row["timings"]) and row["max"] == max(row["timings"])


@pytest.mark.slow
def test_report_records_the_gru_path_and_the_load(report):
    assert "loop" in report["gru_path"] or "cuDNN" in report["gru_path"]
    assert report["environment"]["device"] in report["gru_path"]
    for moment in ("start", "end"):
        assert len(report["load_average"][moment]) == 3


@pytest.mark.slow
def test_table_shows_both_weight_counts_the_spread_and_the_load(report):
    text = parallelism.table(report)
    assert str(report["parameters"]["gru"]) in text
    assert str(report["parameters"]["self_attention"]) in text
    assert "GRU range" in text and "load average" in text
    assert report["gru_path"] in text


def test_table_reads_a_report_recorded_before_the_spread_was_kept():
    report = {
        "config": {"width": 64, "heads": 4, "repeats": 5},
        "environment": {"cpu_count": 2},
        "parameters": {"gru": 24960, "self_attention": 16640},
        "results": {kind: [{"length": 32, "seconds": 0.01}, {"length": 64, "seconds": 0.02}]
                    for kind in parallelism.KINDS},
        "growth": {"gru": 1.0, "self_attention": 1.0},
    }
    text = parallelism.table(report)
    assert "24960" in text and "16640" in text and "heads of 16" in text
