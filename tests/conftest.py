# Shared pytest set-up: import the collection as ansible_collections.sanboot.windows, fixture hives.
import os
import shutil
import sys

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_COLLECTIONS = os.path.join(_ROOT, 'build', 'collections')
if os.path.isdir(_COLLECTIONS) and _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

from ansible_collections.sanboot.windows.tests.helpers import (  # noqa: E402  pylint: disable=wrong-import-position
    dump_hive, merge_with_hivexregedit, unpacked_hive,
)


@pytest.fixture
def hive_copy(tmp_path):
    """Factory: a writable copy of a fixture hive in tmp_path."""
    def make(name, dest_name=None):
        dest = tmp_path / (dest_name or name)
        shutil.copyfile(unpacked_hive(name), str(dest))
        os.chmod(str(dest), 0o644)
        return str(dest)
    return make


@pytest.fixture
def reg_cross_check(tmp_path):
    """Assert that our edit of ``original`` (now in ``edited``) equals hivexregedit merging our .reg text."""
    def check(original, edited, reg_text, prefix='HKEY_LOCAL_MACHINE\\SYSTEM'):
        merged = merge_with_hivexregedit(original, reg_text, str(tmp_path / 'hivexregedit-merged'), prefix)
        ours, theirs = dump_hive(edited), dump_hive(merged)
        assert set(ours) == set(theirs), 'keys differ: %r' % sorted(set(ours) ^ set(theirs))[:20]
        for key in ours:
            assert ours[key] == theirs[key], 'values of %s differ' % '\\'.join(key)
        return ours
    return check


# Under CI (CI=true) a skipped test is a failure: a missing tool or package must not turn a red run green. A
# developer's local run may skip; the summary then says what was skipped and that CI would have failed.
# ansible-test passes no CI variable to its pytest: scripts/run-tests.sh leaves tests/.ci in its copy instead.
_CI = (os.environ.get('CI', '').lower() in ('1', 'true', 'yes')
       or os.path.exists(os.path.join(os.path.dirname(os.path.abspath(__file__)), '.ci')))


def _no_skip_under_ci(report):
    if _CI and report.skipped and not hasattr(report, 'wasxfail'):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = 'failed'
        report.longrepr = 'CI=true: this test may not skip (%s)' % reason


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # pylint: disable=unused-argument
    outcome = yield
    _no_skip_under_ci(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):  # pylint: disable=unused-argument
    """A whole file skipped (pytest.importorskip at module level) counts too."""
    outcome = yield
    _no_skip_under_ci(outcome.get_result())


def pytest_terminal_summary(terminalreporter):
    skipped = terminalreporter.stats.get('skipped', [])
    if skipped and not _CI:
        terminalreporter.write_line('%d test(s) skipped: a local run only; under CI=true each one fails '
                                    '(make bootstrap installs what they need)' % len(skipped), yellow=True)
