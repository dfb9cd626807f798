#!/usr/bin/env bash
# Switch the agents' timers off (stop and disable them) and record
# SCHEDULE_DISABLED in the ledger. A run already under way finishes; use
# pause-publishing.sh to stop publishing at once.
#
#   disable-schedule.sh
set -euo pipefail
# shellcheck source=bin/common.sh
source "$(dirname "$(readlink -f "$0")")/common.sh"

main() {
    local timers

    if [[ $# -ne 0 ]]; then
        die "usage: $SCRIPT_NAME (takes no arguments)"
    fi
    require_root "systemctl disable needs it"
    command -v systemctl >/dev/null || die "systemctl not found; this needs systemd"

    mapfile -t timers < <(timer_units)
    systemctl disable --now "${timers[@]}"
    run_cli log SCHEDULE_DISABLED "timers disabled: ${timers[*]}"
}

main "$@"
