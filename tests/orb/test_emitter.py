"""The YAML writer against yaml.v3's own Marshal expectations (4-space indent, sequences included)."""

from __future__ import annotations

from typing import Any

import pytest

from tools.orbkit.emitter import Float32, Ordered, dump, sorted_keys

# Each case is an expectation from yaml.v3 v3.0.1's own encode_test.go (the version circleci-cli pins), or a
# rule of its emitter. A sequence under a mapping key is indented a full step (4) deeper than the key.
CASES: list[tuple[Any, str]] = [
    ({"v": ["A", "B"]}, "v:\n    - A\n    - B\n"),
    ({"v": ["A", "B\nC"]}, "v:\n    - A\n    - |-\n      B\n      C\n"),
    ({"v": ["A", 1, {"B": [2, 3]}]}, "v:\n    - A\n    - 1\n    - B:\n        - 2\n        - 3\n"),
    ({"a": {"b": "c"}}, "a:\n    b: c\n"),
    ({"a": [1, 2]}, "a:\n    - 1\n    - 2\n"),
    ({"a": {"b": [{"c": 1, "d": 2}]}}, "a:\n    b:\n        - c: 1\n          d: 2\n"),
    (
        {"a": {"b": {"c": "d"}, "e": [1, 2, 3], "f": ["g", "h"]}},
        "a:\n    b:\n        c: d\n    e:\n        - 1\n        - 2\n        - 3\n    f:\n        - g\n        - h\n",
    ),
    ({"a": "-"}, "a: '-'\n"),
    ({"v": ""}, 'v: ""\n'),
    ({"v": None}, "v: null\n"),
    ({"v": True, "w": 10, "x": -10, "y": 0.1}, 'v: true\nw: 10\nx: -10\n"y": 0.1\n'),
    ({"v": "true", "w": "10", "x": "off", "z": "0.1"}, 'v: "true"\nw: "10"\nx: "off"\nz: "0.1"\n'),
    ({"a": "1:1"}, 'a: "1:1"\n'),
    ({"a": "2015-02-24T18:19:39Z"}, 'a: "2015-02-24T18:19:39Z"\n'),
    ({"a": "\x00"}, 'a: "\\0"\n'),
    ({"a": "b: c"}, "a: 'b: c'\n"),
    ({"a": "Hello #comment"}, "a: 'Hello #comment'\n"),
    ({"a": "<foo>"}, "a: <foo>\n"),
    ({"a": "你好"}, "a: 你好\n"),
    ({"a": "\tB\n\tC\n"}, "a: |\n    \tB\n    \tC\n"),
    ({"a": " lead\n"}, "a: |4\n     lead\n"),
    ({"a": "x\n\n"}, "a: |+\n    x\n\n"),
    ({"a": "trailing \nspace"}, 'a: "trailing \\nspace"\n'),
    ({"a": "it's"}, "a: it's\n"),
    ({"a": "'quoted'"}, "a: '''quoted'''\n"),
    ({"a": {}, "b": []}, "a: {}\nb: []\n"),
    ({"a": [[1, 2]]}, "a:\n    - - 1\n      - 2\n"),
    ({"a": "x" * 90 + " " + "y" * 90}, "a: " + "x" * 90 + " " + "y" * 90 + "\n"),
]


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_dump_matches_yaml_v3(data: Any, expected: str) -> None:
    assert dump(data) == expected


def test_ordered_keeps_struct_order_and_float32_prints_short() -> None:
    assert dump(Ordered(version=Float32(2.1), b=1, a=2)) == "version: 2.1\nb: 1\na: 2\n"


def test_key_order_is_yaml_v3_natural_order() -> None:
    order = [
        "", ".1", ".2", ".a", "1", "2", "a!10", "a/0001", "a/002", "a/3", "a/10", "a/11", "a/0012",
        "a/100", "a~10", "ab/1", "b/1", "b/01", "b/2", "b/02", "b/3", "b/03", "b1", "b01", "b3",
        "c2.10", "c10.2", "d1", "d7", "d7abc", "d12", "d12a", "e2b", "e4b", "e21a",
    ]  # fmt: skip
    assert sorted_keys(reversed(order)) == order
