# Rendered by components/render.py, which prepends #!/bin/sh, set -eu, the variables and the lib.sh functions used here.
# Decides this node's role at boot, then runs redis-server. Roles are decided at run time
# (docs/development.md#how-it-is-built):
# - a Sentinel answers: be what the Sentinels say, so a former master comes back as a replica;
# - the Sentinels name this node master but its data directory is new (a lost volume) while they know
#   replicas: wait until they promote one, then replicate from it, so no replica resyncs to empty;
# - no Sentinel answers: a node with data keeps the role it last had, a new node takes its bootstrap role.
RUNTIME_CONF="$DATA_DIR/redis.conf"
fresh=yes
[ -f "$RUNTIME_CONF" ] && fresh=no

deadline=$(($(date +%s) + ROLE_WAIT_SECONDS))
master=$(sentinel_master)
while [ -z "$master" ] && [ "$fresh" = no ] && [ "$(date +%s)" -lt "$deadline" ]; do
  sleep 1
  master=$(sentinel_master)
done

if [ -z "$master" ]; then
  if [ "$fresh" = no ]; then
    master=$(awk '$1 == "replicaof" { m = $2 ":" $3 } END { print m }' "$RUNTIME_CONF")
    master=${master:-$ME}
    log "no Sentinel answered within ${ROLE_WAIT_SECONDS}s; keeping this node's last role (master $master)"
  else
    master=$BOOTSTRAP_MASTER
    log "no Sentinel answered; first boot, bootstrap master is $master"
  fi
elif [ "$master" = "$ME" ] && [ "$fresh" = yes ] && [ "$(sentinel_master_field num-slaves || echo 0)" -gt 0 ]; then
  log "Sentinels name this node master but its data directory is empty: waiting for a replica to be promoted"
  while master=$(sentinel_master) && { [ -z "$master" ] || [ "$master" = "$ME" ]; }; do
    sleep 1
  done
fi

if [ "$master" = "$ME" ]; then
  log "starting as master ($ME)"
else
  log "starting as replica of $master ($ME)"
fi
mkdir -p "$DATA_DIR"
umask 077
{
  cat "$CONF_DIR/redis.conf"
  listen_lines
  echo "bind $BIND_ADDRESS"
  echo "dir $DATA_DIR"
  echo "replica-announce-ip $NODE_HOST"
  echo "replica-announce-port $NODE_PORT"
  acl_users
  echo "masteruser $REPLICATION_USER"
  echo "masterauth \"$(cat "$SECRETS_DIR/$REPLICATION_SECRET")\""
  if [ "$master" != "$ME" ]; then
    echo "replicaof ${master%:*} ${master##*:}"
  fi
} >"$RUNTIME_CONF.new"
mv "$RUNTIME_CONF.new" "$RUNTIME_CONF"

