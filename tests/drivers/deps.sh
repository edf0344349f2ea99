#!/usr/bin/env bash
# Installs what the tests need and a fresh Debian machine lacks: psql and
# a PostgreSQL server (the slt runner's own tests), and the driver
# matrix's clients: Debian's python3-psycopg2, libpostgresql-jdbc-java
# with a headless JDK, node.js, and node-postgres from npm into
# tests/drivers/node/node_modules (git-ignored). Run as root (or with
# sudo available); `make deps` runs it, and so does .ci/run.
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  need+=(postgresql)
fi
/usr/bin/python3 -c 'import psycopg2' >/dev/null 2>&1 || need+=(python3-psycopg2)
[ -f /usr/share/java/postgresql.jar ] || need+=(libpostgresql-jdbc-java)
command -v java >/dev/null 2>&1 || need+=(default-jdk-headless)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "deps: installing ${need[*]}"
  start=$(date +%s)
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  echo "deps: apt-get took $(($(date +%s) - start))s"
fi
if [ ! -f tests/drivers/node/node_modules/pg-copy-streams/package.json ] ||
   [ ! -f tests/drivers/node/node_modules/pg-cursor/package.json ] ||
   [ ! -f tests/drivers/node/node_modules/pg/package.json ]; then
  echo "deps: npm ci in tests/drivers/node"
  (cd tests/drivers/node && npm ci --no-audit --no-fund --loglevel=error)
fi
