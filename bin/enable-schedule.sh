#!/usr/bin/env bash
# Switch the agents' timers on: render the units from config/schedule.yaml
# if they are not installed yet, reload systemd, enable and start the
# timers, and record SCHEDULE_ENABLED in the ledger.
#
#   enable-schedule.sh
set -euo pipefail
# shellcheck source=bin/common.sh
source "$(dirname "$(readlink -f "$0")")/common.sh"

units_missing() {
    local agent

    for agent in "${MARKETING_OPS_AGENTS[@]}"; do
        if [[ ! -f "$MARKETING_OPS_UNIT_DIR/marketing-$agent.service" \
            || ! -f "$MARKETING_OPS_UNIT_DIR/marketing-$agent.timer" ]]; then
            return 0
        fi
    done
    return 1
}

main() {
    local timers

    if [[ $# -ne 0 ]]; then
        die "usage: $SCRIPT_NAME (takes no arguments)"
    fi
    require_root "systemctl enable needs it"
    command -v systemctl >/dev/null || die "systemctl not found; this needs systemd"

    if units_missing; then
        echo "Rendering the units into $MARKETING_OPS_UNIT_DIR"
        "$(find_cli)" render units --output-dir "$MARKETING_OPS_UNIT_DIR"
    fi
    systemctl daemon-reload

    mapfile -t timers < <(timer_units)
    systemctl enable --now "${timers[@]}"
    run_cli log SCHEDULE_ENABLED "timers enabled: ${timers[*]}"
    systemctl list-timers --no-pager "${timers[@]}"
}

main "$@"
