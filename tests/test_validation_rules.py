"""A table per validation rule (RULES.md, "Validation"): where it fires, where it does not, the boundary.

Each case is a customer file as YAML text, parsed and bound like a real file so positions are
real. Unless a case says otherwise, the file starts with HEADER (lines 1-5), so the first PBX
name is on line 6, its settings from line 7 at column 5. A case expects the complete list of
diagnostics of `check_customer`, as (rule, line, column, a fragment of the message): no other
rule may fire on it.
"""

from __future__ import annotations

import pytest

from reconciler.binding import bind
from reconciler.desired import CustomerFile
from reconciler.rules.registry import REGISTRY, Stage
from reconciler.rules.validation import FileContext, check_customer, known_product
from reconciler.yamlio import parse

HEADER = """\
customer: acme
company: Acme GmbH
contacts:
  - {name: Jane Doe, email: jane@acme.example}
pbxes:
"""


def load(text: str):
    document, problems = parse(text, "acme.yaml")
    assert not problems, [p.format() for p in problems]
    customer, problems = bind(document, CustomerFile)
    assert not problems, [p.format() for p in problems]
    return customer, document.positions


def findings(text: str, catalog: set[str] | None = None) -> list[tuple[str, int, int, str]]:
    customer, positions = load(text)
    return [(d.rule, d.line, d.column, d.message) for d in check_customer(customer, positions, catalog)]


def check(text: str, expected: list[tuple[str, int, int, str]], catalog: set[str] | None = None) -> None:
    """The diagnostics are exactly those expected (in position order), each message holding its fragment."""
    found = sorted(findings(text, catalog), key=lambda f: (f[1], f[2]))
    expected = sorted(expected, key=lambda f: (f[1], f[2]))
    assert [(rule, line, column) for rule, line, column, _ in found] == \
        [(rule, line, column) for rule, line, column, _ in expected]
    for (_, _, _, message), (_, _, _, fragment) in zip(found, expected):
        assert fragment in message


def cases(table: list[tuple]) -> list:
    return [pytest.param(text, expected, id=name) for name, text, expected in table]


def test_every_validation_rule_has_a_table_here():
    assert REGISTRY.ids(Stage.VALIDATE) == {
        "cloud-needs-region", "region-cloud-only", "cloud-only-option", "cloud-no-lifetime", "hwaas-needs-subscription",
        "one-licensed-pbx-per-customer", "contact-required", "known-product"}


# --- cloud-needs-region ------------------------------------------------------------------------

CLOUD_NEEDS_REGION = [
    ("cloud without region", HEADER + """\
  acme:
    model: cloud
    term: 1y
""", [("cloud-needs-region", 6, 3, "cloud PBX 'acme' needs a 'region'")]),
    ("explicit null region", HEADER + """\
  acme:
    model: cloud
    region:
    term: 1y
""", [("cloud-needs-region", 6, 3, "cloud PBX 'acme' needs a 'region'")]),
    ("each cloud PBX on its own", HEADER + """\
  acme:
    model: cloud
    term: 1y
    licenses: {basic: 1}
  acme-two:
    model: cloud
    term: 1y
""", [("cloud-needs-region", 6, 3, "'acme'"), ("cloud-needs-region", 10, 3, "'acme-two'")]),
    ("cloud with region", HEADER + """\
  acme:
    model: cloud
    region: eu-central
    term: 1y
""", []),
    ("virtual needs none", HEADER + """\
  acme:
    model: virtual
    term: 1y
""", []),
    ("hardware needs none", HEADER + """\
  acme:
    model: hardware
    term: lifetime
""", []),
]


@pytest.mark.parametrize(("text", "expected"), cases(CLOUD_NEEDS_REGION))
def test_cloud_needs_region(text, expected):
    check(text, expected)


# --- region-cloud-only -------------------------------------------------------------------------

