#!/usr/bin/env bash
# Create .venv (Python 3.11+) and install the pinned dependencies. Idempotent and quick when up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then PY=$candidate; break; fi
  done
fi
[ -n "$PY" ] || { echo "Enclave needs Python 3.11 or newer" >&2; exit 1; }
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.enclave-requirements
want=$(cat requirements.txt "$@" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.txt "${@/#/-r}"
  echo "$want" > "$stamp"
fi

# The demo SAML IdP (devtools/saml_idp, pysaml2) signs assertions with the xmlsec1 binary.
if ! command -v xmlsec1 >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing Debian's xmlsec1 for the demo SAML IdP"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xmlsec1) >/dev/null
  else
    echo "!!! xmlsec1 is missing and cannot be installed here: the demo SAML IdP cannot sign (apt-get install xmlsec1)" >&2
  fi
fi
