# Writes Sentinel's config to its writable data directory (Sentinel rewrites it and refuses a read-only
# file), monitoring the master its peers name, else the one it last knew, else the bootstrap master.
RUNTIME_CONF="$DATA_DIR/sentinel.conf"
master=$(SKIP_SENTINEL=$ME sentinel_master)
if [ -z "$master" ] && [ -f "$RUNTIME_CONF" ]; then
  master=$(awk -v n="$MASTER_NAME" '$1 == "sentinel" && $2 == "monitor" && $3 == n { print $4 ":" $5 }' "$RUNTIME_CONF")
fi
master=${master:-$BOOTSTRAP_MASTER}
log "monitoring $MASTER_NAME at $master ($ME)"

# With resolve-hostnames, Sentinel exits when the master's name does not resolve yet (a pod not created).
tries=0
until getent hosts "${master%:*}" >/dev/null || [ "$tries" -ge "$DNS_WAIT_SECONDS" ]; do
  tries=$((tries + 1))
  sleep 1
done

mkdir -p "$DATA_DIR"
umask 077
{
  sed -e "s|@MASTER_HOST@|${master%:*}|" -e "s|@MASTER_PORT@|${master##*:}|" "$CONF_DIR/sentinel.conf"
  echo "port $NODE_PORT"
  echo "bind $BIND_ADDRESS"
  echo "dir $DATA_DIR"
  echo "sentinel announce-ip $NODE_HOST"
  echo "sentinel announce-port $NODE_PORT"
  echo "requirepass \"$(cat "$SECRETS_DIR/$SENTINEL_SECRET")\""
  echo "sentinel sentinel-pass \"$(cat "$SECRETS_DIR/$SENTINEL_SECRET")\""
  echo "sentinel auth-pass $MASTER_NAME \"$(cat "$SECRETS_DIR/$REDIS_SECRET")\""
  if [ -f "$RUNTIME_CONF" ]; then grep '^sentinel myid ' "$RUNTIME_CONF" || true; fi
} >"$RUNTIME_CONF.new"
mv "$RUNTIME_CONF.new" "$RUNTIME_CONF"

# Sentinel asks each replica for INFO every 10 s until a failover starts, so a new or restarted replica, and
# the replicas' link state, show up to 10 s late in its view (SENTINEL REPLICAS, num-slaves, the post-deploy
# check). Ask every second instead: a deployment verifies in about 6 s instead of 10-12 s. Only settable at
# run time; the subshell gives up after 20 s.
(
  tries=0
  until [ "$(cli sentinel "127.0.0.1:$NODE_PORT" SENTINEL DEBUG INFO-PERIOD 1000)" = OK ] ||
    [ "$tries" -ge 100 ]; do
    tries=$((tries + 1))
    sleep 0.2
  done
) &
exec redis-sentinel "$RUNTIME_CONF"
