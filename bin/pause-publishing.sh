#!/usr/bin/env bash
# Stop all publishing now: creates config/STOP_ALL with the reason, who and
# when, and records PUBLISHING_PAUSED in the ledger. Runs already under way
# stop before their next post. Undo with resume-publishing.sh.
#
#   pause-publishing.sh "reason in a few words"
set -euo pipefail
# shellcheck source=bin/common.sh
source "$(dirname "$(readlink -f "$0")")/common.sh"

main() {
    if [[ $# -ne 1 || -z "${1// /}" ]]; then
        die "usage: $SCRIPT_NAME \"reason in a few words\""
    fi
    require_writable_config
    run_cli pause "$1"
}

main "$@"
