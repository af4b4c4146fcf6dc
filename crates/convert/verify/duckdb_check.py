"""Runs SQL queries in DuckDB against an empty flat table `events` whose VARCHAR columns are
the union of the columns the queries name: binding errors (functions, types, syntax) fail.
Reads JSON lines {"id", "query", "columns"} on stdin, writes {"id", "errors"} per line."""
import json
import sys

import duckdb

items = [json.loads(line) for line in sys.stdin if line.strip()]
# DuckDB column names are case-insensitive: "FileName" and "Filename" are one column.
columns = list({c.lower(): c for item in items for c in sorted(item["columns"])}.values())
con = duckdb.connect()
con.execute("CREATE TABLE events (" + ", ".join('"' + c.replace('"', '""') + '" VARCHAR' for c in columns) + ")")
for item in items:
    errors = []
    try:
        con.execute(item["query"]).fetchall()
    except Exception as error:
        errors.append(str(error).splitlines()[0])
    print(json.dumps({"id": item["id"], "errors": errors}))
