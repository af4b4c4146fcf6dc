"""Checks EQL queries with Elastic's reference parser (the `eql` package), in Elasticsearch
syntax (`:`, `like~`, `regex~`, backquoted fields). Reads JSON lines {"id", "query"} on stdin,
writes {"id", "errors"} per line."""
import json
import sys

import eql

for line in sys.stdin:
    if not line.strip():
        continue
    item = json.loads(line)
    errors = []
    try:
        with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions:
            eql.parse_query(item["query"])
    except Exception as error:  # the parser's own error types vary by version
        errors.append(str(error).splitlines()[0] if str(error) else type(error).__name__)
    print(json.dumps({"id": item["id"], "errors": errors}), flush=False)
