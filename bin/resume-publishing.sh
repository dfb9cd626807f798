#!/usr/bin/env bash
# Allow publishing again: removes config/STOP_ALL and records
# PUBLISHING_RESUMED in the ledger. PUBLISH_ENABLED in .env still applies.
#
#   resume-publishing.sh
set -euo pipefail
# shellcheck source=bin/common.sh
source "$(dirname "$(readlink -f "$0")")/common.sh"

main() {
    if [[ $# -ne 0 ]]; then
        die "usage: $SCRIPT_NAME (takes no arguments)"
    fi
    require_writable_config
    run_cli resume
}

main "$@"
