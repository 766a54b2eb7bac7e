#!/usr/bin/env bash
# tests/slurm/start.sh — bring up a throwaway single-node Slurm cluster on this
# machine for tunix-rt's Slurm integration tests.
#
# Usage:  tests/slurm/start.sh [DIR]
#         DIR defaults to ${TUNIX_SLURM_DIR:-/tmp/tunix-slurm}.
#         Then:  source DIR/env   (exports SLURM_CONF=DIR/slurm.conf)
#         Tear down with tests/slurm/stop.sh DIR.
#
# What it does (must run as root; no systemd needed):
#   - installs slurmctld slurmd slurm-client munge with apt-get if missing;
#   - stops the daemons a previous start.sh recorded in DIR/pids, then wipes
#     DIR and starts clean (Slurm keeps node DRAIN states in StateSaveLocation);
#   - starts munged unless it is already running (/run/munge/munged.pid alive);
#   - writes DIR/slurm.conf (one node, the short hostname, advertising CPUs=8,
#     partition "debug"), starts slurmctld and slurmd as root with it;
#   - records every daemon it started in DIR/pids ("name pid" per line);
#   - waits (<= 30 s) for sinfo to show the node idle and prints the time taken.
#
# Layout under DIR: slurm.conf env pids jobcomp.txt state/ spool/ run/ log/
#
# Environment:
#   TUNIX_SLURM_DIR          default DIR
#   TUNIX_SLURM_MIN_JOB_AGE  MinJobAge in seconds (default 300): how long
#                            finished jobs stay visible to squeue/scontrol
#   TUNIX_SLURM_MSG_TIMEOUT  MessageTimeout (default 10, Slurm's). With the
#                            controller down, sbatch fails after about
#                            MessageTimeout-1 s and squeue/scontrol after twice
#                            that; `scontrol ping` fails at once.
#   TUNIX_SLURM_PORT         SlurmctldPort (SlurmdPort = +1); default 6817, or
#                            the first free pair from 16817 up if 6817/6818 are busy
#
# Exit codes:
#   0  cluster up; stdout's last line: "slurm: up in N.N s ..."
#   1  bug / unexpected error
#   2  usage error (bad DIR, DIR not ours to wipe)
#   3  skipped: Slurm cannot run here (not root, apt-get failed, daemons did not
#      start); one line "slurm: skipped: <why>" on stderr
set -euo pipefail

export PATH="$PATH:/usr/sbin:/sbin"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T0=$EPOCHREALTIME

# Daemons started so far; stopped again if start.sh fails half-way.
STARTED=0
skip() {
    trap - EXIT
    echo "slurm: skipped: $*" >&2
    cleanup_partial
    exit 3
}
die() { # message [exit code, default 1]
    trap - EXIT
    echo "slurm: error: $1" >&2
    cleanup_partial
    exit "${2:-1}"
}
cleanup_partial() {
    if [[ $STARTED == 1 && -s "${DIR:-}/pids" ]]; then
        "$HERE/stop.sh" "$DIR" >/dev/null 2>&1 || true
    fi
}
trap 'rc=$?; if [[ $rc != 0 ]]; then echo "slurm: error: start.sh failed (exit $rc)" >&2; cleanup_partial; fi' EXIT

