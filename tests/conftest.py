"""Strict test settings (float32, CPU only) and the shared bad-input check."""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_enable_x64", False)



def _one_line_error(r, *words: str) -> None:
    """A user error: exit status 2 and exactly one line ``miiii: error: ...`` holding ``words``."""
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("miiii: error:"), r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


@pytest.fixture
def one_line_error():
    """The check every bad-input test makes of a finished CLI process."""
    return _one_line_error
