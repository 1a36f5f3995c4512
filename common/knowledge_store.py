"""The knowledge operators edit in the console (知识库, docs/ops.md): drafts, published versions, rollback.

What is editable is a flat map from a path to a value (`editable_content`):
    topic/<intent>/title              the clarification button's title
    topic/<intent>/answer             the self-help answer
    topic/<intent>/answer/<service>   the answer for one service (absent: the default answer is used)
    service/<key>/hours               {"open", "close", "days", "note"} or None (hours not published)
    service/<key>/note                what to do on the phone (human_agent_tip on the hotline card)
Everything else (hotlines, aliases, templates, the catalogue itself) stays in knowledge/*.yml, reviewed in git.
Example phrasings are training data (data/nlu/): a draft holds phrasings to add or remove, and publishing
hands them to the console, which writes them into the training data and retrains (ops/knowledge_api.py).

Tables of the tracker database (SQLite under `make run`, PostgreSQL under `make cluster`):
    knowledge_versions  every published version: its whole content, who, when, the note, the phrasings
                        it changed; rows are only ever added
    knowledge_draft     one row per edited path (or phrasing) that is not published yet
    knowledge_meta      the knowledge/*.yml content last imported (the base of an upgrade's merge)
    knowledge_trials    the console's test-chat (试聊) conversations, answered with the draft

The number guard: no text may hold a phone number that is not a hotline of knowledge/services.yml; a save
that does is refused (NumberRefused) and nothing is stored.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import time as clock
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import sqlalchemy as sa

from common.knowledge import Hours, Knowledge, check_no_invented_numbers, load_knowledge, unlisted_numbers
from common.tracker_db import create_tables

logger = logging.getLogger(__name__)

Content = Dict[str, Any]  # path -> value

YAML_AUTHOR = "knowledge/*.yml"  # who published a version imported from the repository
TRIAL_PREFIX = "ops-trial-"  # test-chat conversation ids start with this (and are registered in knowledge_trials)
ADDED, REMOVED = "added", "removed"

metadata = sa.MetaData()

versions_table = sa.Table(
    "knowledge_versions", metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("content", sa.Text, nullable=False),  # JSON: path -> value
    sa.Column("edited", sa.Text, nullable=False),  # JSON: path -> {"by", "at"}, the last edit of each path
    sa.Column("phrasings", sa.Text, nullable=False),  # JSON: intent -> {"added": [...], "removed": [...]}
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("by", sa.String(64), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("rollback_of", sa.Integer),  # the version whose content this one republished
)

draft_table = sa.Table(
    "knowledge_draft", metadata,
    # an editable path, or phrasing/<intent>/<text> for an example phrasing to add or remove
    sa.Column("path", sa.String(512), primary_key=True),
    sa.Column("value", sa.Text),  # JSON; for a phrasing "added" or "removed"
    sa.Column("by", sa.String(64), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)

meta_table = sa.Table(
    "knowledge_meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

trials_table = sa.Table(
    "knowledge_trials", metadata,
    sa.Column("conversation", sa.String(255), primary_key=True),
    sa.Column("by", sa.String(64), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)


class NumberRefused(ValueError):
    """A text holds a phone number that is not an official hotline."""

    def __init__(self, digits: str, path: str):
        self.digits, self.path = digits, path
        super().__init__(f"{digits} 不是官方客服热线（knowledge/services.yml），答复里不能出现这个号码")


class EditRefused(ValueError):
    """An edit of something that is not editable, or a value of the wrong shape."""


class NothingToPublish(ValueError):
    pass


# ---------- the editable content ----------

def _hours_dict(hours: Optional[Hours]) -> Optional[Dict[str, str]]:
    if hours is None:
        return None
    return {"open": hours.open.strftime("%H:%M"), "close": hours.close.strftime("%H:%M"),
            "days": hours.days, "note": hours.note}


def editable_content(knowledge: Knowledge) -> Content:
    """The editable part of the knowledge, as path -> value."""
    content: Content = {}
    for key, intent in knowledge.intents.items():
        if intent.title:
            content[f"topic/{key}/title"] = intent.title
    for key, topic in knowledge.topics.items():
        content[f"topic/{key}/answer"] = topic.default.strip()
        for service, text in topic.by_product.items():
            content[f"topic/{key}/answer/{service}"] = text.strip()
    for key, service in knowledge.services.items():
        content[f"service/{key}/hours"] = _hours_dict(service.hours)
        content[f"service/{key}/note"] = service.human_agent_tip
    return content


def apply_content(knowledge: Knowledge, content: Content) -> Knowledge:
    """`knowledge` with the editable values of `content`. Paths of intents or services that knowledge/*.yml
    no longer has are left out."""
    intents, topics, services = dict(knowledge.intents), dict(knowledge.topics), dict(knowledge.services)
    variants: Dict[str, Dict[str, str]] = {key: {} for key in topics}
    for path, value in content.items():
        kind, key, what, *service = path.split("/")
        if kind == "topic" and what == "title" and key in intents:
            intents[key] = replace(intents[key], title=value)
        elif kind == "topic" and what == "answer" and key in topics:
            if service:
                if service[0] in services:
                    variants[key][service[0]] = value
            else:
                topics[key] = replace(topics[key], default=value)
        elif kind == "service" and key in services:
            if what == "hours":
                services[key] = replace(services[key], hours=_parse_hours(value))
            elif what == "note":
                services[key] = replace(services[key], human_agent_tip=value)
    topics = {key: replace(topic, by_product=variants[key]) for key, topic in topics.items()}
    applied = replace(knowledge, intents=intents, topics=topics, services=services)
    check_no_invented_numbers(applied)
    return applied


def _parse_hours(value: Optional[Mapping[str, str]]) -> Optional[Hours]:
    if value is None:
        return None
    return Hours(open=clock.fromisoformat(value["open"]), close=clock.fromisoformat(value["close"]),
                 days=value["days"], note=value["note"])


# An HTML tag or comment: answers are markdown, and the chat page must show them as text.
_MARKUP = re.compile(r"<\s*[A-Za-z!/]")


def _check_value(path: str, value: Any, knowledge: Knowledge) -> Any:
    """The value as it will be stored, or EditRefused / NumberRefused."""
    parts = path.split("/")
    kind, key = (parts + ["", ""])[:2]
    what = parts[2] if len(parts) > 2 else ""
    texts: List[str] = []
    if kind == "topic" and key in knowledge.intents and what == "title" and len(parts) == 3:
        if not isinstance(value, str) or not value.strip() or len(value) > 20:
            raise EditRefused("按钮标题要 1–20 个字")
        value = value.strip()
        texts = [value]
    elif kind == "topic" and key in knowledge.topics and what == "answer" and len(parts) in (3, 4):
        if len(parts) == 4 and parts[3] not in knowledge.services:
            raise EditRefused(f"没有这项服务：{parts[3]}")
        if value is None and len(parts) == 4:
            return None  # the variant is removed: the default answer is used for this service
        if not isinstance(value, str) or not value.strip():
            raise EditRefused("答复不能为空")
        value = value.strip()
        texts = [value]
    elif kind == "service" and key in knowledge.services and what == "note" and len(parts) == 3:
        if not isinstance(value, str) or not value.strip():
            raise EditRefused("说明不能为空")
        value = value.strip()
        texts = [value]
    elif kind == "service" and key in knowledge.services and what == "hours" and len(parts) == 3:
        if value is not None:
            if not isinstance(value, dict) or not all(isinstance(value.get(k), str) for k in ("open", "close", "days")):
                raise EditRefused("服务时间要有 open、close（HH:MM）和 days")
            value = {k: str(value.get(k) or "").strip() for k in ("open", "close", "days", "note")}
            try:
                hours = _parse_hours(value)
            except ValueError:
                raise EditRefused("服务时间的格式是 HH:MM，例如 09:00") from None
            if hours is not None and hours.open >= hours.close:
                raise EditRefused("开始时间要早于结束时间")
            texts = [value["days"], value["note"]]
    else:
        raise EditRefused(f"不能修改：{path}")
    for text in texts:
        if _MARKUP.search(text):
            raise EditRefused("答复里不能有 HTML 标签：加粗、列表和换行用 **、1. 和回车")
        for digits in unlisted_numbers(text, knowledge.services):
            raise NumberRefused(digits, path)
    return value


# ---------- versions ----------

@dataclass(frozen=True)
class Version:
    version: int
    content: Content
    edited: Dict[str, Dict[str, Any]]
    phrasings: Dict[str, Dict[str, List[str]]]
    at: float
    by: str
    note: str
    rollback_of: Optional[int] = None


@dataclass(frozen=True)
class Draft:
    """The published content with the unpublished edits applied."""

    base: Version
    content: Content
    edited: Dict[str, Dict[str, Any]]
    pending: Dict[str, Dict[str, Any]]  # path -> {"by", "at"} of every unpublished edit
    phrasings: Dict[str, Dict[str, List[str]]] = field(default_factory=dict)  # intent -> added / removed

    @property
    def changed(self) -> bool:
        return bool(diff(self.base.content, self.content) or self.phrasings)


def diff(before: Content, after: Content) -> List[Dict[str, Any]]:
    """What changed from `before` to `after`: [{"path", "before", "after"}] by path (None: absent)."""
    return [{"path": path, "before": before.get(path), "after": after.get(path)}
            for path in sorted(set(before) | set(after)) if before.get(path) != after.get(path)]


def merge(base: Content, ours: Content, theirs: Content) -> Content:
    """Three-way merge by path: what changed in `theirs` since `base` wins, everything else stays `ours`."""
    merged = dict(ours)
    for path in set(base) | set(theirs):
        if base.get(path) != theirs.get(path):
            if path in theirs:
                merged[path] = theirs[path]
            else:
                merged.pop(path, None)
    return merged


def phrasings_undone(versions: List[Optional[Version]]) -> Dict[str, Dict[str, List[str]]]:
    """The phrasing changes that take back what `versions` (oldest first) changed: for each phrasing, the
    first change decides how it was before them (added then: it was not there, so it goes)."""
    before: Dict[Tuple[str, str], str] = {}
    for version in versions:
        for intent, change in (version.phrasings if version else {}).items():
            for kind in (ADDED, REMOVED):
                for text in change.get(kind, []):
                    before.setdefault((intent, text), kind)
    undone: Dict[str, Dict[str, List[str]]] = {}
    for (intent, text), kind in before.items():
        undone.setdefault(intent, {ADDED: [], REMOVED: []})[REMOVED if kind == ADDED else ADDED].append(text)
    return undone


def _version(row: Any) -> Version:
    return Version(version=row.version, content=json.loads(row.content), edited=json.loads(row.edited),
                   phrasings=json.loads(row.phrasings), at=row.at, by=row.by, note=row.note,
                   rollback_of=row.rollback_of)


class KnowledgeStore:
    """Versions and the draft on one SQLAlchemy engine, checked against `knowledge` (knowledge/*.yml)."""

    def __init__(self, engine: sa.engine.Engine, knowledge: Knowledge):
        self.engine = engine
        self.knowledge = knowledge
        self._lock = threading.Lock()  # one writer at a time in this process; PostgreSQL's keys do the rest
        create_tables(metadata, engine)

    # ----- reading -----

    def published(self) -> Version:
        """The latest version (version 1, knowledge/*.yml, on a fresh install)."""
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(versions_table).order_by(versions_table.c.version.desc())
                                     .limit(1)).first()
        if row is None:
            self.import_repository()
            return self.published()
        return _version(row)

    def version(self, number: int) -> Optional[Version]:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(versions_table).where(versions_table.c.version == number)).first()
        return _version(row) if row else None

    def history(self) -> List[Dict[str, Any]]:
        """Every version, newest first, with who, when, the note and the diff against the one before."""
        with self.engine.connect() as connection:
            versions = [_version(row) for row in
                        connection.execute(sa.select(versions_table).order_by(versions_table.c.version))]
        items, before = [], {}
        for current in versions:
            items.append({"version": current.version, "at": current.at, "by": current.by, "note": current.note,
                          "rollback_of": current.rollback_of, "changes": diff(before, current.content),
                          "phrasings": current.phrasings})
            before = current.content
        return items[::-1]

    def draft(self) -> Draft:
        base = self.published()
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(draft_table)).all()
        content, edited, pending = dict(base.content), dict(base.edited), {}
        phrasings: Dict[str, Dict[str, List[str]]] = {}
        for row in sorted(rows, key=lambda r: r.at):
            who = {"by": row.by, "at": row.at}
            if row.path.startswith("phrasing/"):
                _, intent, text = row.path.split("/", 2)
                phrasings.setdefault(intent, {ADDED: [], REMOVED: []})[json.loads(row.value)].append(text)
                pending[f"topic/{intent}/phrasings"] = edited[f"topic/{intent}/phrasings"] = who
                continue
            value = json.loads(row.value)
            if value is None and row.path.count("/") == 3:  # a removed variant
                content.pop(row.path, None)
            else:
                content[row.path] = value
            pending[row.path] = edited[row.path] = who
        return Draft(base=base, content=content, edited=edited, pending=pending, phrasings=phrasings)

    # ----- editing -----

    def save(self, changes: Mapping[str, Any], by: str) -> Draft:
        """Stores edits as the draft: all of them or, if one is refused (NumberRefused, EditRefused), none."""
        checked = {path: _check_value(path, value, self.knowledge) for path, value in changes.items()}
        with self._lock:
            published = self.published().content
            now = time.time()
            with self.engine.begin() as connection:
                for path, value in checked.items():
                    connection.execute(draft_table.delete().where(draft_table.c.path == path))
                    if published.get(path) != value:
                        connection.execute(draft_table.insert().values(path=path, value=json.dumps(value),
                                                                       by=by, at=now))
        return self.draft()

    def save_phrasings(self, intent: str, add: List[str], remove: List[str], by: str,
                       known: Callable[[str], List[str]]) -> Draft:
        """Example phrasings to add to or remove from an intent's training data when the draft is published.
        `known(intent)` lists the intent's phrasings in the training data now."""
        add = self.checked_phrasings(intent, add)
        remove = [text for text in remove if isinstance(text, str)]
        existing = set(known(intent))
        now = time.time()
        with self._lock, self.engine.begin() as connection:
            for text, kind in [*((t, ADDED) for t in add), *((t, REMOVED) for t in remove)]:
                path = f"phrasing/{intent}/{text}"
                connection.execute(draft_table.delete().where(draft_table.c.path == path))
                if (kind == ADDED) != (text in existing):  # adding a new one, or removing an existing one
                    connection.execute(draft_table.insert().values(path=path, value=json.dumps(kind), by=by, at=now))
        return self.draft()

    def checked_phrasings(self, intent: str, add: List[str]) -> List[str]:
        """New phrasings with their spaces tidied, or EditRefused. (Numbers are allowed: customers quote them,
        and filing masks personal ones.)"""
        if intent not in self.knowledge.intents:
            raise EditRefused(f"不能修改：{intent}")
        add = [" ".join(text.split()) for text in add if isinstance(text, str) and text.strip()]
        for text in add:
            if len(text) > 100 or any(mark in text for mark in "[]{}()"):
                raise EditRefused("说法要在 100 个字以内，不含括号 [ ] { } ( )")
        return add

    def discard(self) -> None:
        """Drops every unpublished edit."""
        with self._lock, self.engine.begin() as connection:
            connection.execute(draft_table.delete())

    # ----- publishing -----

    def publish(self, note: str, by: str) -> Version:
        """The draft as a new version; NothingToPublish when it equals the published one."""
        with self._lock:
            draft = self.draft()
            if not draft.changed:
                raise NothingToPublish("草稿和已发布的版本一样，没有可发布的修改")
            return self._add_version(draft.base, draft.content, draft.edited, draft.phrasings, by, note,
                                     clear_draft=True)

    def rollback(self, number: int, by: str, note: str = "") -> Version:
        """Version `number`'s content published again as a new version, and the phrasings the versions after it
        added or removed taken back (the new version's `phrasings`, for the console to write and train).
        Unpublished edits stay in the draft."""
        with self._lock:
            target = self.version(number)
            if target is None:
                raise EditRefused(f"没有版本 {number}")
            current = self.published()
            now = time.time()
            edited = dict(current.edited)
            for change in diff(current.content, target.content):
                edited[change["path"]] = {"by": by, "at": now}
            later = [self.version(n) for n in range(number + 1, current.version + 1)]
            return self._add_version(current, target.content, edited, phrasings_undone(later), by,
                                     note or f"回滚到版本 {number}", rollback_of=number)

    def _add_version(self, base: Version, content: Content, edited: Dict[str, Any],
                     phrasings: Dict[str, Any], by: str, note: str, clear_draft: bool = False,
                     rollback_of: Optional[int] = None) -> Version:
        version = Version(version=base.version + 1, content=content, edited=edited, phrasings=phrasings,
                          at=time.time(), by=by, note=note.strip(), rollback_of=rollback_of)
        with self.engine.begin() as connection:
            # Two publishers at once: the second insert of the same number fails and publishes nothing.
            connection.execute(versions_table.insert().values(
                version=version.version, content=json.dumps(content, ensure_ascii=False),
                edited=json.dumps(edited, ensure_ascii=False), phrasings=json.dumps(phrasings, ensure_ascii=False),
                at=version.at, by=by, note=version.note, rollback_of=rollback_of))
            if clear_draft:
                connection.execute(draft_table.delete())
        return version

    # ----- the repository -----

    def import_repository(self) -> Optional[Version]:
        """knowledge/*.yml into the store: version 1 on a fresh install. After an upgrade that changed those
        files, what changed there since the last import is published as a new version, over whatever
        operators published meanwhile (a three-way merge by path); None when nothing changed."""
        theirs = editable_content(self.knowledge)
        with self.engine.begin() as connection:
            base_row = connection.execute(sa.select(meta_table.c.value)
                                          .where(meta_table.c.key == "yaml_base")).first()
            latest = connection.execute(sa.select(versions_table).order_by(versions_table.c.version.desc())
                                        .limit(1)).first()
            if base_row is not None and json.loads(base_row.value) == theirs and latest is not None:
                return None
            connection.execute(meta_table.delete().where(meta_table.c.key == "yaml_base"))
            connection.execute(meta_table.insert().values(key="yaml_base",
                                                          value=json.dumps(theirs, ensure_ascii=False)))
        if latest is None:
            first = Version(version=0, content={}, edited={}, phrasings={}, at=0.0, by="", note="")
            try:
                return self._add_version(first, theirs, {}, {}, YAML_AUTHOR, "knowledge/*.yml")
            except sa.exc.IntegrityError:  # another process imported it at the same moment
                return None
        current = _version(latest)
        base = json.loads(base_row.value) if base_row else current.content
        merged = merge(base, current.content, theirs)
        if merged == current.content:
            return None
        now = time.time()
        edited = {**current.edited, **{c["path"]: {"by": YAML_AUTHOR, "at": now}
                                       for c in diff(current.content, merged)}}
        return self._add_version(current, merged, edited, {}, YAML_AUTHOR, "knowledge/*.yml 升级导入")

    # ----- test chat -----

    def new_trial(self, by: str) -> str:
        """A new test-chat conversation id, answered with the draft."""
        conversation = TRIAL_PREFIX + secrets.token_urlsafe(18)
        with self.engine.begin() as connection:
            connection.execute(trials_table.insert().values(conversation=conversation, by=by, at=time.time()))
        return conversation


# ---------- what the assistant answers with ----------

# How often a process looks for a newly published version (seconds): publishing reaches every action
# server within this, without a restart.
REFRESH_S = float(os.environ.get("KNOWLEDGE_REFRESH_S") or 3.0)


class AnsweringKnowledge:
    """The knowledge a process answers with: knowledge/*.yml with the latest published version applied,
    looked up again at most every REFRESH_S seconds (one indexed query for the newest version number).
    A test-chat conversation gets the draft. When the database cannot be read, the last version read stays
    (or knowledge/*.yml, before any)."""

    def __init__(self, engine_factory: Callable[[], sa.engine.Engine], base: Optional[Knowledge] = None,
                 refresh_s: float = REFRESH_S):
        self._engine_factory = engine_factory
        self._engine: Optional[sa.engine.Engine] = None
        self.base = base or load_knowledge()
        self.refresh_s = refresh_s
        self._current: Tuple[int, Knowledge] = (0, self.base)
        self._checked_at = float("-inf")
        self._failing = False
        self._lock = threading.Lock()

    @property
    def engine(self) -> sa.engine.Engine:
        if self._engine is None:
            self._engine = self._engine_factory()
        return self._engine

    def published(self) -> Knowledge:
        if time.monotonic() - self._checked_at >= self.refresh_s:
            with self._lock:
                if time.monotonic() - self._checked_at >= self.refresh_s:
                    self._refresh()
                    self._checked_at = time.monotonic()
        return self._current[1]

    @property
    def version(self) -> int:
        self.published()
        return self._current[0]

    def _refresh(self) -> None:
        try:
            newest = self._newer_version()
            self._failing = False
            if newest is not None:
                self._current = (newest[0], apply_content(self.base, newest[1]))
                logger.info("Answering from knowledge version %s", newest[0])
        except Exception:  # the database is away or the version unusable: keep answering with what we have
            if not self._failing:  # once per outage, not every few seconds
                logger.exception("Could not read the published knowledge; still answering from version %s",
                                 self._current[0])
            self._failing = True

    def _newer_version(self) -> Optional[Tuple[int, Content]]:
        """The newest version's number and content, if it is not the one answering now."""
        with self.engine.connect() as connection:
            if not sa.inspect(connection).has_table("knowledge_versions"):
                return None
            newest = connection.execute(sa.select(sa.func.max(versions_table.c.version))).scalar()
            if not newest or newest == self._current[0]:
                return None
            content = connection.execute(sa.select(versions_table.c.content)
                                         .where(versions_table.c.version == newest)).scalar()
        return newest, json.loads(content)

    def for_conversation(self, conversation: Optional[str]) -> Knowledge:
        """The published knowledge, or the draft for a registered test-chat conversation."""
        if not (conversation or "").startswith(TRIAL_PREFIX):
            return self.published()
        try:
            with self.engine.connect() as connection:
                registered = connection.execute(sa.select(trials_table.c.conversation)
                                                .where(trials_table.c.conversation == conversation)).first()
            if registered is None:
                return self.published()
            store = KnowledgeStore(self.engine, self.base)
            return apply_content(self.base, store.draft().content)
        except Exception:
            logger.exception("Could not read the knowledge draft for a test chat")
            return self.published()
