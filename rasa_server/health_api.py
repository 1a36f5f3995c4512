"""GET /webhooks/health/store?token=… (registered in credentials.yml): whether this Rasa server's tracker store
still writes where everybody reads. Same token as Rasa's HTTP API (RASA_AUTH_TOKEN, `?token=` or
`Authorization: Bearer`).

Answers 200 {"store": "ok"}, or 503 {"store": "failing", "problem": "…"} when this process holds SQLite files of
the tracker database that were deleted under it (the rule and the guard: common/tracker_db.py). Every turn is then
refused with the apology and the hotlines instead of being written where it would be lost; a supervisor or an
operator restarts the server. PostgreSQL has no such files: always ok here.
"""

from __future__ import annotations

import os
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from common.tracker_db import check_database_files
from rasa_server.privacy_api import authorized


class HealthAPI(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "health"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint("health_api", __name__)
        token = os.environ.get("RASA_AUTH_TOKEN", "")

        @blueprint.route("/store", methods=["GET"])
        async def store_health(request: Request) -> HTTPResponse:
            if not authorized(request, token):
                return response.json({"error": "a valid token is required"}, status=401)
            problem = check_database_files()
            if problem:
                return response.json({"store": "failing", "problem": problem}, status=503)
            return response.json({"store": "ok"})

        return blueprint
