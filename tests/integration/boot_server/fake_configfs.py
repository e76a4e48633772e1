"""A stand-in for the LIO configfs tree, so rtslib-fb's own restore() and dump() can run without a kernel target.

LIO cannot run on the development and CI machines (no configfs, no target_core_mod). To check the saveconfig.json
that sanboot.windows.iscsi_target renders for the `lio` backend, the tests let rtslib-fb itself restore it into a
plain directory that behaves like /sys/kernel/config/target for the operations rtslib uses:

* mkdir of a configfs group populates it with the attribute files and default groups the kernel would create
  (names taken from the kernel's target_core_configfs.c, iscsi_target_configfs.c and target_core_fabric_configfs.c);
* rmdir removes a group with its attribute files (configfs semantics; a plain rmdir would fail);
* writes with kernel side effects are emulated: a storage object's control/enable produce its `info`, and
  `wwn/vpd_unit_serial` reads back in the kernel's "T10 VPD Unit Serial Number: ..." form.

Writing an attribute the kernel does not have fails, as it does in configfs; so does restoring a key rtslib does
not understand. The tests then call rtslib's dump() and compare it with the rendered file.
"""
import os
import re
import shutil
from pathlib import Path

import rtslib_fb
from rtslib_fb import alua, fabric, node, root, target, tcm, utils

# Attribute files the kernel creates, per group type (writable ones get a default value).
SO_ATTRIBS = {
    'block_size': '512', 'emulate_3pc': '1', 'emulate_caw': '1', 'emulate_dpo': '1', 'emulate_fua_read': '1',
    'emulate_fua_write': '1', 'emulate_model_alias': '1', 'emulate_pr': '1', 'emulate_rest_reord': '0',
    'emulate_tas': '1', 'emulate_tpu': '0', 'emulate_tpws': '0', 'emulate_ua_intlck_ctrl': '0',
    'emulate_write_cache': '0', 'enforce_pr_isids': '1', 'force_pr_aptpl': '0', 'is_nonrot': '0',
    'max_unmap_block_desc_count': '1', 'max_unmap_lba_count': '8192', 'max_write_same_len': '4096',
    'optimal_sectors': '16384', 'pi_prot_format': '0', 'pi_prot_type': '0', 'pi_prot_verify': '0',
    'queue_depth': '128', 'unmap_granularity': '1', 'unmap_granularity_alignment': '0', 'unmap_zeroes_data': '0',
}
SO_RO_ATTRIBS = {'hw_block_size': '512', 'hw_max_sectors': '16384', 'hw_pi_prot_type': '0',
                 'hw_queue_depth': '128', 'alua_support': '1', 'pgr_support': '1'}
TPG_ATTRIBS = {
    'authentication': '0', 'cache_dynamic_acls': '0', 'default_cmdsn_depth': '64', 'default_erl': '0',
    'demo_mode_discovery': '1', 'demo_mode_write_protect': '1', 'fabric_prot_type': '0',
    'generate_node_acls': '0', 'login_keys_workaround': '1', 'login_timeout': '15', 'netif_timeout': '2',
    'prod_mode_write_protect': '0', 't10_pi': '0', 'tpg_enabled_sendtargets': '1',
}
TPG_PARAMS = {
    'AuthMethod': 'CHAP,None', 'DataDigest': 'CRC32C,None', 'DataPDUInOrder': 'Yes',
    'DataSequenceInOrder': 'Yes', 'DefaultTime2Retain': '20', 'DefaultTime2Wait': '2', 'ErrorRecoveryLevel': '0',
    'FirstBurstLength': '65536', 'HeaderDigest': 'CRC32C,None', 'IFMarkInt': 'Reject', 'IFMarker': 'No',
    'ImmediateData': 'Yes', 'InitialR2T': 'Yes', 'MaxBurstLength': '262144', 'MaxConnections': '1',
    'MaxOutstandingR2T': '1', 'MaxRecvDataSegmentLength': '8192', 'MaxXmitDataSegmentLength': '262144',
    'OFMarkInt': 'Reject', 'OFMarker': 'No', 'TargetAlias': 'LIO Target',
}
ACL_ATTRIBS = {
    'dataout_timeout': '3', 'dataout_timeout_retries': '5', 'default_erl': '0', 'nopin_response_timeout': '30',
    'nopin_timeout': '15', 'random_datain_pdu_offsets': '0', 'random_datain_seq_offsets': '0',
    'random_r2t_offsets': '0',
}
AUTH = ['userid', 'password', 'userid_mutual', 'password_mutual']
ALUA_TPG_FILES = {
    'alua_access_state': '0', 'alua_access_status': 'None', 'alua_access_type': 'Implicit and Explicit', 'alua_support_active_nonoptimized': '1',
    'alua_support_active_optimized': '1', 'alua_support_lba_dependent': '0', 'alua_support_offline': '1',
    'alua_support_standby': '1', 'alua_support_transitioning': '1', 'alua_support_unavailable': '1',
    'alua_write_metadata': '0', 'implicit_trans_secs': '0', 'nonop_delay_msecs': '100', 'preferred': '0',
    'tg_pt_gp_id': '0', 'trans_delay_msecs': '0', 'members': '',
}