REGION_CLOUD_ONLY = [
    ("virtual with region", HEADER + """\
  acme:
    model: virtual
    region: eu-central
    term: 1y
""", [("region-cloud-only", 8, 5, "PBX 'acme' is virtual: only a cloud PBX has a region")]),
    ("hardware with region, after other keys", HEADER + """\
  acme:
    model: hardware
    term: 1y
    licenses: {basic: 3}
    region: us-east
""", [("region-cloud-only", 10, 5, "PBX 'acme' is hardware")]),
    ("cloud with region", HEADER + """\
  acme:
    model: cloud
    region: eu-central
    term: 1y
""", []),
    ("virtual without region", HEADER + """\
  acme:
    model: virtual
    term: 5y
""", []),
]


@pytest.mark.parametrize(("text", "expected"), cases(REGION_CLOUD_ONLY))
def test_region_cloud_only(text, expected):
    check(text, expected)


# --- cloud-only-option -------------------------------------------------------------------------

CLOUD_ONLY_OPTION = [
    ("storage on virtual", HEADER + """\
  acme:
    model: virtual
    term: 1y
    storage_gb: 50
""", [("cloud-only-option", 9, 5, "'storage_gb' is a cloud-only option; PBX 'acme' is virtual")]),
    ("storage_gb 0 on hardware is still set", HEADER + """\
  acme:
    model: hardware
    term: 1y
    storage_gb: 0
""", [("cloud-only-option", 9, 5, "'storage_gb'")]),
    ("static_ip false on hardware is still set", HEADER + """\
  acme:
    model: hardware
    term: 1y
    static_ip: false
""", [("cloud-only-option", 9, 5, "'static_ip' is a cloud-only option; PBX 'acme' is hardware")]),
    ("all three, each at its key", HEADER + """\
  acme:
    model: virtual
    term: 1y
    ssh: true
    storage_gb: 10
    static_ip: true
""", [("cloud-only-option", 9, 5, "'ssh'"), ("cloud-only-option", 10, 5, "'storage_gb'"),
      ("cloud-only-option", 11, 5, "'static_ip'")]),
    ("all three on cloud", HEADER + """\
  acme:
    model: cloud
    region: eu-central
    term: 1y
    storage_gb: 50
    static_ip: true
    ssh: false
""", []),
    ("hardware without options", HEADER + """\
  acme:
    model: hardware
    term: 1y
    allow_deletion: true
""", []),
]


@pytest.mark.parametrize(("text", "expected"), cases(CLOUD_ONLY_OPTION))
def test_cloud_only_option(text, expected):
    check(text, expected)


# --- cloud-no-lifetime -------------------------------------------------------------------------

CLOUD_NO_LIFETIME = [
    ("cloud lifetime", HEADER + """\
  acme:
    model: cloud
    region: eu-central
    term: lifetime
""", [("cloud-no-lifetime", 9, 11, "cloud PBX 'acme' cannot have term 'lifetime'")]),
    ("the longest cloud term, 5y", HEADER + """\
  acme:
    model: cloud
    region: eu-central
    term: 5y
""", []),
    ("virtual lifetime", HEADER + """\
  acme:
    model: virtual
    term: lifetime
""", []),
    ("hardware lifetime", HEADER + """\
  acme:
    model: hardware
    term: lifetime
""", []),
]


@pytest.mark.parametrize(("text", "expected"), cases(CLOUD_NO_LIFETIME))
def test_cloud_no_lifetime(text, expected):
    check(text, expected)


# --- hwaas-needs-subscription ------------------------------------------------------------------

