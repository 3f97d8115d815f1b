"""The sandbox's built-in product catalog and its serial numbering.

The catalog is used when a loaded snapshot carries none (a snapshot exported from a
real portal may not), so that `known-product` and order-hwaas have something to check.
Serials are assigned by counters that start above every serial already present, so the
sandbox never hands out a serial twice.
"""

from __future__ import annotations

import re

BUILTIN_CATALOG: dict[str, tuple[str, ...]] = {
    "phones": ("WorkForce", "ForceOne", "Vision", "SuperVision"),
    "headsets": ("MonoLED", "DuoLED", "WHS-Mono", "WHS-Duo"),
    "gateways": ("W04FXS", "W02FXO", "W01GSM"),
}

HARDWARE_PBX_PRODUCT = "WPBX-HW"  # restated, not the planner's (reconciler.facts): a wrong code is refused

# counter name -> (prefix, digits): SW-00000001 (cloud, virtual), HW-00000001 (hardware), 9C7500000001 (devices)
SERIALS = {
    "sw": ("SW-", 8),
    "hw": ("HW-", 8),
    "device": ("9C75", 8),
}


def format_serial(counter: str, number: int) -> str:
    prefix, digits = SERIALS[counter]
    return f"{prefix}{number:0{digits}d}"


def serial_number(counter: str, serial: str) -> int | None:
    """The number in `serial` if it has the counter's form (9C7514000001 -> 14000001), else None."""
    prefix, digits = SERIALS[counter]
    match = re.fullmatch(re.escape(prefix) + rf"(\d{{{digits}}})", serial)
    return int(match.group(1)) if match else None


def pbx_counter(model: str) -> str:
    return "hw" if model == "hardware" else "sw"
