"""重新训练并上线: validate the data, train a model in the background, hot-swap it into every Rasa server.

Each step runs only if the one before it worked (both Rasa steps through `python -m rasa_server`, Rasa's command
line without TensorFlow):
1. `rasa data validate --fail-on-warnings` (a bad label or a clash between intents stops here);
2. `rasa train` into <model dir>/reviewed/ (niced, so that serving customers keeps the CPU it needs);
3. for each server in RASA_URLS: Rasa's HTTP API `PUT /model` with the new file, then `GET /status`
   must name it. A Rasa server keeps answering with its old model until the new one is loaded, and
   keeps the old one if loading fails. If any server fails, those already switched are put back on
   the model they had, so all replicas answer alike;
4. the new model is copied over MODEL, so that a restart serves it too.
The status (step, outcome, reason in Chinese) is what GET /ops/api/retrain returns.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import aiohttp

from ops.masking import mask_for_display

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
# Rasa's command line without TensorFlow (rasa_server/__main__.py): seconds and hundreds of MB less per step.
RASA_COMMAND = (sys.executable, "-m", "rasa_server")
LOG_LINES_SHOWN = 8
STEP_TITLES = {"validate": "校验训练数据", "train": "训练新模型", "load": "上线新模型", "done": "完成"}


@dataclass(frozen=True)
class RetrainSettings:
    rasa_urls: Tuple[str, ...]  # every Rasa server (replica) that must serve the new model
    rasa_token: str  # Rasa's HTTP API token (--auth-token)
    data_dir: Path
    model_path: Path  # the model `make run` serves; replaced after a successful swap
    log_file: Path
    domain: Path = ROOT / "domain.yml"
    config: Path = ROOT / "config.yml"

    @property
    def candidates_dir(self) -> Path:
        return self.model_path.parent / "reviewed"


class StepFailed(Exception):
    pass


class Retrainer:
    def __init__(self, settings: RetrainSettings):
        self.settings = settings
        self.status: Dict[str, Any] = {"state": "idle"}
        self._task: Optional[asyncio.Task] = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> bool:
        """Starts a retrain in the background; False if one is already running."""
        if self.running:
            return False
        self.status = {"state": "running", "step": "validate", "step_title": STEP_TITLES["validate"],
                       "started": time.time(), "servers": []}
        self._task = asyncio.get_running_loop().create_task(self._run())
        return True

    async def wait(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)

    def _step(self, step: str) -> None:
        self.status.update(step=step, step_title=STEP_TITLES[step])

    async def _run(self) -> None:
        settings = self.settings
        try:
            self._step("validate")
            await self._rasa("data", "validate", "--fail-on-warnings", "--domain", str(settings.domain),
                             "--data", str(settings.data_dir), "--config", str(settings.config),
                             failure="训练数据校验没通过")
            self._step("train")
            name = time.strftime("reviewed-%Y%m%d-%H%M%S")
            await self._rasa("train", "--config", str(settings.config), "--domain", str(settings.domain),
                             "--data", str(settings.data_dir), "--out", str(settings.candidates_dir),
                             "--fixed-model-name", name, failure="训练失败")
            model = settings.candidates_dir / f"{name}.tar.gz"
            if not model.exists():
                raise StepFailed(f"训练失败：没有生成模型文件 {model.name}")
            self._step("load")
            await self._swap(model)
            temporary = settings.model_path.with_name(f".{settings.model_path.name}.tmp")
            shutil.copy2(model, temporary)
            os.replace(temporary, settings.model_path)
            self._step("done")
            self.status.update(state="succeeded", model=model.name, message=f"新模型 {model.name} 已上线")
        except StepFailed as failure:
            self.status.update(state="failed", message=f"{failure}。正在服务的仍是原来的模型。")
        except Exception as error:  # whatever broke, the page must say so and the old model stays
            logger.exception("Retraining failed")
            self.status.update(state="failed",
                               message=f"重新训练出错（{type(error).__name__}）。正在服务的仍是原来的模型。")
        finally:
            self.status["finished"] = time.time()

    async def _rasa(self, *args: str, failure: str) -> None:
        log = self.settings.log_file
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as output:
            output.write(f"\n$ rasa {' '.join(args)}\n".encode())
            output.flush()
            process = await asyncio.create_subprocess_exec(
                *RASA_COMMAND, *args, cwd=ROOT, stdout=output, stderr=asyncio.subprocess.STDOUT,
                env=dict(os.environ, PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false"),
                preexec_fn=lambda: os.nice(10),
            )
            code = await process.wait()
        if code != 0:
            raise StepFailed(f"{failure}：{self._log_excerpt()}")

    def _log_excerpt(self) -> str:
        """The log's last warning and error lines (masked): why a step failed."""
        lines = self.settings.log_file.read_text(encoding="utf-8", errors="replace").splitlines()
        last_run = lines[max(i for i, line in enumerate(lines) if line.startswith("$ rasa")) + 1 :]
        notable = [line for line in last_run if any(word in line for word in ("WARNING", "ERROR", "Error", "error"))]
        return mask_for_display(" | ".join((notable or last_run)[-LOG_LINES_SHOWN:]).strip()) or "（没有输出）"

    async def _swap(self, model: Path) -> None:
        servers: List[Dict[str, Any]] = [{"url": url, "ok": False} for url in self.settings.rasa_urls]
        self.status["servers"] = servers
        previous: Dict[str, str] = {}
        timeout = aiohttp.ClientTimeout(total=300)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            try:
                for server in servers:
                    url = server["url"]
                    previous[url] = (await self._server_status(session, url)).get("model_file", "")
                    await self._load(session, url, str(model))
                    server.update(ok=True, message="已加载新模型")
            except (StepFailed, aiohttp.ClientError, asyncio.TimeoutError) as error:
                reason = error if isinstance(error, StepFailed) else f"连不上 {url}（{type(error).__name__}）"
                server["message"] = str(reason)
                for switched in servers:
                    if switched["ok"] and previous.get(switched["url"]):
                        await self._load(session, switched["url"], previous[switched["url"]])
                        switched.update(ok=False, message="已换回原来的模型")
                raise StepFailed(f"上线失败：{reason}") from error

    async def _server_status(self, session: aiohttp.ClientSession, url: str) -> Dict[str, Any]:
        async with session.get(f"{url}/status", params={"token": self.settings.rasa_token}) as response:
            if response.status != 200:
                raise StepFailed(f"{url} 的 /status 返回 {response.status}")
            return await response.json()

    async def _load(self, session: aiohttp.ClientSession, url: str, model: str) -> None:
        async with session.put(f"{url}/model", params={"token": self.settings.rasa_token},
                               json={"model_file": model}) as response:
            if response.status != 204:
                body = (await response.text())[:300]
                raise StepFailed(f"{url} 没能加载模型（HTTP {response.status}）：{mask_for_display(body)}")
        loaded = (await self._server_status(session, url)).get("model_file", "")
        if Path(loaded).name != Path(model).name:
            raise StepFailed(f"{url} 加载后报告的模型是 {Path(loaded).name}，不是 {Path(model).name}")
