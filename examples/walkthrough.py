# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # miiii from Python: train, read, look inside, open in TransformerLens
#
# A small transformer learns x0 + p·x1 mod every prime q < p at once (one sub-task per q).
# This notebook trains one from Python, reads its metrics with pandas, looks at the Fourier
# spectrum of its embeddings and at one neuron, then opens it in TransformerLens and
# ablates one attention head at a time to see what each head is for.
#
# It is a plain Python file in jupytext's percent format: VS Code runs its `# %%` cells as a
# notebook, Jupyter opens it as one with jupytext (`pip install jupytext`), and
# `python examples/walkthrough.py` runs it top to bottom. It needs the `tl` extra
# (`pip install -e ".[tl]" -c constraints.txt`, docs/transformerlens.md).
#
# Two environment variables: `MIIII_WALKTHROUGH_PRESET` (default `quick`: minutes on a
# laptop CPU; `smoke` takes seconds and is what CI runs) and `MIIII_WALKTHROUGH_OUT` (a folder
# for the run; default a new temporary folder: nothing is written into the repository).

# %%
import os
import tempfile
from functools import partial
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

import miiii
from miiii import tasks
from miiii.analysis import activations, fourier, neurons
from miiii.interop import hooked_transformer, subtask_slices

PRESET = os.environ.get("MIIII_WALKTHROUGH_PRESET", "quick")
WORK = Path(os.environ.get("MIIII_WALKTHROUGH_OUT") or tempfile.mkdtemp(prefix="miiii-walkthrough-"))
RUN = WORK / "run"
print(f"preset {PRESET!r}; the run directory is {RUN}")

# %% [markdown]
# ## 1. Train a run
#
# `train_run` writes a run directory (docs/run-directory.md): the config, metrics tables,
# checkpoints and, last, `summary.json`. Running this cell again reuses the finished run.

# %%
grid = miiii.parse_overrides(miiii.preset(PRESET), [])  # add "key=value" strings to change it
cfg = grid.runs[0]
summary = miiii.train_run(grid, str(RUN))
p = cfg.p
print(f"p = {p}: {p * p} inputs, sub-tasks q = {summary['subtasks']}, {summary['epochs']} epochs "
      f"in {summary['runs'][0]['seconds']:.1f} s")

# %% [markdown]
# ## 2. Read its metrics with pandas
#
# `metrics.parquet` is long format: one row per run, epoch, split and sub-task.

# %%
metrics = pd.read_parquet(RUN / "metrics.parquet")
print(metrics.head())

final = metrics[metrics.epoch == metrics.epoch.max()].pivot_table(index="subtask", columns="split",
                                                                  values="accuracy")
print("\nfinal accuracy per sub-task:\n", final.round(3))

valid = metrics[metrics.split == "valid"].pivot_table(index="epoch", columns="subtask", values="accuracy")
ax = valid.plot(logx=True, title="validation accuracy per sub-task q", figsize=(6, 3.5))
ax.set_ylabel("accuracy")
ax.figure.savefig(WORK / "valid_accuracy.png", dpi=100, bbox_inches="tight")

# %% [markdown]
# ## 3. The Fourier spectrum of the embeddings
#
# Models that grok modular arithmetic tend to embed the tokens 0 .. p-1 on a few
# frequencies of the real Fourier basis. `fourier.freq_energy` sums W_E's energy per
# frequency; `fourier.key_frequencies` picks those that stand out from shuffled tokens
# (docs/key-frequencies.md).

# %%
stacked, epoch = miiii.RunDir(RUN).load_params()  # final parameters, a leading run axis
params = {name: w[0] for name, w in stacked.items()}  # run 0
w_e = params["W_E"][:p]  # the number tokens, without "="
energy = fourier.freq_energy(fourier.to_fourier(w_e))
spectrum = pd.Series(energy / energy.sum(), name="share of W_E's energy").rename_axis("frequency")
print(spectrum.round(3).to_string())
print("key frequencies:", fourier.key_frequencies(w_e))

