"""Generate a partner repo of N customers and the matching portal snapshot, for benchmarks.

    python benchmarks/generate.py N OUT_DIR [--drift 0.1] [--seed 1]

OUT_DIR gets `customers/cNNNNN.yaml` (one desired-state file per customer) and `state.yaml`
(the snapshot: all N customers in one file). The mix is deterministic for a seed: cloud,
virtual and hardware PBXs on every term, HWaaS devices (some under a commitment), CAPEX
devices, a second PBX for some customers. About `drift` of the customers differ from the
portal so the plan has work: license increases and new HWaaS orders (ready), license
decreases and term changes on the last day of the month (blocked when planned on
TODAY, 2026-11-30), storage decreases and commitment returns (manual) and a few new customers.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

AS_OF = "2026-11-22"
TODAY = "2026-11-30"  # the last day of the month: license decreases are blocked, so the plan has blocked steps
REGIONS = ("eu-central", "eu-west", "us-east")
TERMS_CLOUD = ("1m", "1y", "5y")
TERMS_ONPREM = ("1m", "1y", "5y", "lifetime")
PROFILES = ("basic", "essential", "business", "premium", "wizyconf", "service")
PHONES = ("WorkForce", "ForceOne", "Vision", "SuperVision")
HEADSETS = ("MonoLED", "DuoLED", "WHS-Mono", "WHS-Duo")
CATALOG = {"phones": list(PHONES), "headsets": list(HEADSETS), "gateways": ["W04FXS"]}
FIRST_NAMES = ("Jane", "Marco", "Anna", "Luca", "Sofia", "Tom", "Eva", "Paul")
LAST_NAMES = ("Doe", "Rossi", "Schmidt", "Bianchi", "Meyer", "Dubois", "Novak", "Costa")
DRIFTS = ("add", "add", "add", "hwaas-order", "remove", "term", "storage", "commitment-return", "new-pbx", "new")


def _flow(mapping: dict) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in mapping.items()) + "}"


class Serials:
    def __init__(self):
        self.next = 0

    def __call__(self) -> str:
        self.next += 1
        return f"9C75{self.next:08d}"


def _pbx(rng: random.Random, serials: Serials, cloud: bool, licensed: bool = True) -> dict:
    """One PBX as the portal holds it; only a customer's first PBX has licenses (the others inherit)."""
    term = rng.choice(TERMS_CLOUD if cloud else TERMS_ONPREM)
    licenses = ({p: rng.randint(1, 40) for p in PROFILES if rng.random() < 0.6} or {"basic": 5}) if licensed else {}
    pbx = {"model": "cloud" if cloud else rng.choice(("virtual", "hardware")), "term": term, "licenses": licenses}
    if cloud:
        pbx.update(region=rng.choice(REGIONS), storage_gb=rng.choice((20, 50, 100)), static_ip=rng.random() < 0.2,
                   ssh=False)
    devices = []
    if term != "lifetime" and licensed:  # HWaaS only on a subscription PBX
        for product in rng.sample(PHONES + HEADSETS, rng.randint(0, 3)):
            for _ in range(rng.randint(1, 4)):
                devices.append({"serial": serials(), "product": product, "billing": "hwaas",
                                "since": f"2026-0{rng.randint(1, 5)}-1{rng.randint(0, 9)}",
                                "commitment": rng.random() < 0.1})
    for _ in range(rng.randint(0, 2)):
        devices.append({"serial": serials(), "product": rng.choice(PHONES), "billing": "capex"})
    pbx["devices"] = devices
    return pbx


def _hwaas_counts(pbx: dict) -> dict[str, int]:
    counts: dict[str, int] = {}
    for device in pbx["devices"]:
        if device["billing"] == "hwaas":
            counts[device["product"]] = counts.get(device["product"], 0) + 1
    return counts


def _current_pbx_yaml(name: str, pbx: dict, serial: int) -> list[str]:
    year = 2026 if pbx["term"] in ("1m", "1y") else 2030
    lines = [f"      {name}:", f"        serial: SW-{serial:08d}", f"        model: {pbx['model']}"]
    if pbx["model"] == "cloud":
        lines.append(f"        region: {pbx['region']}")
    lines += [f"        term: {pbx['term']}", "        activated_on: 2025-12-15"]
    if pbx["term"] == "1m":
        lines.append("        expires_on: 2026-12-15")
    elif pbx["term"] != "lifetime":
        lines.append(f"        expires_on: {year + 1}-12-15")
    lines += ["        status: active", f"        licenses: {_flow(pbx['licenses'])}"]
    if pbx["model"] == "cloud":
        lines += [f"        storage_gb: {pbx['storage_gb']}", f"        static_ip: {str(pbx['static_ip']).lower()}",
                  "        ssh: false"]
    if pbx["devices"]:
        lines.append("        devices:")
        for d in pbx["devices"]:
            fields = {"serial": d["serial"], "product": d["product"], "billing": d["billing"]}
            if d["billing"] == "hwaas":
                fields["since"] = d["since"]
                if d["commitment"]:
                    fields["commitment"] = "true"
            lines.append(f"          - {_flow(fields)}")
    return lines


