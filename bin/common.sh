#!/usr/bin/env bash
# Shared by the operator scripts in this folder; sourced, not run.
#
# Where things are, overridable for a non-standard install:
#   MARKETING_OPS_BIN         the marketing-ops command
#   MARKETING_OPS_CONFIG_DIR  configuration folder
#   MARKETING_OPS_STATE_DIR   state folder (ledger)
#   MARKETING_OPS_USER        the services' user
#   MARKETING_OPS_UNIT_DIR    where the systemd units live

MARKETING_OPS_CONFIG_DIR="${MARKETING_OPS_CONFIG_DIR:-/opt/marketing-ops/config}"
MARKETING_OPS_STATE_DIR="${MARKETING_OPS_STATE_DIR:-/var/lib/marketing-ops}"
MARKETING_OPS_USER="${MARKETING_OPS_USER:-marketing-ops}"
MARKETING_OPS_UNIT_DIR="${MARKETING_OPS_UNIT_DIR:-/etc/systemd/system}"
MARKETING_OPS_AGENTS=(orchestrator community partnerships)
export MARKETING_OPS_CONFIG_DIR MARKETING_OPS_STATE_DIR

SCRIPT_NAME="$(basename "$0")"

die() {
    printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2
    exit 1
}

# The CLI: $MARKETING_OPS_BIN, else the server's venv, else PATH.
find_cli() {
    local candidate

    for candidate in "${MARKETING_OPS_BIN:-}" \
        /opt/marketing-ops/venv/bin/marketing-ops; do
        if [[ -n "$candidate" && -x "$candidate" ]]; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    if command -v marketing-ops >/dev/null 2>&1; then
        command -v marketing-ops
        return 0
    fi
    die "cannot find the marketing-ops command; set MARKETING_OPS_BIN or install it in /opt/marketing-ops/venv"
}

require_root() {
    if [[ $EUID -ne 0 ]]; then
        die "must run as root ($1); try: sudo $0"
    fi
}

require_writable_config() {
    if [[ ! -d "$MARKETING_OPS_CONFIG_DIR" ]]; then
        die "configuration folder $MARKETING_OPS_CONFIG_DIR does not exist; set MARKETING_OPS_CONFIG_DIR"
    fi
    if [[ ! -w "$MARKETING_OPS_CONFIG_DIR" ]]; then
        die "cannot write to $MARKETING_OPS_CONFIG_DIR; run as root (sudo $0) or as its owner"
    fi
}

# Run the CLI; the ledger entry it writes must stay writable by the
# services. Run as root, the CLI could create the ledger (or its journal
# files) owned by root, and the next timer run, as the service user, could
# no longer record anything. So hand anything root made back to that user.
run_cli() {
    local cli status=0

    cli="$(find_cli)"
    "$cli" "$@" || status=$?
    if [[ $EUID -eq 0 && -d "$MARKETING_OPS_STATE_DIR" ]] \
        && id -u "$MARKETING_OPS_USER" >/dev/null 2>&1; then
        find "$MARKETING_OPS_STATE_DIR" -user root \
            -exec chown "$MARKETING_OPS_USER:$MARKETING_OPS_USER" {} +
    fi
    return "$status"
}

timer_units() {
    local agent

    for agent in "${MARKETING_OPS_AGENTS[@]}"; do
        printf 'marketing-%s.timer\n' "$agent"
    done
}
