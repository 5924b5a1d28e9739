# Shared by every festival-redis script (rendered in, never sourced at run time).
# Per-node identity comes from the environment, so one rendering serves every pod of a StatefulSet.
CONF_DIR=${FESTIVAL_CONF_DIR:-/etc/festival}
SECRETS_DIR=${FESTIVAL_SECRETS_DIR:-/etc/festival-secrets}
DATA_DIR=${FESTIVAL_DATA_DIR:-/data}
NODE_HOST=${FESTIVAL_NODE_HOST:-$(hostname)}
NODE_PORT=${FESTIVAL_NODE_PORT:-$DEFAULT_PORT}
BIND_ADDRESS=${FESTIVAL_BIND_ADDRESS:-* -::*}
ME="$NODE_HOST:$NODE_PORT"

log() { printf '%s festival %s: %s\n' "$(date -u +%H:%M:%S)" "$SCRIPT" "$*" >&2; }

# cli SECRET HOST PORT ARGS...: redis-cli, authenticated with a mounted secret (never on argv), bounded in time.
cli() {
  _secret=$1 _host=$2 _port=$3
  shift 3
  REDISCLI_AUTH=$(cat "$SECRETS_DIR/$_secret") timeout "$CLI_TIMEOUT" \
    redis-cli --no-auth-warning -h "$_host" -p "$_port" "$@" 2>/dev/null
}

# The master named by most of the Sentinels that answer, as host:port; empty when none answers.
# SKIP_SENTINEL leaves one out (a Sentinel asking its peers).
sentinel_master() {
  for _s in $SENTINELS; do
    [ "$_s" = "${SKIP_SENTINEL:-}" ] && continue
    _answer=$(cli sentinel-password "${_s%:*}" "${_s##*:}" SENTINEL get-master-addr-by-name "$MASTER_NAME") || continue
    # shellcheck disable=SC2086
    set -- $_answer
    [ $# -eq 2 ] && [ "$2" -gt 0 ] 2>/dev/null && echo "$1:$2"
  done | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }'
}

# A field of SENTINEL MASTER <name> from the first Sentinel that answers.
sentinel_master_field() {
  for _s in $SENTINELS; do
    _value=$(cli sentinel-password "${_s%:*}" "${_s##*:}" SENTINEL MASTER "$MASTER_NAME" |
      awk -v f="$1" 'prev == f { print; exit } { prev = $0 }')
    [ -n "$_value" ] && echo "$_value" && return 0
  done
  return 1
}

# A field of INFO replication on a Redis node.
redis_info_field() {
  cli redis-password "$1" "$2" INFO replication | tr -d '\r' | awk -F: -v f="$3" '$1 == f { print $2 }'
}
