# Rendered by components/render.py, which prepends #!/bin/sh, set -eu, the variables and the lib.sh functions used here.
# preStop hook of a Redis node (Kubernetes runs it before sending SIGTERM). A replica just stops. The master
# hands its role over first: writes are paused (so none is acknowledged and then lost with the old role),
# a Sentinel is asked to SENTINEL FAILOVER, and once it names the promoted replica this node replicates
# from it, so paused and new writes fail with READONLY and Sentinel-aware clients reconnect to the new master.
# A master waits for its replicas to be linked (on Docker a change replaces the replicas just before the master): a
# handover needs replicas that have the data. All of it is bounded in time: no question starts after
# PRESTOP_WAIT_SECONDS, and each takes CLI_TIMEOUT at most (render.py PRESTOP_MAX_SECONDS); on any failure writes
# resume and the node stops as it would without the hook.
LOCAL=127.0.0.1:$NODE_PORT
deadline=$(($(date +%s) + PRESTOP_WAIT_SECONDS))
[ "$(redis_info_field "$LOCAL" role)" = master ] || exit 0
# online_replicas: how many replicas are linked and past their initial sync (state=online in INFO replication).
online_replicas() { cli redis "$LOCAL" INFO replication | grep -c '^slave[0-9]*:.*state=online' || :; }
# expected_replicas: how many replicas a Sentinel (the first that answers) knows and does not think down. Sentinel
# promotes only such a replica, and picks it from what it learnt of them up to 10 s earlier, so one still in its
# first sync (on Docker a change replaces the replicas just before the master) could be promoted without the last
# writes. So they are waited for, PRESTOP_SYNC_SECONDS at most; one that is down (crash-looping, scaled down) is not.
expected_replicas() {
  for _s in $SENTINELS; do
    ask sentinel "$_s" SENTINEL REPLICAS "$MASTER_NAME"
    if [ -z "$error" ]; then
      printf '%s\n' "$reply" | awk 'prev == "flags" && $0 !~ /s_down/ { n++ } { prev = $0 } END { print n + 0 }'
      return
    fi
  done
  echo 0
}
expected=$(expected_replicas)
sync_deadline=$(($(date +%s) + PRESTOP_SYNC_SECONDS))
while [ "$(online_replicas)" -lt "$expected" ] && [ "$(date +%s)" -lt "$sync_deadline" ]; do
  sleep 0.1
done
while [ "$(online_replicas)" -eq 0 ] && [ "$(date +%s)" -lt "$deadline" ]; do
  sleep 0.1
done
linked=$(online_replicas)
if [ "$linked" -eq 0 ]; then
  log "master without a linked replica within ${PRESTOP_WAIT_SECONDS}s: stopping without a failover"
  exit 0
fi
log "master: $linked of $expected replicas linked"

# The Sentinel leading a forced failover publishes the new master last (at failover-end, an INFO period
# after its peers, which switch on its hello at the promotion); ask the Sentinels in reverse order, so
# the leader is the one that clients listing the Sentinels in order ask last.
reversed=
for _s in $SENTINELS; do reversed="$_s $reversed"; done

cli redis "$LOCAL" CLIENT PAUSE $((PRESTOP_WAIT_SECONDS * 1000)) WRITE >/dev/null
# Every write acknowledged before the pause reaches the replicas before one of them is promoted. Bounded in time,
# PRESTOP_CATCHUP_SECONDS and within the deadline: a replica that lags longer (a loaded host, or one still in its full
# sync), or that does not answer (each question to a hung one takes CLI_TIMEOUT), is left behind, and Sentinel
# promotes one that caught up.
cli redis "$LOCAL" INFO replication >/dev/null
offset=$(info_field master_repl_offset)
catchup_deadline=$(($(date +%s) + PRESTOP_CATCHUP_SECONDS))
[ "$catchup_deadline" -le "$deadline" ] || catchup_deadline=$deadline
for _r in $(replica_lags | awk '{ print $1 }'); do
  until [ "$(date +%s)" -ge "$catchup_deadline" ] || [ "$(redis_info_field "$_r" slave_repl_offset)" -ge "$offset" ] 2>/dev/null; do
    sleep 0.02
  done
done

# A Sentinel refuses (NOGOODSLAVE) until it has seen a linked replica in its once-a-second INFO: ask again until
# one accepts, while any answers at all.
sentinel=
answered=yes
while [ -z "$sentinel" ] && [ "$answered" = yes ] && [ "$(date +%s)" -lt "$deadline" ]; do
  answered=no
  for _s in $reversed; do
    [ "$(date +%s)" -lt "$deadline" ] || break
    case "$(cli sentinel "$_s" SENTINEL FAILOVER "$MASTER_NAME")" in
    OK*)
      sentinel=$_s
      break
      ;;
    ?*) answered=yes ;;
    esac
  done
  [ -n "$sentinel" ] || sleep 0.2
done

master=$ME
if [ -n "$sentinel" ]; then
  log "master: $sentinel is failing over $MASTER_NAME"
  while [ "$master" = "$ME" ] && [ "$(date +%s)" -lt "$deadline" ]; do
    sleep 0.05
    # shellcheck disable=SC2046
    set -- $(cli sentinel "$sentinel" SENTINEL get-master-addr-by-name "$MASTER_NAME")
    [ $# -eq 2 ] && master="$1:$2"
  done
fi

if [ "$master" = "$ME" ]; then
  log "no failover within ${PRESTOP_WAIT_SECONDS}s (no Sentinel accepted, or none completed): stopping as master"
  cli redis "$LOCAL" CLIENT UNPAUSE >/dev/null
  exit 1
fi
# Persisted in the runtime config (Sentinel rewrites only the nodes it reconfigures, and this one already replicates
# from the right master): restarted while no Sentinel answers, it keeps this role instead of booting as master.
cli redis "$LOCAL" REPLICAOF "${master%:*}" "${master##*:}" >/dev/null
[ "$(cli redis "$LOCAL" CONFIG REWRITE)" = OK ] || log "CONFIG REWRITE failed: the runtime config still says master"
cli redis "$LOCAL" CLIENT UNPAUSE >/dev/null
log "handed the master role over to $master"
