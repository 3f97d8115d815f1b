"""A customer rebuilt from the cache is the customer a cold load makes: its model and where it stands."""

from __future__ import annotations

import pytest

import reconciler.repo
from reconciler.cache import Cache
from reconciler.repo import _cache_value, _cached_customer, read_customer
from tests.test_validate_cli import customer, write

UNICODE = customer("acme").replace("company: ", "company: Ünïcødé \"quoted\" \\\\ ", 1) + "# é\n"


def test_a_hit_rebuilds_the_model_and_every_position_of_a_cold_load(tmp_path, monkeypatch):
    write(tmp_path, {"customers/acme.yaml": UNICODE + "    licenses: {basic: 100000}\n"})
    path = tmp_path / "customers/acme.yaml"
    first = Cache(tmp_path)
    cold, _, problems = read_customer(path, "customers/acme.yaml", None, first)
    first.save()
    assert cold is not None and problems == [] and "Ünïcødé" in cold.model.company
    full, _ = reconciler.repo.parse_checked(path.read_text(), "customers/acme.yaml",
                                            lambda document: (document.positions, []))
    rebuilt = _cached_customer(_cache_value(reconciler.repo.CustomerSource("x", cold.model, full)), "x", None,
                               lambda: pytest.fail("the positions were parsed again"))
    assert rebuilt.model == cold.model and rebuilt.model.model_fields_set == cold.model.model_fields_set
    assert (rebuilt.positions.keys, rebuilt.positions.values) == (full.keys, full.values)

    calls = []
    monkeypatch.setattr(reconciler.repo, "parse_checked", lambda *a, **k: calls.append(a) or (None, []))
    warm, _, problems = read_customer(path, "customers/acme.yaml", None, Cache(tmp_path))
    assert calls == [] and problems == [] and warm.model == cold.model
    assert (warm.positions.keys, warm.positions.values) == (cold.positions.keys, cold.positions.values)
