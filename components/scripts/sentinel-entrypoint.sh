# Rendered by components/render.py, which prepends #!/bin/sh, set -eu, the variables and the lib.sh functions used here.
# Writes Sentinel's config to its writable data directory (Sentinel rewrites it and refuses a read-only
# file). It monitors, of the masters its peers follow and the one it last knew (its runtime config), the one with the
# highest config epoch, as Sentinel itself settles a disagreement (among equals, the one named most often); else the
# bootstrap master. The epoch is written with it: a Sentinel that forgot it announces epoch 0, and a peer that took a
# stale master at epoch 0 (a new Sentinel whose peers did not answer at its boot) never takes a newer one from hellos
# that are no newer than its own: the two would stay split for good.
RUNTIME_CONF="$DATA_DIR/sentinel.conf"
choice=$(
  {
    for _s in $SENTINELS; do
      [ "$_s" = "$ME" ] && continue
      cli sentinel "$_s" SENTINEL MASTER "$MASTER_NAME" >/dev/null || continue
      _host=$(pair_field ip) _port=$(pair_field port) _epoch=$(pair_field config-epoch)
      [ -n "$_host" ] && [ -n "$_port" ] && echo "${_epoch:-0} $_host:$_port"
    done
    if [ -f "$RUNTIME_CONF" ]; then
      awk -v n="$MASTER_NAME" '$1 == "sentinel" && $3 == n && $2 == "monitor" { m = $4 ":" $5 }
        $1 == "sentinel" && $3 == n && $2 == "config-epoch" { e = $4 } END { if (m != "") print e + 0, m }' "$RUNTIME_CONF"
    fi
  } | sort | uniq -c | sort -k2,2nr -k1,1nr | awk 'NR == 1 { print $2, $3 }'
)
epoch=0 master=$BOOTSTRAP_MASTER
[ -z "$choice" ] || { epoch=${choice%% *} master=${choice#* }; }
log "monitoring $MASTER_NAME at $master, config epoch $epoch ($ME)"

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
  echo "sentinel config-epoch $MASTER_NAME $epoch"
  listen_lines
  echo "bind $BIND_ADDRESS"
  echo "dir $DATA_DIR"
  echo "sentinel announce-ip $NODE_HOST"
  echo "sentinel announce-port $NODE_PORT"
  acl_users
  echo "sentinel sentinel-user $PEER_USER"
  echo "sentinel sentinel-pass \"$(cat "$SECRETS_DIR/$PEER_SECRET")\""
  echo "sentinel auth-user $MASTER_NAME $MONITOR_USER"
  echo "sentinel auth-pass $MASTER_NAME \"$(cat "$SECRETS_DIR/$MONITOR_SECRET")\""
  if [ -f "$RUNTIME_CONF" ]; then
    grep '^sentinel myid ' "$RUNTIME_CONF" || true
    # Its epoch: a failover it leads right after a restart (a preStop asks at once) must be newer than the config
    # its peers hold, or they ignore the result and the Sentinels stay split.
    grep '^sentinel current-epoch ' "$RUNTIME_CONF" || true
    # The Sentinels it knew (names that still resolve: Sentinel refuses to start on one that does not, such as a
    # removed node; removed ones are reset away below). Not the replicas: knowing them before the master answers,
    # a Sentinel restarted with the whole deployment would fail over to whichever replica loads its data first.
    awk -v n="$MASTER_NAME" '$1 == "sentinel" && $2 == "known-sentinel" && $3 == n { print }' "$RUNTIME_CONF" |
      while read -r _line; do
        # shellcheck disable=SC2086
        set -- $_line
        if getent hosts "$4" >/dev/null; then echo "$_line"; fi
      done
  fi
} >"$RUNTIME_CONF.new"
mv "$RUNTIME_CONF.new" "$RUNTIME_CONF"

# Sentinel asks each replica for INFO every 10 s until a failover starts, so a new or restarted replica, and
# the replicas' link state, show up to 10 s late in its view (SENTINEL REPLICAS, num-slaves, the post-deploy
# check). Ask every second instead: a deployment verifies in about 6 s instead of 10-12 s. Only settable at
# run time; the subshell gives up after 20 s, or when Sentinel ($$ once exec'd below) is gone. The background loops
# here end with Sentinel: outside a container (a laptop, the tests) nothing is left polling after it stopped.
(
  tries=0
  until [ "$(cli sentinel "127.0.0.1:$NODE_PORT" SENTINEL DEBUG INFO-PERIOD 1000)" = OK ] ||
    [ "$tries" -ge 100 ] || ! kill -0 $$ 2>/dev/null; do
    tries=$((tries + 1))
    sleep 0.2
  done
) &

# Sentinel never forgets a replica or a peer Sentinel: after a scale down it keeps counting the removed ones (in
# num-slaves, and as voters a failover needs a majority of) until SENTINEL RESET. This loop resets this Sentinel
# when it knows a replica or Sentinel that is down (s_down: no reply for down-after-milliseconds; a link merely
# "disconnected" is also any instance it has just learned, such as a removed node still running) and not declared
# ($REDIS_NODES and $SENTINELS, rendered from the topology: a scale change also restarts the Sentinels with them).
# Never while its master is down or failing over (flags other than "master"), never for a declared node that is
# merely down. The Sentinels take turns by their index among the declared Sentinels: turn N starts every
# RESET_WINDOW_SECONDS + RESET_SPACING_SECONDS and belongs to Sentinel N modulo their count. A Sentinel sleeps until
# its turn starts, decides once (removed_down), and sends the reset only if it ends, even timed out, within the
# turn's first RESET_WINDOW_SECONDS. That window holds the decision and the reset (each question bounded by
# CLI_TIMEOUT; render.py derives it), so slow commands on a loaded host cannot starve the reset. Two Sentinels thus
# never reset within RESET_SPACING_SECONDS of each other, and the others keep the quorum while one relearns its
# peers (hellos every 2 s). A Sentinel no longer declared never resets.
LOCAL=127.0.0.1:$NODE_PORT
# The removed instances this Sentinel knows as down, space-separated; fails when it cannot tell or must not reset.
removed_down() {
  ask sentinel "$LOCAL" SENTINEL MASTER "$MASTER_NAME"
  [ -z "$error" ] && [ "$(pair_field flags)" = master ] || return 1
  _found=
  for _kind in REPLICAS SENTINELS; do
    ask sentinel "$LOCAL" SENTINEL "$_kind" "$MASTER_NAME"
    [ -z "$error" ] || return 1
    _declared=$REDIS_NODES
    [ "$_kind" = SENTINELS ] && _declared=$SENTINELS
    _found="$_found$(instances | awk -v d=" $_declared " '
      index(d, " " $1 " ") == 0 && $2 ~ /(^|,)s_down(,|$)/ { printf " %s", $1 }')"
  done
  echo "${_found# }"
}
(
  index='' count=0
  for _s in $SENTINELS; do
    [ "$_s" = "$ME" ] && index=$count
    count=$((count + 1))
  done
  [ -n "$index" ] || exit 0
  # Plain copies: the rendered header defines only the variables a script names with a $.
  window=$RESET_WINDOW_SECONDS spacing=$RESET_SPACING_SECONDS limit=$CLI_TIMEOUT
  turn=$((window + spacing))
  cycle=$((turn * count))
  last=-1
  # Ends once Sentinel ($$, exec'd below) is gone: it sleeps a second at a time, never past that.
  while kill -0 $$ 2>/dev/null; do
    now=$(date +%s)
    # The start of this Sentinel's turn in the current cycle; the next one once this one is decided or over.
    start=$((now - now % cycle + index * turn))
    if [ "$start" -le "$last" ] || [ $((start + window)) -le "$now" ]; then
      start=$((start + cycle))
    fi
    while [ "$(date +%s)" -lt "$start" ]; do
      sleep 1
      kill -0 $$ 2>/dev/null || exit 0
    done
    last=$start
    removed=$(removed_down) || continue
    [ -n "$removed" ] || continue
    if [ $(($(date +%s) + limit)) -ge $((start + window)) ]; then
      log "SENTINEL RESET $MASTER_NAME skipped: deciding took past this turn's ${RESET_WINDOW_SECONDS}s window"
      continue
    fi
    ask sentinel "$LOCAL" SENTINEL RESET "$MASTER_NAME"
    [ -z "$error" ] && log "SENTINEL RESET $MASTER_NAME ($reply): forgets the removed $removed"
  done
) &
exec redis-sentinel "$RUNTIME_CONF"
