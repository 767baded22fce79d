"""cb-helper: cross-project pipeline orchestration for CircleCI (the circleback pattern).

This module is the single source of the version, shared by the Python package and the orb.
It imports nothing heavy, so ``cb-helper --version`` stays fast.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
