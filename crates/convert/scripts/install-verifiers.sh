#!/usr/bin/env bash
# Installs the real query engines the sigrun-convert test suite checks generated queries with.
# Every verifier is optional: a test whose tool is missing prints one line and passes.
#
#   KQL     @kusto/language-service-next (npm)   -> $SIGRUN_VERIFIERS/node_modules
#   EQL     eql (PyPI, Elastic's reference parser)
#   DuckDB  duckdb (PyPI)
#   Lucene  liblucene8-java (Debian): Lucene 8 classic QueryParser, run with java (JDK 11+)
#   SQLite  built into the tests (rusqlite, bundled) - nothing to install
#   pySigma sigma-cli, pysigma-backend-elasticsearch, pysigma-backend-splunk (PyPI): the
#           reference converter tests/pysigma.rs compares ES|QL and SPL with
#
# The same engines run the differential tests (tests/differential.rs: the queries run over
# the shared events; EQL with eql's PythonEngine, DuckDB, Lucene 8 in memory).
#
# Usage: crates/convert/scripts/install-verifiers.sh   (as root for apt-get, or with sudo)
# SIGRUN_VERIFIERS (default: ~/.cache/sigrun/verifiers) is where the npm package goes; the
# tests read the same variable.
set -euo pipefail

dir="${SIGRUN_VERIFIERS:-$HOME/.cache/sigrun/verifiers}"
mkdir -p "$dir"

if command -v npm >/dev/null; then
    (cd "$dir" && { [ -f package.json ] || echo '{"private": true}' > package.json; } \
        && npm install --no-audit --no-fund --silent @kusto/language-service-next)
    echo "kusto: installed in $dir/node_modules"
else
    echo "kusto: npm not found, skipped" >&2
fi

if command -v python3 >/dev/null; then
    python3 -m pip install --quiet eql duckdb
    echo "eql, duckdb: installed for $(command -v python3)"
    # The versions tests/pysigma.rs's categories were written against.
    python3 -m pip install --quiet "sigma-cli==3.1.0" "pysigma==1.5.1" \
        "pysigma-backend-elasticsearch==2.1.1" "pysigma-backend-splunk==2.1.0"
    echo "pySigma: $(python3 -c 'import importlib.metadata as m; print(m.version("pysigma"))')"
else
    echo "eql, duckdb, pySigma: python3 not found, skipped" >&2
fi

if command -v apt-get >/dev/null; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get install -y -qq liblucene8-java default-jdk-headless >/dev/null \
        || $sudo_cmd sh -c 'apt-get update -qq && apt-get install -y -qq liblucene8-java default-jdk-headless' >/dev/null
    echo "lucene: $(ls /usr/share/java/lucene-core-8*.jar /usr/share/java/lucene-queryparser-8*.jar 2>/dev/null | tr '\n' ' ')"
else
    echo "lucene: apt-get not found, skipped" >&2
fi
