"""Differential runner for EQL: evaluates every query with Elastic's `eql` package
(PythonEngine, Elasticsearch syntax) over the events, prints the matching event ids.

Usage: python3 diff_eql.py EVENTS.ndjson < queries.jsonl
  EVENTS.ndjson  one flat JSON object per event: field -> value (see tests/differential.rs)
  stdin          one JSON string per line: an EQL query
Writes one line per query: {"query": n, "events": [ids]} or {"query": n, "error": "..."};
ids are line numbers (0-based) of EVENTS.ndjson.

Speed: a query whose condition is `EventID == n and ...` (or `EventID` in a set of numbers,
at the top level of an `and`) cannot match an event whose EventID is another number, so
only the events with one of its ids (and those without a numeric EventID) are evaluated.
That is exact, not an approximation: the engine still decides every event it is given."""
import json
import sys

import eql
from eql import ast

# An Elasticsearch `ip` field holds addresses only, so a value that is not one (Sysmon writes
# "-" for a missing address) is in no network. The package raises ValueError for it instead.
_cidr_callback = eql.functions.CidrMatch.get_callback.__func__


def _lenient_cidr_callback(cls, *args):
    strict = _cidr_callback(cls, *args)

    def callback(source, *rest):
        try:
            return strict(source, *rest)
        except ValueError:
            return False

    return callback


eql.functions.CidrMatch.get_callback = classmethod(_lenient_cidr_callback)

events_path = sys.argv[1]
with open(events_path, encoding="utf-8") as f:
    events = [json.loads(line) for line in f if line.strip()]
wrapped = [eql.Event("generic", 0, e) for e in events]

by_id = {}
unkeyed = []
for i, e in enumerate(events):
    key = e.get("EventID")
    if isinstance(key, int) and not isinstance(key, bool):
        by_id.setdefault(key, []).append(i)
    else:
        unkeyed.append(i)


def event_ids(node):
    """The EventID numbers a condition requires, or None when it does not restrict them."""
    if isinstance(node, ast.Comparison) and node.comparator == "==":
        sides = (node.left, node.right)
        for a, b in (sides, sides[::-1]):
            if isinstance(a, ast.Field) and a.base == "EventID" and not a.path \
                    and isinstance(b, ast.Number):
                return {b.value}
        return None
    if isinstance(node, ast.InSet) and isinstance(node.expression, ast.Field) \
            and node.expression.base == "EventID" and not node.expression.path \
            and all(isinstance(v, ast.Number) for v in node.container):
        return {v.value for v in node.container}
    if isinstance(node, ast.Or):
        ids = set()
        for term in node.terms:
            sub = event_ids(term)
            if sub is None:
                return None
            ids |= sub
        return ids
    if isinstance(node, ast.And):
        for term in node.terms:
            sub = event_ids(term)
            if sub is not None:
                return sub
    return None


def candidates(condition):
    ids = event_ids(condition)
    if ids is None:
        return range(len(events))
    chosen = list(unkeyed)
    for n in ids:
        chosen.extend(by_id.get(n, []))
    return sorted(chosen)


out = sys.stdout
# Split on "\n" only: JSON escapes it, while text-mode reading would also split elsewhere.
lines = sys.stdin.buffer.read().decode("utf-8").split("\n")
for n, line in enumerate(line for line in lines if line.strip()):
    text = json.loads(line)
    try:
        with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions:
            query = eql.parse_query(text)
        engine = eql.PythonEngine({})
        found = []
        engine.add_output_hook(lambda result: found.append(result.events[0]))
        engine.add_query(query)
        pool = candidates(query.first.query)
        engine.stream_events([wrapped[i] for i in pool])
        # Events are identified by object identity (the engine hands back the same Event).
        index = {id(wrapped[i]): i for i in pool}
        ids = sorted(index[id(e)] for e in found)
        out.write(json.dumps({"query": n, "events": ids}) + "\n")
    except Exception as error:  # report and go on: the test lists every failing query
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        out.write(json.dumps({"query": n, "error": message}) + "\n")
