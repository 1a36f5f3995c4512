"""var/ is private: files 0600, the folder 0700, or 0711 when another user's folder (PostgreSQL) is inside."""

from __future__ import annotations

import os
import stat

import pytest

from common.private_files import secure_var


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_files_become_0600_and_the_folder_0700(tmp_path):
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    for name in ("rasa-auth-token", "tracker.db", "tracker.db-wal"):
        (var / name).write_text("secret")
        os.chmod(var / name, 0o644)
    (var / "cache").mkdir(mode=0o755)
    secure_var(var)
    assert mode(var) == 0o700 and mode(var / "cache") == 0o700
    assert all(mode(var / name) == 0o600 for name in ("rasa-auth-token", "tracker.db", "tracker.db-wal"))


@pytest.mark.skipif(os.getuid() != 0, reason="giving a folder to another user needs root")
def test_another_users_folder_inside_makes_var_passable_not_listable(tmp_path):
    var = tmp_path / "var"
    (var / "postgres").mkdir(parents=True)
    os.chown(var / "postgres", 65534, 65534)  # nobody, standing in for the postgres user
    (var / "tracker.db").write_text("rows")
    secure_var(var)
    assert mode(var) == 0o711 and mode(var / "tracker.db") == 0o600
