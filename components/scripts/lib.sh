# Rendered by components/render.py into every script that calls one of these functions, after its variables (which
# these functions use); never sourced at run time. A function and the comment above it are one block, with no blank
# line inside: render.py splits this file at blank lines.

log() { printf '%s festival %s: %s\n' "$(date -u +%H:%M:%S)" "$SCRIPT" "$*" >&2; }

# ask redis|sentinel HOST:PORT ARGS...: redis-cli as the admin user, with a mounted secret (never on argv) and
# bounded in time. Sets $reply (without CRs) and $error: empty when the node answered, else timeout,
# unreachable or auth-failed. Refused the current password, it tries the previous one once (while the admin
# password is rotated, a node may not accept the new one yet).
ask() {
  _server=$1
  case $1 in
  redis) _secret=$REDIS_SECRET ;;
  *) _secret=$SENTINEL_SECRET ;;
  esac
  _secret=$_secret${_previous:-}
  _addr=$2
  shift 2
  _rc=0
  # shellcheck disable=SC2086 # CLI_TLS is a list of options
  reply=$(REDISCLI_AUTH=$(cat "$SECRETS_DIR/$_secret") timeout "$CLI_TIMEOUT" \
    redis-cli $CLI_TLS --no-auth-warning --user "$ADMIN_USER" -h "${_addr%:*}" -p "${_addr##*:}" "$@" 2>&1) || _rc=$?
  reply=$(printf '%s\n' "$reply" | tr -d '\r')
  case "$_rc:$reply" in
  124:*) error=timeout ;;
  0:*NOAUTH* | 0:*WRONGPASS* | *"AUTH failed"*) error=auth-failed ;;
  0:*) error= ;;
  *) error=unreachable ;;
  esac
  if [ "$error" = auth-failed ] && [ -z "${_previous:-}" ] && [ -f "$SECRETS_DIR/$_secret.previous" ]; then
    _previous=.previous
    ask "$_server" "$_addr" "$@"
    _previous=
  fi
}

# cli redis|sentinel HOST:PORT ARGS...: print the reply; fail when the node did not answer.
cli() {
  ask "$@"
  [ -z "$error" ] && printf '%s\n' "$reply"
}

# info_field NAME: NAME's value in the last INFO reply.
info_field() { printf '%s\n' "$reply" | awk -F: -v f="$1" '$1 == f { print $2; exit }'; }

# pair_field NAME: the line after NAME in the last flat name/value reply (SENTINEL MASTER).
pair_field() { printf '%s\n' "$reply" | awk -v f="$1" 'prev == f { print; exit } { prev = $0 }'; }

# replica_lags: "host:port lag" for each slaveN:ip=<announced host>,port=N,...,lag=N line of the last INFO reply.
replica_lags() { printf '%s\n' "$reply" | awk -F'[:,=]' '/^slave[0-9]+:/ { print $3 ":" $5, $11 }'; }

# instances: "host:port flags" for each instance in the last SENTINEL REPLICAS / SENTINEL SENTINELS reply (redis-cli
# prints every name and value on a line of its own).
instances() {
  printf '%s\n' "$reply" |
    awk 'NR % 2 == 1 { k = $0; next } k == "ip" { ip = $0 } k == "port" { port = $0 } k == "flags" { print ip ":" port, $0 }'
}

# redis_info_field HOST:PORT NAME: a field of INFO replication on a Redis node.
redis_info_field() { cli redis "$1" INFO replication >/dev/null && info_field "$2"; }

# The master named by most of the Sentinels that answer, as host:port; empty when none answers.
sentinel_master() {
  for _s in $SENTINELS; do
    _answer=$(cli sentinel "$_s" SENTINEL get-master-addr-by-name "$MASTER_NAME") || continue
    # shellcheck disable=SC2086
    set -- $_answer
    [ $# -eq 2 ] && [ "$2" -gt 0 ] 2>/dev/null && echo "$1:$2"
  done | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }'
}

# A field of SENTINEL MASTER <name> from the first Sentinel that answers.
sentinel_master_field() {
  for _s in $SENTINELS; do
    cli sentinel "$_s" SENTINEL MASTER "$MASTER_NAME" >/dev/null || continue
    _value=$(pair_field "$1")
    [ -n "$_value" ] && echo "$_value" && return 0
  done
  return 1
}

# previous_password KEY: the other password KEY's user accepts while it is rotated ($SECRETS_DIR/KEY.previous when
# it differs from KEY's); nothing otherwise.
previous_password() {
  _other=
  [ -f "$SECRETS_DIR/$1.previous" ] && _other=$(cat "$SECRETS_DIR/$1.previous")
  [ "$_other" != "$(cat "$SECRETS_DIR/$1")" ] && printf '%s' "$_other"
  return 0
}

# password_hashes KEY: `#<SHA-256>` of every password KEY's user accepts: the current one, and the previous one while
# it is rotated (so no password is written in clear).
password_hashes() {
  _hashes="#$(printf '%s' "$(cat "$SECRETS_DIR/$1")" | sha256sum | awk '{ print $1 }')"
  _other=$(previous_password "$1")
  [ -z "$_other" ] || _hashes="$_hashes #$(printf '%s' "$_other" | sha256sum | awk '{ print $1 }')"
  printf '%s\n' "$_hashes"
}

# listen_lines: where this server listens: with TLS on, its TLS port only (port 0) with the certificate of the host
# name it announces (components/tls.py); else its plain port.
listen_lines() {
  if [ "$TLS" = yes ]; then
    echo "port 0"
    echo "tls-port $NODE_PORT"
    echo "tls-cert-file $TLS_CERT"
    echo "tls-key-file $TLS_KEY"
    echo "tls-ca-cert-file $SECRETS_DIR/$CA_FILE"
  else
    echo "port $NODE_PORT"
  fi
}

# acl_users: the `user` lines of this server: the default user off, then every user of $CONF_DIR/$USERS_FILE
# (NAME KEY RULES...) with the passwords its files allow (password_hashes).
acl_users() {
  echo "user default off"
  while read -r _name _key _rules; do
    echo "user $_name on $(password_hashes "$_key") $_rules"
  done <"$CONF_DIR/$USERS_FILE"
}
