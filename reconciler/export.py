"""`reconciler export`: the portal's current state as files, to onboard existing customers in one command.

It writes the snapshot (FORMAT.md section 4) and one desired-state file per customer
that says exactly what the portal holds, so that planning the exported files against
the same portal yields no steps. The desired files are derived, never hand-merged:
export into an empty directory, review, commit. It writes the repo's reconciler.yaml too,
naming the provider and timezone it read from, so the exported directory plans on its own;
and it writes them in the form `reconciler fmt` gives, so a new repo is already formatted.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from reconciler.config import CONFIG_FILE, Config, Policy
from reconciler.desired import CustomerFile
from reconciler.diagnostics import Diagnostic, ReconcilerError
from reconciler.domain import CLOUD_OPTIONS
from reconciler.fmt import dump
from reconciler.providers.select import DEFAULT_SANDBOX
from reconciler.repo import CUSTOMERS_DIR
from reconciler.rules.validation import check_customer
from reconciler.snapshot import CurrentCustomer, CurrentPbx, Snapshot
from reconciler.yamlio import Positions

STATE_FILE = "state.yaml"


def desired_pbx(pbx: CurrentPbx) -> dict:
    """The desired-state form of a PBX as the portal holds it: defaults left out, as a partner writes it."""
    data: dict = {"model": pbx.model}
    if pbx.model == "cloud" and pbx.region:
        data["region"] = pbx.region
    data["term"] = pbx.term
    licenses = {profile: count for profile, count in pbx.licenses.counts().items() if count}
    if licenses:
        data["licenses"] = licenses
    if pbx.model == "cloud":
        for option in CLOUD_OPTIONS:
            if getattr(pbx, option) is not None:
                data[option] = getattr(pbx, option)
    hwaas = Counter(device.product for device in pbx.devices if device.billing == "hwaas")
    if hwaas:
        data["hwaas"] = dict(sorted(hwaas.items()))
    return data


def desired_customer(customer_id: str, customer: CurrentCustomer) -> dict:
    data = {
        "customer": customer_id,
        "company": customer.company,
        "contacts": [contact.model_dump() for contact in customer.contacts],
        "pbxes": {name: desired_pbx(pbx) for name, pbx in sorted(customer.pbxes.items())},
    }
    CustomerFile.model_validate(data)  # what export writes must validate: a bug here is ours, not the user's
    return data


def repo_config(config: Config, root: Path, out: Path, state: str | None) -> dict:
    """The reconciler.yaml of the exported repo: the provider and timezone the export read from.

    Paths in a configuration are relative to its repo root, so they are rewritten relative to
    `out`; an export from a snapshot (--state) points the new repo at the snapshot it writes.
    """
    def moved(path: str | Path) -> str:
        return Path(os.path.relpath(Path(root, path).resolve(), out.resolve())).as_posix()

    if state:
        provider = {"kind": "snapshot", "path": STATE_FILE}
    elif config.provider.kind == "sandbox":
        provider = {"kind": "sandbox", "path": moved(config.provider.path or DEFAULT_SANDBOX)}
    else:
        provider = {"kind": config.provider.kind, **({"path": moved(config.provider.path)}
                                                     if config.provider.path else {})}
    data: dict = {"provider": provider, "timezone": config.timezone}
    if config.price_book:
        data["price_book"] = moved(config.price_book)
    if config.policy != Policy():
        data["policy"] = config.policy.model_dump()
    if config.portal.timezone:
        data["portal"] = {"timezone": config.portal.timezone}
    if "backend" in config.model_fields_set:
        data["backend"] = config.backend.model_dump(exclude_defaults=True) or {"kind": config.backend.kind}
    Config.model_validate(data)  # what export writes must validate
    return data


def outside_notes(config: dict, out: Path) -> list[str]:
    """What the exported reconciler.yaml names outside the new repo, which planning there refuses by default."""
    from reconciler.paths import ALLOW_ENV, why_outside

    named = {"provider.path": config.get("provider", {}).get("path"), "price_book": config.get("price_book")}
    return [f"note: the exported reconciler.yaml's {key} ({value}) {why}: plan the new repo with {ALLOW_ENV}=1, "
            "or move that file into it" for key, value in named.items()
            if value and (why := why_outside(out, value)) is not None]


def export(snapshot: Snapshot, out: Path, *, schema_hint: str | None = None,
           config: dict | None = None) -> tuple[list[Path], list[Diagnostic]]:
    """Write out/state.yaml, out/customers/<id>.yaml and out/reconciler.yaml (`config`, when given);
    refuse to overwrite a different file.

    Returns the files written and what in them breaks a validation rule: the portal can
    hold what a repo may not (two licensed PBXs of one customer, from before 2022-04-19);
    export writes it as it is and says so, since only the partner can choose the fix.
    """
    files: dict[Path, str] = {out / STATE_FILE: dump(snapshot.model_dump(mode="python"),
                                                     f"# The portal's state on {snapshot.as_of}, "
                                                     "written by reconciler export.\n")}
    if config is not None:
        files[out / CONFIG_FILE] = dump(config, "# Written by reconciler export: where the portal's state was read.\n")
    header = f"# yaml-language-server: $schema={schema_hint}\n" if schema_hint else ""
    findings: list[Diagnostic] = []
    for customer_id, customer in sorted(snapshot.customers.items()):
        path = out / CUSTOMERS_DIR / f"{customer_id}.yaml"
        data = desired_customer(customer_id, customer)
        files[path] = dump(data, header)
        findings += check_customer(CustomerFile.model_validate(data), Positions(str(path)))
    clashes = [path for path, text in files.items() if path.exists() and path.read_text(encoding="utf-8") != text]
    if clashes:
        names = ", ".join(str(path) for path in clashes[:5]) + (" ..." if len(clashes) > 5 else "")
        raise ReconcilerError(f"export would overwrite {len(clashes)} file(s) that differ: {names}; "
                              "export into an empty directory, or remove them first")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return sorted(files), findings