def _desired_pbx_yaml(name: str, pbx: dict) -> list[str]:
    lines = [f"  {name}:", f"    model: {pbx['model']}"]
    if pbx["model"] == "cloud":
        lines.append(f"    region: {pbx['region']}")
    lines.append(f"    term: {pbx['term']}")
    if pbx["licenses"]:
        lines.append("    licenses:")
        lines += [f"      {profile}: {count}" for profile, count in pbx["licenses"].items()]
    if pbx["model"] == "cloud":
        lines += [f"    storage_gb: {pbx['storage_gb']}", f"    static_ip: {str(pbx['static_ip']).lower()}",
                  "    ssh: false"]
    hwaas = pbx.get("hwaas", _hwaas_counts(pbx))
    if hwaas:
        lines.append("    hwaas:")
        lines += [f"      {product}: {count}" for product, count in hwaas.items()]
    return lines


def _drift(rng: random.Random, kind: str, pbx: dict) -> dict:
    """The desired PBX: the current one changed by one kind of drift."""
    wanted = {**pbx, "licenses": dict(pbx["licenses"]), "hwaas": _hwaas_counts(pbx)}
    profile = next(iter(wanted["licenses"]))
    if kind == "add":
        wanted["licenses"][profile] += rng.randint(1, 10)
    elif kind == "hwaas-order" and pbx["term"] != "lifetime":
        wanted["hwaas"]["WorkForce"] = wanted["hwaas"].get("WorkForce", 0) + rng.randint(1, 3)
    elif kind == "remove" and wanted["licenses"][profile] > 1:
        wanted["licenses"][profile] -= 1
    elif kind == "term":
        terms = TERMS_CLOUD if pbx["model"] == "cloud" else TERMS_ONPREM
        wanted["term"] = next(t for t in terms if t != pbx["term"] and (t != "lifetime" or not wanted["hwaas"]))
    elif kind == "storage" and pbx["model"] == "cloud" and pbx["storage_gb"] > 20:
        wanted["storage_gb"] = 20
    elif kind == "commitment-return":
        committed = [d["product"] for d in pbx["devices"] if d.get("commitment")]
        if committed:
            wanted["hwaas"][committed[0]] -= 1
        else:
            wanted["licenses"][profile] += 1
    else:
        wanted["licenses"][profile] += 1
    return wanted


def generate(n: int, out: Path, drift: float = 0.1, seed: int = 1, kinds: tuple[str, ...] = DRIFTS) -> dict:
    """Write the repo and `state.yaml` into `out`; returns counts of what was generated."""
    rng = random.Random(seed)
    serials = Serials()
    customers_dir = out / "customers"
    customers_dir.mkdir(parents=True, exist_ok=True)
    state = [f"as_of: {AS_OF}", "partner:", "  overdue_since: null", "stock:"]
    state += [f"  {p}: 100000" for p in PHONES + HEADSETS]
    state.append("catalog:")
    state += [f"  {category}: [{', '.join(products)}]" for category, products in CATALOG.items()]
    state.append("customers:")
    drifted = 0
    pbx_serial = 0
    for index in range(n):
        cid = f"c{index:05d}"
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        company = f"{last} {rng.choice(('GmbH', 'S.r.l.', 'Ltd', 'SA'))} {index}"
        contact = f"{{name: {first} {last}, email: {first.lower()}.{last.lower()}@{cid}.example}}"
        pbxes = {cid: _pbx(rng, serials, cloud=rng.random() < 0.6)}
        if rng.random() < 0.2:
            pbxes[f"{cid}-b"] = _pbx(rng, serials, cloud=rng.random() < 0.5, licensed=False)
        kind = rng.choice(kinds) if rng.random() < drift else None
        drifted += kind is not None
        desired = {name: {**pbx, "hwaas": _hwaas_counts(pbx)} for name, pbx in pbxes.items()}
        if kind == "new-pbx":
            desired[f"{cid}-new"] = {**_pbx(rng, serials, cloud=True, licensed=False), "devices": [], "hwaas": {}}
        elif kind and kind != "new":
            name = next(iter(pbxes))
            desired[name] = _drift(rng, kind, pbxes[name])
        if kind != "new":
            state += [f"  {cid}:", f"    company: {company}", f"    contacts: [{contact}]", "    pbxes:"]
            for name, pbx in pbxes.items():
                pbx_serial += 1
                state += _current_pbx_yaml(name, pbx, pbx_serial)
        lines = ["# yaml-language-server: $schema=../schemas/customer.schema.json", f"customer: {cid}",
                 f"company: {company}", "contacts:", f"  - {contact}", "pbxes:"]
        for name, pbx in desired.items():
            lines += _desired_pbx_yaml(name, pbx)
        (customers_dir / f"{cid}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "state.yaml").write_text("\n".join(state) + "\n", encoding="utf-8")
    return {"customers": n, "drifted": drifted}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--drift", type=float, default=0.1, help="share of customers that differ (default 0.1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ready-only", action="store_true", help="drift only by license increases (for apply)")
    args = parser.parse_args()
    kinds = ("add",) if args.ready_only else DRIFTS
    print(generate(args.n, args.out, args.drift, args.seed, kinds))


if __name__ == "__main__":
    main()
