"""The command line: the only place that parses argv and prints.

One module per command group, each with ``register(subparsers)`` setting ``run(args) -> int``.
User errors are ``ConfigError``s, printed as one line ``miiii: error: ...`` with exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..config import ConfigError
from . import analyze, export, reproduce, sweep, train

COMMANDS = [train, analyze, reproduce, sweep, export]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="miiii", description="Train, open up and report transformers that grok x0 + p*x1 mod every prime q < p.",
        epilog="run 'miiii COMMAND --help' for a command's options and parameters")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except BrokenPipeError:
        # stdout closed early (``miiii ... | head``): what was asked for was read; leave quietly,
        # with stdout pointed at /dev/null so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ConfigError as e:
        print(f"miiii: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("miiii: interrupted; re-run the same command to resume", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        # An interrupt can land while XLA's threads still run a computation; a normal
        # interpreter shutdown then races them (seen: SIGSEGV at exit). Every file is already
        # written atomically and the sweep has re-queued its trials, so leave at once.
        os._exit(130)
