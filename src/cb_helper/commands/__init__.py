"""The ``cb-helper`` commands, one module each; :mod:`cb_helper.cli` puts them together."""
