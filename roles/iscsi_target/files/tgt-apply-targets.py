# sanboot.windows.iscsi_target: (re)create or delete tgt targets without disturbing initiators, all in one run.
#
#   python3 tgt-apply-targets.py CONTROL_PORT FORCE ITEM...
#
# Each ITEM is a JSON object {"action": "apply" | "delete", "iqn", "conf" (apply: the target's configuration file),
# "users" (its CHAP user names)}. Prints one line per item on stdout, "<word> <iqn>", the word being "applied",
# "deleted", "absent" or "busy" (initiators are logged in and FORCE is 0; nothing was touched). Why not
# `tgt-admin --update` per target (what this did before, one process per target, and tgt-admin reads every
# target of tgtd on each start: minutes for hundreds of targets):
#   * tgtd refuses to delete a target that has I_T nexuses unless forced; that refusal is the in-use test here,
#     done atomically by tgtd instead of by parsing `--show` first (no window for a login in between);
#   * tgt keeps CHAP accounts globally by user name and tgt-admin never changes the password of an existing
#     account, so the target's accounts are deleted (after the target) and created again;
#   * a target is created with the tgtadm commands tgt-admin runs for the same configuration file (the subset of
#     its syntax that tgt-target.conf.j2 writes), in the same order; like tgt-admin, a backing store that does not
#     exist or that is in use (a mounted device, a file a process holds open: read once from /proc instead of one
#     lsof per backing store) is skipped (the role's check after the run names what tgtd lacks).
# tgtadm's output goes to stderr, with CHAP secrets masked: the caller logs nothing (the secrets are in the files).
import errno
import json
import os
import re
import subprocess
import sys

PORT = sys.argv[1]
FORCE = sys.argv[2] == '1'


def tgtadm(*args, check=True):
    res = subprocess.run(['tgtadm', '-C', PORT] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, check=False)
    if check and res.returncode != 0:
        shown = ' '.join('--password=********' if a.startswith('--password=') else a for a in args)
        sys.stderr.write('tgtadm %s: %s%s\n' % (shown, res.stdout, res.stderr))
        sys.exit(1)
    return res


def parse_conf(path):
    """(iqn, [lun dicts], {option: [values]}) of a file tgt-target.conf.j2 wrote."""
    luns, options, lun, iqn = [], {}, None, None
    with open(path) as handle:
        for raw in handle:
            line = raw.strip()
            if not line or line.startswith('#'):
                continue
            m = re.match(r'^<target\s+(\S+)>$', line)
            if m:
                iqn = m.group(1)
                continue
            m = re.match(r'^<backing-store\s+(.+)>$', line)
            if m:
                lun = {'path': m.group(1), 'params': {}}
                luns.append(lun)
                continue
            if line in ('</backing-store>', '</target>'):
                lun = None
                continue
            key, _sep, value = line.partition(' ')
            if lun is not None:
                lun['params'][key] = value.strip()
            else:
                options.setdefault(key, []).append(value.strip())
    return iqn, luns, options


def live():
    """({iqn: tid}, set of account names) of the running tgtd."""
    out = tgtadm('--lld', 'iscsi', '--mode', 'target', '--op', 'show').stdout
    tids = dict((iqn, int(tid)) for tid, iqn in re.findall(r'(?m)^Target (\d+): (\S+)$', out))
    accounts = tgtadm('--mode', 'account', '--op', 'show').stdout.splitlines()[1:]
    return tids, set(line.split()[0] for line in accounts if line.strip())


def open_files():
    """The files some process has open (what tgt-admin asks lsof about each backing store, read once)."""
    found = set()
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        folder = '/proc/%s/fd' % pid
        try:
            fds = os.listdir(folder)
        except OSError:
            continue
        for fd in fds:
            try:
                found.add(os.readlink(os.path.join(folder, fd)))
            except OSError:
                pass
    return found


