# -*- coding: utf-8 -*-
# Copyright: sanboot.windows contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot server's per-client data, for hundreds of clients at once (plain Python, used by the filter plugins of
the roles iscsi_target and ipxe and of playbooks/boot_server.yml, and by the files module):

* values.py      the small conversions Ansible's filters do (bool, to_uuid), without Ansible;
* targets.py     iSCSI targets: one normalized record per target (the one place a storage backend adds a
                 backing-store type), their checks over the whole list, the tgt plan and the record of what was
                 applied;
* ipxe_hosts.py  iPXE hosts: normalized records and their checks;
* clients.py     the clients of boot_server.yml (host variables) -> targets and iPXE hosts;
* files.py       many files written atomically at once (what changes, the diff, check mode).

It imports no other layer: it knows nothing of Windows.
"""
