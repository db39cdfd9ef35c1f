"""Measures taken while training (below ``train`` in the layers): the grok rule and omega counts.

Pure functions over arrays; ``train`` and ``runner`` call them, and so do the analyses.
"""

from . import grok, omega

__all__ = ["grok", "omega"]