HWAAS_NEEDS_SUBSCRIPTION = [
    ("hwaas on lifetime", HEADER + """\
  acme:
    model: hardware
    term: lifetime
    hwaas: {WorkForce: 4}
""", [("hwaas-needs-subscription", 9, 5, "PBX 'acme' has a lifetime term: HWaaS is only for subscription")]),
    ("one non-zero product among zeros", HEADER + """\
  acme:
    model: virtual
    term: lifetime
    hwaas:
      WorkForce: 0
      MonoLED: 1
""", [("hwaas-needs-subscription", 9, 5, "HWaaS")]),
    ("pinned on lifetime", HEADER + """\
  acme:
    model: hardware
    term: lifetime
    pinned:
      9C7514000001: hwaas
""", [("hwaas-needs-subscription", 9, 5, "devices cannot be HWaaS on it")]),
    ("both, each at its key", HEADER + """\
  acme:
    model: hardware
    term: lifetime
    pinned: {9C7514000001: hwaas}
    hwaas: {WorkForce: 1}
""", [("hwaas-needs-subscription", 9, 5, "devices cannot be HWaaS on it"),
      ("hwaas-needs-subscription", 10, 5, "HWaaS is only for subscription PBXs")]),
    ("all-zero counts on lifetime", HEADER + """\
  acme:
    model: hardware
    term: lifetime
    hwaas: {WorkForce: 0, MonoLED: 0}
""", []),
    ("empty hwaas and pinned on lifetime", HEADER + """\
  acme:
    model: hardware
    term: lifetime
    hwaas: {}
    pinned: {}
""", []),
    ("hwaas and pinned on a subscription", HEADER + """\
  acme:
    model: hardware
    term: 1m
    licenses: {basic: 1}
    hwaas: {WorkForce: 4}
    pinned: {9C7514000001: hwaas}
""", []),
    ("hwaas on a PBX with no licenses", HEADER + """\
  acme:
    model: hardware
    term: 1m
    hwaas: {WorkForce: 4}
""", [("hwaas-needs-subscription", 9, 5, "PBX 'acme' has no licenses (a PBX with zero licenses has no subscr")]),
    ("pinned on a PBX whose licenses are all zero", HEADER + """\
  acme:
    model: hardware
    term: 1y
    licenses: {basic: 0, premium: 0}
    pinned: {9C7514000001: hwaas}
""", [("hwaas-needs-subscription", 10, 5, "has no licenses")]),
    ("zero counts on a PBX with no licenses", HEADER + """\
  acme:
    model: hardware
    term: 1y
    hwaas: {WorkForce: 0}
""", []),
]


@pytest.mark.parametrize(("text", "expected"), cases(HWAAS_NEEDS_SUBSCRIPTION))
def test_hwaas_needs_subscription(text, expected):
    check(text, expected)


# --- one-licensed-pbx-per-customer -------------------------------------------------------------

ONE_LICENSED_PBX = [
    ("two licensed PBXs", HEADER + """\
  acme:
    model: virtual
    term: 1y
    licenses: {basic: 10}
  acme-branch:
    model: virtual
    term: 1y
    licenses: {premium: 1}
""", [("one-licensed-pbx-per-customer", 13, 5, "PBX 'acme-branch' has licenses, and so does 'acme'")]),
    ("three: the second and third, each naming the first", HEADER + """\
  acme:
    model: virtual
    term: 1y
    licenses: {basic: 10}
  acme-b:
    model: virtual
    term: 1y
    licenses: {essential: 1}
  acme-c:
    model: virtual
    term: 1y
    licenses: {wizyconf: 1}
""", [("one-licensed-pbx-per-customer", 13, 5, "'acme-b' has licenses, and so does 'acme'"),
      ("one-licensed-pbx-per-customer", 17, 5, "'acme-c' has licenses, and so does 'acme'")]),
    ("an unlicensed first PBX does not count", HEADER + """\
  acme:
    model: virtual
    term: 1y
  acme-b:
    model: virtual
    term: 1y
    licenses: {basic: 1}
  acme-c:
    model: virtual
    term: 1y
    licenses: {basic: 1}
""", [("one-licensed-pbx-per-customer", 16, 5, "'acme-c' has licenses, and so does 'acme-b'")]),
    ("a second PBX with all-zero licenses", HEADER + """\
  acme:
    model: virtual
    term: 1y
    licenses: {basic: 10}
  acme-branch:
    model: virtual
    term: 1y
    licenses: {basic: 0, essential: 0, premium: 0}
""", []),
    ("a second PBX with no licenses key", HEADER + """\
  acme:
    model: virtual
    term: 1y
    licenses: {basic: 10}
  acme-branch:
    model: hardware
    term: 1y
""", []),
    ("one PBX with every profile", HEADER + """\
  acme:
    model: virtual
    term: 1y
    licenses: {basic: 1, essential: 1, business: 1, premium: 1, wizyconf: 1, service: 1}
""", []),
]


