"""The console's HTTP API under /ops/api/, mounted on the page server (web/server.py).

Every call needs `Authorization: Bearer <token>` and gets 401 otherwise. The token is OPS_TOKEN, or
a random one generated once into var/ops-token (mode 0600); the agents' calls under /ops/api/agent/
take the agent's own token instead (ops/live_api.py). Every text that comes from a user is
masked (ops.masking) before it leaves; the only numbers shown in full are official hotlines, 400/800
lines, and unknown numbers quoted in 3+ conversations (likely scam lines to report).
"""

from __future__ import annotations

import asyncio
import csv
import functools
import hmac
import io
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Tuple

from aiohttp import web

from common.knowledge import load_knowledge
from common.knowledge_store import AnsweringKnowledge, KnowledgeStore
from common.live_chat import LiveChats
from common.quick_replies import QuickReplies
from common.tickets import Tickets
from common.tracker_db import engine_from_env
from ops import conversations, inbox, metrics
from ops.json_api import json_error, json_object
from ops.knowledge_api import OPERATOR_KEY, KnowledgeAPI, add_knowledge_api
from ops.live_api import AGENT_KEY, add_live_chat_api
from ops.operators import ADMIN_NAME, NameTaken, Operators
from ops.retrain import Retrainer, RetrainSettings
from ops.store import TrackerEvents

ROOT = Path(__file__).resolve().parent.parent
API_PREFIX = "/ops/api/"
AGENT_API_PREFIX = API_PREFIX + "agent/"  # the agents' calls, with their own tokens (ops/live_api.py)
# Calls only the administrator's token may make, not an operator account's (ops/operators.py).
ADMIN_ONLY = (API_PREFIX + "operators", API_PREFIX + "agents")
TICKETS_API_PREFIX = API_PREFIX + "tickets"  # 留言: an agent's token (their services) or the operator's
INBOX_DAYS = 30
MAX_CONVERSATIONS_LISTED = 200


@dataclass(frozen=True)
class ConsoleSettings:
    token: str
    state_dir: Path  # decisions, the retrain log (var/ by default)
    data_dir: Path  # training data; labels go to <data_dir>/nlu/reviewed.yml
    low_confidence: float
    retrain: RetrainSettings

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> ConsoleSettings:
        state_dir = Path(env.get("OPS_STATE_DIR") or ROOT / "var")
        data_dir = Path(env.get("OPS_TRAINING_DATA") or ROOT / "data")
        local_rasa = f"http://{env.get('RASA_HOST') or '127.0.0.1'}:{env.get('RASA_PORT') or 5005}"
        rasa_urls = env.get("RASA_URLS") or local_rasa
        return cls(
            token=secret(env, "OPS_TOKEN", state_dir / "ops-token"),
            state_dir=state_dir,
            data_dir=data_dir,
            low_confidence=float(env.get("OPS_LOW_CONFIDENCE") or 0.5),
            retrain=RetrainSettings(
                rasa_urls=tuple(url.strip().rstrip("/") for url in rasa_urls.split(",") if url.strip()),
                # The Rasa server's own token (scripts/run.sh keeps it in var/); never invented here.
                rasa_token=secret(env, "RASA_AUTH_TOKEN", state_dir / "rasa-auth-token", create=False),
                data_dir=data_dir,
                model_path=ROOT / (env.get("MODEL") or "models/cs-assistant.tar.gz"),
                log_file=state_dir / "ops-retrain.log",
            ),
        )


