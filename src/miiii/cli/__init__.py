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


def compilation_cache() -> str | None:
    """Keep XLA's compiled programs on disk between commands, so a second ``miiii`` command on
    the same model and preset skips compilation (a smoke ``train``: 45 s cold, 14 s warm on a
    2-core CPU). ``JAX_COMPILATION_CACHE_DIR`` chooses the folder (JAX reads it itself);
    ``MIIII_COMPILATION_CACHE=0`` turns the cache off. The cached program is the one XLA would
    compile again, so results do not change. Returns the folder in use, or None."""
    if os.environ.get("MIIII_COMPILATION_CACHE", "1") == "0":
        return None
    if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return os.environ["JAX_COMPILATION_CACHE_DIR"]
    import jax

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "miiii", "xla")
    jax.config.update("jax_compilation_cache_dir", folder)
    # analysis runs hundreds of small programs (0.1-0.5 s each to compile): keep those too,
    # within a bound so the folder cannot grow without end
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_compilation_cache_max_size", 2 ** 30)
    return folder


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        compilation_cache()
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
