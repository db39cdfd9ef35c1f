"""``miiii export-tl``: one run of a run directory as a TransformerLens state dict + config."""

from __future__ import annotations

import argparse

from ..config import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser(
        "export-tl", help="export one run as a TransformerLens HookedTransformer (state dict + config)",
        description="Write FILE.safetensors (the HookedTransformer state dict, zero biases included) and "
                    "FILE.json (HookedTransformerConfig keyword arguments, the sub-tasks' W_U columns and "
                    "where the weights came from). Needs the extra: pip install -e \".[tl]\". "
                    "Loading it back: miiii.interop.load_export(FILE) (docs/transformerlens.md).")
    e.add_argument("run_dir", metavar="RUN", help="a run directory (miiii train --out RUN)")
    e.add_argument("--run", type=int, default=0, dest="run_index", metavar="I", help="run I of a multi-run (default 0)")
    e.add_argument("--epoch", type=int, help="the checkpoint of this epoch (default: final); "
                                             "0, powers of two and the last epoch are kept")
    e.add_argument("--out", required=True, metavar="FILE.safetensors", help="where to write (FILE.json goes beside it)")
    e.set_defaults(run=_run_export)


def _run_export(args: argparse.Namespace) -> int:
    from ..interop import export

    if args.epoch is not None and args.epoch < 0:
        raise ConfigError(f"--epoch: expected a non-negative epoch, got {args.epoch}")
    weights, config = export(args.run_dir, args.out, args.run_index, args.epoch)
    print(f"{weights}: TransformerLens state dict of {args.run_dir} run {args.run_index}")
    print(f"{config}: its HookedTransformerConfig and sub-task columns")
    return 0
