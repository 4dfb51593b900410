"""The claims about attention, measured: each experiment is a command that prints figures.

Every tutorial says that RNNs lose long-range dependencies to vanishing gradients, that
self-attention connects any two positions directly, trains in parallel, and pays a
quadratic cost in the sequence length that local attention reduces. Each experiment here
measures one claim and writes its figures (JSON) and plots (PNG) to an output folder:

    python -m attention_layers.experiments long-range --output results/long_range
    python -m attention_layers.experiments gradient-flow
    python -m attention_layers.experiments parallelism
    python -m attention_layers.experiments quadratic-cost
    python -m attention_layers.experiments NAME --help   # sizes; --quick: seconds-long

Each is also a function taking a config dataclass, e.g.
`long_range.run(LongRangeConfig.quick(), output)`, which returns the report it writes.
`harness` holds what they and `benchmarks/` share: timings, load, memory, tables, figures.
"""

from attention_layers.experiments.gradient_flow import GradientFlowConfig
from attention_layers.experiments.long_range import LongRangeConfig
from attention_layers.experiments.parallelism import ParallelismConfig
from attention_layers.experiments.quadratic_cost import QuadraticCostConfig

EXPERIMENTS = {
    "long-range": ("attention_layers.experiments.long_range", LongRangeConfig),
    "gradient-flow": ("attention_layers.experiments.gradient_flow", GradientFlowConfig),
    "parallelism": ("attention_layers.experiments.parallelism", ParallelismConfig),
    "quadratic-cost": ("attention_layers.experiments.quadratic_cost", QuadraticCostConfig),
}

__all__ = [
    "EXPERIMENTS",
    "GradientFlowConfig",
    "LongRangeConfig",
    "ParallelismConfig",
    "QuadraticCostConfig",
]