def secret(env: Mapping[str, str], name: str, path: Path, create: bool = True) -> str:
    """env[name], else the token kept in `path`: created once with a random value, readable by the owner
    only (or "" when `create` is False and there is none)."""
    if env.get(name):
        return env[name]
    if not create:
        return path.read_text(encoding="ascii").strip() if path.exists() else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    return path.read_text(encoding="ascii").strip()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ConsoleAPI:
    """The console's request handlers and what they share; `add_console_api` mounts them."""

    def __init__(self, settings: ConsoleSettings):
        self.settings = settings
        self.knowledge = load_knowledge()
        self.retrainer = Retrainer(settings.retrain)

    # Built on first use: opening the database and reading the held-out files take seconds.
    @functools.cached_property
    def events(self) -> TrackerEvents:
        return TrackerEvents(engine_from_env())

    @functools.cached_property
    def reviews(self) -> inbox.Reviews:
        return inbox.Reviews(
            reviewed_file=self.settings.data_dir / "nlu" / "reviewed.yml",
            decisions_file=self.settings.state_dir / "ops-decisions.json",
            training_dir=self.settings.data_dir / "nlu",
            heldout_files=[ROOT / "holdout" / "heldout.yml", ROOT / "holdout" / "blind.yml"],
        )

    @functools.cached_property
    def live(self) -> LiveChats:
        return LiveChats(self.events.engine)

    @functools.cached_property
    def operators(self) -> Operators:
        return Operators(self.events.engine)

    @functools.cached_property
    def answering(self) -> AnsweringKnowledge:
        """Titles and hours as last published in the knowledge editor, for the figures and the inbox."""
        return AnsweringKnowledge(lambda: self.events.engine, self.knowledge)

    @functools.cached_property
    def knowledge_store(self) -> KnowledgeStore:
        return KnowledgeStore(self.events.engine, self.knowledge)

    def operator_of(self, token: str) -> Optional[str]:
        """Who a console token belongs to: the administrator, an operator account, or nobody."""
        if token and hmac.compare_digest(token.encode(), self.settings.token.encode()):
            return ADMIN_NAME
        operator = self.operators.by_token(token)
        return operator.name if operator else None

    @functools.cached_property
    def tickets(self) -> Tickets:
        return Tickets(self.events.engine)

    @functools.cached_property
    def quick_replies(self) -> QuickReplies:
        return QuickReplies(self.events.engine)

    @web.middleware
    async def require_token(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(API_PREFIX):
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            given = given.strip() if scheme.lower() == "bearer" else ""
            operator = None
            if not request.path.startswith(AGENT_API_PREFIX):
                operator = await asyncio.to_thread(self.operator_of, given)
                request[OPERATOR_KEY] = operator
            if request.path.startswith(AGENT_API_PREFIX) or (request.path.startswith(TICKETS_API_PREFIX)
                                                             and operator is None):  # an agent's own token
                agent = await asyncio.to_thread(self.live.agent_by_token, given)
                request[AGENT_KEY] = agent
                allowed = agent is not None
            else:
                allowed = operator is not None
            if not allowed:
                return web.json_response({"error": "unauthorized"}, status=401,
                                         headers={"WWW-Authenticate": 'Bearer realm="ops"'})
            if request.path.startswith(ADMIN_ONLY) and request[OPERATOR_KEY] != ADMIN_NAME:
                return web.json_response({"error": "only the administrator's token may do this"}, status=403)
            response = await handler(request)
            response.headers["Cache-Control"] = "no-store"  # conversations stay out of caches and proxies
            return response
        return await handler(request)

    def period_of(self, request: web.Request, default_days: int = 7) -> metrics.Period:
        try:
            return metrics.Period.parse(request.query.get("from"), request.query.get("to"), default_days=default_days)
        except ValueError as error:
            raise web.HTTPBadRequest(text=f"bad period: {error}") from error

    def compute_summary(self, period: metrics.Period) -> Dict[str, Any]:
        figures = metrics.summary(self.events.conversations_in(period.start, period.end), period,
                                  self.answering.published())
        figures.update(self.live.summary(period.start, period.end))
        figures.update(self.tickets.summary(period.start, period.end))
        return figures

    async def summary(self, request: web.Request) -> web.Response:
        return web.json_response(await asyncio.to_thread(self.compute_summary, self.period_of(request)), dumps=_dumps)

    async def export_csv(self, request: web.Request) -> web.Response:
        period = self.period_of(request)
        figures = await asyncio.to_thread(self.compute_summary, period)
        body = io.StringIO()
        writer = csv.writer(body)
        writer.writerow(["section", "key", "value"])
        for row in _csv_rows(figures):
            writer.writerow(row)
        name = f"ops-{figures['period']['from']}-{figures['period']['to']}.csv"
        # BOM: Excel then opens the Chinese names as UTF-8.
        return web.Response(body=("\ufeff" + body.getvalue()).encode("utf-8"), content_type="text/csv",
                            charset="utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'})

    def pending_items(self, period: metrics.Period) -> List[inbox.InboxItem]:
        candidates = metrics.review_candidates(
            self.events.conversations_in(period.start, period.end), period, self.settings.low_confidence)
        return self.reviews.pending(inbox.group(candidates))

    async def inbox_list(self, request: web.Request) -> web.Response:
        period = self.period_of(request, INBOX_DAYS)
        items = await asyncio.to_thread(self.pending_items, period)
        intents, titles = tuple(self.knowledge.intents), self.answering.published().intent_titles
        return web.json_response({
            "period": {"from": period.first.isoformat(), "to": period.last.isoformat()},
            "items": [item.as_dict() for item in items],
            "labels": [{"intent": name, "title": titles.get(name, name)} for name in intents]
            + [{"intent": inbox.IGNORE, "title": "忽略"}],
        }, dumps=_dumps)

    async def inbox_label(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="expected JSON {\"intent\": ...}") from None
        label = inbox.parse_label(body.get("intent") if isinstance(body, dict) else None, tuple(self.knowledge.intents))
        if label is None:
            raise web.HTTPBadRequest(text="intent must be an intent of knowledge/intents.yml, out_of_scope or ignore")
        period = self.period_of(request, INBOX_DAYS)
        items = await asyncio.to_thread(self.pending_items, period)
        item = inbox.find(items, request.match_info["item_id"])
        if item is None:
            raise web.HTTPNotFound(text="no such inbox item (already labelled?)")
        result = await asyncio.to_thread(self.reviews.label, item, label)
        return web.json_response({"id": item.id, "label": label, **result}, dumps=_dumps)

    def listed_conversations(self, period: metrics.Period, filters: conversations.Filters) -> List[Dict[str, Any]]:
        knowledge = self.answering.published()
        rows = []
        for cid, stored in self.events.conversations_in(period.start, period.end).items():
            turns = [t for t in metrics.turns_of(cid, stored) if t.timestamp in period]
            row = conversations.list_row(cid, turns, self.live.latest_chat(cid), knowledge)
            if row is not None and conversations.matches(row, filters):
                del row["_texts"]
                rows.append(row)
        rows.sort(key=lambda row: -row["last_seen"])
        return rows[:MAX_CONVERSATIONS_LISTED]

    async def conversation_list(self, request: web.Request) -> web.Response:
        rows = await asyncio.to_thread(self.listed_conversations, self.period_of(request),
                                       conversations.Filters.from_query(request.query))
        return web.json_response({"conversations": rows}, dumps=_dumps)

    def conversation_transcript(self, cid: str) -> Optional[List[Dict[str, Any]]]:
        stored = self.events.conversation(cid)
        if stored is None:
            return None
        live = self.live.messages(cid)
        agent_names = {}
        for chat_id in {message.chat_id for message in live}:
            chat = self.live.chat(chat_id)
            agent = self.live.agent(chat.agent_id) if chat and chat.agent_id else None
            agent_names[chat_id] = agent.name if agent else ""
        return conversations.transcript(stored, live, agent_names, self.answering.published())

    async def conversation(self, request: web.Request) -> web.Response:
        cid = request.match_info["conversation_id"]
        turns = await asyncio.to_thread(self.conversation_transcript, cid)
        if turns is None:
            raise web.HTTPNotFound(text="no such conversation")
        return web.json_response({"id": cid, "turns": turns}, dumps=_dumps)

    async def retrain_start(self, request: web.Request) -> web.Response:
        started = self.retrainer.start()
        return web.json_response(self.retrainer.status, status=202 if started else 409, dumps=_dumps)

    async def retrain_status(self, request: web.Request) -> web.Response:
        return web.json_response(self.retrainer.status, dumps=_dumps)

    async def whoami(self, request: web.Request) -> web.Response:
        name = request[OPERATOR_KEY]
        return web.json_response({"name": name, "admin": name == ADMIN_NAME}, dumps=_dumps)

    async def create_operator(self, request: web.Request) -> web.Response:
        name = (await json_object(request)).get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 32 or name.strip() == ADMIN_NAME:
            raise json_error(web.HTTPBadRequest, "name: 1–32 characters")
        try:
            operator_id, token = await asyncio.to_thread(self.operators.create, name.strip())
        except NameTaken as error:
            raise json_error(web.HTTPConflict, str(error)) from None
        return web.json_response({"id": operator_id, "name": name.strip(), "token": token}, dumps=_dumps)

    async def operator_list(self, request: web.Request) -> web.Response:
        operators = await asyncio.to_thread(self.operators.all)
        return web.json_response({"items": [{"id": o.id, "name": o.name, "disabled": o.disabled} for o in operators]},
                                 dumps=_dumps)

    @staticmethod
    def operator_id_of(request: web.Request) -> int:
        try:
            return int(request.match_info["operator_id"])
        except ValueError:
            raise json_error(web.HTTPNotFound, "no such operator") from None

    async def edit_operator(self, request: web.Request) -> web.Response:
        disabled = (await json_object(request)).get("disabled")
        if not isinstance(disabled, bool):
            raise json_error(web.HTTPBadRequest, "disabled must be true or false")
        operator_id = self.operator_id_of(request)
        if not await asyncio.to_thread(self.operators.set_disabled, operator_id, disabled):
            raise json_error(web.HTTPNotFound, "no such operator")
        return web.json_response({"id": operator_id, "disabled": disabled})

    async def rekey_operator(self, request: web.Request) -> web.Response:
        operator_id = self.operator_id_of(request)
        token = await asyncio.to_thread(self.operators.new_token, operator_id)
        if token is None:
            raise json_error(web.HTTPNotFound, "no such operator")
        return web.json_response({"id": operator_id, "token": token})


def add_console_api(app: web.Application, settings: ConsoleSettings) -> None:
    api = ConsoleAPI(settings)
    app.middlewares.append(api.require_token)
    app.router.add_get(API_PREFIX + "summary", api.summary)
    app.router.add_get(API_PREFIX + "export.csv", api.export_csv)
    app.router.add_get(API_PREFIX + "inbox", api.inbox_list)
    app.router.add_post(API_PREFIX + "inbox/{item_id}", api.inbox_label)
    app.router.add_get(API_PREFIX + "conversations", api.conversation_list)
    app.router.add_get(API_PREFIX + "conversations/{conversation_id}", api.conversation)
    app.router.add_post(API_PREFIX + "retrain", api.retrain_start)
    app.router.add_get(API_PREFIX + "retrain", api.retrain_status)
    add_live_chat_api(app, API_PREFIX, api.knowledge, lambda: api.live, lambda: api.events, lambda: api.tickets,
                      lambda: api.quick_replies)
    app.router.add_get(API_PREFIX + "me", api.whoami)
    app.router.add_post(API_PREFIX + "operators", api.create_operator)
    app.router.add_get(API_PREFIX + "operators", api.operator_list)
    app.router.add_post(API_PREFIX + "operators/{operator_id}", api.edit_operator)
    app.router.add_post(API_PREFIX + "operators/{operator_id}/token", api.rekey_operator)
    add_knowledge_api(app, API_PREFIX, KnowledgeAPI(api.knowledge, lambda: api.knowledge_store, lambda: api.reviews,
                                                    api.retrainer, settings.retrain.rasa_urls[0]))

    async def import_repository(app: web.Application) -> None:
        # knowledge/*.yml as version 1 on a fresh install, or merged in after an upgrade that changed it.
        try:
            await asyncio.to_thread(api.knowledge_store.import_repository)
        except Exception:  # the database is not up yet: the first call of the knowledge editor imports
            logging.getLogger(__name__).exception("Could not import knowledge/*.yml into the knowledge store")

    app.on_startup.append(import_repository)


_dumps = functools.partial(json.dumps, ensure_ascii=False)


def _csv_rows(figures: Dict[str, Any]) -> List[Tuple[str, str, Any]]:
    rows: List[Tuple[str, str, Any]] = [("period", "from", figures["period"]["from"]),
                                        ("period", "to", figures["period"]["to"])]
    for key in ("conversations", "user_messages", "answers", "resolved", "unresolved", "resolution_rate",
                "handoffs", "handoffs_while_closed", "clarifications", "second_misses", "declines"):
        rows.append(("summary", key, "" if figures[key] is None else figures[key]))
    rows += [("intents", name, count) for name, count in figures["intents"].items()]
    rows += [("live_chat", key, "" if figures[key] is None else figures[key])
             for key in ("live_chats", "live_wait_p50_s", "live_wait_p90_s", "live_abandoned")]
    rows += [("tickets", key, "" if figures[key] is None else figures[key])
             for key in ("tickets_open", "tickets_oldest_open_s", "tickets_reply_p50_s")]
    rows += [("ratings", key, count) for key, count in figures["ratings"].items()]
    rows += [("products", key, count) for key, count in figures["products"].items()]
    rows += [("hours", hour, count) for hour, count in figures["hours"].items()]
    rows += [("numbers", kind, count) for kind, count in figures["numbers"].items()]
    rows += [("scam_numbers", entry["number"], entry["conversations"]) for entry in figures["scam_numbers"]]
    rows += [("unknown_numbers", entry["number"], entry["conversations"]) for entry in figures["unknown_numbers"]]
    return rows
