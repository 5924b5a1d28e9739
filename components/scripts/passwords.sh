# Rendered by components/render.py, which prepends #!/bin/sh, set -eu, the variables and the lib.sh functions used here.
# passwords.sh accept|use [FINGERPRINT]: applies the passwords of the mounted secret files to this running node
# (components/passwords.py runs it on every node: `accept` everywhere, then `use` everywhere).
# - accept: every user of this server accepts exactly the passwords its files allow (password_hashes);
# - use: this node sends the current passwords: a Redis node's masterauth; a Sentinel's auth-pass towards the nodes
#   and sentinel-pass towards its peers. Read from the files by redis-cli (-x), never on a command line.
# With FINGERPRINT, exits 3 and changes nothing while the mounted files are not those (a Kubernetes Secret volume
# is updated a minute or two after the Secret). Exits 4 when this node did not answer (within CLI_TIMEOUT, or at
# all): every step is idempotent, so components/passwords.py asks again. `passwords.sh fingerprint` prints the
# mounted files' fingerprint.
LOCAL=127.0.0.1:$NODE_PORT

# The digest of every password file, as components/passwords.py's fingerprint() computes it.
fingerprint() {
  for _key in $PASSWORD_KEYS; do
    printf '%s\n%s\n' "$(cat "$SECRETS_DIR/$_key")" "$(previous_password "$_key")"
  done | sha256sum | awk -v n="$FINGERPRINT_LENGTH" '{ print substr($1, 1, n) }'
}

# set_here WHAT ARGS...: run ARGS on this node (stdin: the value for -x); fails unless it answers OK.
set_here() {
  _what=$1
  shift
  ask "$SERVER" "$LOCAL" "$@"
  case $error in timeout | unreachable)
    log "$_what: $error; to be asked again"
    exit 4
    ;;
  esac
  if [ -n "$error" ] || [ "$reply" != OK ]; then
    log "$_what: ${error:-$reply}"
    exit 1
  fi
}

mode=${1:-}
expected=${2:-}
if [ "$mode" = fingerprint ]; then
  fingerprint
  exit 0
fi
if [ -n "$expected" ] && [ "$(fingerprint)" != "$expected" ]; then
  log "the mounted passwords are not yet those deployed; nothing changed"
  exit 3
fi
case $mode in
accept)
  while read -r _name _key _rules; do
    # shellcheck disable=SC2046 # one word per password hash
    set_here "ACL SETUSER $_name" ACL SETUSER "$_name" resetpass $(password_hashes "$_key") </dev/null
  done <"$CONF_DIR/$USERS_FILE"
  log "every user accepts the passwords of the mounted files"
  ;;
use)
  if [ "$SERVER" = redis ]; then
    set_here "CONFIG SET masterauth" -x CONFIG SET masterauth <"$SECRETS_DIR/$REPLICATION_SECRET"
  else
    set_here "SENTINEL SET auth-pass" -x SENTINEL SET "$MASTER_NAME" auth-pass <"$SECRETS_DIR/$MONITOR_SECRET"
    set_here "SENTINEL CONFIG SET sentinel-pass" -x SENTINEL CONFIG SET sentinel-pass <"$SECRETS_DIR/$PEER_SECRET"
  fi
  log "this node sends the current passwords"
  ;;
*)
  log "usage: passwords.sh accept|use [FINGERPRINT], or passwords.sh fingerprint"
  exit 2
  ;;
esac
