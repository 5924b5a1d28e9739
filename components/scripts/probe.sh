# probe.sh CHECK: exit 0 when the check holds. Used by Docker healthchecks and Kubernetes probes.
#   redis-alive     the server answers (also while loading or while its master is down)
#   redis-ready     a master answers; a replica is linked to its master
#   sentinel-alive  Sentinel answers
#   sentinel-ready  Sentinel knows the master and has quorum to fail over (SENTINEL CKQUORUM)
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
  case "$(cli sentinel "$LOCAL" SENTINEL CKQUORUM "$MASTER_NAME")" in OK*) exit 0 ;; esac
  ;;
*)
  echo "usage: probe.sh redis-alive|redis-ready|sentinel-alive|sentinel-ready" >&2
  exit 2
  ;;
esac
exit 1
