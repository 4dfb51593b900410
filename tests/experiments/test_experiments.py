"""Each experiment's small configuration runs, writes its JSON and PNG, and shows its claim."""

import dataclasses
import json

import keras
import numpy as np
import pytest

from attention_layers.experiments import (
    GradientFlowConfig,
    LongRangeConfig,
    ParallelismConfig,
    QuadraticCostConfig,
    gradient_flow,
    harness,
    long_range,
    models,
    parallelism,
    quadratic_cost,
    tasks,
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


def _assert_spread(spread, seeds):
    """`spread` is `harness.spread` of its own `values`, one per seed."""
    values = np.array(spread["values"])
    assert len(values) == len(seeds)
    np.testing.assert_allclose(spread["mean"], values.mean(axis=0))
    np.testing.assert_allclose(spread["std"], values.std(axis=0, ddof=1))
    np.testing.assert_allclose(spread["min"], values.min(axis=0))
    np.testing.assert_allclose(spread["max"], values.max(axis=0))


def test_long_range_attention_solves_recall_above_chance(folder):
    config = LongRangeConfig.quick()
    assert len(config.seeds) >= 2 and len(config.budgets) >= 2
    long_range.run(config, folder)
    report = _written(folder, "long_range")
    assert (folder / "long_range_budgets.png").stat().st_size < 200_000
    assert set(report) >= {"config", "environment", "chance", "parameters", "results"}
    results = report["results"]["recall_first"]
    assert set(results) == set(config.models)
    largest = str(config.budgets[-1])
    seeds_differ = False
    for kind, by_distance in results.items():
        assert set(by_distance) == {str(d) for d in config.distances}
        for cell in by_distance.values():
            assert set(cell["by_budget"]) == {str(budget) for budget in config.budgets}
            for spread in (cell["accuracy"], *cell["by_budget"].values()):
                _assert_spread(spread, config.seeds)
                assert all(0.0 <= value <= 1.0 for value in spread["values"])
            assert cell["accuracy"] == cell["by_budget"][largest]
            assert len(cell["steps"]) == len(cell["train_seconds"]) == len(config.seeds)
            for index, steps in enumerate(cell["steps"]):
                assert 1 <= steps <= config.budgets[-1]
                # A run that stopped early was scored once more, for every budget it missed.
                final = cell["accuracy"]["values"][index]
                for budget in config.budgets:
                    if budget >= steps:
                        assert cell["by_budget"][str(budget)]["values"][index] == final
            seeds_differ |= any(
                len(set(spread["values"])) > 1 for spread in cell["by_budget"].values()
            ) or len(set(cell["steps"])) > 1
        count = report["parameters"]["recall_first"][kind]
        assert abs(count - config.parameters) <= 0.1 * config.parameters
    assert seeds_differ  # each seed draws its own weights and data
    best = max(cell["accuracy"]["mean"] for cell in results["transformer"].values())
    assert best > 3 * report["chance"]
    text = long_range.table(report)
    assert "±" in text and "budget sweep" in text and f"{len(config.seeds)} seeds" in text


def test_long_range_training_stops_early_and_keeps_its_score():
    keras.utils.set_random_seed(0)
    model = models.build_model("gru", 4, tasks.VOCABULARY_SIZE, 1, tasks.NUM_SYMBOLS)
    held_out = tasks.generate("recall_first", 16, 5, seed=1)
    # Any running accuracy reaches 0: training stops as soon as the window of 20 is full.
    accuracies, steps, seconds, _ = long_range.train(
        model, "recall_first", 5, (10, 30, 50), batch_size=4, learning_rate=1e-3,
        stop_accuracy=0.0, seed=0, held_out=held_out,
    )
    assert steps == 20 and seconds > 0
    assert len(accuracies) == 3 and accuracies[1] == accuracies[2]
    assert accuracies[2] == long_range.score(model, *held_out)


@pytest.mark.parametrize("budgets", [(), (0, 10), (30, 10), (10, 10)])
def test_long_range_budgets_must_be_positive_and_increasing(budgets):
    with pytest.raises(ValueError, match="budgets"):
        LongRangeConfig(budgets=budgets)


def test_gradient_flow_of_an_untrained_simple_rnn_vanishes(folder):
    config = GradientFlowConfig.quick()
    assert len(config.seeds) >= 2
    gradient_flow.run(config, folder)
    report = _written(folder, "gradient_flow")
    results = report["results"]
    assert set(results) == set(config.models)
    for result in results.values():
        for stage in ("initial", "trained"):
            _assert_spread(result[stage], config.seeds)
            norms = np.array(result[stage]["values"])
            assert norms.shape == (len(config.seeds), config.distance + 1)
            assert np.all(np.isfinite(norms))
            # Each seed draws its own weights and batch.
            assert not np.array_equal(norms[0], norms[1])
        _assert_spread(result["accuracy"], config.seeds)
        assert len(result["train_steps"]) == len(config.seeds)
    rnn = np.array(results["simple_rnn"]["initial"]["mean"])
    # The gradient reaching the needed token (t=0) is a tiny fraction of the last one's,
    # and it shrinks steadily with the distance from the output.
    assert rnn[0] < 1e-2 * rnn[-1]
    quarters = [rnn[: len(rnn) // 4].mean(), rnn[len(rnn) // 2 : 3 * len(rnn) // 4].mean()]
    assert quarters[0] < quarters[1]
    attention = np.array(results["transformer"]["initial"]["mean"])
    assert attention[0] > 10 * rnn[0]  # one step from the output, not T
    assert f"mean of {len(config.seeds)} seeds" in gradient_flow.table(report)


def test_parallelism_times_both_models(folder):
    config = ParallelismConfig.quick()
    parallelism.run(config, folder)
    report = _written(folder, "parallelism")
    assert set(report["results"]) == {"gru", "self_attention"}
    for rows in report["results"].values():
        assert [row["length"] for row in rows] == list(config.lengths)
        assert all(0 < row["seconds"] < 60 for row in rows)
    assert set(report["growth"]) == {"gru", "self_attention"}


def test_quadratic_cost_measures_both_variants(folder):
    """What the memory figures say is the experiment's result, printed by its command
    (`python -m attention_layers.experiments quadratic-cost`), not a test's: a process's RSS
    depends on the allocator, the backend and the machine."""
    config = dataclasses.replace(
        QuadraticCostConfig.quick(), variants=("explicit", "sliding_window"), lengths=(2048,),
        repeats=1,
    )
    quadratic_cost.run(config, folder)
    report = _written(folder, "quadratic_cost")
    full, local = (report["results"][v]["rows"][-1] for v in ("explicit", "sliding_window"))
    assert full["length"] == local["length"] == 2048
    for row in (full, local):
        assert np.isfinite(row["rss_growth_mb"])
    # The length that runs out of memory is searched on a GPU only (None: none failed).
    oom_length = report["results"]["explicit"]["oom_length"]
    if harness.on_gpu():
        assert oom_length is None or oom_length > 2048
    else:
        assert oom_length is None


@pytest.mark.parametrize("name", ["long-range", "gradient-flow", "parallelism", "quadratic-cost"])
def test_cli_help_lists_sizes_and_output(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([name, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "--output" in text and "--quick" in text


def test_cli_options_override_the_quick_config():
    args = cli.build_parser().parse_args(
        ["long-range", "--quick", "--distances", "10", "20", "--budgets", "5", "50",
         "--seeds", "3"])
    config = harness.config_from_args(LongRangeConfig, args)
    assert config.distances == (10, 20) and config.budgets == (5, 50) and config.seeds == (3,)
    assert config.models == LongRangeConfig.quick().models


def test_cli_refuses_budgets_out_of_order_with_a_message(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["long-range", "--quick", "--budgets", "50", "5"])
    assert exit_info.value.code == 2
    assert "`budgets` must be positive and increasing" in capsys.readouterr().err
