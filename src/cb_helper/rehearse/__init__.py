"""The local pipeline runner: rehearse CircleCI 2.1 configs on this machine against the embedded simulator.

Not imported by ``import cb_helper``; the ``cb-helper rehearse`` command imports it when used.
"""

from __future__ import annotations
