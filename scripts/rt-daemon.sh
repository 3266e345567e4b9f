#!/bin/bash
# rt-daemon.sh: the daemon's own control loop, in process or isolated (executor.isolate),
# measured from its Prometheus period-error histogram while it runs skills for SECONDS,
# optionally beside an MQTT command flood (4 mosquitto_pub clients publishing cmd/run as
# fast as the embedded broker lets them; each is cut off after 1000 drops in a second and
# starts again). docs/realtime.md gives the method and the figures.
#
# usage: scripts/rt-daemon.sh [--isolate] [--flood] [--seconds N] [--rate HZ]
set -euo pipefail
isolate=false flood=false secs=20 rate=1000
while [ $# -gt 0 ]; do
  case $1 in
    --isolate) isolate=true ;;
    --flood) flood=true ;;
    --seconds) secs=$2; shift ;;
    --rate) rate=$2; shift ;;
    *) echo "usage: $0 [--isolate] [--flood] [--seconds N] [--rate HZ]" >&2; exit 2 ;;
  esac
  shift
done
cd "$(dirname "$0")/.."
[ -x bin/praxis ] || make -s build
dir=$(mktemp -d)
pids=()
# Every child runs in a process group of its own (setsid): killing the group takes the
# flood's pipelines (yes | mosquitto_pub) and the daemon's control process with it.
cleanup() { for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
mport=$((20000 + RANDOM % 20000)); hport=$((mport + 1))
cat > "$dir/cfg.yaml" <<CFG
robot_id: rt
mqtt: {listen: 127.0.0.1:$mport}
web: {enabled: false}
metrics: {listen: 127.0.0.1:$hport}
executor: {rate_hz: $rate, isolate: $isolate}
CFG
setsid bin/praxis serve --config "$dir/cfg.yaml" --data "$dir/data" >"$dir/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q 'msg=serving' "$dir/serve.log" && break; sleep 0.1; done
pw=$(awk '/username: operator/{getline; print $2}' "$dir/data/mqtt-credentials.yaml")
if $flood; then
  for i in 1 2 3 4; do
    setsid bash -c "while :; do yes '{\"id\":\"flood\",\"skill\":\"no-such-skill\"}' |
       mosquitto_pub -h 127.0.0.1 -p $mport -u operator -P '$pw' -i flood$i -q 0 -t praxis/rt/cmd/run -l 2>/dev/null; done" &
    pids+=($!)
  done
fi
hist() { curl -s "http://127.0.0.1:$hport/metrics" | awk '/^praxis_control_period_error_seconds_bucket/{gsub(/.*le="/,""); gsub(/"}/," "); print}'; }
hist > "$dir/before"
end=$((SECONDS + secs)); runs=0 ok=0
while [ $SECONDS -lt $end ]; do
  runs=$((runs + 1))
  if bin/praxis run wave --data "$dir/data" --robot rt --broker tcp://127.0.0.1:$mport --duration 3 >/dev/null 2>&1; then ok=$((ok + 1)); fi
done
hist > "$dir/after"
echo "isolate=$isolate flood=$flood rate=$rate Hz seconds=$secs load=$(cut -d' ' -f1 /proc/loadavg) runs=$ok/$runs succeeded"
paste "$dir/before" "$dir/after" | awk '
  { le[NR]=$1; n[NR]=$4-$2 } END {
    tot=n[NR]; printf "paced ticks %d (cumulative per bucket)\n", tot
    prev=0
    for (i=1;i<=NR;i++) { printf "  <= %-7s %9d  %7.3f%%\n", le[i], n[i], 100*n[i]/tot }
    for (i=1;i<=NR;i++) if (n[i] >= 0.99*tot) { printf "p99 <= %s s\n", le[i]; break }
    for (i=1;i<=NR;i++) if (le[i]=="0.002") printf "over 2 ms: %d ticks\n", tot-n[i]
  }'
