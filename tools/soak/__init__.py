"""A seeded chaos soak of the whole circleback: the orb's examples rehearsed under faults and load.

``python -m tools.soak --seed 1 --runs 20`` rehearses A and B (the packed orb's examples, the
one-parameter wiring) on the embedded simulator with faults injected at a rate on every route, checks
the invariants from the simulator's own state and request log after every run, and prints one table.
See docs/reliability.md.
"""
