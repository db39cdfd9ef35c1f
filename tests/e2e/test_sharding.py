"""The run axis sharded over two (forced) CPU devices trains exactly what one device trains.

The device count is fixed when JAX starts, so each side runs in its own subprocess.
"""

import os
import subprocess
import sys

import numpy as np

SCRIPT = r"""
import sys
import jax
import numpy as np
from miiii import train
from miiii.config import parse_overrides, preset

grid = parse_overrides(preset("smoke"), ["epochs=24", "seed=0,1", "lambda=0,2"])
state, logs, s = train.train(grid)
w = state.params["W_E"]
sharded = len(w.sharding.device_set) > 1
spec = tuple(w.sharding.spec) if sharded else ()
three = train.run_sharding(3) is None
np.savez(sys.argv[1], metrics=np.asarray(logs.metrics), W_E=np.asarray(w),
         W_U=np.asarray(state.params["W_U"]), devices=jax.device_count(), sharded=sharded,
         data_sharded=len(s.data.x_train.sharding.device_set) > 1, spec=str(spec), three=three)
"""


def _run(tmp_path, devices: int) -> dict:
    env = dict(os.environ, JAX_PLATFORMS="cpu",
               XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    out = tmp_path / f"d{devices}.npz"
    subprocess.run([sys.executable, "-c", SCRIPT, str(out)], env=env, check=True, timeout=300)
    return dict(np.load(out))


def test_sharded_runs_equal_unsharded(tmp_path):
    one, two = _run(tmp_path, 1), _run(tmp_path, 2)
    assert int(one["devices"]) == 1 and not one["sharded"]
    assert int(two["devices"]) == 2 and two["sharded"] and two["data_sharded"]
    assert two["spec"] == "('runs',)"
    assert two["three"]  # three runs on two devices: not split, stays on one device
    for k in ("metrics", "W_E", "W_U"):
        np.testing.assert_allclose(two[k], one[k], atol=1e-6, rtol=0)
