"""Start the real action server and Rasa server for tests and benchmarks, and stop them again.

The same commands `scripts/run.sh` uses, on ports and a tracker database of the caller's choosing.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PROCESSES = ROOT / "scripts" / "processes.sh"  # the start commands, as make run and make cluster use them


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, timeout: float, process: Optional[subprocess.Popen] = None) -> float:
    """Polls url until it answers 200; returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not come up within {timeout} s")


def _status_kb(pid: int) -> Dict[str, int]:
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii", errors="replace") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    values["Pss"] = int(line.split()[1])
    except OSError:
        pass
    return values


def process_tree(pid: int) -> List[int]:
    """pid and all its descendants (Linux /proc)."""
    children: Dict[int, List[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def process_tree_memory(pid: int) -> Dict[str, int]:
    """RSS, peak RSS and PSS (bytes) of pid plus all its descendants, e.g. Sanic worker processes.

    RSS counts pages shared between the processes (forked workers) once per process; PSS splits
    them between the sharers, so its sum is the memory the group really takes."""
    total = {"rss": 0, "peak_rss": 0, "pss": 0, "processes": 0}
    for current in process_tree(pid):
        try:
            kb = _status_kb(current)
        except OSError:
            continue
        total["rss"] += kb.get("VmRSS", 0) * 1024
        total["peak_rss"] += kb.get("VmHWM", 0) * 1024
        total["pss"] += kb.get("Pss", 0) * 1024
        total["processes"] += 1
    return total


POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
# For Assistant(extra_env=...) when the client is a test suite or a load generator: one address sending
# faster than people type, which the rate limits (rasa_server/limits.py) would refuse.
NO_RATE_LIMITS = {"RATE_LIMIT_CONVERSATION": "0", "RATE_LIMIT_ADDRESS": "0"}


@dataclass
class LocalPostgres:
    """A throw-away PostgreSQL 15 (Debian's binaries) on a free port, for tests of the SQL tracker store.

    Started by deploy/postgres.sh, as `make cluster` starts its own: as root the server runs as the
    `postgres` user, who gets through the folders above its data directory by an ACL entry."""

    port: int = field(default_factory=free_port)
    workdir: Optional[Path] = None

    @staticmethod
    def available() -> bool:
        return (POSTGRES_BIN / "pg_ctl").exists() and (os.getuid() != 0 or _user_exists("postgres"))

    def _postgres_sh(self, action: str) -> None:
        assert self.workdir is not None
        subprocess.run([str(ROOT / "deploy" / "postgres.sh"), action, str(self.workdir / "postgres"), str(self.port)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, timeout=120)

    def start(self) -> LocalPostgres:
        import tempfile

        self.workdir = Path(tempfile.mkdtemp(prefix="cs-assistant-pg-"))
        self._postgres_sh("start")
        return self

    def tracker_env(self) -> Dict[str, str]:
        """Environment for Assistant(extra_env=...): the tracker store in this server's `rasa` database."""
        assert self.workdir is not None
        password = (self.workdir / "postgres-password").read_text(encoding="utf-8").strip()
        return {"TRACKER_DB_DIALECT": "postgresql", "TRACKER_DB_HOST": f"127.0.0.1:{self.port}",
                "TRACKER_DB": "rasa", "TRACKER_DB_USER": "rasa", "TRACKER_DB_PASSWORD": password}

    def stop(self) -> None:
        if self.workdir is None:
            return
        try:
            self._postgres_sh("stop")
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


class _Server:
    """`with server:` starts it and stops it again, also when starting failed half-way."""

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Assistant(_Server):
    """One action server plus one Rasa server, with their own SQLite tracker store."""

    workdir: Path
    model: Path = ROOT / "models" / "cs-assistant.tar.gz"
    endpoints: Path = ROOT / "endpoints.yml"
    rasa_port: int = field(default_factory=free_port)
    action_port: int = field(default_factory=free_port)
    auth_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    web_origin: str = "http://localhost:8080"
    extra_env: Dict[str, str] = field(default_factory=dict)
    action_server: Optional[subprocess.Popen] = None
    rasa_server: Optional[subprocess.Popen] = None
    extra_rasa_args: List[str] = field(default_factory=list)
    # More than one Sanic worker: a redis-server on 127.0.0.1 for Rasa's Redis lock store, as run.sh does.
    workers: int = 1
    redis_server: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def tracker_db(self) -> Path:
        return self.workdir / "tracker.db"

    def env(self) -> Dict[str, str]:
        env = dict(os.environ)
        env.update(
            PYTHONPATH=str(ROOT),
            RASA_TELEMETRY_ENABLED="false",
            ACTION_ENDPOINT_URL=f"http://127.0.0.1:{self.action_port}/webhook",
            TRACKER_DB_DIALECT="sqlite",
            TRACKER_DB_HOST="",
            TRACKER_DB=str(self.tracker_db),
            TRACKER_DB_USER="",
            TRACKER_DB_PASSWORD="",
            WEB_ORIGIN=self.web_origin,
            ACTION_HOST="127.0.0.1",
            RASA_HOST="127.0.0.1",
            MODEL=str(self.model),
            RASA_AUTH_TOKEN=self.auth_token,
        )
        env.update(self.extra_env)
        return env

    def _spawn(self, args: List[str], log_name: str) -> subprocess.Popen:
        log = open(self.workdir / log_name, "ab")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(args, cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT)

    def start_action_server(self, timeout: float = 60) -> float:
        self.action_server = self._spawn([str(PROCESSES), "action", str(self.action_port)], "action-server.log")
        return wait_until_up(f"http://127.0.0.1:{self.action_port}/health", timeout, self.action_server)

    def _endpoints_for_workers(self) -> Path:
        """endpoints + the Redis lock store, with a redis-server of our own (when workers > 1)."""
        if self.workers <= 1:
            return self.endpoints
        port = free_port()
        self.redis_server = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
            stdout=open(self.workdir / "redis.log", "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
        )
        self.extra_env.update(LOCK_STORE_URL=f"redis://127.0.0.1:{port}/1", SANIC_WORKERS=str(self.workers))
        composed = self.workdir / "endpoints-workers.yml"
        composed.write_text(self.endpoints.read_text() + (ROOT / "endpoints-redis-lock.yml").read_text())
        return composed

    def start_rasa_server(self, timeout: float = 180) -> float:
        endpoints = self._endpoints_for_workers()
        self.rasa_server = self._spawn(
            [str(PROCESSES), "rasa", str(self.rasa_port), str(endpoints), *self.extra_rasa_args], "rasa-server.log"
        )
        return wait_until_up(f"{self.url}/status?token={self.auth_token}", timeout, self.rasa_server)

    def start(self) -> Assistant:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.start_action_server()
        self.start_rasa_server()
        return self

    def console_env(self, token: str, state_dir: Path) -> Dict[str, str]:
        """The settings of a page server whose operator console reads this assistant's conversations and
        loads retrained models into it."""
        return {
            "OPS_TOKEN": token,
            "OPS_STATE_DIR": str(state_dir),
            "MODEL": str(self.model),
            "RASA_URLS": self.url,
            "RASA_AUTH_TOKEN": self.auth_token,
            **{key: self.env()[key] for key in ("TRACKER_DB_DIALECT", "TRACKER_DB", "TRACKER_DB_HOST")},
        }

    @staticmethod
    def rss_bytes(process: Optional[subprocess.Popen]) -> Dict[str, int]:
        """Resident memory of a server and its child processes (Linux /proc): current and peak."""
        if process is None or process.poll() is not None:
            return {"rss": 0, "peak_rss": 0, "pss": 0, "processes": 0}
        return process_tree_memory(process.pid)

    @staticmethod
    def _stop(process: Optional[subprocess.Popen]) -> None:
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_action_server(self) -> None:
        self._stop(self.action_server)

    def stop(self) -> None:
        self._stop(self.rasa_server)
        self._stop(self.action_server)
        self._stop(self.redis_server)


class PageServer(_Server):
    """`python -m web.server` (chat page and operator console) as `make run` starts it, on a free port."""

    def __init__(self, workdir: Path, rasa_port: int, name: str, port: Optional[int] = None,
                 extra_env: Optional[Dict[str, str]] = None):
        self.port = port or free_port()
        self.rasa_port = rasa_port
        self.log_path = workdir / f"{name}.log"
        self.extra_env = extra_env or {}
        self.process: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PageServer:
        env = dict(os.environ, PYTHONPATH=str(ROOT), WEB_HOST="127.0.0.1", WEB_PORT=str(self.port),
                   RASA_PORT=str(self.rasa_port))
        env.pop("WEB_SOCKET_URL", None)
        env.update(self.extra_env)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([str(PROCESSES), "page"], cwd=ROOT, env=env,
                                            stdout=log, stderr=subprocess.STDOUT)
        wait_until_up(f"{self.url}/healthz", 20, self.process)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def pid_listening_on(port: int) -> Optional[int]:
    """The process with a TCP socket listening on 127.0.0.1/0.0.0.0:port (Linux /proc), or None."""
    inodes = set()
    with open("/proc/net/tcp", encoding="ascii") as table:
        for line in list(table)[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{entry}/fd"):
                if os.readlink(f"/proc/{entry}/fd/{fd}") in inodes:
                    return int(entry)
        except OSError:
            continue
    return None
