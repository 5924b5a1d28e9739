# Rendered by components/render.py, which prepends #!/bin/sh, set -eu, the variables and the lib.sh functions used here.
# check-job.sh: the post-deploy replication check, run by the Kubernetes Job after `pulumi up` with only the
# redis image (sh + redis-cli). Same invariants and names as components/checks. Prints one line per failure,
#   FAIL <invariant> <node> expected=<...> seen=<...>
# then, for each replica or Sentinel that the master or a Sentinel knows but the deployment does not declare (removed
# by a scale down: tolerated until the Sentinels reset and the platform deletes it, "removed, awaiting
# reset/deletion"),
#   REMOVED <replica|sentinel> <address> seen-by=<nodes>
# then a summary line; exits 0 healthy, 1 unhealthy, 2 when no node answers. Re-checks until healthy for up
# to SETTLE_SECONDS: right after a deploy, Sentinels take a few INFO periods to discover replicas and peers.
# Overrides (for tests): FESTIVAL_CHECK_REDIS_NODES, FESTIVAL_CHECK_SENTINELS, FESTIVAL_CHECK_SETTLE_SECONDS.
REDIS_NODES=${FESTIVAL_CHECK_REDIS_NODES:-$REDIS_NODES}
SENTINELS=${FESTIVAL_CHECK_SENTINELS:-$SENTINELS}
SETTLE_SECONDS=${FESTIVAL_CHECK_SETTLE_SECONDS:-$SETTLE_SECONDS}

fail() { failures="${failures}FAIL $1 $2 expected=$3 seen=$4
"; }
# shellcheck disable=SC2086
count() { set -- $1; echo $#; }
# tally LIST KIND SEER: count the instances of the last SENTINEL REPLICAS/SENTINELS reply that LIST declares into
# $tally; note the others in $pending as "KIND address SEER".
tally() {
  tally=0
  for _i in $(instances | awk '{ print $1 }'); do
    case " $1 " in
    *" $_i "*) tally=$((tally + 1)) ;;
    *) pending="$pending$2 $_i $3
" ;;
    esac
  done
}

check() {
  failures='' answered=0 redis_table='' sentinel_table='' master='' lags='' removed=''
  expected_replicas=$(($(count "$REDIS_NODES") - 1))
  expected_sentinels=$(count "$SENTINELS")

  for node in $REDIS_NODES; do
    ask redis "$node" INFO replication
    if [ -n "$error" ]; then
      fail redis-reachable "$node" answers-with-the-deployment-password "$error"
      continue
    fi
    answered=$((answered + 1))
    role=$(info_field role)
    upstream=$(info_field master_host):$(info_field master_port)
    [ "$upstream" = : ] && upstream=-
    link=$(info_field master_link_status)
    redis_table="$redis_table$node ${role:--} $upstream ${link:--} $(info_field connected_slaves)
"
    if [ "$role" = master ]; then
      # slaveN:ip=<announced host>,port=N,state=online,offset=N,lag=N -> "host:port lag"
      lags=$(replica_lags)
    fi
  done

  masters=$(printf '%s' "$redis_table" | awk '$2 == "master" { print $1 }')
  if [ "$(count "$masters")" -ne 1 ]; then
    fail one-master deployment 1 "$(count "$masters"):$(echo "${masters:-none}" | tr ' ' ',')"
  else
    master=$masters
    while read -r node role upstream link slaves; do
      [ -z "$node" ] || [ "$node" = "$master" ] && continue
      if [ "$role" != slave ] || [ "$upstream" != "$master" ] || [ "$link" != up ]; then
        fail replica-linked "$node" "replica-of:$master,link:up" "role:$role,master:$upstream,link:$link"
        continue
      fi
      lag=$(printf '%s\n' "$lags" | awk -v n="$node" '$1 == n { print $2 }')
      if [ "${lag:-0}" -gt "$MAX_LAG_SECONDS" ]; then
        fail replica-lag "$node" "<=${MAX_LAG_SECONDS}s" "${lag}s"
      fi
    done <<EOF
$redis_table
EOF
    connected=$(printf '%s' "$redis_table" | awk -v m="$master" '$1 == m { print $5 }')
    # replicas removed from the declaration but still connected (deleted at the end of the update) do not count
    for _r in $(printf '%s\n' "$lags" | awk '{ print $1 }'); do
      case " $REDIS_NODES " in
      *" $_r "*) ;;
      *)
        connected=$((connected - 1))
        removed="${removed}replica $_r $master
