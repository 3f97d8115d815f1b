"""fmt on any key order and any mix of flow and block style: the same customer, the canonical form, a fixed point."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.desired import CustomerFile
from reconciler.domain import PROFILES
from reconciler.fmt import format_text
from reconciler.yamlio import parse

counts = st.integers(min_value=0, max_value=500)
pbx = st.fixed_dictionaries(
    {"model": st.just("cloud"), "region": st.sampled_from(["eu-central", "us-east"]),
     "term": st.sampled_from(["1m", "1y", "5y"])},
    optional={"licenses": st.dictionaries(st.sampled_from(PROFILES), counts, max_size=6),
              "storage_gb": counts, "static_ip": st.booleans(), "ssh": st.booleans(),
              "hwaas": st.dictionaries(st.sampled_from(["WorkForce", "MonoLED", "ForceOne"]), counts, max_size=3),
              "allow_deletion": st.booleans()})
customer = st.fixed_dictionaries({
    "customer": st.just("acme"), "company": st.sampled_from(["Acme GmbH", "Acme: the 'best'", "yes"]),
    "contacts": st.lists(st.fixed_dictionaries({"name": st.just("Jane Doe"), "email": st.just("jane@acme.example")}),
                         min_size=1, max_size=2),
    "pbxes": st.dictionaries(st.sampled_from(["acme", "acme-2"]), pbx, max_size=2)})


def shuffled(value, draw):
    """The same data with every mapping's keys in a drawn order."""
    if isinstance(value, dict):
        keys = draw(st.permutations(list(value)))
        return {key: shuffled(value[key], draw) for key in keys}
    if isinstance(value, list):
        return [shuffled(item, draw) for item in value]
    return value


def model_of(text: str) -> CustomerFile:
    document, problems = parse(text, "acme.yaml")
    assert not problems
    return CustomerFile.model_validate(document.data)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(data=customer, flow=st.booleans() | st.none(), draw=st.data())
def test_fmt_keeps_the_customer_and_reaches_the_canonical_form(data, flow, draw):
    text = yaml.safe_dump(shuffled(data, draw.draw), default_flow_style=flow, sort_keys=False)
    formatted = format_text(text, CustomerFile)
    assert model_of(formatted) == CustomerFile.model_validate(data)
    assert format_text(formatted, CustomerFile) == formatted
    assert "{" not in formatted.replace("{}", "")  # block style all the way down (an empty mapping has one form)
    assert list(yaml.safe_load(formatted)) == [key for key in CustomerFile.model_fields if key in data]