class FakeConfigfs:
    """Patch rtslib-fb to use <base>/target as its configfs tree. Use as a context manager."""

    def __init__(self, base):
        self.base = Path(base)
        self.root = self.base / 'target'
        self.saved = []
        self.control = {}
        self.real_mkdir = Path.mkdir
        self.real_rmdir = Path.rmdir
        self.real_fwrite = utils.fwrite

    # -- helpers -------------------------------------------------------------------------------------------
    def _rel(self, path):
        try:
            return Path(os.path.abspath(path)).relative_to(self.root).as_posix()
        except ValueError:
            return None

    def _files(self, directory, values, mode=0o644):
        if not directory.is_dir():
            self.real_mkdir(directory)
        for name, value in values.items():
            p = directory / name
            p.write_text(value)
            os.chmod(p, mode)

    def _populate(self, p, rel):
        if rel == '.':
            self.real_mkdir(p / 'core')
            (p / 'dbroot').write_text('/etc/target')
            (p / 'version').write_text('Target Engine Core ConfigFS Infrastructure v5.0')
        elif rel == 'iscsi':
            self._files(p / 'discovery_auth', {'enforce_discovery_auth': '0', 'authenticate_target': '0',
                                               **{a: '' for a in AUTH}})
            (p / 'lio_version').write_text('Datera Inc. iSCSI Target v4.1.0')
        elif re.fullmatch(r'core/\w+_\d+/[^/]+', rel):              # storage object
            self._files(p / 'attrib', SO_ATTRIBS)
            self._files(p / 'attrib', SO_RO_ATTRIBS, 0o444)
            self._files(p / 'wwn', {'vpd_unit_serial': 'T10 VPD Unit Serial Number: \n'})
            self.real_mkdir(p / 'alua')
            self._files(p / 'alua' / 'default_tg_pt_gp', ALUA_TPG_FILES)
            self.real_mkdir(p / 'pr')
            self._files(p, {'info': 'Status: DEACTIVATED\n', 'udev_path': '', 'enable': '0', 'control': ''})
        elif re.fullmatch(r'core/\w+_\d+/[^/]+/alua/[^/]+', rel):   # extra ALUA group
            self._files(p, ALUA_TPG_FILES)
        elif re.fullmatch(r'iscsi/[^/]+/tpgt_\d+', rel):             # TPG
            self._files(p / 'attrib', TPG_ATTRIBS)
            self._files(p / 'param', TPG_PARAMS)
            self._files(p / 'auth', {a: '' for a in AUTH})
            self._files(p / 'auth', {'authenticate_target': '0'}, 0o444)
            for group in ('acls', 'lun', 'np'):
                self.real_mkdir(p / group)
            self._files(p, {'enable': '0', 'dynamic_sessions': ''})
        elif re.fullmatch(r'iscsi/[^/]+/tpgt_\d+/lun/lun_\d+', rel):
            self._files(p, {'alua_tg_pt_gp': 'TG Port Alias: default_tg_pt_gp\nTG Port Group ID: 0\n'})
        elif re.fullmatch(r'iscsi/[^/]+/tpgt_\d+/acls/[^/]+', rel):  # node ACL
            self._files(p / 'attrib', ACL_ATTRIBS)
            self._files(p / 'auth', {a: '' for a in AUTH})
            self._files(p / 'auth', {'authenticate_target': '0'}, 0o444)
            self._files(p, {'info': 'No active iSCSI Session for Initiator Endpoint: %s\n' % p.name,
                            'cmdsn_depth': '64', 'tag': ''})
        elif re.fullmatch(r'iscsi/[^/]+/tpgt_\d+/acls/[^/]+/lun_\d+', rel):  # mapped LUN
            self._files(p, {'write_protect': '0'})
        elif re.fullmatch(r'iscsi/[^/]+/tpgt_\d+/np/[^/]+', rel):    # network portal
            self._files(p, {'iser': '0', 'offload': '0'})

    # -- patched operations ----------------------------------------------------------------------------------
    def mkdir(self, path, *args, **kwargs):
        rel = self._rel(path)
        self.real_mkdir(path, *args, **kwargs)
        if rel is not None:
            self._populate(Path(path), rel)

    def rmdir(self, path):
        if self._rel(path) is not None:
            shutil.rmtree(path)
        else:
            self.real_rmdir(path)

    def fwrite(self, path, string):
        rel = self._rel(path)
        if rel is None:
            return self.real_fwrite(path, string)
        p = Path(path)
        if not p.is_file() and not rel.startswith('core/') and not p.name.startswith('lun_'):
            raise OSError(2, 'No such file or directory (configfs attribute)', str(path))
        if p.name == 'vpd_unit_serial':
            string = 'T10 VPD Unit Serial Number: %s\n' % str(string).strip()
        if p.name == 'control' and re.fullmatch(r'core/\w+_\d+/[^/]+/control', rel):
            # the kernel parses control writes into the device's settings; they accumulate
            self.control.setdefault(str(p.parent), {}).update(
                kv.split('=', 1) for kv in str(string).strip().split(',') if '=' in kv)
        self.real_fwrite(path, string)
        if p.name in ('control', 'enable') and re.fullmatch(r'core/\w+_\d+/[^/]+/(control|enable)', rel):
            self._update_info(p.parent)
        return None

    def _update_info(self, so_dir):
        control = self.control.get(str(so_dir), {})
        enabled = (so_dir / 'enable').read_text().strip() == '1'
        status = 'ACTIVATED' if enabled else 'DEACTIVATED'
        plugin = so_dir.parent.name.rsplit('_', 1)[0]
        if plugin == 'fileio':
            info = ('Status: %s  Max Queue Depth: 128  SectorSize: 512  HwMaxSectors: 16384\n'
                    '        TCM FILEIO ID: 0        File: %s  Size: %s  Mode: %s Async: 0\n'
                    % (status, control.get('fd_dev_name', ''), control.get('fd_dev_size', '0'),
                       'Buffered-WCE' if control.get('fd_buffered_io') == '1' else 'O_DSYNC'))
        else:
            info = ('Status: %s  Max Queue Depth: 128  SectorSize: 512  HwMaxSectors: 16384\n'
                    '        iBlock device: %s  UDEV PATH: %s  readonly: %s\n'
                    '        Major: 7 Minor: 7  CLAIMED: IBLOCK\n'
                    % (status, os.path.basename(control.get('udev_path', '')), control.get('udev_path', ''),
                       control.get('readonly', '0')))
        (so_dir / 'info').write_text(info)

    # -- install / uninstall ---------------------------------------------------------------------------------
    def _patch(self, obj, name, value):
        self.saved.append((obj, name, getattr(obj, name)))
        setattr(obj, name, value)

    def __enter__(self):
        fake = self

        def mkdir(path, *args, **kwargs):
            return fake.mkdir(path, *args, **kwargs)

        def rmdir(path):
            return fake.rmdir(path)

        self._patch(Path, 'mkdir', mkdir)
        self._patch(Path, 'rmdir', rmdir)
        self._patch(node.CFSNode, 'configfs_dir', str(self.root))
        for mod in (utils, node, root, target, tcm, fabric, alua):
            if hasattr(mod, 'fwrite'):
                self._patch(mod, 'fwrite', self.fwrite)
            if hasattr(mod, 'modprobe'):
                self._patch(mod, 'modprobe', lambda name: None)
        self._patch(root, 'mount_configfs', lambda: None)
        self._patch(tcm, 'lock_file', str(self.base / 'rtslib_backstore.lock'))
        # Block devices: anything under /dev/fake-* counts as an unused TYPE_DISK device of 64 MiB.
        real_type, real_in_use = tcm.get_blockdev_type, tcm.is_dev_in_use
        self._patch(tcm, 'get_blockdev_type', lambda p: 0 if str(p).startswith('/dev/fake-') else real_type(p))
        self._patch(tcm, 'is_dev_in_use', lambda p: False if str(p).startswith('/dev/fake-') else real_in_use(p))
        self._patch(tcm, 'get_size_for_blk_dev', lambda p: 131072)
        self.base.mkdir(parents=True, exist_ok=True)
        tcm.bs_cache.clear()
        return self

    def __exit__(self, *exc):
        for obj, name, value in reversed(self.saved):
            setattr(obj, name, value)
        self.saved = []
        tcm.bs_cache.clear()
        return False


def restore_and_dump(config, base):
    """Restore `config` (a saveconfig.json dict) with rtslib-fb into a fake configfs; return (errors, dump)."""
    with FakeConfigfs(base):
        rts = rtslib_fb.RTSRoot()
        errors = rts.restore(config, clear_existing=True, abort_on_error=False)
        return errors, rts.dump()