"
        ;;
      esac
    done
    [ "$connected" -eq "$expected_replicas" ] || fail replica-count "$master" "$expected_replicas" "$connected"
  fi

  for sentinel in $SENTINELS; do
    ask sentinel "$sentinel" SENTINEL get-master-addr-by-name "$MASTER_NAME"
    [ -z "$error" ] && named=$(printf '%s' "$reply" | awk 'NR == 1 { h = $0 } NR == 2 { print h ":" $0 }') &&
      ask sentinel "$sentinel" SENTINEL MASTER "$MASTER_NAME"
    # an error reply here (e.g. an unknown master set) means this Sentinel cannot be asked about it
    [ -z "$error" ] && case "$reply" in name*) ;; *) error="error:${reply%% *}" ;; esac
    # only declared replicas and peers count: a removed one is known until this Sentinel resets
    pending=''
    [ -z "$error" ] && ask sentinel "$sentinel" SENTINEL REPLICAS "$MASTER_NAME"
    [ -z "$error" ] && tally "$REDIS_NODES" replica "$sentinel" && slaves=$tally &&
      ask sentinel "$sentinel" SENTINEL SENTINELS "$MASTER_NAME"
    [ -z "$error" ] && tally "$SENTINELS" sentinel "$sentinel" && peers=$tally &&
      ask sentinel "$sentinel" SENTINEL CKQUORUM "$MASTER_NAME"
    if [ -n "$error" ]; then
      fail sentinel-reachable "$sentinel" answers "$error"
      continue
    fi
    answered=$((answered + 1))
    removed="$removed$pending"
    sentinel_table="$sentinel_table$sentinel ${named:--} ${slaves:--} ${peers:--} ${reply%% *}
"
  done

  # The master the Sentinels should name: the one with role master, else the one most of them name.
  agreed=${master:-$(printf '%s' "$sentinel_table" | awk '{ print $2 }' | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }')}
  while read -r sentinel named slaves peers quorum; do
    [ -z "$sentinel" ] && continue
    [ "$named" = "$agreed" ] || fail sentinel-agreement "$sentinel" "${agreed:--}" "$named"
    [ "$slaves" = "$expected_replicas" ] || fail sentinel-replicas "$sentinel" "$expected_replicas" "$slaves"
    [ "$peers" = $((expected_sentinels - 1)) ] || fail sentinel-peers "$sentinel" $((expected_sentinels - 1)) "$peers"
    [ "$quorum" = OK ] || fail sentinel-quorum "$sentinel" OK "$quorum"
  done <<EOF
$sentinel_table
EOF

  [ -n "$master" ] && canary
  return 0
}

# An expiring SET on the master must be readable on every replica within CANARY_TIMEOUT seconds.
canary() {
  key=festival:canary:$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
  value=$(date +%s)
  ask redis "$master" SET "$key" "$value" EX 60
  if [ -n "$error" ] || [ "$reply" != OK ]; then
    fail canary "$master" write-accepted "$(echo "${error:-$reply}" | tr ' ' '_')"
    return 0
  fi
  deadline=$(($(date +%s) + CANARY_TIMEOUT))
  for node in $(printf '%s' "$redis_table" | awk '$2 == "slave" { print $1 }'); do
    ask redis "$node" GET "$key"
    while [ "$reply" != "$value" ] && [ "$(date +%s)" -lt "$deadline" ]; do
      sleep 0.05
      ask redis "$node" GET "$key"
    done
    [ "$reply" = "$value" ] || fail canary "$node" "replicated-within-${CANARY_TIMEOUT}s" "${error:-missing}"
  done
}

settle_deadline=$(($(date +%s) + SETTLE_SECONDS))
check
while [ -n "$failures" ] && [ "$(date +%s)" -lt "$settle_deadline" ]; do
  log "not healthy yet ($(printf '%s' "$failures" | grep -c '^FAIL') failures); checking again"
  sleep 2
  check
done

# one line per removed node, with every node that knows it (sorted, as the Python checks list them)
printf '%s' "$removed" | LC_ALL=C sort -u | awk '
  { key = $1 " " $2; if (key in seen) seen[key] = seen[key] "," $3; else { seen[key] = $3; order[++n] = key } }
  END { for (i = 1; i <= n; i++) print "REMOVED " order[i] " seen-by=" seen[order[i]] }'
if [ -z "$failures" ]; then
  echo "healthy: master $master, $expected_replicas replicas linked, $expected_sentinels Sentinels agree, canary replicated"
  exit 0
fi
printf '%s' "$failures"
if [ "$answered" -eq 0 ]; then
  echo "unreachable: no Redis node or Sentinel answered"
  exit 2
fi
echo "unhealthy: $(printf '%s' "$failures" | grep -c '^FAIL') failed invariants"
exit 1
