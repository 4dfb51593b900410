"""The command line shared by the apps: one-line errors, and where a server listens."""

import argparse
import socket

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


def listening_socket(parser, host, port):
    """A socket listening on `host:port` (IPv4 or IPv6), or one line and exit code 2."""
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, protocol)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as error:
        parser.error(f"cannot listen on {host}:{port}: {error.strerror or error}")
    return sock


def url_host(host):
    """`host` as a URL writes it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host
