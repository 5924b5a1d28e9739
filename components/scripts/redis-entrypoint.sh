# Decides this node's role at boot, then runs redis-server. Roles are decided at run time (README: "How it
# is built"):
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
  echo "port $NODE_PORT"
  echo "bind $BIND_ADDRESS"
  echo "dir $DATA_DIR"
  echo "replica-announce-ip $NODE_HOST"
  echo "replica-announce-port $NODE_PORT"
  password=$(cat "$SECRETS_DIR/$REDIS_SECRET")
  echo "requirepass \"$password\""
  echo "masterauth \"$password\""
  if [ "$master" != "$ME" ]; then
    echo "replicaof ${master%:*} ${master##*:}"
  fi
} >"$RUNTIME_CONF.new"
mv "$RUNTIME_CONF.new" "$RUNTIME_CONF"
exec redis-server "$RUNTIME_CONF"
