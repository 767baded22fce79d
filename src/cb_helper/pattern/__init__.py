"""The circleback pattern on top of the API layer: the record, its proof, trigger, approve, status, sweep and outputs.

Each module is one step or one rule of the pattern; the click commands in :mod:`cb_helper.commands` call them.
"""
