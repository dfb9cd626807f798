#!/usr/bin/env bash
# Boot a throwaway Debian 12 with systemd as PID 1 under systemd-nspawn, so
# the role can be converged and verified against a real init system on a
# machine that has neither Docker nor systemd as its own PID 1.
#
#   nspawn-host.sh rootfs                 build (or reuse) the cached rootfs
#   nspawn-host.sh up NAME PORT PUBKEY    boot NAME, sshd on 127.0.0.1:PORT
#   nspawn-host.sh down NAME              power NAME off and clean up
#
# The root filesystem is made once with debootstrap and kept as a tarball in
# the cache directory; later runs unpack it (or reuse the unpacked tree).
# Containers boot with --volatile=overlay, so every change a test makes lives
# in a throwaway layer and the cached tree is never modified.
#
# The container shares the host's network namespace: its sshd listens on a
# loopback port of the host, and its 127.0.0.1 is the host's 127.0.0.1.
set -euo pipefail

CACHE_DIR="${MARKETING_OPS_MOLECULE_CACHE:-/var/cache/marketing-ops-molecule}"
ROOTFS_DIR="$CACHE_DIR/rootfs"
ROOTFS_TARBALL="$CACHE_DIR/rootfs-bookworm.tar.zst"
RUN_DIR="$CACHE_DIR/run"
DEBIAN_MIRROR="${MARKETING_OPS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# python3-venv: the role installs the package into a venv on the target.
# acl: lets Ansible hand files to an unprivileged become_user.
ROOTFS_PACKAGES="systemd,systemd-sysv,dbus,python3,python3-venv,openssh-server,tzdata,iproute2,sudo,acl"

log() {
    printf 'nspawn-host: %s\n' "$*" >&2
}

die() {
    log "$*"
    exit 1
}

require_root() {
    if [[ $EUID -ne 0 ]]; then
        die "must run as root (systemd-nspawn and debootstrap need it)"
    fi
    command -v systemd-nspawn >/dev/null \
        || die "systemd-nspawn missing: apt-get install systemd-container"
}

