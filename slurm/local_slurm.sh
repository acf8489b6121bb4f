#!/usr/bin/env bash
# slurm/local_slurm.sh — a real single-node Slurm on loopback, for the tests and for trying
# `lowbit submit` on one machine. No systemd, no cgroups, no slurmdbd; everything (config, munge
# key and socket, state, spool, logs, pid files) lives under one scratch folder.
#
#   slurm/local_slurm.sh install   apt-get install slurmctld slurmd slurm-client munge (idempotent)
#   slurm/local_slurm.sh start     write the config, start munged, slurmctld and slurmd; wait until
#                                  the node is idle; prints `export SLURM_CONF=...`
#   slurm/local_slurm.sh status    scontrol ping + sinfo
#   slurm/local_slurm.sh stop      stop the three daemons by their pid files
#
# Environment: LOWBIT_SLURM_DIR (scratch folder, default /tmp/lowbit-slurm), LOWBIT_SLURM_CPUS
# (CPUs the node advertises, default 4: more than the cores is allowed, so 2-rank jobs run on a
# 2-core machine), LOWBIT_SLURM_MEM (MiB, default 4096), LOWBIT_SLURM_PARTITION (default `debug`,
# MaxNodes=1). Ports are chosen free at start, so several instances (one per scratch folder) can
# run side by side. Must run as root (SlurmUser=root). After `start`, clients need
#   export SLURM_CONF=$LOWBIT_SLURM_DIR/etc/slurm.conf      (or: source $LOWBIT_SLURM_DIR/env)
set -u
DIR=${LOWBIT_SLURM_DIR:-/tmp/lowbit-slurm}
CPUS=${LOWBIT_SLURM_CPUS:-4}
MEM=${LOWBIT_SLURM_MEM:-4096}
PART=${LOWBIT_SLURM_PARTITION:-debug}
CONF=$DIR/etc/slurm.conf
export SLURM_CONF=$CONF

die() { echo "local_slurm: $*" >&2; exit 1; }

free_port() {  # a TCP port nothing listens on (asks the kernel for one)
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2> /dev/null; }

cmd_install() {
  if command -v slurmctld > /dev/null && command -v slurmd > /dev/null && command -v sbatch > /dev/null &&
     command -v munged > /dev/null; then
    echo "local_slurm: slurmctld, slurmd, slurm-client and munge are installed"
    return 0
  fi
  [ "$(id -u)" -eq 0 ] || die "install needs root (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 \
    slurmctld slurmd slurm-client munge > /dev/null || die "apt-get install of the Slurm packages failed"
  echo "local_slurm: installed $(slurmctld -V 2> /dev/null)"
}

write_config() {
  local ctld_port=$1 d_port=$2
  mkdir -p "$DIR"/{etc,state,spool/slurmd,log,run,munge}
  : > "$DIR/etc/plugstack.conf"
  cat > "$CONF" << EOF
# written by slurm/local_slurm.sh: one node on loopback, state under $DIR
ClusterName=lowbit-local
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/slurmd
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
EnforcePartLimits=ALL
MailProg=/bin/true
MinJobAge=600
PlugStackConfig=$DIR/etc/plugstack.conf
SlurmdParameters=config_overrides
SchedulerParameters=sched_interval=2
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=$PART Nodes=localhost Default=YES MaxNodes=1 MaxTime=INFINITE State=UP
EOF
  cat > "$DIR/env" << EOF
export SLURM_CONF=$CONF
EOF
}

cmd_start() {
  [ "$(id -u)" -eq 0 ] || die "start needs root (SlurmUser=root)"
  command -v slurmctld > /dev/null || die "Slurm is not installed: run $0 install"
  if pid_alive "$DIR/run/slurmctld.pid"; then
    echo "local_slurm: already running under $DIR"
    echo "export SLURM_CONF=$CONF"
    return 0
  fi
  write_config "$(free_port)" "$(free_port)"
  # munge: its own key and socket
  if [ ! -s "$DIR/munge/munge.key" ]; then
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1 count=1024 status=none
    chmod 400 "$DIR/munge/munge.key"
  fi
  chmod 700 "$DIR/munge"
  munged --force --key-file="$DIR/munge/munge.key" --socket="$DIR/munge/munge.socket" \
    --pid-file="$DIR/run/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munge.seed" \
    || die "munged did not start (log: $DIR/log/munged.log)"
  slurmctld -i -f "$CONF" || die "slurmctld did not start (log: $DIR/log/slurmctld.log)"
  slurmd -N localhost -f "$CONF" || die "slurmd did not start (log: $DIR/log/slurmd.log)"
  local i
  for i in $(seq 1 120); do
    if scontrol ping 2> /dev/null | grep -q UP && sinfo -h -N -o %t 2> /dev/null | grep -qx 'idle'; then
      echo "local_slurm: up under $DIR ($CPUS CPUs, partition $PART)"
      echo "export SLURM_CONF=$CONF"
      return 0
    fi
    sleep 0.5
  done
  cmd_status
  die "the node did not become idle within 60 s (logs: $DIR/log)"
}

cmd_stop() {
  local f pid i
  for f in slurmd slurmctld munged; do
    pid_alive "$DIR/run/$f.pid" || continue
    pid=$(cat "$DIR/run/$f.pid")
    kill "$pid" 2> /dev/null
    for i in $(seq 1 60); do kill -0 "$pid" 2> /dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2> /dev/null && kill -9 "$pid" 2> /dev/null
  done
  rm -f "$DIR"/run/*.pid
  echo "local_slurm: stopped ($DIR)"
}

cmd_status() {
  if ! pid_alive "$DIR/run/slurmctld.pid"; then echo "local_slurm: not running ($DIR)"; return 1; fi
  scontrol ping
  sinfo
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 {install|start|stop|status}   (state under \$LOWBIT_SLURM_DIR, default /tmp/lowbit-slurm)" >&2; exit 2 ;;
esac