fig, ax = plt.subplots(figsize=(6, 2.5))
ax.bar(spectrum.index, spectrum.values)
ax.set(xlabel="frequency", ylabel="share of energy", title=f"W_E in the Fourier basis (epoch {epoch})")
fig.savefig(WORK / "spectrum.png", dpi=100, bbox_inches="tight")

# %% [markdown]
# ## 4. One neuron
#
# `activations.run_with_cache` runs miiii's own forward on all p² inputs and names the
# activations as TransformerLens does. A neuron's activation over the (x0, x1) grid, in the
# 2-D Fourier basis, tells which frequency it reads.

# %%
_, cache = activations.run_with_cache(params, p)
post = cache[activations.last_block(params) + "mlp.hook_post"][:, 0, :]  # (p², d_mlp) at "="
grids = neurons.neuron_grids(post, p)
top, frac = neurons.top_freqs(neurons.freq_fractions(grids))
alive = grids.std(axis=(1, 2)) > 0
n = int(np.argmax(np.where(alive, frac, -1)))  # the live neuron that one frequency explains best
print(f"{alive.sum()} of {len(grids)} neurons are ever active; neuron {n}: frequency {top[n]} "
      f"explains {frac[n]:.0%} of its variance")
print("neurons per top frequency (>= 50% of their variance):", neurons.clusters(top, frac))

fig, ax = plt.subplots(figsize=(3.5, 3.5))
ax.imshow(grids[n], cmap="viridis")
ax.set(xlabel="x1", ylabel="x0", title=f"neuron {n} (frequency {top[n]})")
fig.savefig(WORK / "neuron.png", dpi=100, bbox_inches="tight")

# %% [markdown]
# ## 5. The same model in TransformerLens
#
# `hooked_transformer` builds a `HookedTransformer` with miiii's architecture and this run's
# weights. Its logits are read at the last position (`=`); `subtask_slices` says which
# columns belong to which sub-task q.

# %%
model = hooked_transformer(RUN)  # run 0, final epoch
x = torch.as_tensor(tasks.inputs(p), dtype=torch.long)  # all p² sequences [x0, x1, =]
y = tasks.targets(cfg)
_, valid_idx = tasks.split(cfg)
slices = subtask_slices(RUN)


def valid_accuracy(logits: torch.Tensor) -> pd.Series:
    """Accuracy on the validation split, per sub-task q, from logits at "="."""
    pred = {q: logits[valid_idx][:, s].argmax(-1).numpy() for q, s in slices.items()}
    return pd.Series({q: float((pred[q] == y[valid_idx, k]).mean()) for k, q in enumerate(slices)})


with torch.no_grad():
    clean = valid_accuracy(model(x)[:, -1])
print("TransformerLens's validation accuracy equals the summary's:",
      np.allclose(clean.values, summary["runs"][0]["final_valid_acc"], atol=1e-6))

# %% [markdown]
# ## 6. Ablate one head at a time
#
# A hook on `blocks.L.attn.hook_z` (batch, position, head, d_head) replaces one head's
# output with its mean over all inputs (mean ablation: the head still adds its average, but
# no longer says anything about this input). The drop in accuracy is what that head carries.

# %%
L = model.cfg.n_layers - 1


def mean_ablate(z: torch.Tensor, hook, head: int) -> torch.Tensor:
    z[:, :, head] = z[:, :, head].mean(0)
    return z


rows = {"clean": clean}
for head in range(model.cfg.n_heads):
    with torch.no_grad():
        logits = model.run_with_hooks(x, fwd_hooks=[(f"blocks.{L}.attn.hook_z", partial(mean_ablate, head=head))])
    rows[f"head {head} ablated"] = valid_accuracy(logits[:, -1])
table = pd.DataFrame(rows).T.rename_axis(columns="q")
print("validation accuracy per sub-task q:\n", table.round(3))
print("\nchange from clean:\n", (table - table.loc["clean"]).drop("clean").round(3))

# %%
print(f"done: the run and its figures are in {WORK}")
