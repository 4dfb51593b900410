"""The command line shared by the apps: one-line errors, and where a server listens."""

import argparse

DEFAULT_HOST = "127.0.0.1"


class CommandParser(argparse.ArgumentParser):
    """An `ArgumentParser` whose errors are one line (`COMMAND: error: ...`), exit code 2."""

    def error(self, message):
        command = self.prog.split()[-1]
        self.exit(2, f"{command}: error: {message} (see --help)\n")


def add_address_flags(parser, default_port, port_help=""):
    """`--port` and `--host`; the host is this machine only unless the user says otherwise."""
    parser.add_argument("--port", type=int, default=default_port,
                        help=f"TCP port (default {default_port}{port_help})")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to bind (default {DEFAULT_HOST}, this machine only; "
                        "0.0.0.0 for every interface)")
