#!/usr/bin/env bash
# tests/slurm/stop.sh — tear down the test cluster that tests/slurm/start.sh
# brought up in DIR.
#
# Usage:  tests/slurm/stop.sh [DIR]
#         DIR defaults to ${TUNIX_SLURM_DIR:-/tmp/tunix-slurm}.
#
# Cancels the cluster's jobs while its slurmctld still answers (so no job
# processes outlive slurmd), then stops exactly the daemons listed in DIR/pids
# ("name pid" per line): SIGTERM, up to 10 s grace, then SIGKILL. It never
# looks processes up by name; a pid whose /proc/PID/comm no longer matches the
# recorded name (pid reused) is left alone. munged is only in DIR/pids when
# start.sh started it, so a munged that was already running keeps running.
# DIR (logs, state) is kept for inspection; DIR/pids becomes DIR/pids.stopped,
# so running stop.sh twice is harmless.
#
# Exit codes: 0 stopped (or nothing to stop), 1 a recorded daemon survived SIGKILL,
#             2 usage error.
set -uo pipefail

export PATH="$PATH:/usr/sbin:/sbin"
[[ $# -le 1 ]] || { echo "usage: $0 [DIR]" >&2; exit 2; }
DIR=${1:-${TUNIX_SLURM_DIR:-/tmp/tunix-slurm}}
DIR=${DIR%/}
PIDS="$DIR/pids"

if [[ ! -s $PIDS ]]; then
    echo "slurm: nothing to stop in $DIR"
    exit 0
fi

# "name pid" lines whose process is still that daemon.
live=()
while read -r name pid; do
    [[ -n ${pid:-} ]] || continue
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
    [[ $comm == "$name" ]] && live+=("$name $pid")
done <"$PIDS"

# Alive and not a zombie (an unreaped zombie still answers kill -0).
running() { local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [[ $st != Z ]]; }

is_live() { # name
    local e
    for e in "${live[@]}"; do [[ ${e%% *} == "$1" ]] && return 0; done
    return 1
}

# Cancel the jobs first: slurmd leaves running job steps behind when it stops.
# (Skipped when munged is gone: every client command would hang in munge retries.)
munged_pid=$(tr -dc '0-9' </run/munge/munged.pid 2>/dev/null)
if is_live slurmctld && [[ -f $DIR/slurm.conf && -n $munged_pid ]] && running "$munged_pid"; then
    export SLURM_CONF="$DIR/slurm.conf"
    if [[ -n $(timeout 5 squeue -h -o %A 2>/dev/null) ]]; then
        timeout 5 scancel --partition=debug >/dev/null 2>&1
        for _ in $(seq 50); do # up to 10 s for the job processes to end
            [[ -z $(timeout 5 squeue -h -t RUNNING,COMPLETING,SUSPENDED -o %A 2>/dev/null) ]] && break
            sleep 0.2
        done
    fi
fi

for e in "${live[@]}"; do kill -TERM "${e#* }" 2>/dev/null; done
for _ in $(seq 100); do # up to 10 s
    left=()
    for e in "${live[@]}"; do running "${e#* }" && left+=("$e"); done
    ((${#left[@]})) || break
    sleep 0.1
done
rc=0
for e in "${left[@]}"; do
    echo "slurm: ${e% *} (pid ${e#* }) ignored SIGTERM for 10 s; sending SIGKILL" >&2
    kill -KILL "${e#* }" 2>/dev/null
done
((${#left[@]})) && sleep 0.2
for e in "${left[@]}"; do
    if running "${e#* }"; then
        echo "slurm: ${e% *} (pid ${e#* }) survived SIGKILL" >&2
        rc=1
    fi
done

mv -f "$PIDS" "$PIDS.stopped"
echo "slurm: stopped ${#live[@]} daemon(s) from $DIR${live:+: ${live[*]}}"
exit $rc
