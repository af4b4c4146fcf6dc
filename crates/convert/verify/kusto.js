// Checks KQL queries with Microsoft's Kusto language service (@kusto/language-service-next).
// Reads JSON lines {"id", "query", "semantic"} on stdin and writes {"id", "errors"} per line.
// With "semantic": true the query is analysed against the column schemas in argv[2]
// (unknown tables, columns, functions, type errors); otherwise only parsed.
// Usage: node kusto.js kusto-schema.json < queries.jsonl   (SIGRUN_VERIFIERS: where npm put it)
'use strict';
const path = require('path');
const fs = require('fs');
const readline = require('readline');

const base = process.env.SIGRUN_VERIFIERS || path.join(require('os').homedir(), '.cache/sigrun/verifiers');
const dir = path.join(base, 'node_modules/@kusto/language-service-next/');
require(dir + 'bridge.min.js');
require(dir + 'Kusto.Language.Bridge.min.js');
const K = global.Kusto.Language;
const S = K.Symbols;

const types = {
  string: S.ScalarTypes.String, long: S.ScalarTypes.Long, int: S.ScalarTypes.Int,
  datetime: S.ScalarTypes.DateTime, dynamic: S.ScalarTypes.Dynamic, bool: S.ScalarTypes.Bool,
  real: S.ScalarTypes.Real,
};
const schema = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const tables = Object.entries(schema.tables).map(([name, columns]) =>
  new S.TableSymbol.$ctor4(name, columns.map(([c, t]) => new S.ColumnSymbol(c, types[t], null, null, null, null))));
const globals = K.GlobalState.Default.WithDatabase(new S.DatabaseSymbol.ctor('db', tables));

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (!line.trim()) return;
  const { id, query, semantic } = JSON.parse(line);
  const code = semantic ? K.KustoCode.ParseAndAnalyze(query, globals) : K.KustoCode.Parse(query, globals);
  const diagnostics = code.GetDiagnostics();
  const errors = [];
  for (let i = 0; i < diagnostics.Count; i++) {
    const d = diagnostics.getItem(i);
    if (String(d.Severity) === 'Error') errors.push(`${d.Message} (at ${d.Start})`);
  }
  process.stdout.write(JSON.stringify({ id, errors }) + '\n');
});
