"""Every rule the sandbox portal enforces: the step is refused, with the rule id, and nothing changes."""

from __future__ import annotations

import pytest

from reconciler.providers import StepRefused
from reconciler.sandbox.portal import received
from tests.test_sandbox_support import TODAY, D, sandbox, scene, step

OVERDUE = {"partner": {"overdue_since": "2026-11-10"}}  # 8 days on TODAY
WF = {"product": "WorkForce", "quantity": 1}
CONVERT = {**WF, "billing": ["capex", "hwaas"]}
CLOUD_FORM = {"name": "cyberdyne", "model": "cloud", "term": "1y", "region": "eu-west", "licenses": {"basic": 1}}
VIRTUAL_FORM = {"name": "cyberdyne", "model": "virtual", "term": "1y", "licenses": {"basic": 1}}

# id: (step, rule, today, scene changes)
CASES = {
    "customer without contact": (step("create-customer", "newco", None, {"company": "Newco", "contacts": []}),
                                 "contact-required", TODAY, {}),
    "customer that exists": (step("create-customer", "acme", None, {"company": "Acme", "contacts": [
        {"name": "Jane Doe", "email": "jane@acme.example"}]}), "stale-plan", TODAY, {}),
    "purchase while overdue": (step("purchase-hardware-pbx", "cyberdyne", "cyberdyne",
                                    {"product": "WPBX-HW", "quantity": 1}), "overdue-blocks-hardware", TODAY, OVERDUE),
    "pbx of an unknown customer": (step("create-pbx", "newco", "cyberdyne", CLOUD_FORM), "customer-before-pbx",
                                   TODAY, {}),
    "hardware pbx not purchased": (step("create-pbx", "cyberdyne", "cyberdyne", {**VIRTUAL_FORM, "model": "hardware"}),
                                   "hardware-pbx-purchase", TODAY, {}),
    "cloud lifetime": (step("create-pbx", "cyberdyne", "cyberdyne", {**CLOUD_FORM, "term": "lifetime"}),
                       "cloud-no-lifetime", TODAY, {}),
    "cloud without region": (step("create-pbx", "cyberdyne", "cyberdyne", {**CLOUD_FORM, "region": None}),
                             "cloud-needs-region", TODAY, {}),
    "region on virtual": (step("create-pbx", "cyberdyne", "cyberdyne", {**VIRTUAL_FORM, "region": "eu-west"}),
                          "region-cloud-only", TODAY, {}),
    "option on virtual": (step("create-pbx", "cyberdyne", "cyberdyne", {**VIRTUAL_FORM, "storage_gb": 20}),
                          "cloud-only-option", TODAY, {}),
    "second licensed pbx": (step("create-pbx", "acme", "acme2", {**CLOUD_FORM, "name": "acme2"}),
                            "one-licensed-pbx-per-customer", TODAY, {}),
    "licenses on a second pbx": (step("add-licenses", "acme", "acme-lab", {"licenses.basic": [0, 1]}),
                                 "one-licensed-pbx-per-customer", TODAY, {}),
    "existing pbx name": (step("create-pbx", "cyberdyne", "globex", {**CLOUD_FORM, "name": "globex"}),
                          "stale-plan", TODAY, {}),
    "licenses not as planned": (step("add-licenses", "acme", "acme", {"licenses.basic": [9, 12]}),
                                "stale-plan", TODAY, {}),
    "decrease on the last day": (step("remove-licenses", "acme", "acme", {"licenses.basic": [10, 0]}),
                                 "no-decrease-last-day", D("2026-11-30"), {}),
    "add to a stopped pbx": (step("add-licenses", "umbrella", "umbrella", {"licenses.basic": [0, 1]}),
                             "deletion-revert", TODAY, {}),
    "term change with licenses": (step("change-term", "acme", "acme", {"term": ["1y", "1m"]}),
                                  "term-change-through-zero", TODAY, {}),
    "term change of cloud to lifetime": (step("change-term", "umbrella", "umbrella", {"term": ["1y", "lifetime"]}),
                                         "cloud-no-lifetime", TODAY, {}),
    "lifetime with hwaas devices": (step("change-term", "hooli", "hooli", {"term": ["1y", "lifetime"]}),
                                    "hwaas-needs-subscription", TODAY, {}),
    "storage decrease": (step("set-options", "acme", "acme", {"storage_gb": [50, 20]}),
                         "storage-increase-only", TODAY, {}),
    "option on a non-cloud pbx": (step("set-options", "hooli", "hooli", {"ssh": [None, True]}),
                                  "cloud-only-option", TODAY, {}),
    "model change": (step("set-options", "acme", "acme", {"model": ["cloud", "virtual"]}),
                     "model-change-manual", TODAY, {}),
    "order on lifetime": (step("order-hwaas", "tyrell", "tyrell", WF), "hwaas-needs-subscription", TODAY, {}),
    "order without licenses": (step("order-hwaas", "hooli", "hooli", WF), "hwaas-needs-subscription", TODAY, {}),
    "order while overdue": (step("order-hwaas", "acme", "acme", WF), "overdue-blocks-hardware", TODAY, OVERDUE),
    "order of an unknown product": (step("order-hwaas", "acme", "acme", {"product": "WorkFroce", "quantity": 1}),
                                    "known-product", TODAY, {}),
    "convert a device that is not capex": (step("convert-to-hwaas", "acme", "acme",
                                                {**CONVERT, "serials": ["9C7514000001"]}), "stale-plan", TODAY, {}),
    "convert on lifetime": (step("convert-to-hwaas", "tyrell", "tyrell", {**CONVERT,
                                                                          "serials": ["9C7514000020"]}),
                            "convert-preconditions", TODAY, {}),
    "convert without licenses": (step("convert-to-hwaas", "hooli", "hooli", {**CONVERT, "serials": ["9C7514000011"]}),
                                 "convert-preconditions", TODAY, {}),
    "convert while overdue": (step("convert-to-hwaas", "acme", "acme", {**CONVERT, "serials": ["9C7514000002"]}),
                              "overdue-blocks-hardware", TODAY, OVERDUE),
    "transfer a capex device": (step("transfer-hwaas", "globex", "globex", {**WF, "serials": ["9C7514000002"],
                                                                            "from": "acme/acme"}),
                                "transfer-conditions", TODAY, {}),
    "transfer to another expiry": (step("transfer-hwaas", "initech", "initech", {**WF, "serials": ["9C7514000001"],
                                                                                 "from": "acme/acme"}),
                                   "transfer-conditions", TODAY, {}),
    "transfer to lifetime": (step("transfer-hwaas", "tyrell", "tyrell", {**WF, "serials": ["9C7514000001"],
                                                                         "from": "acme/acme"}),
                             "transfer-conditions", TODAY, {}),
    "transfer while overdue": (step("transfer-hwaas", "globex", "globex", {**WF, "serials": ["9C7514000001"],
                                                                           "from": "acme/acme"}),
                               "overdue-blocks-hardware", TODAY, OVERDUE),
    "return under commitment": (step("return-hwaas", "acme", "acme", {"product": "MonoLED", "quantity": 1,
                                                                      "serials": ["9C7514000004"]}),
                                "commitment-return-manual", TODAY, {}),
    "return before 6 months": (step("return-hwaas", "acme", "acme", {"product": "MonoLED", "quantity": 1,
                                                                     "serials": ["9C7514000003"]}),
                               "hwaas-minimum-term", TODAY, {}),
    "return a device not there": (step("return-hwaas", "globex", "globex", {**WF, "serials": ["9C7514000001"]}),
                                  "stale-plan", TODAY, {}),
    "manual step": (step("add-licenses", "acme", "acme", {"licenses.basic": [10, 11]}, status="manual",
                         instruction="ask the Area Manager"), "not-ready", TODAY, {}),
    "blocked step": (step("remove-licenses", "acme", "acme", {"licenses.basic": [10, 0]}, status="blocked",
                          not_before=D("2026-12-01")), "not-ready", TODAY, {}),
    "order of no device": (step("order-hwaas", "acme", "acme", {"product": "WorkForce", "quantity": 0}), "schema",
                           TODAY, {}),
}


