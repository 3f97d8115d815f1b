"""`reconciler export`: the portal's current state as files, to onboard existing customers in one command.

It writes the snapshot (FORMAT.md section 4) and one desired-state file per customer
that says exactly what the portal holds, so that planning the exported files against
the same portal yields no steps. The desired files are derived, never hand-merged:
export into an empty directory, review, commit.
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

from ruamel.yaml import YAML

from reconciler.desired import CustomerFile
from reconciler.diagnostics import Diagnostic, ReconcilerError
from reconciler.domain import CLOUD_OPTIONS
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


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 120
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.representer.add_representer(type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    return yaml


def dump(data: dict, header: str = "") -> str:
    stream = io.StringIO()
    stream.write(header)
    _yaml().dump(data, stream)
    return stream.getvalue()


def export(snapshot: Snapshot, out: Path, *, schema_hint: str | None = None) -> tuple[list[Path], list[Diagnostic]]:
    """Write out/state.yaml and out/customers/<id>.yaml; refuse to overwrite a different file.

    Returns the files written and what in them breaks a validation rule: the portal can
    hold what a repo may not (two licensed PBXs of one customer, from before 2022-04-19);
    export writes it as it is and says so, since only the partner can choose the fix.
    """
    files: dict[Path, str] = {out / STATE_FILE: dump(snapshot.model_dump(mode="python"),
                                                     f"# The portal's state on {snapshot.as_of}, "
                                                     "written by reconciler export.\n")}
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

