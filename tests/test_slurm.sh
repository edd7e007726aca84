#!/usr/bin/env bash
# A real Slurm submission of a sweep (docs/sweeps.md, "Slurm"): starts a private single-node Slurm
# (its own munged, slurmctld and slurmd on a private socket, ports and spool in a temporary directory,
# so nothing of a system Slurm is touched), submits `lmrnn sweep --emit slurm --submit`, waits for the
# array, and checks that every run was done exactly once by its own array task, with training
# bit-identical to the same plan run locally; a second submission skips every finished run; `--report`
# aggregates the array's runs. Needs root and Debian's slurm-wlm + munge (scripts/install-deps.sh
# installs them); without them it says why and counts one failure, since the test cannot vouch for the
# Slurm path.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
lmrnn=$here/build/lmrnn
passed=0; failed=0
check() { # check DESCRIPTION COMMAND...
    if "${@:2}"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $1"; fi
}
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

for tool in munged mungekey slurmctld slurmd sbatch squeue sinfo scontrol; do
    if ! command -v "$tool" > /dev/null; then
        echo "FAIL: $tool not found: install slurm-wlm and munge (scripts/install-deps.sh)"; failed=1; finish
    fi
done
if [ "$(id -u)" -ne 0 ]; then
    echo "FAIL: a private slurmd must run as root; run as root"; failed=1; finish
fi

work=$(mktemp -d /tmp/lmrnn-slurm.XXXXXX)
host=$(hostname -s)
port=$((20000 + RANDOM % 20000))
export SLURM_CONF=$work/slurm.conf
cleanup() {
    scontrol shutdown > /dev/null 2>&1
    for f in slurmctld.pid slurmd.pid munged.pid; do
        [ -s "$work/$f" ] && kill "$(cat "$work/$f")" 2> /dev/null
    done
    sleep 1
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/state" "$work/spool" "$work/log"
mungekey --create --keyfile="$work/munge.key" > /dev/null 2>&1
chmod 600 "$work/munge.key"
munged --force --socket="$work/munge.sock" --key-file="$work/munge.key" --pid-file="$work/munged.pid" \
    --log-file="$work/log/munged.log" --seed-file="$work/munged.seed" 2> "$work/log/munged.err"
cat > "$SLURM_CONF" <<EOF
ClusterName=lmrnn-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$work/munge.sock
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
SlurmctldPort=$port
SlurmdPort=$((port + 1))
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -f "$SLURM_CONF" && slurmd -f "$SLURM_CONF"
up=0
for _ in $(seq 1 60); do
    sinfo -h -o %T 2> /dev/null | grep -q idle && { up=1; break; }
    sleep 1
done
check "private Slurm came up (logs: $work/log)" test "$up" -eq 1
[ "$up" -eq 1 ] || { tail -5 "$work"/log/*; finish; }

plan=$work/plan.json
cat > "$plan" <<EOF
{"name": "slurm", "base": {"battery": "yang20", "hidden": 16, "batch": 2, "window": 50, "steps": 30,
 "eval_every": 10, "eval_trials": 2, "checkpoint_every": 10},
 "grid": {"lr": [0.001, 0.01]}, "zip": {"mask": ["diag", "full"]}}
EOF
nruns=4

# Waits until the array has left the queue (at most 5 minutes).
wait_queue() {
    for _ in $(seq 1 300); do
        [ -z "$(squeue -h 2> /dev/null)" ] && return 0
        sleep 1
    done
    return 1
}
# The loss of every eval record of a run's log: equal text = bit-identical training.
losses() { grep '"kind":"eval"' "$1/log.jsonl" | grep -o '"loss":[^,}]*'; }

"$lmrnn" sweep "$plan" --out "$work/local" --jobs 1 --quiet > "$work/local.log" 2>&1
check "the local reference sweep ran" test $? -eq 0

"$lmrnn" sweep "$plan" --out "$work/sw" --emit slurm --submit > "$work/submit.log" 2>&1
check "--emit slurm --submit submitted the array" grep -q "Submitted batch job" "$work/submit.log"
check "the array finished within 5 minutes" wait_queue
check "one Slurm output file per array task" test "$(ls "$work/sw/slurm" | wc -l)" -eq "$nruns"
for rd in "$work"/local/runs/*; do
    id=$(basename "$rd")
    check "$id done under Slurm" test -f "$work/sw/runs/$id/DONE"
    check "$id started exactly once" test "$(grep -c '### lmrnn experiment: start' "$work/sw/runs/$id/stdout.log")" -eq 1
    check "$id trained bit-identically to the local run" \
        test "$(losses "$work/sw/runs/$id")" = "$(losses "$rd")" -a -n "$(losses "$rd")"
done
check "the sweep had $nruns runs" test "$(ls "$work/local/runs" | wc -l)" -eq "$nruns"

# A second submission: every task finds its run finished and does not start it again.
"$lmrnn" sweep "$plan" --out "$work/sw" --emit slurm --submit > "$work/submit2.log" 2>&1
check "the array finished again" wait_queue
starts=$(cat "$work"/sw/runs/*/stdout.log | grep -c '### lmrnn experiment: start')
check "a re-submitted array starts no finished run ($starts starts)" test "$starts" -eq "$nruns"

"$lmrnn" sweep "$plan" --report "$work/sw" > "$work/report.log" 2>&1
check "--report aggregates the array's runs" test $? -eq 0 -a -s "$work/sw/report/summary.md"
check "the report lists every run" test "$(tail -n +2 "$work/sw/report/runs.csv" | wc -l)" -eq "$nruns"
finish
