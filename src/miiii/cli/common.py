"""What every command shares: the parameter help and the progress bar."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable

from ..config import PRESETS, VARYING, Config

PARAM_HELP = {
    "task": "miiii | nanda | basis | masked | divisible (docs/study.md)",
    "p": "the base: inputs x0, x1 < p; sub-tasks are the primes q < p",
    "d_model": "residual stream width (d_mlp = 4 d_model)",
    "n_heads": "attention heads (d_model must divide by it)",
    "depth": "transformer blocks",
    "dropout": "dropout rate on the residual stream (training only)",
    "lr": "AdamW learning rate",
    "weight_decay": "AdamW decoupled weight decay (fractions like 1/3 allowed)",
    "lambda": "GrokFast amplification lambda (0 = plain AdamW)",
    "alpha": "GrokFast-EMA decay alpha, in [0, 1)",
    "filter": "GrokFast filter: ema | ema3 (a third, middle band) | ma | none",
    "window": "GrokFast-MA window (steps)",
    "epochs": "full-batch training steps",
    "train_frac": "fraction of the p^2 samples used for training, in (0, 1)",
    "seed": "parameter init and dropout seed",
    "split_seed": "train/validation split seed (and basis shuffle)",
    "mask": "primes left out of the loss, e.g. mask=2,3,5,7 (still evaluated)",
    "log_linear": "number of linearly spaced logged epochs",
    "log_log": "number of logarithmically spaced logged epochs",
    "omega_k": "omega threshold: mean + k std of each neuron's spectrum",
    "chunk": "epochs per compiled chunk between host syncs",
    "init": "fan_in: N(0, 1/fan_in) | study: Glorot normal, as the study's code",
    "dropout_mask": "example: one mask per example | batch: one per step for the whole batch (study's code)",
    "readout": "eq: logits read at '=' | first: at position 0, as the study's code",
    "ema_start": "first: GrokFast EMA starts at the first gradient | zero: from zeros (study's code)",
    "ckpt_every": "also keep parameters every N epochs (0: only 0, powers of two and the last)",
    "optimizer": "adamw | muon: optax.contrib.muon on the hidden matrices, AdamW on W_E, W_pos, W_U",
    "loss": "ce: cross-entropy | stablemax: StableMax cross-entropy (Prieto et al. 2025)",
    "grad_perp": "⊥Grad: share in [0, 1] of each gradient's component along its weight removed",
    "warmup": "epochs of linear learning-rate warm-up (0: none)",
    "lr_decay": "share of the lr decayed along a cosine to 0 at the last epoch (0: constant, 1: to zero)",
    "init_scale": "every initial weight multiplied by this",
    "q_power": "sub-task loss weights proportional to q ** q_power (0: equal)",
    "delay": "primes kept out of the loss for the first delay_epochs epochs (a curriculum)",
    "delay_epochs": "how long delay's sub-tasks stay out of the loss",
    "alpha_mid": "filter=ema3: the middle band's EMA decay, below alpha",
    "lambda_mid": "filter=ema3: the middle band's gain (> 0 amplifies, < 0 damps, -1 removes it)",
}

Progress = Callable[[int, int, dict[str, float]], None]


def params_epilog() -> str:
    lines = ["parameters (key=value; defaults are the study's, docs/study.md):"]
    base = Config().to_dict()
    for f in dataclasses.fields(Config):
        name = Config.external(f.name)
        lines.append(f"  {name:<13} default {base[name]!r:<22} {PARAM_HELP.get(name, '')}")
    lines.append(f"lists make a grid of runs trained at once (vmapped): {', '.join(VARYING)}")
    lines.append("  e.g. seed=0,1,2,3 lambda=0,0.5 -> 8 runs; several masks: mask='2,3;5,7;none'")
    lines.append("presets: " + "; ".join(f"{k}: {' '.join(f'{a}={b}' for a, b in v.items()) or 'the defaults'}"
                                         for k, v in PRESETS.items()))
    return "\n".join(lines)


def progress_bar(total: int) -> Progress:
    """A tqdm bar on stderr, fed by ``runner.train_run``'s progress callback."""
    from tqdm import tqdm

    bar = tqdm(total=total, unit="epoch", dynamic_ncols=True, file=sys.stderr)

    def update(epoch: int, total: int, stats: dict[str, float]) -> None:
        bar.update(epoch - bar.n)
        bar.set_postfix(train_acc=f"{stats['train_acc']:.3f}", valid_acc=f"{stats['valid_acc']:.3f}")
        if epoch >= total:
            bar.close()

    return update
