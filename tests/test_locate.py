"""The planner places a diagnostic at a loaded customer or at one of its PBXs, where the file says it."""

from __future__ import annotations

from reconciler.loader import load
from reconciler.workflow import locator
from tests.test_validate_cli import customer, write


def test_a_loaded_customer_is_located_where_it_and_its_pbxes_stand(tmp_path):
    write(tmp_path, {"customers/acme.yaml": customer("acme", extra="    licenses: {basic: 2}\n"),
                     "customers/beta.yaml": customer("beta")})
    inputs = load([tmp_path])
    acme = inputs.customers[0]
    text = (tmp_path / "customers/acme.yaml").read_text().splitlines()
    pbx = next(iter(acme.model.pbxes))
    where = locator(list(inputs.customers))("acme", pbx)
    assert text[where.line - 1][where.column - 1:].startswith(f"{pbx}:")
    where = locator(list(inputs.customers))("acme", None)
    assert (where.line, where.column) == (next(i for i, t in enumerate(text, 1) if t.startswith("customer:")), 1)
