"""A PBX's licenses count every profile the portal sells, in one order, and their total is their sum."""

from __future__ import annotations

from reconciler.domain import PROFILE_CODES, PROFILES, Licenses


def test_counts_name_every_profile_in_order_and_total_adds_them():
    licenses = Licenses(**{profile: index * 7 + 1 for index, profile in enumerate(PROFILES)})
    assert tuple(Licenses.model_fields) == PROFILES == tuple(PROFILE_CODES)
    assert list(licenses.counts()) == list(PROFILES)
    assert licenses.counts() == {profile: getattr(licenses, profile) for profile in PROFILES}
    assert licenses.total() == sum(index * 7 + 1 for index in range(len(PROFILES))) == sum(licenses.counts().values())
    assert Licenses().total() == 0