# While this node is master, ask the Sentinels every 0.5 s whether it still is. When a majority of them stop
# naming this node and name another master (it was replaced while it was paused, stalled or cut off), replicate
# from that one at once: writes get READONLY, so Sentinel-aware clients move to the new master, instead of
# NOREPLICAS (clients stay) until Sentinel demotes this node a fixed 8 s after it reappears (docs/clients.md).
# Only that change counts: a replica just promoted, which the Sentinels still call a replica for a moment, is
# left alone (what they said is forgotten whenever this node is a replica). A node that booted as master starts with
# its own name on record, as if they had named it (they did, or none answered): if they name another by its first
# check (they failed over while it restarted, or follow one it does not know), it follows that one, since they may
# not know this node at all (a restarted or reset Sentinel knows only the master's replicas) and would never demote
# it. A replica looks at its role once a second, and every REPLICA_CHECK_SECONDS whether it replicates from the
# master a majority of the Sentinels name: if not, it follows that one. Sentinel reconfigures only the replicas it
# knows, those of the master; a replica that chose its master while that one was being replaced (all nodes
# restarted at once, say) can end up a replica of a replica, which no Sentinel sees. Shell builtins wherever
# possible: a few processes per check, not dozens. The loop is in the node's process group: a paused node's watcher
# is paused with it. It ends with this shell: the EXIT trap below stops it, and it stops itself once this shell ($$)
# is gone (killed without running its traps), so outside a container (a laptop, the tests) no watcher outlives its
# node.
# shellcheck disable=SC2086 # CLI_TLS is a list of options
(
  nl='
'
  redis_pw='' sentinel_pw=''
  quorum=0
  for _s in $SENTINELS; do quorum=$((quorum + 1)); done
  quorum=$((quorum / 2 + 1))
  named=
  if [ "$master" = "$ME" ]; then named=$ME; fi
  tick=0 every=$REPLICA_CHECK_SECONDS
  while kill -0 $$ 2>/dev/null; do
    # Read at every check (a builtin: no process), so a rotated admin password is picked up.
    read -r redis_pw <"$SECRETS_DIR/$REDIS_SECRET" || :
    read -r sentinel_pw <"$SECRETS_DIR/$SENTINEL_SECRET" || :
    role=$(REDISCLI_AUTH=$redis_pw timeout "$CLI_TIMEOUT" redis-cli $CLI_TLS --no-auth-warning --user "$ADMIN_USER" \
      -h 127.0.0.1 -p "$NODE_PORT" ROLE 2>/dev/null) || role=
    case ${role%%"$nl"*} in
    master) sleep 0.5 ;;
    slave)
      named= # a replica: forget, so a promotion starts afresh
      tick=$((tick + 1))
      sleep 1
      [ $((tick % every)) -eq 0 ] || continue
      ;;
    *)
      sleep 1
      continue
      ;;
    esac
    answers=
    for _s in $SENTINELS; do
      _a=$(REDISCLI_AUTH=$sentinel_pw timeout "$CLI_TIMEOUT" redis-cli $CLI_TLS --no-auth-warning --user "$ADMIN_USER" \
        -h "${_s%:*}" -p "${_s##*:}" SENTINEL get-master-addr-by-name "$MASTER_NAME" 2>/dev/null) || continue
      case $_a in *"$nl"*) answers="$answers ${_a%%"$nl"*}:${_a##*"$nl"}" ;; esac
    done
    now=
    for _a in $answers; do
      _n=0
      for _b in $answers; do [ "$_a" = "$_b" ] && _n=$((_n + 1)); done
      if [ "$_n" -ge "$quorum" ]; then now=$_a; fi
    done
    [ -n "$now" ] || continue # no majority answered: keep what they said last
    if [ "${role%%"$nl"*}" = slave ]; then
      _rest=${role#*"$nl"}
      _host=${_rest%%"$nl"*}
      _rest=${_rest#*"$nl"}
      following=$_host:${_rest%%"$nl"*}
      if [ "$now" = "$following" ] || [ "$now" = "$ME" ]; then continue; fi
    else
      before=$named
      named=$now
      if [ "$before" != "$ME" ] || [ "$named" = "$ME" ]; then continue; fi
    fi
    if REDISCLI_AUTH=$redis_pw timeout "$CLI_TIMEOUT" redis-cli $CLI_TLS --no-auth-warning --user "$ADMIN_USER" \
      -h 127.0.0.1 -p "$NODE_PORT" REPLICAOF "${now%:*}" "${now##*:}" >/dev/null 2>&1; then
      log "the Sentinels now name $now master: this node replicates from it"
      # Persisted (as Sentinel does for the nodes it reconfigures), so a restart with no Sentinel answering keeps it.
      [ "$(REDISCLI_AUTH=$redis_pw timeout "$CLI_TIMEOUT" redis-cli $CLI_TLS --no-auth-warning --user "$ADMIN_USER" \
        -h 127.0.0.1 -p "$NODE_PORT" CONFIG REWRITE 2>&1)" = OK ] || log "CONFIG REWRITE failed: the runtime config still says master"
    fi
  done
) &
watcher=$!
trap 'kill "$watcher" 2>/dev/null || true' EXIT

# A stop hands the master role over first, as the Kubernetes preStop hook does: `docker stop`, and pulumi-docker
# replacing or deleting the container, send SIGTERM to this shell, which runs prestop.sh (on a replica it does
# nothing) and then stops redis-server, which saves and exits. Under Kubernetes the preStop hook has already
# run, so the second pass finds a replica and stops at once.
redis-server "$RUNTIME_CONF" &
server=$!
trap 'sh "$CONF_DIR/prestop.sh" || true; kill -TERM "$server" 2>/dev/null || true' TERM INT
status=0
wait "$server" || status=$?
while kill -0 "$server" 2>/dev/null; do # a trapped signal interrupted the wait: the server is still stopping
  status=0
  wait "$server" || status=$?
done
exit "$status"
