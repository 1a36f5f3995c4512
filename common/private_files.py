"""Who may read var/: the secrets and conversations there are the service user's alone.

`python -m common.private_files var` (scripts/run.sh, before starting anything) makes var/ 0700 and
every file directly in it 0600 (the HTTP API token, the SQLite tracker database and its -wal/-shm
files, generated endpoints). run.sh also sets umask 077, so files created later are 0600 too, and a new
SQLite tracker database is created 0600 whoever starts it (common/tracker_db.py).

chmod by path opens no descriptor: that matters for the database (the rule in common/tracker_db.py).

A local PostgreSQL (as the cluster setup runs it) needs its data directory under var/ owned by the
`postgres` user, who must be able to pass through var/ to reach it. When var/ holds a directory owned
by another user, var/ becomes 0711 instead: others may pass through to a path they know, never list
var/; the files in it stay 0600, so they still read nothing.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
PASS_THROUGH_DIR = 0o711


def secure_var(var_dir: Path) -> None:
    var_dir.mkdir(parents=True, exist_ok=True)
    me = os.getuid()
    other_users_dirs = False
    for entry in var_dir.iterdir():
        info = entry.lstat()
        if stat.S_ISREG(info.st_mode) and info.st_uid == me:
            os.chmod(entry, PRIVATE_FILE)
        elif stat.S_ISDIR(info.st_mode):
            if info.st_uid == me:
                os.chmod(entry, PRIVATE_DIR)
            else:
                other_users_dirs = True
    os.chmod(var_dir, PASS_THROUGH_DIR if other_users_dirs else PRIVATE_DIR)


if __name__ == "__main__":
    secure_var(Path(sys.argv[1] if len(sys.argv) > 1 else "var"))
