#!/bin/sh
# sanboot.windows.iscsi_target: (re)create or delete one LIO iSCSI target without disturbing initiators.
#
#   lio-apply-target.sh status
#   lio-apply-target.sh apply  SAVEFILE IQN FORCE PLUGIN/NAME...
#   lio-apply-target.sh delete -        IQN FORCE PLUGIN/NAME...
#
# status prints one line per iSCSI target of the running kernel target: "<iqn> busy" (an initiator is logged
# in) or "<iqn> idle". apply and delete print "applied", "deleted", "absent" or "busy" (initiators are logged in
# and FORCE is 0: nothing was touched). apply restores the target's storage objects and then the target from
# SAVEFILE with `targetcli restoreconfig ... clear_existing=true storage_object=|target=`, which replaces just
# those objects and leaves every other target and its sessions alone. One-shot targetcli commands do not
# auto-save, so SAVEFILE (the role's template) stays the single source of truth.
set -eu

cfs=/sys/kernel/config/target

is_busy() {  # $1: iqn
  for tpg in "$cfs/iscsi/$1"/tpgt_*; do
    [ -d "$tpg" ] || continue
    if [ -f "$tpg/dynamic_sessions" ] && grep -q . "$tpg/dynamic_sessions"; then return 0; fi
    for info in "$tpg"/acls/*/info; do
      [ -f "$info" ] || continue
      if grep -q '^InitiatorName:' "$info"; then return 0; fi
    done
  done
  return 1
}

action=$1
if [ "$action" = status ]; then
  [ -d "$cfs/iscsi" ] || exit 0
  for dir in "$cfs/iscsi"/*; do
    iqn=${dir##*/}
    case $iqn in iqn.*|eui.*|naa.*) ;; *) continue ;; esac
    if is_busy "$iqn"; then echo "$iqn busy"; else echo "$iqn idle"; fi
  done
  exit 0
fi

savefile=$2 iqn=$3 force=$4
shift 4
exists=0
[ -d "$cfs/iscsi/$iqn" ] && exists=1
if [ "$exists" = 1 ] && [ "$force" != 1 ] && is_busy "$iqn"; then
  echo busy
  exit 0
fi

if [ "$action" = delete ]; then
  if [ "$exists" = 1 ]; then targetcli /iscsi delete "$iqn" >&2; fi
  for so in "$@"; do
    if [ -d "$cfs/core" ] && ls -d "$cfs"/core/*/"${so#*/}" >/dev/null 2>&1; then
      targetcli "/backstores/${so%%/*}" delete "${so#*/}" >&2
    fi
  done
  if [ "$exists" = 1 ]; then echo deleted; else echo absent; fi
  exit 0
fi

for so in "$@"; do
  targetcli restoreconfig savefile="$savefile" clear_existing=true storage_object="${so#*/}" >&2
done
targetcli restoreconfig savefile="$savefile" clear_existing=true target="$iqn" >&2
[ -d "$cfs/iscsi/$iqn/tpgt_1" ] || { echo "LIO has no $iqn/tpgt_1 after restoreconfig" >&2; exit 1; }
echo applied
