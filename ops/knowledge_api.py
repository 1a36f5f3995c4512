"""The knowledge editor's API (知识库, docs/ops.md "The knowledge editor") under /ops/api/knowledge, JSON throughout:

    GET  knowledge                               the published version, the draft, every topic and service
    PUT  knowledge/topics/<intent>               {"answer", "title", "variants": {service: text|null},
                                                  "phrasings_add": [...], "phrasings_remove": [...]} -> draft
    GET  knowledge/topics/<intent>/phrasings     the topic's example phrasings in the training data
    PUT  knowledge/services/<key>                {"hours": {"open","close","days","note"}|null, "note"} -> draft
    DELETE knowledge/draft                       drops every unpublished edit
    POST knowledge/publish {"note"}              the draft as a new version (phrasings: training data + retrain)
    GET  knowledge/history                       every version, newest first, with who, when, note and diff
    POST knowledge/rollback {"version"}          that version's content as a new version, later phrasings taken back
    POST knowledge/trial {"text", "conversation"?}  试聊: a message answered with the draft

A text holding a phone number that is not a hotline of knowledge/services.yml is refused with 422 and the
number, and nothing of that request is saved. The history has no call that changes it.
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any, Callable, Dict, List, Optional

import aiohttp
from aiohttp import web

from common.knowledge import Knowledge
from common.knowledge_store import (
    ADDED,
    REMOVED,
    TRIAL_PREFIX,
    Draft,
    EditRefused,
    KnowledgeStore,
    NothingToPublish,
    NumberRefused,
)
from ops import phrasings
from ops.inbox import Reviews
from ops.json_api import json_error, json_object
from ops.retrain import Retrainer

OPERATOR_KEY = "operator"  # who the request's token belongs to, set by the token check (ops/api.py)
MAX_NOTE = 200
MAX_TRIAL_TEXT = 500

_dumps = functools.partial(json.dumps, ensure_ascii=False)


def _refused(error: Exception) -> web.HTTPException:
    if isinstance(error, NumberRefused):
        return json_error(web.HTTPUnprocessableEntity, str(error), number=error.digits, field=error.path)
    return json_error(web.HTTPUnprocessableEntity, str(error))


class KnowledgeAPI:
    def __init__(self, knowledge: Knowledge, store: Callable[[], KnowledgeStore], reviews: Callable[[], Reviews],
                 retrainer: Retrainer, rasa_url: str):
        self.knowledge = knowledge
        self.store = store
        self.reviews = reviews  # files new phrasings, knows the held-out sentences (built on first use: slow)
        self.retrainer = retrainer
        self.nlu_dir = retrainer.settings.data_dir / "nlu"
        self.rasa_url = rasa_url

    def label(self, path: str) -> str:
        """A path as the history shows it: 「还款失败 · 答复（支付宝）」."""
        kind, key, what, *service = path.split("/")
        if kind == "service":
            name = self.knowledge.services[key].name if key in self.knowledge.services else key
            return f"{name} · {'服务时间' if what == 'hours' else '电话说明'}"
        title = self.knowledge.intent_titles.get(key, key)
        shown = {"title": "按钮标题", "answer": "答复", "phrasings": "说法"}.get(what, what)
        if service:
            service_name = self.knowledge.services[service[0]].short_name if service[0] in self.knowledge.services \
                else service[0]
            shown += f"（{service_name}）"
        return f"{title} · {shown}"

    # ----- reading -----

    def overview(self) -> Dict[str, Any]:
        draft = self.store().draft()
        published = draft.base
        counts = {intent: len(examples) for intent, examples in phrasings.examples_by_intent(self.nlu_dir).items()}
        return {
            "version": published.version, "published_at": published.at, "published_by": published.by,
            "draft": {"changed": draft.changed, "edits": len(draft.pending)},
            "retrain": self.retrainer.status,
            "services_list": [{"key": key, "name": s.name, "short_name": s.short_name}
                              for key, s in self.knowledge.services.items()],
            "topics": [self.topic(draft, intent, counts.get(intent, 0)) for intent in self.topic_keys()],
            "services": [self.service(draft, key) for key in self.knowledge.services],
        }

    def topic_keys(self) -> List[str]:
        return [key for key, intent in self.knowledge.intents.items() if intent.title or key in self.knowledge.topics]

    def topic(self, draft: Draft, intent: str, phrasing_count: int) -> Dict[str, Any]:
        def fields(content: Dict[str, Any]) -> Dict[str, Any]:
            prefix = f"topic/{intent}/answer/"
            return {"title": content.get(f"topic/{intent}/title"), "answer": content.get(f"topic/{intent}/answer"),
                    "variants": {path[len(prefix):]: text for path, text in content.items()
                                 if path.startswith(prefix)}}

        pending = draft.phrasings.get(intent, {ADDED: [], REMOVED: []})
        edits = [who for path, who in draft.edited.items() if path.startswith(f"topic/{intent}/")]
        now, before = fields(draft.content), fields(draft.base.content)
        return {"intent": intent, **now, "published": before,
                "draft": now != before or intent in draft.phrasings,
                "phrasings": phrasing_count + len(pending[ADDED]) - len(pending[REMOVED]),
                "phrasings_added": pending[ADDED], "phrasings_removed": pending[REMOVED],
                "has_answer": intent in self.knowledge.topics,
                "edited": max(edits, key=lambda who: who["at"]) if edits else None}

    def service(self, draft: Draft, key: str) -> Dict[str, Any]:
        service = self.knowledge.services[key]

        def fields(content: Dict[str, Any]) -> Dict[str, Any]:
            return {"hours": content.get(f"service/{key}/hours"), "note": content.get(f"service/{key}/note")}

        edits = [who for path, who in draft.edited.items() if path.startswith(f"service/{key}/")]
        now, before = fields(draft.content), fields(draft.base.content)
        return {"key": key, "name": service.name, "short_name": service.short_name, "hotline": service.hotline,
                **now, "published": before, "draft": now != before,
                "edited": max(edits, key=lambda who: who["at"]) if edits else None}

    async def get(self, request: web.Request) -> web.Response:
        return web.json_response(await asyncio.to_thread(self.overview), dumps=_dumps)

    async def topic_phrasings(self, request: web.Request) -> web.Response:
        intent = self._intent(request)
        found = await asyncio.to_thread(phrasings.examples_by_intent, self.nlu_dir)
        return web.json_response({"intent": intent, "items": found.get(intent, [])}, dumps=_dumps)

    def _intent(self, request: web.Request) -> str:
        intent = request.match_info["intent"]
        if intent not in self.topic_keys():
            raise json_error(web.HTTPNotFound, f"没有这个问题：{intent}")
        return intent

    # ----- editing -----

    async def put_topic(self, request: web.Request) -> web.Response:
        intent = self._intent(request)
        body = await json_object(request)
        changes: Dict[str, Any] = {}
        if "answer" in body:
            changes[f"topic/{intent}/answer"] = body["answer"]
        if "title" in body:
            changes[f"topic/{intent}/title"] = body["title"]
        variants = body.get("variants") or {}
        if not isinstance(variants, dict):
            raise json_error(web.HTTPBadRequest, "variants: {service: text or null}")
        changes.update({f"topic/{intent}/answer/{service}": text for service, text in variants.items()})
        add, remove = body.get("phrasings_add") or [], body.get("phrasings_remove") or []
        if not (isinstance(add, list) and isinstance(remove, list)):
            raise json_error(web.HTTPBadRequest, "phrasings_add and phrasings_remove are lists of texts")
        if not changes and not add and not remove:
            raise json_error(web.HTTPBadRequest, "nothing to change: answer, title, variants, phrasings_add or "
                                             "phrasings_remove")
        by = request[OPERATOR_KEY]
        try:
            draft = await asyncio.to_thread(self._save_topic, intent, changes, add, remove, by)
        except (NumberRefused, EditRefused) as error:
            raise _refused(error) from None
        counts = await asyncio.to_thread(phrasings.examples_by_intent, self.nlu_dir)
        return web.json_response(self.topic(draft, intent, len(counts.get(intent, []))), dumps=_dumps)

    def _save_topic(self, intent: str, changes: Dict[str, Any], add: List[str], remove: List[str],
                    by: str) -> Draft:
        store = self.store()
        # Everything is checked before anything is stored, so a refused number saves nothing.
        for text in store.checked_phrasings(intent, add):
            if self.reviews().is_heldout(text):
                raise EditRefused(f"“{text}”是测试集里的句子，不能加进训练数据")
        draft = store.save(changes, by) if changes else store.draft()
        if add or remove:
            def known(name: str) -> List[str]:
                return phrasings.examples_by_intent(self.nlu_dir).get(name, [])
            draft = store.save_phrasings(intent, add, remove, by, known)
        return draft

    async def put_service(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        if key not in self.knowledge.services:
            raise json_error(web.HTTPNotFound, f"没有这项服务：{key}")
        body = await json_object(request)
        changes = {f"service/{key}/{field}": body[field] for field in ("hours", "note") if field in body}
        if not changes:
            raise json_error(web.HTTPBadRequest, "nothing to change: hours or note")
        try:
            draft = await asyncio.to_thread(self.store().save, changes, request[OPERATOR_KEY])
        except (NumberRefused, EditRefused) as error:
            raise _refused(error) from None
        return web.json_response(self.service(draft, key), dumps=_dumps)

    async def discard(self, request: web.Request) -> web.Response:
        await asyncio.to_thread(self.store().discard)
        return web.json_response({"discarded": True})

    # ----- publishing -----

    async def publish(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        note = body.get("note")
        if not isinstance(note, str) or not note.strip() or len(note) > MAX_NOTE:
            raise json_error(web.HTTPBadRequest, f"请写发布说明（note，{MAX_NOTE} 字以内）")
        try:
            version = await asyncio.to_thread(self.store().publish, note, request[OPERATOR_KEY])
        except NothingToPublish as error:
            raise json_error(web.HTTPConflict, str(error)) from None
        retrain = await self._apply_phrasings(version.phrasings)
        message = f"已发布版本 {version.version}，几秒内所有客服机器人按新版本回答"
        if retrain:
            message += "；说法有改动，正在重新训练并上线新模型" if retrain == "started" else \
                "；说法有改动，但另一次训练正在进行，请稍后点「重新训练并上线」"
        return web.json_response({"version": version.version, "retrain": retrain, "message": message},
                                 dumps=_dumps)

    def _write_phrasings(self, changes: Dict[str, Dict[str, List[str]]]) -> None:
        for intent, change in changes.items():
            if change.get(REMOVED):
                phrasings.remove_examples(self.nlu_dir, intent, change[REMOVED])
            if change.get(ADDED):
                self.reviews().file_examples(intent, change[ADDED])

    async def history(self, request: web.Request) -> web.Response:
        items = await asyncio.to_thread(self.store().history)
        for item in items:
            for change in item["changes"]:
                change["label"] = self.label(change["path"])
        return web.json_response({"items": items}, dumps=_dumps)

    async def rollback(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        number = body.get("version")
        if not isinstance(number, int) or isinstance(number, bool):
            raise json_error(web.HTTPBadRequest, "version: the number of an earlier version")
        note = body.get("note") if isinstance(body.get("note"), str) else ""
        try:
            version = await asyncio.to_thread(self.store().rollback, number, request[OPERATOR_KEY], note[:MAX_NOTE])
        except EditRefused as error:
            raise json_error(web.HTTPNotFound, str(error)) from None
        retrain = await self._apply_phrasings(version.phrasings)
        return web.json_response({"version": version.version, "rollback_of": number, "retrain": retrain},
                                 dumps=_dumps)

    async def _apply_phrasings(self, changes: Dict[str, Dict[str, List[str]]]) -> Optional[str]:
        """Writes a version's phrasing changes into the training data and starts the retrain: "started",
        "busy" (another one runs), or None without changes."""
        if not changes:
            return None
        await asyncio.to_thread(self._write_phrasings, changes)
        return "started" if self.retrainer.start() else "busy"

    # ----- 试聊 -----

    async def trial(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TRIAL_TEXT:
            raise json_error(web.HTTPBadRequest, f"text: 1–{MAX_TRIAL_TEXT} characters")
        conversation: Optional[str] = body.get("conversation")
        if conversation is None:
            conversation = await asyncio.to_thread(self.store().new_trial, request[OPERATOR_KEY])
        elif not isinstance(conversation, str) or not conversation.startswith(TRIAL_PREFIX):
            raise json_error(web.HTTPBadRequest, "conversation: an id this call returned")
        try:
            timeout = aiohttp.ClientTimeout(total=30)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.post(f"{self.rasa_url}/webhooks/rest/webhook",
                                        json={"sender": conversation, "message": text}) as response:
                    replies = await response.json() if response.status == 200 else None
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            replies = None
        if replies is None:
            raise json_error(web.HTTPBadGateway, "客服机器人暂时没有回应，请稍后再试")
        messages = [{"text": reply.get("text") or "",
                     "buttons": [{"title": b.get("title", ""), "payload": b.get("payload", "")}
                                 for b in reply.get("buttons") or []]}
                    for reply in replies if reply.get("text") or reply.get("buttons")]
        return web.json_response({"conversation": conversation, "messages": messages}, dumps=_dumps)


def add_knowledge_api(app: web.Application, prefix: str, api: KnowledgeAPI) -> None:
    base = prefix + "knowledge"
    app.router.add_get(base, api.get)
    app.router.add_put(base + "/topics/{intent}", api.put_topic)
    app.router.add_get(base + "/topics/{intent}/phrasings", api.topic_phrasings)
    app.router.add_put(base + "/services/{key}", api.put_service)
    app.router.add_delete(base + "/draft", api.discard)
    app.router.add_post(base + "/publish", api.publish)
    app.router.add_get(base + "/history", api.history)
    app.router.add_post(base + "/rollback", api.rollback)
    app.router.add_post(base + "/trial", api.trial)
