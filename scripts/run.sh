#!/usr/bin/env bash
# `make run`: prepare the data directory and secrets, then start every process in the Procfile.
set -euo pipefail
cd "$(dirname "$0")/.."
export DATA_DIR="${DATA_DIR:-$PWD/var}"
mkdir -p "$DATA_DIR/registry"

# Secrets generated once per installation and kept in the data directory (mode 0600).
secret() {
  [ -s "$1" ] || (umask 077 && .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(48))' > "$1")
  cat "$1"
}
export SECRET_KEY="${SECRET_KEY:-$(secret "$DATA_DIR/secret_key")}"
export REGISTRY_NOTIFICATION_SECRET="${REGISTRY_NOTIFICATION_SECRET:-$(secret "$DATA_DIR/registry/notification_secret")}"

# Links in emails (invitations, password resets) point at the admin as people reach it.
export ADMIN_PUBLIC_URL="${ADMIN_PUBLIC_URL:-http://${ADMIN_BIND:-127.0.0.1:8001}}"

.venv/bin/python manage.py setup_instance
exec .venv/bin/honcho -f Procfile start
