#!/bin/sh
# sanboot.windows.iscsi_target: (re)create or delete one tgt target without disturbing initiators.
#
#   tgt-apply-target.sh apply  CONTROL_PORT IQN CONF FORCE [CHAP_USER...]
#   tgt-apply-target.sh delete CONTROL_PORT IQN -    FORCE [CHAP_USER...]
#
# Prints one word on stdout: "applied", "deleted", "absent" or "busy" (initiators are logged in and FORCE is 0;
# nothing was touched). Why not just `tgt-admin --update`:
#   * tgtd refuses to delete a target that has I_T nexuses unless forced; that refusal is the in-use test here,
#     done atomically by tgtd instead of by parsing `--show` first (no window for a login in between);
#   * tgt keeps CHAP accounts globally by user name and tgt-admin never changes the password of an existing
#     account, so the target's accounts are deleted (after the target) and recreated by tgt-admin.
# Every tgtadm/tgt-admin output goes to stderr: the caller logs nothing (CHAP secrets are in CONF).
set -eu

action=$1 port=$2 iqn=$3 conf=$4 force=$5
shift 5

tid=$(tgtadm -C "$port" --lld iscsi --mode target --op show |
      awk -v iqn="$iqn" '$1 == "Target" && $3 == iqn { sub(":", "", $2); print $2 }')

if [ -n "$tid" ]; then
  if [ "$force" = 1 ]; then
    tgt-admin -C "$port" --delete "$iqn" --force >&2
  elif ! err=$(tgtadm -C "$port" --lld iscsi --mode target --op delete --tid "$tid" 2>&1); then
    case $err in
      *"still active"*) echo busy; exit 0 ;;
      *) echo "$err" >&2; exit 1 ;;
    esac
  fi
fi

for user in "$@"; do
  if tgtadm -C "$port" --mode account --op show | awk '{ print $1 }' | grep -qxF -- "$user"; then
    tgtadm -C "$port" --mode account --op delete --user "$user" >&2
  fi
done

if [ "$action" = delete ]; then
  if [ -n "$tid" ]; then echo deleted; else echo absent; fi
  exit 0
fi

log=$(mktemp)
if ! tgt-admin -C "$port" -c "$conf" --update "$iqn" >"$log" 2>&1; then
  sed 's/--password=[^ ]*/--password=********/g' "$log" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
echo applied
