"""The operators' side of privacy, inside the Rasa server (registered in credentials.yml):

- DELETE /webhooks/privacy/conversations/<conversation_id>?token=…  erases one conversation from the
  tracker store (every session, every event). Same token as Rasa's HTTP API (RASA_AUTH_TOKEN,
  `?token=` or `Authorization: Bearer`); without a configured token the endpoint refuses everything.
  Answers {"conversation_id", "deleted_events"}, 404 when nothing was stored under that id.
- Retention: once at start and then every RETENTION_PURGE_INTERVAL seconds (default 3600), every
  event older than RETENTION_DAYS (default 180) is deleted (common/erasure.py).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from typing import Any, Awaitable, Callable, List, Optional

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from common.erasure import erase_conversation, purge_expired, retention_days

logger = logging.getLogger(__name__)


def sql_tracker_store(app: Any) -> Any:
    """The SQL tracker store under Rasa's wrappers (they keep the real one in `_tracker_store`)."""
    store = app.ctx.agent.tracker_store
    while not hasattr(store, "engine") and hasattr(store, "_tracker_store"):
        store = store._tracker_store
    if not hasattr(store, "engine"):
        raise RuntimeError(f"the tracker store {type(store).__name__} is not an SQL tracker store")
    return store


def authorized(request: Request, token: str) -> bool:
    if not token:
        return False
    provided = request.args.get("token") or ""
    bearer = request.headers.get("authorization", "")
    if bearer.lower().startswith("bearer "):
        provided = provided or bearer[7:].strip()
    return hmac.compare_digest(provided.encode(), token.encode())


async def purge_periodically(app: Any, days: float, interval: float) -> None:
    loop = asyncio.get_running_loop()
    while True:
        try:
            store = sql_tracker_store(app)
            if await loop.run_in_executor(None, purge_expired, store.engine, days):
                forget = getattr(store, "forget_kept_trackers", None)
                if forget:  # rebuilt from what is left at their next turn
                    forget()
        except Exception:  # keep the schedule alive; the log says what broke
            logger.exception("Retention purge failed")
        await asyncio.sleep(interval)


class PrivacyAPI(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "privacy"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint("privacy_api", __name__)
        token = os.environ.get("RASA_AUTH_TOKEN", "")
        days = retention_days()
        interval = float(os.environ.get("RETENTION_PURGE_INTERVAL") or 3600)

        @blueprint.route("/conversations/<conversation_id>", methods=["DELETE"])
        async def delete_conversation(request: Request, conversation_id: str) -> HTTPResponse:
            if not authorized(request, token):
                return response.json({"error": "a valid token is required"}, status=401)
            agent = request.app.ctx.agent
            store = sql_tracker_store(request.app)
            # Under the conversation's lock: a turn in progress would otherwise write it back.
            async with agent.lock_store.lock(conversation_id):
                if hasattr(store, "erase"):
                    deleted = store.erase(conversation_id)
                else:
                    deleted = erase_conversation(store.engine, conversation_id)
            return response.json({"conversation_id": conversation_id, "deleted_events": deleted},
                                 status=200 if deleted else 404)

        purge_tasks: List[asyncio.Task] = []

        @blueprint.listener("after_server_start")
        async def start_retention(app: Any, _loop: Optional[Any] = None) -> None:
            purge_tasks.append(asyncio.get_running_loop().create_task(purge_periodically(app, days, interval)))

        @blueprint.listener("before_server_stop")
        async def stop_retention(_app: Any, _loop: Optional[Any] = None) -> None:
            for task in purge_tasks:
                task.cancel()
            await asyncio.gather(*purge_tasks, return_exceptions=True)

        return blueprint
