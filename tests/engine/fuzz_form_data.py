"""Hypothesis strategies for form data: what a browser, a script or an attacker may send.

JSON off the wire already holds what JSON's grammar allows but storage cannot keep:
integers beyond 2**53, ``NaN`` and ``Infinity`` (Python's parser accepts them), lone
surrogates from ``"\\ud800"``, and nesting as deep as the sender likes. The Python API
adds keys that are not text. Near-valid data matters most: it passes the schema and
reaches the workflow, its scripts and decisions.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# Every code point, lone surrogates included (hypothesis leaves those out by default).
any_text = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=40),
    st.sampled_from(["\ud800", "case \udfff", "\x00", "\u202e"]),
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # unbounded: 2**64 and beyond
    st.integers(min_value=-(2**53) - 2, max_value=2**53 + 2),
    st.floats(),  # NaN, infinities, -0.0, subnormals
    any_text,
)

keys = st.one_of(any_text, any_text, st.integers(), st.none(), st.booleans())

json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def deeply_nested(draw: st.DrawFn) -> Any:
    """A value nested deeper than any form needs, as a list or an object."""
    value: Any = draw(scalars)
    for _ in range(draw(st.integers(min_value=60, max_value=3000))):
        value = [value] if draw(st.booleans()) else {"x": value}
    return value


@st.composite
def near(draw: st.DrawFn, valid: dict[str, Any]) -> dict[str, Any]:
    """``valid`` with some fields replaced, dropped or added: mostly wrong, sometimes right."""
    data = dict(valid)
    for name in draw(st.lists(st.sampled_from(sorted(valid)), unique=True)):
        data[name] = draw(st.one_of(json_values, deeply_nested()))
    for name in draw(st.lists(st.sampled_from(sorted(valid)), unique=True, max_size=1)):
        del data[name]
    data.update(draw(st.dictionaries(keys, json_values, max_size=2)))
    return data


_BY_TYPE = {
    "string": any_text,
    "integer": st.one_of(st.integers(), st.integers(min_value=-(2**53), max_value=2**53)),
    "number": st.one_of(st.floats(), st.integers()),
    "boolean": st.booleans(),
}


@st.composite
def typed(draw: st.DrawFn, schema: dict[str, Any]) -> dict[str, Any]:
    """Each field of ``schema`` with a value of its type: the schema passes most of these."""
    data = {}
    for name, field in schema.get("properties", {}).items():
        if "enum" in field:
            data[name] = draw(st.sampled_from(field["enum"]))
        elif field.get("type") == "integer" and draw(st.booleans()):
            bounds = st.integers(min_value=field.get("minimum"), max_value=field.get("maximum"))
            data[name] = draw(bounds)
        elif field.get("type") in _BY_TYPE:
            data[name] = draw(_BY_TYPE[field["type"]])
    return data


def form_data(valid: dict[str, Any], schema: dict[str, Any] | None) -> st.SearchStrategy[Any]:
    """Anything at all, data close to ``valid``, or values of the right types."""
    others = [json_values, deeply_nested(), near(valid), st.just(valid)]
    return st.one_of(*others, *[typed(schema)] * (2 if schema else 0))