@pytest.mark.parametrize("case", CASES)
def test_the_portal_refuses_and_changes_nothing(tmp_path, case):
    refused, rule, today, changes = CASES[case]
    provider = sandbox(tmp_path, scene(**changes))
    before = provider.read(today)
    with pytest.raises(StepRefused) as caught:
        provider.execute(refused, today, "token")
    message = str(caught.value)
    assert message.startswith(f"the portal refused {refused.action.value} on {refused.address}: ")
    assert message.endswith(f"[{rule}]")
    assert [d.rule for d in caught.value.diagnostics] == [rule]
    assert provider.read(today) == before


def test_a_malformed_step_document_is_refused_as_schema_with_its_field_named():
    """A step as it comes in (the portal's API) goes through the plan's step models: one that lacks what its
    action needs is refused before it runs, like a bad form."""
    document = step("order-hwaas", "acme", "acme", WF).model_dump(mode="json")
    del document["changes"]["quantity"]
    with pytest.raises(StepRefused) as caught:
        received(document)
    assert str(caught.value) == ("the portal refused order-hwaas on acme/acme: the step is not a valid order-hwaas "
                                 "step (changes.quantity: Field required) [schema]")
    assert [(d.rule, d.customer, d.pbx) for d in caught.value.diagnostics] == [("schema", "acme", "acme")]
    assert received(step("order-hwaas", "acme", "acme", WF).model_dump(mode="json")).changes.quantity == 1


def test_the_overdue_grace_is_five_days(tmp_path):
    provider = sandbox(tmp_path, scene(partner={"overdue_since": "2026-11-13"}))  # 5 days on TODAY
    provider.execute(step("order-hwaas", "acme", "acme", WF), TODAY, "t1")
    with pytest.raises(StepRefused, match=r"overdue since 2026-11-13"):
        provider.execute(step("order-hwaas", "acme", "acme", WF), D("2026-11-19"), "t2")