[[ $# -le 1 ]] || die "usage: $0 [DIR]" 2
DIR=${1:-${TUNIX_SLURM_DIR:-/tmp/tunix-slurm}}
[[ $DIR == /* ]] || DIR="$PWD/$DIR"
DIR=${DIR%/}
[[ -n $DIR ]] || die "refusing DIR=/" 2
MARKER="$DIR/.tunix-slurm"

[[ $(id -u) == 0 ]] || skip "not root (slurmd and munged need root)"

# --- previous run: stop its daemons, wipe its state -------------------------
if [[ -e $DIR ]]; then
    if [[ -n $(ls -A "$DIR" 2>/dev/null) && ! -e $MARKER ]]; then
        die "$DIR exists, is not empty and was not made by start.sh; refusing to wipe it" 2
    fi
    "$HERE/stop.sh" "$DIR" >/dev/null
    rm -rf "$DIR"
fi
mkdir -p "$DIR"/{state,spool,run,log}
: >"$MARKER"

# --- packages ----------------------------------------------------------------
missing() {
    local c
    for c in sbatch squeue scontrol sinfo slurmctld slurmd munged; do
        command -v "$c" >/dev/null || return 0
    done
    return 1
}
if missing; then
    pkgs=(slurmctld slurmd slurm-client munge)
    export DEBIAN_FRONTEND=noninteractive
    apt_install() { apt-get install -y --no-install-recommends "${pkgs[@]}" >>"$DIR/log/apt.log" 2>&1; }
    if ! apt_install; then
        apt-get update >>"$DIR/log/apt.log" 2>&1 || true
        apt_install || skip "apt-get install ${pkgs[*]} failed (see $DIR/log/apt.log: $(tail -n1 "$DIR/log/apt.log"))"
    fi
    missing && skip "installed ${pkgs[*]} but slurm/munge commands are still missing"
fi

# --- munge -------------------------------------------------------------------
# Alive and not a zombie: kill -0 succeeds on an exited daemon until init reaps it.
alive() {
    local st
    [[ -n ${1:-} ]] && st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [[ -n $st && $st != Z ]]
}
pid_in() { [[ -s $1 ]] && tr -dc '0-9' <"$1"; }
record() { echo "$1 $2" >>"$DIR/pids"; STARTED=1; }
# Wait up to $2 seconds for pid file $1 to name a live process; print the pid.
wait_pidfile() {
    local f=$1 deadline=$((SECONDS + $2)) p
    while ((SECONDS <= deadline)); do
        p=$(pid_in "$f" || true)
        if alive "$p"; then echo "$p"; return 0; fi
        sleep 0.1
    done
    return 1
}

if ! alive "$(pid_in /run/munge/munged.pid || true)"; then
    getent passwd munge >/dev/null || skip "no munge user (munge package broken?)"
    install -d -o munge -g munge -m 0755 /run/munge
    if [[ ! -s /etc/munge/munge.key ]]; then
        install -d -o munge -g munge -m 0700 /etc/munge
        runuser -u munge -- mungekey --create >>"$DIR/log/munged.out" 2>&1 ||
            skip "mungekey --create failed: $(tail -n1 "$DIR/log/munged.out")"
    fi
    rm -f /run/munge/munged.pid
    runuser -u munge -- /usr/sbin/munged </dev/null >>"$DIR/log/munged.out" 2>&1 ||
        skip "munged did not start: $(tail -n1 "$DIR/log/munged.out")"
    pid=$(wait_pidfile /run/munge/munged.pid 5) || skip "munged did not start (no live pid in /run/munge/munged.pid)"
    record munged "$pid"
fi
munge -n 2>/dev/null | unmunge >/dev/null 2>&1 || skip "munge -n | unmunge fails (munged not working)"

# --- slurm.conf --------------------------------------------------------------
HOST=$(hostname -s)
read -r NODE_MEM < <(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
[[ -n ${NODE_MEM:-} ]] || skip "slurmd -C printed no RealMemory"
CPUS=8
MIN_JOB_AGE=${TUNIX_SLURM_MIN_JOB_AGE:-300}
MSG_TIMEOUT=${TUNIX_SLURM_MSG_TIMEOUT:-10}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [[ -n ${TUNIX_SLURM_PORT:-} ]]; then
    PORT=$TUNIX_SLURM_PORT
else
    PORT=6817
    while port_busy "$PORT" || port_busy $((PORT + 1)); do
        ((PORT == 6817)) && PORT=16817 || PORT=$((PORT + 2))
        ((PORT < 16917)) || skip "no free port pair in 16817-16916"
    done
fi

cat >"$DIR/slurm.conf" <<EOF
# Written by tests/slurm/start.sh — a throwaway single-node test cluster.
ClusterName=tunix
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# Job credentials expire after 10 s (default 120 s): a requeued job may only
# start again on the same node once its old credential has expired.
AuthInfo=cred_expire=10
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/jobcomp.txt
MailProg=/bin/true
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,sched_interval=2,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
# Jobs without --mem get this much, so 8 of them fit on the node at once.
DefMemPerCPU=$((NODE_MEM / CPUS))
# Trust slurm.conf over the hardware: advertise $CPUS CPUs on any machine.
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=$MIN_JOB_AGE
KillWait=5
MessageTimeout=$MSG_TIMEOUT
InactiveLimit=0
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$NODE_MEM State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF

printf 'export SLURM_CONF=%q\nexport TUNIX_SLURM_DIR=%q\n' "$DIR/slurm.conf" "$DIR" >"$DIR/env"
export SLURM_CONF="$DIR/slurm.conf"

# --- daemons -----------------------------------------------------------------
# Both daemonize; their stdio goes to files so a caller reading start.sh's
# output through a pipe is not kept waiting by them.
start_daemon() { # name pidfile
    local name=$1 pidfile=$2 pid
    "$name" -f "$SLURM_CONF" </dev/null >>"$DIR/log/$name.out" 2>&1 ||
        skip "$name did not start: $(tail -n1 "$DIR/log/$name.out" "$DIR/log/$name.log" 2>/dev/null | grep -v '^==> ' | grep . | tail -n1)"
    pid=$(wait_pidfile "$pidfile" 10) ||
        skip "$name exited at start: $(tail -n1 "$DIR/log/$name.log" 2>/dev/null)"
    record "$name" "$pid"
}
start_daemon slurmctld "$DIR/run/slurmctld.pid"
start_daemon slurmd "$DIR/run/slurmd.pid"

# --- wait for the node -------------------------------------------------------
deadline=$((SECONDS + 30))
state=
while :; do
    state=$(sinfo -h -n "$HOST" -o %T 2>/dev/null || true)
    [[ $state == idle ]] && break
    while read -r name pid; do
        alive "$pid" || skip "$name (pid $pid) died: $(tail -n1 "$DIR/log/$name.log" 2>/dev/null)"
    done <"$DIR/pids"
    ((SECONDS < deadline)) || skip "node $HOST not idle after 30 s (state: ${state:-none}); see $DIR/log/"
    sleep 0.2
done

elapsed=$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
echo "slurm: up in $elapsed s (node $HOST idle, ${CPUS} CPUs, port $PORT); source $DIR/env"
