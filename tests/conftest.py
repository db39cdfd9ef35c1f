"""Strict test settings: float32 everywhere, CPU, and a fresh tmp run directory per test."""

import os
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_enable_x64", False)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def miiii_cmd():
    """The installed CLI, run as a real subprocess (``python -m miiii.cli``)."""
    return [sys.executable, "-m", "miiii.cli"]
