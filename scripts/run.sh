#!/usr/bin/env bash
# The first README command: set up and run the whole portal on this machine with no cloud account.
# Starts the local AWS stand-in (moto), the fake Azure Resource Manager, the demo OIDC identity provider,
# a Celery worker and beat, and the web server (gunicorn); seeds demo users, catalog and datasets.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh

RUN=${ENCLAVE_RUN_DIR:-$PWD/.run}
mkdir -p "$RUN/logs" "$RUN/broker" "$RUN/broker-processed" "$RUN/fake-arm" "${STATIC_ROOT:-$RUN/static}"
HOST=127.0.0.1
WEB_PORT=${ENCLAVE_PORT:-8000}
AWS_PORT=${ENCLAVE_AWS_PORT:-5000}
ARM_PORT=${ENCLAVE_ARM_PORT:-8443}
STUDIO_PORT=${ENCLAVE_STUDIO_PORT:-8444}
IDP_PORT=${ENCLAVE_IDP_PORT:-9000}
MAIL_PORT=${ENCLAVE_MAIL_PORT:-1025}
MAIL_WEB_PORT=${ENCLAVE_MAIL_WEB_PORT:-8025}
SAML_IDP_PORT=${ENCLAVE_SAML_IDP_PORT:-9100}

# Embedded defaults; anything already set in the environment wins.
export ENCLAVE_ENV=${ENCLAVE_ENV:-development}
export ENCLAVE_RUN_DIR=$RUN
export ENCLAVE_BASE_URL=${ENCLAVE_BASE_URL:-http://$HOST:$WEB_PORT}
export LOG_FORMAT=${LOG_FORMAT:-console}
export STATIC_ROOT=${STATIC_ROOT:-$RUN/static}  # empty in development (static files are served from static/)
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-demo-stand-in} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-demo-stand-in}
export AWS_REGION=${AWS_REGION:-eu-west-1} AWS_DEFAULT_REGION=${AWS_REGION:-eu-west-1}
export ENCLAVE_AWS_ENDPOINT_URL=${ENCLAVE_AWS_ENDPOINT_URL:-http://$HOST:$AWS_PORT}
export ENCLAVE_AZURE_ARM_ENDPOINT=${ENCLAVE_AZURE_ARM_ENDPOINT:-https://$HOST:$ARM_PORT}
export ENCLAVE_AZURE_CA_BUNDLE=${ENCLAVE_AZURE_CA_BUNDLE:-$RUN/fake-arm/fake-arm-ca.pem}
export ENCLAVE_AZURE_STATIC_TOKEN=${ENCLAVE_AZURE_STATIC_TOKEN:-demo-arm-token-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')}
# Azure ML studio stand-in: served by the fake ARM over plain HTTP on loopback, so the browser
# opens it without a certificate warning (ARM itself is HTTPS with a throw-away CA).
export ENCLAVE_AZURE_STUDIO_URL=${ENCLAVE_AZURE_STUDIO_URL:-http://$HOST:$STUDIO_PORT/studio}
export AZURE_TENANT_ID=${AZURE_TENANT_ID:-00000000-0000-4000-8000-000000000de0}
export ENCLAVE_OIDC_PROVIDERS=${ENCLAVE_OIDC_PROVIDERS:-demo}
export ENCLAVE_OIDC_DEMO_NAME=${ENCLAVE_OIDC_DEMO_NAME:-Demo IdP}
export ENCLAVE_OIDC_DEMO_ISSUER=${ENCLAVE_OIDC_DEMO_ISSUER:-http://$HOST:$IDP_PORT}
export ENCLAVE_OIDC_DEMO_CLIENT_ID=${ENCLAVE_OIDC_DEMO_CLIENT_ID:-enclave-demo}
export ENCLAVE_OIDC_DEMO_CLIENT_SECRET=${ENCLAVE_OIDC_DEMO_CLIENT_SECRET:-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}
export ENCLAVE_OIDC_DEMO_SUBJECT_CLAIM=${ENCLAVE_OIDC_DEMO_SUBJECT_CLAIM:-oid}  # the demo IdP plays Entra ID
export ENCLAVE_ENTRA_PROVIDER=${ENCLAVE_ENTRA_PROVIDER:-demo}
export EMAIL_URL=${EMAIL_URL:-smtp://$HOST:$MAIL_PORT}
export ENCLAVE_DEMO_MAILBOX_URL=${ENCLAVE_DEMO_MAILBOX_URL:-http://$HOST:$MAIL_WEB_PORT}

PY=.venv/bin/python
pids=()
GRACE=${ENCLAVE_STOP_GRACE:-4}
cleanup() {  # stop every component: TERM, a short grace period, then KILL; always exit 0 on Ctrl-C
  trap - INT TERM EXIT
  echo; echo "Stopping Enclave..."
  local pid alive
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 $((GRACE * 10))); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      echo "  $pid did not stop within ${GRACE}s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  wait 2>/dev/null || true
  echo "Stopped."
}
trap 'cleanup; exit 0' INT TERM
trap 'cleanup' EXIT

start() {  # start NAME CMD... — runs in the background, logs to .run/logs/NAME.log
  local name=$1; shift
  "$@" >"$RUN/logs/$name.log" 2>&1 &
  pids+=($!)
}

wait_port() {  # wait_port NAME PORT [tls] — tls: complete a TLS handshake, so the server logs no aborted one
  local probe="import socket; socket.create_connection(('$HOST', $2), 0.5).close()"
  if [ "${3:-}" = tls ]; then
    probe="import socket, ssl; c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE
c.wrap_socket(socket.create_connection(('$HOST', $2), 2)).close()"
  fi
  for _ in $(seq 1 100); do
    if $PY -c "$probe" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "!!! $1 did not start on port $2; see $RUN/logs/$1.log" >&2; tail -20 "$RUN/logs/$1.log" >&2; exit 1
}

echo "==> database and demo data"
$PY manage.py migrate --noinput >"$RUN/logs/migrate.log"
$PY manage.py seed_demo

echo "==> cloud stand-ins, the demo identity provider and mail catcher"
start aws-stand-in $PY -m devtools.moto_stand_in --host $HOST --port "$AWS_PORT" --seed-demo \
  --provision-delay "${ENCLAVE_DEMO_PROVISION_DELAY:-8}"
start fake-arm $PY -m devtools.fake_arm --host $HOST --port "$ARM_PORT" --cert-dir "$RUN/fake-arm" \
  --token "$ENCLAVE_AZURE_STATIC_TOKEN" --tenant-id "$AZURE_TENANT_ID" --delay "${ENCLAVE_DEMO_PROVISION_DELAY:-8}" --studio-port "$STUDIO_PORT"
start oidc-idp $PY -m devtools.oidc_idp --host $HOST --port "$IDP_PORT" \
  --client-id "$ENCLAVE_OIDC_DEMO_CLIENT_ID" --client-secret "$ENCLAVE_OIDC_DEMO_CLIENT_SECRET" \
  --redirect-uri "$ENCLAVE_BASE_URL/accounts/oidc/demo/login/callback/"
start mail-catcher $PY -m devtools.mail_catcher --host $HOST --smtp-port "$MAIL_PORT" --web-port "$MAIL_WEB_PORT" \
  --folder "$RUN/mail"
start saml-idp $PY -m devtools.saml_idp --host $HOST --port "$SAML_IDP_PORT" --cert-dir "$RUN/saml-idp" \
  --sp-entity-id "$ENCLAVE_BASE_URL/accounts/saml/demo-saml/metadata/" --acs-url "$ENCLAVE_BASE_URL/accounts/saml/demo-saml/acs/"
wait_port mail-catcher "$MAIL_WEB_PORT"; wait_port aws-stand-in "$AWS_PORT"; wait_port fake-arm "$ARM_PORT" tls; wait_port oidc-idp "$IDP_PORT"
wait_port saml-idp "$SAML_IDP_PORT"  # listening only once its signing certificate (new at every start) is written
# The demo SAML IdP as organisation demo-saml, the second sign-in option (docs/sso.md); set after migrate and
# seed_demo because its certificate exists only now, and read by the worker, beat and web started below.
export ENCLAVE_SAML_PROVIDERS=${ENCLAVE_SAML_PROVIDERS:-demo-saml}
export ENCLAVE_SAML_DEMO_SAML_NAME=${ENCLAVE_SAML_DEMO_SAML_NAME:-Demo SAML IdP}
export ENCLAVE_SAML_DEMO_SAML_IDP_ENTITY_ID=${ENCLAVE_SAML_DEMO_SAML_IDP_ENTITY_ID:-http://$HOST:$SAML_IDP_PORT/metadata}
export ENCLAVE_SAML_DEMO_SAML_IDP_SSO_URL=${ENCLAVE_SAML_DEMO_SAML_IDP_SSO_URL:-http://$HOST:$SAML_IDP_PORT/sso/redirect}
export ENCLAVE_SAML_DEMO_SAML_IDP_X509CERT=${ENCLAVE_SAML_DEMO_SAML_IDP_X509CERT:-$(grep -v CERTIFICATE "$RUN/saml-idp/saml-idp-signing.pem" | tr -d '\n')}
export ENCLAVE_SAML_DEMO_SAML_SP_ENTITY_ID=${ENCLAVE_SAML_DEMO_SAML_SP_ENTITY_ID:-$ENCLAVE_BASE_URL/accounts/saml/demo-saml/metadata/}
export ENCLAVE_SAML_DEMO_SAML_GROUPS_ATTR=${ENCLAVE_SAML_DEMO_SAML_GROUPS_ATTR:-http://schemas.microsoft.com/ws/2008/06/identity/claims/groups}

echo "==> Celery worker and beat, web server"
start worker $PY -m celery -A portal worker -l INFO -c 2 -Q "${CELERY_QUEUE:-enclave}"
start beat $PY -m celery -A portal beat -l INFO --scheduler django_celery_beat.schedulers:DatabaseScheduler \
  --pidfile "$RUN/beat.pid"
start web .venv/bin/gunicorn portal.wsgi:application --bind "$HOST:$WEB_PORT" --workers 2 --threads 4 \
  --access-logfile - --timeout 60 --control-socket "$RUN/gunicorn.ctl"
wait_port web "$WEB_PORT"

cat <<BANNER

  Enclave is running:  $ENCLAVE_BASE_URL

  Sign in with "Demo IdP" (single sign-on through the local OIDC provider), with "Demo SAML IdP"
  (sara.saml data scientist, adam.saml approver, aiko.saml auditor, nils.saml no role) or, as a fallback,
  with the local demo login. Password for every demo user: enclave-demo-2026
    sam.scientist   data scientist        olga.other     data scientist (another owner)
    alex.approver   approver              cara.admin     catalog admin
    aud.auditor     auditor               nora.nogroup   no role (sees the no-access page)

  E-mail the demo sends: $ENCLAVE_DEMO_MAILBOX_URL
  Logs: $RUN/logs/   Stop: Ctrl-C
BANNER
wait -n "${pids[@]}" || true
echo "!!! a component stopped; see $RUN/logs/" >&2
exit 1
