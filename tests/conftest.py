"""Strict test settings (float32, CPU only) and the shared bad-input check."""

import os
import tempfile

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# One XLA compilation cache for the session: the xdist workers and every CLI subprocess inherit
# it, so a program the tests share compiles once per session, not once per test (the CLI's own
# cache, cli.compilation_cache, stays out of the user's home). Every program still compiles
# cold once: a fresh CI machine starts with an empty folder.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                      os.path.join(tempfile.gettempdir(), f"miiii-tests-xla-{os.getuid()}"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
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
