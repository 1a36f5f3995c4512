"""Start `make cluster` (deploy/cluster.sh) on free ports for tests and benchmarks, and stop it again."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from devtools.servers import NO_RATE_LIMITS, ROOT, pid_listening_on, wait_until_up

# Port offsets from one random base: replicas, action servers (+100: their balancer), nginx (+1: the
# page server), PostgreSQL, Redis; up to 10 replicas.
_RASA, _ACTION, _WEB, _PG, _REDIS = 0, 20, 40, 50, 51
_OFFSETS = [*range(0, 10), *range(20, 30), 120, 40, 41, 50, 51]


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_base() -> int:
    for _ in range(200):
        base = random.randrange(20000, 50000)
        if all(_port_is_free(base + offset) for offset in _OFFSETS):
            return base
    raise RuntimeError("no free block of ports for the cluster")


def request_json(url: str, payload: Optional[Dict[str, Any]] = None, timeout: float = 30) -> Tuple[int, Any]:
    """GET (or POST payload as JSON); (status, parsed body), status 0 when the connection failed."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
            return response.status, json.loads(body) if body else None
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except OSError as error:  # refused, reset, timed out
        return 0, str(error)


@dataclass
class Cluster:
    """`make cluster` with its own ports, state directory and API token."""

    workdir: Path
    replicas: int = 2
    base: int = field(default_factory=free_port_base)
    auth_token: str = field(default_factory=lambda: os.urandom(16).hex())
    # Load from one address sends faster than a person types: the rate limits (rasa_server/limits.py) are
    # tested on their own, so tests and benchmarks run the cluster without them unless they say otherwise.
    extra_env: Dict[str, str] = field(default_factory=lambda: dict(NO_RATE_LIMITS))
    process: Optional[subprocess.Popen] = None

    @property
    def web_port(self) -> int:
        return self.base + _WEB

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def pg_port(self) -> int:
        return self.base + _PG

    def rasa_port(self, replica: int) -> int:
        return self.base + _RASA + replica

    def action_port(self, replica: int) -> int:
        return self.base + _ACTION + replica

    def replica_url(self, replica: int) -> str:
        return f"http://127.0.0.1:{self.rasa_port(replica)}"

    @property
    def state_dir(self) -> Path:
        return self.workdir / "state"

    def env(self) -> Dict[str, str]:
        env = {key: value for key, value in os.environ.items()
               if key not in ("TRACKER_DB_HOST", "REDIS_URL", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
        env.update(
            RASA_REPLICAS=str(self.replicas), RASA_PORT=str(self.rasa_port(0)),
            ACTION_PORT=str(self.action_port(0)), WEB_PORT=str(self.web_port),
            PG_PORT=str(self.pg_port), REDIS_PORT=str(self.base + _REDIS),
            WEB_ORIGIN=f"http://localhost:{self.web_port},http://127.0.0.1:{self.web_port}",
            CLUSTER_DIR=str(self.state_dir), RASA_AUTH_TOKEN=self.auth_token,
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 300) -> Cluster:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / "cluster.log", "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(["make", "--no-print-directory", "cluster"], cwd=ROOT, env=self.env(),
                                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        start = time.monotonic()
        for replica in range(self.replicas):
            self.wait_replica_up(replica, timeout - (time.monotonic() - start))
        wait_until_up(f"{self.url}/healthz", 30, self.process)
        return self

    def wait_replica_up(self, replica: int, timeout: float = 180) -> float:
        return wait_until_up(f"{self.replica_url(replica)}/status?token={self.auth_token}", timeout, self.process)

    def stop(self) -> None:
        """SIGTERM to make, as a terminal's Ctrl-C or a service manager would send."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def ports(self) -> List[int]:
        """Every port the cluster listens on."""
        replicas = range(self.replicas)
        return [*(self.rasa_port(i) for i in replicas), *(self.action_port(i) for i in replicas),
                self.action_port(0) + 100, self.web_port, self.web_port + 1, self.pg_port, self.base + _REDIS]

    def rasa_pid(self, replica: int) -> Optional[int]:
        return pid_listening_on(self.rasa_port(replica))

    def kill_replica(self, replica: int) -> int:
        pid = self.rasa_pid(replica)
        assert pid is not None, f"replica {replica} is not running"
        os.kill(pid, signal.SIGKILL)
        return pid

    def postgres(self, action: str) -> None:
        """deploy/postgres.sh start|stop|restart on the cluster's local PostgreSQL."""
        subprocess.run([str(ROOT / "deploy" / "postgres.sh"), action, str(self.state_dir / "postgres"),
                        str(self.pg_port)], check=True, capture_output=True)

    def say(self, sender: str, text: str, replica: Optional[int] = None, timeout: float = 30,
            **extra: Any) -> Tuple[int, Any]:
        """One message over the REST webhook, through nginx or straight to one replica."""
        base = self.url if replica is None else self.replica_url(replica)
        return request_json(f"{base}/webhooks/rest/webhook", {"sender": sender, "message": text, **extra}, timeout)

    def stored_events(self, sender: str, replica: int = 0) -> List[Dict[str, Any]]:
        """The conversation's events as PostgreSQL holds them (Rasa's HTTP API, with the token)."""
        status, tracker = request_json(
            f"{self.replica_url(replica)}/conversations/{sender}/tracker?token={self.auth_token}")
        assert status == 200, f"{status}: {tracker}"
        return tracker["events"]
