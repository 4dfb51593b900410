"""Each experiment's small configuration runs, writes its JSON and PNG, and shows its claim."""

import dataclasses
import json

import numpy as np
import pytest

from attention_layers.experiments import (
    GradientFlowConfig,
    LongRangeConfig,
    ParallelismConfig,
    QuadraticCostConfig,
    _common,
    gradient_flow,
    long_range,
    parallelism,
    quadratic_cost,
)
from attention_layers.experiments import __main__ as cli

pytestmark = pytest.mark.slow


def _written(output, name):
    """The JSON the experiment wrote, after checking its PNG is there and small."""
    png = output / f"{name}.png"
    assert png.exists() and 0 < png.stat().st_size < 200_000
    return json.loads((output / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("experiments")


def test_long_range_attention_solves_recall_above_chance(folder):
    config = LongRangeConfig.quick()
    long_range.run(config, folder)
    report = _written(folder, "long_range")
    assert set(report) >= {"config", "environment", "chance", "parameters", "results"}
    results = report["results"]["recall_first"]
    assert set(results) == set(config.models)
    for kind, by_distance in results.items():
        assert set(by_distance) == {str(d) for d in config.distances}
        for result in by_distance.values():
            assert 0.0 <= result["accuracy"] <= 1.0
            assert 1 <= result["steps"] <= config.steps
        count = report["parameters"]["recall_first"][kind]
        assert abs(count - config.parameters) <= 0.1 * config.parameters
    best = max(result["accuracy"] for result in results["transformer"].values())
    assert best > 3 * report["chance"]


def test_gradient_flow_of_an_untrained_simple_rnn_vanishes(folder):
    config = GradientFlowConfig.quick()
    gradient_flow.run(config, folder)
    report = _written(folder, "gradient_flow")
    results = report["results"]
    assert set(results) == set(config.models)
    for result in results.values():
        for stage in ("initial", "trained"):
            norms = np.array(result[stage])
            assert norms.shape == (config.distance + 1,) and np.all(np.isfinite(norms))
    rnn = np.array(results["simple_rnn"]["initial"])
    # The gradient reaching the needed token (t=0) is a tiny fraction of the last one's,
    # and it shrinks steadily with the distance from the output.
    assert rnn[0] < 1e-2 * rnn[-1]
    quarters = [rnn[: len(rnn) // 4].mean(), rnn[len(rnn) // 2 : 3 * len(rnn) // 4].mean()]
    assert quarters[0] < quarters[1]
    attention = np.array(results["transformer"]["initial"])
    assert attention[0] > 10 * rnn[0]  # one step from the output, not T


def test_parallelism_times_both_models(folder):
    config = ParallelismConfig.quick()
    parallelism.run(config, folder)
    report = _written(folder, "parallelism")
    assert set(report["results"]) == {"gru", "self_attention"}
    for rows in report["results"].values():
        assert [row["length"] for row in rows] == list(config.lengths)
        assert all(0 < row["seconds"] < 60 for row in rows)
    assert set(report["growth"]) == {"gru", "self_attention"}


def test_sliding_window_needs_less_memory_than_full_attention(folder):
    config = dataclasses.replace(
        QuadraticCostConfig.quick(), variants=("explicit", "sliding_window"), lengths=(2048,),
        repeats=1,
    )
    quadratic_cost.run(config, folder)
    report = _written(folder, "quadratic_cost")
    full, local = (report["results"][v]["rows"][-1] for v in ("explicit", "sliding_window"))
    assert full["length"] == local["length"] == 2048
    assert local["rss_growth_mb"] < full["rss_growth_mb"]
    assert report["results"]["explicit"]["oom_length"] is None  # no GPU: not searched


@pytest.mark.parametrize("name", ["long-range", "gradient-flow", "parallelism", "quadratic-cost"])
def test_cli_help_lists_sizes_and_output(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([name, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "--output" in text and "--quick" in text


def test_cli_options_override_the_quick_config():
    args = cli.build_parser().parse_args(
        ["long-range", "--quick", "--distances", "10", "20", "--steps", "5"])
    config = _common.config_from_args(LongRangeConfig, args)
    assert config.distances == (10, 20) and config.steps == 5
    assert config.models == LongRangeConfig.quick().models
