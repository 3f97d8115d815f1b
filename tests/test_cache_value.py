"""A customer rebuilt from the cache is the customer a cold load makes: its model and where it stands."""

from __future__ import annotations

import pytest

import reconciler.repo
import reconciler.source
from reconciler.cache import Cache
from reconciler.repo import _cache_value, _cached_customer, read_customer
from reconciler.unchanged import parsed_claims
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
    entry, claims = _cache_value(reconciler.repo.CustomerSource("x", cold.model, full))
    model, positions = entry.split("\t")
    rebuilt = _cached_customer(parsed_claims(claims), "x", None, lambda: (model, positions),
                               lambda: pytest.fail("the file was parsed again"))
    assert rebuilt.model == cold.model and rebuilt.model.model_fields_set == cold.model.model_fields_set
    assert (rebuilt.positions.keys, rebuilt.positions.values) == (full.keys, full.values)

    calls = []
    monkeypatch.setattr(reconciler.repo, "parse_checked", lambda *a, **k: calls.append(a) or (None, []))
    warm, _, problems = read_customer(path, "customers/acme.yaml", None, Cache(tmp_path))
    assert calls == [] and problems == [] and warm.model == cold.model
    assert (warm.positions.keys, warm.positions.values) == (cold.positions.keys, cold.positions.values)


def _kept(tmp_path):
    """A customer file loaded once with the cache, which is saved: (its path, the cold source, its digest)."""
    write(tmp_path, {"customers/acme.yaml": UNICODE})
    path = tmp_path / "customers/acme.yaml"
    first = Cache(tmp_path)
    cold, digest, _ = read_customer(path, "customers/acme.yaml", None, first)
    first.save()
    return path, cold, digest


@pytest.mark.parametrize("damage", ["missing", "not a customer", "other claims", "no positions"])
def test_a_hit_whose_model_entry_is_damaged_gives_the_cold_model_and_positions(tmp_path, damage):
    path, cold, digest = _kept(tmp_path)
    cache = Cache(tmp_path)
    model, positions = cache.get("customer", digest).split("\t")
    if damage == "missing":
        cache._packs["customer/" + digest[-2:]].pop(digest)
    else:
        value = {"not a customer": f'{{"customer":1}}\t{positions}',
                 "other claims": model.replace('"acme"', '"other"', 1) + "\t" + positions,
                 "no positions": model + "\t[1,2"}[damage]
        cache._packs["customer/" + digest[-2:]][digest] = value
    warm, _, problems = read_customer(path, "customers/acme.yaml", None, cache)
    assert problems == [] and warm.customer == "acme" and list(warm.pbxes) == list(cold.model.pbxes)
    assert warm.model == cold.model and warm.model.model_fields_set == cold.model.model_fields_set
    assert (warm.positions.keys, warm.positions.values) == (cold.positions.keys, cold.positions.values)


def test_a_hit_validates_no_model_until_one_is_asked_for(tmp_path, monkeypatch):
    path, cold, _ = _kept(tmp_path)
    validated = []
    real = reconciler.source.CustomerFile.model_validate_json
    monkeypatch.setattr(reconciler.source.CustomerFile, "model_validate_json",
                        lambda text: validated.append(text) or real(text))
    warm, _, _ = read_customer(path, "customers/acme.yaml", None, Cache(tmp_path))
    assert (warm.customer, tuple(warm.pbxes), validated) == ("acme", tuple(cold.model.pbxes), [])
    assert warm.model == cold.model and len(validated) == 1
