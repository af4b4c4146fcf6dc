"""Differential runner for DuckDB: loads the events table, runs every query, prints the
matching event ids.

Usage: python3 diff_duckdb.py EVENTS.ndjson COLUMNS.json < queries.jsonl
  EVENTS.ndjson  one JSON object per row: column -> text or null (see tests/differential.rs)
  COLUMNS.json   the column names, in table order
  stdin          one JSON string per line: a query `SELECT "_id" FROM "events" WHERE ...`
Writes one line per query: {"query": n, "events": [ids]} or {"query": n, "error": "..."}.
Every column is VARCHAR, as in the SQLite table of the same test."""
import json
import sys

import duckdb

events_path, columns_path = sys.argv[1], sys.argv[2]
with open(columns_path, encoding="utf-8") as f:
    columns = json.load(f)
con = duckdb.connect()
spec = "{" + ", ".join("'" + c.replace("'", "''") + "': 'VARCHAR'" for c in columns) + "}"
con.execute(
    "CREATE TABLE events AS SELECT * FROM read_json(?, format='newline_delimited', "
    "columns=" + spec + ", maximum_object_size=67108864)",
    [events_path],
)
out = sys.stdout
# Split on "\n" only: JSON escapes it, while text-mode reading would also split elsewhere.
lines = sys.stdin.buffer.read().decode("utf-8").split("\n")
for n, line in enumerate(line for line in lines if line.strip()):
    query = json.loads(line)
    try:
        ids = sorted(int(row[0]) for row in con.execute(query).fetchall())
        out.write(json.dumps({"query": n, "events": ids}) + "\n")
    except Exception as error:  # report and go on: the test lists every failing query
        out.write(json.dumps({"query": n, "error": str(error).splitlines()[0]}) + "\n")