def in_use(path, busy):
    """tgt-admin's check_device: a device the system uses (O_EXCL open fails with EBUSY), or a file or device a
    process holds open."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_EXCL)
        os.close(fd)
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            return True
    return os.path.realpath(path) in busy


def create(tid, iqn, luns, options, accounts, busy):
    """What tgt-admin --update runs for this configuration (tgt-admin's add_targets and add_backing_direct)."""
    tgtadm('--lld', 'iscsi', '--op', 'new', '--mode', 'target', '--tid', str(tid), '-T', iqn)
    for lun in luns:
        p = lun['params']
        if not os.path.exists(lun['path']):
            sys.stderr.write('skipping %s: it does not exist\n' % lun['path'])
            continue
        if in_use(lun['path'], busy):
            sys.stderr.write('skipping %s: it is in use (lsof %s)\n' % (lun['path'], lun['path']))
            continue
        num = p['lun']
        tgtadm('--lld', 'iscsi', '--op', 'new', '--mode', 'logicalunit', '--tid', str(tid), '--lun', num,
               '-b', lun['path'])
        update = ['--lld', 'iscsi', '--op', 'update', '--mode', 'logicalunit', '--tid', str(tid), '--lun=' + num,
                  '--params']
        if p.get('write-cache') == 'off':
            tgtadm(*update + ['mode_page=8:0:18:0x10:0:0xff:0xff:0:0:0xff:0xff:0xff:0xff:0x80:0x14:0:0:0:0:0:0'])
        if 'scsi_sn' in p:
            tgtadm(*update + ['scsi_sn=' + p['scsi_sn']])
        if 'readonly' in p:
            tgtadm(*update + ['readonly=' + p['readonly']])
    # tgt-admin takes a target's options in the order of their names
    for user, password in (v.split(None, 1) for v in options.get('incominguser', [])):
        if user not in accounts:
            tgtadm('--lld', 'iscsi', '--mode', 'account', '--op', 'new', '--user=' + user, '--password=' + password)
            accounts.add(user)
        tgtadm('--lld', 'iscsi', '--mode', 'account', '--op', 'bind', '--tid=' + str(tid), '--user=' + user)
    for address in options.get('initiator-address', []):
        tgtadm('--lld', 'iscsi', '--op', 'bind', '--mode', 'target', '--tid', str(tid), '-I', address)
    for name in options.get('initiator-name', []):
        tgtadm('--lld', 'iscsi', '--op', 'bind', '--mode', 'target', '--tid', str(tid), '-Q', name)
    for user, password in (v.split(None, 1) for v in options.get('outgoinguser', [])[:1]):
        if user not in accounts:
            tgtadm('--lld', 'iscsi', '--mode', 'account', '--op', 'new', '--user=' + user, '--password=' + password)
            accounts.add(user)
        tgtadm('--lld', 'iscsi', '--mode', 'account', '--op', 'bind', '--tid=' + str(tid), '--user=' + user,
               '--outgoing')
    if not options.get('initiator-address'):
        # no initiator-address: tgt-admin admits every initiator
        tgtadm('--lld', 'iscsi', '--op', 'bind', '--mode', 'target', '--tid', str(tid), '-I', 'ALL')


def main():
    items = [json.loads(arg) for arg in sys.argv[3:]]
    tids, accounts = live()
    next_tid = max(list(tids.values()) + [0]) + 1
    create_now = []
    # first every deletion (a target being changed too), so that its backing stores are closed before the check of
    # what is in use
    for item in items:
        iqn = item['iqn']
        tid = tids.get(iqn)
        if tid is not None:
            if FORCE:
                res = subprocess.run(['tgt-admin', '-C', PORT, '--delete', iqn, '--force'], stdout=sys.stderr,
                                     stderr=sys.stderr, check=False)
                if res.returncode != 0:
                    sys.exit(1)
            else:
                res = tgtadm('--lld', 'iscsi', '--mode', 'target', '--op', 'delete', '--tid', str(tid), check=False)
                if res.returncode != 0:
                    if 'still active' in res.stdout + res.stderr:
                        print('busy ' + iqn)
                        sys.stdout.flush()
                        continue
                    sys.stderr.write(res.stdout + res.stderr)
                    sys.exit(1)
            del tids[iqn]
        for user in item.get('users') or []:
            if user in accounts:
                tgtadm('--mode', 'account', '--op', 'delete', '--user', user)
                accounts.discard(user)
        if item['action'] == 'delete':
            print(('deleted ' if tid is not None else 'absent ') + iqn)
            sys.stdout.flush()
        else:
            create_now.append(item)
    busy = open_files() if create_now else set()
    for item in create_now:
        iqn = item['iqn']
        conf_iqn, luns, options = parse_conf(item['conf'])
        if conf_iqn != iqn:
            sys.stderr.write('%s describes %s, not %s\n' % (item['conf'], conf_iqn, iqn))
            sys.exit(1)
        create(next_tid, iqn, luns, options, accounts, busy)
        tids[iqn] = next_tid
        next_tid += 1
        print('applied ' + iqn)
        sys.stdout.flush()


if __name__ == '__main__':
    main()