@pytest.mark.parametrize(("text", "expected"), cases(ONE_LICENSED_PBX))
def test_one_licensed_pbx_per_customer(text, expected):
    check(text, expected)


# --- contact-required --------------------------------------------------------------------------

CONTACT_REQUIRED = [
    ("no contacts key: at the customer key", """\
customer: acme
company: Acme GmbH
pbxes: {}
""", [("contact-required", 1, 1, "customer 'acme' needs at least one contact")]),
    ("an empty list: at the contacts key", """\
customer: acme
company: Acme GmbH
pbxes: {}
contacts: []
""", [("contact-required", 4, 1, "needs at least one contact")]),
    ("no contacts key, customer not first", """\
company: Acme GmbH
customer: acme
""", [("contact-required", 2, 1, "customer 'acme'")]),
    ("one contact", """\
customer: acme
company: Acme GmbH
contacts:
  - name: Jane Doe
    email: jane@acme.example
""", []),
]


@pytest.mark.parametrize(("text", "expected"), cases(CONTACT_REQUIRED))
def test_contact_required(text, expected):
    check(text, expected)


# --- known-product -----------------------------------------------------------------------------

CATALOG = {"WorkForce", "ForceOne", "MonoLED", "DuoLED"}


def with_hwaas(hwaas: str) -> str:
    """A valid file whose only PBX has this hwaas mapping on line 10."""
    return HEADER + f"""\
  acme:
    model: cloud
    region: eu-central
    term: 1y
    hwaas: {hwaas}
    licenses: {{basic: 1}}
"""


KNOWN_PRODUCT = [
    ("a typo, with a hint", with_hwaas("{WorkForse: 2}"),
     [("known-product", 10, 13, "product 'WorkForse' is not in the catalog: did you mean 'WorkForce'?")]),
    ("case matters", with_hwaas("{workforce: 2}"),
     [("known-product", 10, 13, "did you mean 'WorkForce'?")]),
    ("a zero count still names the product", with_hwaas("{WorkForce: 1, MonoLDE: 0}"),
     [("known-product", 10, 27, "'MonoLDE' is not in the catalog: did you mean 'MonoLED'?")]),
    ("every known product", with_hwaas("{WorkForce: 1, ForceOne: 2, MonoLED: 3, DuoLED: 4}"), []),
]


@pytest.mark.parametrize(("text", "expected"), cases(KNOWN_PRODUCT))
def test_known_product(text, expected):
    check(text, expected, catalog=CATALOG)


def test_known_product_without_a_close_match_gives_no_hint():
    [(rule, line, column, message)] = findings(with_hwaas("{Toaster: 1}"), CATALOG)
    assert (rule, line, column) == ("known-product", 10, 13)
    assert message == "product 'Toaster' is not in the catalog"


@pytest.mark.parametrize("catalog", [None, set()], ids=["no catalog", "empty catalog"])
def test_known_product_is_silent_without_a_catalog(catalog):
    customer, positions = load(with_hwaas("{Toaster: 1}"))
    assert list(known_product(FileContext(customer, positions, catalog))) == []
    assert findings(with_hwaas("{Toaster: 1}"), catalog) == []


# --- what every rule's diagnostic carries ------------------------------------------------------

def test_rule_diagnostics_name_file_customer_and_pbx():
    text = HEADER + """\
  acme:
    model: hardware
    region: eu-central
    term: lifetime
    ssh: true
    hwaas: {Toaster: 1}
"""
    customer, positions = load(text)
    diagnostics = check_customer(customer, positions, CATALOG)
    assert {d.rule for d in diagnostics} == {"region-cloud-only", "cloud-only-option",
                                            "hwaas-needs-subscription", "known-product"}
    for diagnostic in diagnostics:
        assert (diagnostic.file, diagnostic.customer, diagnostic.pbx) == ("acme.yaml", "acme", "acme")
        assert diagnostic.severity.value == "error"
