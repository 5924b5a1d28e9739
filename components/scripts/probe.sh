# Rendered by components/render.py, which prepends #!/bin/sh, set -eu, the variables and the lib.sh functions used here.
# probe.sh CHECK: exit 0 when the check holds. Used by Docker healthchecks and Kubernetes probes.
#   redis-alive     the server answers (also while loading or while its master is down)
#   redis-ready     a master answers; a replica is linked to its master
#   sentinel-alive  Sentinel answers
#   sentinel-ready  Sentinel answers and names a master. Not quorum: a Sentinel whose peers are down still tells
#                   clients where the master is, so it stays in the Service; lost quorum shows in the checks
#                   (sentinel-quorum) and the RedisSentinelQuorumLost alert instead.
LOCAL=127.0.0.1:$NODE_PORT
case "${1:-}" in
redis-alive)
  ask redis "$LOCAL" PING
  case "$error:$reply" in :PONG | :LOADING* | :MASTERDOWN*) exit 0 ;; esac
  ;;
redis-ready)
  cli redis "$LOCAL" INFO replication >/dev/null || exit 1
  role=$(info_field role)
  [ "$role" = master ] && exit 0
  [ "$role" = slave ] && [ "$(info_field master_link_status)" = up ] && exit 0
  ;;
sentinel-alive)
  [ "$(cli sentinel "$LOCAL" PING)" = PONG ] && exit 0
  ;;
sentinel-ready)
  # shellcheck disable=SC2046
  set -- $(cli sentinel "$LOCAL" SENTINEL get-master-addr-by-name "$MASTER_NAME")
  [ $# -eq 2 ] && [ "$2" -gt 0 ] 2>/dev/null && exit 0
  ;;
*)
  echo "usage: probe.sh redis-alive|redis-ready|sentinel-alive|sentinel-ready" >&2
  exit 2
  ;;
esac
exit 1
