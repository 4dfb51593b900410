"""`python -m attention_layers.experiments NAME [--quick] [--output DIR] [sizes...]`."""

import argparse
import importlib
import inspect
import sys

from attention_layers.experiments import EXPERIMENTS, harness


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m attention_layers.experiments",
        description="Measure the claims about attention; each experiment writes JSON "
                    "figures and PNG plots to --output.",
    )
    commands = parser.add_subparsers(dest="experiment", required=True, metavar="NAME")
    for name, (module_name, config_class) in EXPERIMENTS.items():
        module = importlib.import_module(module_name)
        summary = inspect.getdoc(module).splitlines()[0]
        command = commands.add_parser(
            name, help=summary, description=inspect.getdoc(module),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        harness.add_config_arguments(command, config_class)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    module_name, config_class = EXPERIMENTS[args.experiment]
    try:
        config = harness.config_from_args(config_class, args)
    except ValueError as error:  # a config's own check, e.g. budgets not increasing
        parser.error(f"{args.experiment}: {error}")
    print(f"{args.experiment}: {config}", flush=True)
    importlib.import_module(module_name).run(config, args.output)


if __name__ == "__main__":
    sys.exit(main())
