#!/usr/bin/env python3
"""Converts Sigma rules with pySigma (the library sigma-cli 3 runs) to ES|QL and Splunk SPL,
without a processing pipeline, for tests/pysigma.rs to compare with sigrun's output.

Usage: pysigma_convert.py RULES_DIR [RULES_DIR ...] > conversions.jsonl
Writes one JSON line per rule document (files in sorted path order):
  {"path": "<path as given>", "id": "...", "target": "esql"|"splunk", "queries": [...]}
  or the same with "error": "<exception class>: <message>" instead of "queries";
and as first line {"versions": {package: version}}.

Same as `sigma convert -t esql|splunk --without-pipeline`, but per rule, so that a failing
rule is recorded instead of ending the run and every query can be told to its rule."""
import importlib.metadata
import json
import os
import sys
import warnings

from sigma.backends.elasticsearch import ESQLBackend
from sigma.backends.splunk import SplunkBackend
from sigma.collection import SigmaCollection

warnings.simplefilter("ignore")

PACKAGES = ["pysigma", "sigma-cli", "pysigma-backend-elasticsearch", "pysigma-backend-splunk"]
BACKENDS = [("esql", ESQLBackend), ("splunk", SplunkBackend)]


def versions():
    """The installed versions of the packages the conversions come from."""
    out = {}
    for package in PACKAGES:
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            out[package] = None
    return out


def conversions(roots):
    """One record per rule document and target, files in sorted path order."""
    files = []
    for root in roots:
        for folder, _, names in os.walk(root):
            files.extend(os.path.join(folder, n) for n in names if n.endswith((".yml", ".yaml")))
    for path in sorted(files):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            rules = list(SigmaCollection.from_yaml(text).rules)
        except Exception as error:  # an unreadable file: one record, no target
            yield {"path": path, "error": f"{type(error).__name__}: {error}"}
            continue
        for rule in rules:
            for target, backend in BACKENDS:
                record = {"path": path, "id": str(rule.id) if rule.id else None, "target": target}
                try:
                    queries = backend().convert(SigmaCollection([rule]))
                    record["queries"] = [q if isinstance(q, str) else json.dumps(q) for q in queries]
                except Exception as error:
                    message = str(error).splitlines()[0] if str(error) else ""
                    record["error"] = f"{type(error).__name__}: {message}"
                yield record


if __name__ == "__main__":
    out = sys.stdout
    out.write(json.dumps({"versions": versions()}) + "\n")
    for record in conversions(sys.argv[1:]):
        out.write(json.dumps(record) + "\n")
