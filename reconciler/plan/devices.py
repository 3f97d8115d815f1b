"""The HWaaS device diff of one PBX: conversions, transfers, orders and returns.

Desired `hwaas` counts include pinned devices. A pinned serial that is CAPEX on the PBX is
converted; one on another PBX (of any customer) is transferred, planned once, on the
receiving side, and counted as leaving its source, so the source never returns it. Then
the shortfall of each product is ordered and the excess returned, oldest eligible first.
CAPEX devices nobody pins are not managed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from reconciler.desired import CustomerFile, DesiredPbx
from reconciler.diagnostics import Diagnostic, Severity
from reconciler.plan.context import Located
from reconciler.plan.changes import ConvertToHwaas, OrderHwaas, ReturnHwaas, TransferHwaas
from reconciler.plan.model import Action
from reconciler.rules.hwaas import pick_returns
from reconciler.snapshot import CurrentPbx, Snapshot

Address = tuple[str, str]  # (customer, pbx)
CAPEX_TO_HWAAS = ("capex", "hwaas")


def locate_devices(snapshot: Snapshot) -> dict[str, Located]:
    """Serial -> where it sits; the first of duplicated serials wins (customers, PBXs in sorted order)."""
    found: dict[str, Located] = {}
    for customer in sorted(snapshot.customers):
        for name, pbx in sorted(snapshot.customers[customer].pbxes.items()):
            for device in pbx.devices:
                found.setdefault(device.serial, Located(customer, name, device, pbx))
    return found


def claim_pins(files: Iterable[CustomerFile], located: dict[str, Located]) -> tuple[dict[str, Address], list]:
    """Serial -> the PBX whose `pinned` names it; a serial pinned twice, or unknown, is an error."""
    claims: dict[str, Address] = {}
    problems: list[Diagnostic] = []
    for file in sorted(files, key=lambda f: f.customer):
        for name, pbx in sorted(file.pbxes.items()):
            for serial in sorted(pbx.pinned):
                where = {"customer": file.customer, "pbx": name}
                if serial in claims:
                    other = "/".join(claims[serial])
                    problems.append(Diagnostic(Severity.ERROR, "transfer-conditions",
                                               f"device {serial} is pinned on {other} and on {file.customer}/{name}: "
                                               "a device can be on one PBX only", **where))
                elif serial not in located:
                    problems.append(Diagnostic(Severity.ERROR, "transfer-conditions",
                                               f"pinned device {serial} is not on any PBX in the portal: it cannot be "
                                               "converted or transferred", **where))
                else:
                    claims[serial] = (file.customer, name)
    return claims, problems


def device_steps(add, customer: str, name: str, desired: DesiredPbx | None, current: CurrentPbx | None,
                 claims: dict[str, Address], located: dict[str, Located]) -> None:
    """Emit this PBX's device steps through `add(action, changes)`, in plan order.

    `desired` None: the PBX is decommissioned, and every HWaaS device that stays on it is returned
    (`decommission-returns-hwaas`). A PBX whose file has no `hwaas` key orders and returns nothing
    (`hwaas-unmanaged`); its pins are still carried out.
    """
    here = (customer, name)
    devices = current.devices if current else []
    staying = [d for d in devices if d.billing == "hwaas" and claims.get(d.serial, here) == here]
    have: dict[str, int] = defaultdict(int)
    for device in staying:
        have[device.product] += 1

    converts: dict[str, list[str]] = defaultdict(list)
    transfers: dict[tuple[str, str, bool], list[str]] = defaultdict(list)
    # the serials this PBX claims are among its own pins (claim_pins reads each PBX's `pinned`): no scan of every claim
    for serial in sorted(desired.pinned if desired is not None else ()):
        if claims.get(serial) != here:
            continue
        spot = located[serial]
        if (spot.customer, spot.pbx) == here:
            if spot.device.billing == "capex":
                converts[spot.device.product].append(serial)
                have[spot.device.product] += 1
        else:
            transfers[(spot.device.product, spot.address, spot.device.billing == "capex")].append(serial)
            have[spot.device.product] += 1

    for product, serials in sorted(converts.items()):
        add(Action.CONVERT_TO_HWAAS, ConvertToHwaas(product=product, quantity=len(serials), serials=serials,
                                                    billing=CAPEX_TO_HWAAS))
    for (product, source, capex), serials in sorted(transfers.items()):
        add(Action.TRANSFER_HWAAS, TransferHwaas(product=product, quantity=len(serials), serials=serials,
                                                 source=source, billing=CAPEX_TO_HWAAS if capex else None))

    if desired is not None and not desired.manages_hwaas:
        return
    want = desired.hwaas if desired is not None else {}
    pinned = desired.pinned if desired is not None else {}
    products = sorted(set(want) | set(have))
    for product in products:
        shortfall = want.get(product, 0) - have[product]
        if shortfall > 0:
            add(Action.ORDER_HWAAS, OrderHwaas(product=product, quantity=shortfall))
    for product in products:
        excess = have[product] - want.get(product, 0)
        if excess <= 0:
            continue  # nothing to return (pick_returns would pick none)
        eligible = [d for d in staying if d.product == product and d.serial not in pinned]
        # one candidate per device: rules judge each (6-month minimum, commitment); the planner
        # merges the devices that end up with the same verdict back into one step
        for device in pick_returns(eligible, excess):
            add(Action.RETURN_HWAAS, ReturnHwaas(product=product, quantity=1, serials=[device.serial]))