# Debootstrap a minimal bookworm and prepare it for ssh-driven tests.
build_rootfs() {
    local staging="$ROOTFS_DIR.partial"

    command -v debootstrap >/dev/null \
        || die "debootstrap missing: apt-get install debootstrap"
    rm -rf "$staging"
    log "debootstrapping bookworm into $staging (about a minute, once)"
    debootstrap --variant=minbase --include="$ROOTFS_PACKAGES" \
        bookworm "$staging" "$DEBIAN_MIRROR" >"$CACHE_DIR/debootstrap.log" 2>&1 \
        || die "debootstrap failed, see $CACHE_DIR/debootstrap.log"

    echo molecule-marketing-ops >"$staging/etc/hostname"
    install -d -m 0700 "$staging/root/.ssh"
    # The authorized key and the sshd port are bind-mounted at boot (see
    # boot_container), so one tree serves every run and every port.
    : >"$staging/root/.ssh/authorized_keys"
    chmod 0600 "$staging/root/.ssh/authorized_keys"
    : >"$staging/etc/ssh/sshd_config.d/molecule.conf"
    ln -sf /dev/null "$staging/etc/systemd/system/console-getty.service"
    echo 'LANG=C.UTF-8' >"$staging/etc/default/locale"
    rm -f "$staging"/var/cache/apt/archives/*.deb

    tar --numeric-owner --xattrs --acls -C "$staging" -I 'zstd -T0 -3' \
        -cf "$ROOTFS_TARBALL.partial" .
    mv "$ROOTFS_TARBALL.partial" "$ROOTFS_TARBALL"
    mv "$staging" "$ROOTFS_DIR"
    touch "$ROOTFS_DIR/.marketing-ops-rootfs-ready"
}

unpack_rootfs() {
    local staging="$ROOTFS_DIR.partial"

    log "unpacking cached $ROOTFS_TARBALL"
    rm -rf "$staging"
    mkdir -p "$staging"
    tar --numeric-owner --xattrs --acls -C "$staging" -I zstd -xf "$ROOTFS_TARBALL"
    mv "$staging" "$ROOTFS_DIR"
    touch "$ROOTFS_DIR/.marketing-ops-rootfs-ready"
}

cmd_rootfs() {
    require_root
    mkdir -p "$CACHE_DIR"
    if [[ -e "$ROOTFS_DIR/.marketing-ops-rootfs-ready" ]]; then
        return 0
    fi
    rm -rf "$ROOTFS_DIR"
    if [[ -f "$ROOTFS_TARBALL" ]]; then
        unpack_rootfs
    else
        build_rootfs
    fi
}

cgroup_dirs() {
    local name="$1"
    printf '%s\n' "/sys/fs/cgroup/systemd/$name" "/sys/fs/cgroup/unified/$name"
}

# Start nspawn in the background from a shell that first moves itself into
# the container's own cgroups; otherwise nspawn would place the container
# wherever the calling shell happens to live (the host's root cgroup).
boot_container() {
    local name="$1" port="$2" pubkey="$3" dir="$RUN_DIR/$1"
    local cgroup

    mkdir -p "$dir"
    install -m 0600 "$pubkey" "$dir/authorized_keys"
    cat >"$dir/sshd.conf" <<EOF
Port $port
ListenAddress 127.0.0.1
PermitRootLogin prohibit-password
PasswordAuthentication no
EOF
    for cgroup in $(cgroup_dirs "$name"); do
        if [[ -d "${cgroup%/*}" ]]; then
            mkdir -p "$cgroup"
        fi
    done

    # The inner script is meant to expand its own variables, not ours.
    # shellcheck disable=SC2016
    CGROUPS="$(cgroup_dirs "$name" | tr '\n' ' ')" \
    SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 \
    setsid bash -c '
        for cg in $CGROUPS; do
            if [[ -d "$cg" ]]; then echo $$ >"$cg/cgroup.procs"; fi
        done
        exec systemd-nspawn --boot --directory="$0" --machine="$1" \
            --register=no --keep-unit --console=passive --volatile=overlay \
            --bind-ro="$2/authorized_keys:/root/.ssh/authorized_keys" \
            --bind-ro="$2/sshd.conf:/etc/ssh/sshd_config.d/molecule.conf"
    ' "$ROOTFS_DIR" "$name" "$dir" </dev/null >"$dir/console.log" 2>&1 &
    echo $! >"$dir/nspawn.pid"
}

# PID 1 of the container is the nspawn process's child named systemd.
container_leader() {
    local nspawn_pid="$1"
    pgrep -P "$nspawn_pid" -x systemd | head -n 1
}

wait_until_ready() {
    local name="$1" port="$2" dir="$RUN_DIR/$1"
    local nspawn_pid leader="" state="" tries

    nspawn_pid="$(cat "$dir/nspawn.pid")"
    for tries in $(seq 1 200); do
        kill -0 "$nspawn_pid" 2>/dev/null \
            || die "nspawn exited while booting $name, see $dir/console.log"
        leader="$(container_leader "$nspawn_pid" || true)"
        if [[ -n "$leader" ]]; then
            state="$(timeout 5 nsenter -t "$leader" -a \
                systemctl is-system-running --wait 2>/dev/null || true)"
            if [[ "$state" == running || "$state" == degraded ]]; then
                break
            fi
        fi
        sleep 0.1
    done
    [[ "$state" == running || "$state" == degraded ]] \
        || die "$name did not finish booting (state '$state', $tries tries)"
    echo "$leader" >"$dir/leader.pid"

    for tries in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            log "$name is up (systemd $state, sshd on 127.0.0.1:$port)"
            return 0
        fi
        sleep 0.1
    done
    die "sshd of $name did not listen on 127.0.0.1:$port"
}

cmd_up() {
    local name="$1" port="$2" pubkey="$3"

    require_root
    [[ -r "$pubkey" ]] || die "public key $pubkey is not readable"
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "port $port is already taken on 127.0.0.1; pick another"
    fi
    cmd_rootfs
    boot_container "$name" "$port" "$pubkey"
    wait_until_ready "$name" "$port"
}

remove_cgroups() {
    local name="$1" cgroup

    for cgroup in $(cgroup_dirs "$name"); do
        if [[ -d "$cgroup" ]]; then
            find "$cgroup" -depth -type d -exec rmdir {} \; 2>/dev/null || true
        fi
    done
}

cmd_down() {
    local name="$1" dir="$RUN_DIR/$1" nspawn_pid tries

    require_root
    if [[ -f "$dir/nspawn.pid" ]]; then
        nspawn_pid="$(cat "$dir/nspawn.pid")"
        # SIGTERM makes nspawn ask the container's systemd to power off.
        if kill -TERM "$nspawn_pid" 2>/dev/null; then
            for tries in $(seq 1 100); do
                kill -0 "$nspawn_pid" 2>/dev/null || break
                sleep 0.1
            done
            if kill -0 "$nspawn_pid" 2>/dev/null; then
                log "$name did not power off within 10 s; killing it"
                kill -KILL "$nspawn_pid" 2>/dev/null || true
                sleep 0.5
            fi
        fi
    fi
    remove_cgroups "$name"
    rm -rf "$dir"
}

main() {
    local command="${1:-}"

    case "$command" in
        rootfs) cmd_rootfs ;;
        up)
            [[ $# -eq 4 ]] || die "usage: $0 up NAME PORT PUBKEY"
            cmd_up "$2" "$3" "$4"
            ;;
        down)
            [[ $# -eq 2 ]] || die "usage: $0 down NAME"
            cmd_down "$2"
            ;;
        *) die "usage: $0 rootfs | up NAME PORT PUBKEY | down NAME" ;;
    esac
}

main "$@"
