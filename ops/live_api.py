"""The agents' live-chat API under /ops/api/ (docs/ops.md, "Live chat"): JSON throughout.

    GET  /ops/api/agents                                  the agents, their chats now, the services and their queues
                                                          (operator's token)
    POST /ops/api/agents {"name", "services", "max_chats"}   create an agent: its token, shown once (operator's)
    POST /ops/api/agents/<id> {"name", "services", "max_chats", "disabled"}   edit any of them (operator's)
    POST /ops/api/agents/<id>/token                       a new token; the old one stops working (operator's)
    GET  /ops/api/agent/me                                the agent's token: who am I, online or not
    POST /ops/api/agent/status {"online"}                 go online or offline
    GET  /ops/api/agent/queue                             the queues of the agent's services
    POST /ops/api/agent/take {"conversation"}             take a queued conversation, with the bot's transcript
    GET  /ops/api/agent/chats                             the agent's chats in progress (after a reload)
    GET  /ops/api/agent/colleagues                        the agents online and the services, to transfer to
    POST /ops/api/agent/conversations/<id>/transfer {"agent": id} or {"service": key}
    POST /ops/api/agent/conversations/<id>/typing         the agent is typing (shown on the customer's page)
    GET  /ops/api/agent/conversations/<id>/messages?after=N   also: is the customer typing
    POST /ops/api/agent/conversations/<id>/messages {"text"}
    POST /ops/api/agent/conversations/<id>/end            rating buttons for the customer, the bot is back
    POST /ops/api/agent/conversations/<id>/handback       the bot is back, no rating
    GET  /ops/api/agent/quick_replies                     the operator's 常用语, the self-help answers of knowledge/
    GET  /ops/api/quick_replies, POST (add), POST …/<id> (edit), POST …/<id>/delete: the 常用语 (operator's token)
    GET  /ops/api/tickets                                 留言 of the agent's services (all, for the operator)
    POST /ops/api/tickets/<id>/reply {"text"}             the reply reaches the customer's page
    POST /ops/api/tickets/<id>/close

The token check is ops/api.py's middleware (the tickets take an agent's token or the operator's); an agent's
call gets 403 for a conversation or ticket outside their services. Texts from the conversation are masked.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from aiohttp import web

from common import live_chat, live_signal, tickets
from common.knowledge import Knowledge
from common.live_chat import Agent, Chat, LiveChats
from common.live_signal import LiveSignal
from common.quick_replies import QuickReplies
from common.tickets import Ticket, Tickets
from ops.json_api import json_error, json_object
from ops.masking import mask_for_display
from ops.store import TrackerEvents

AGENT_KEY = "live_agent"  # the request's agent, set by the token check
MAX_NAME = 32
MAX_TEXT = 2000
MAX_CHATS = 10  # the most chats at once an operator may allow an agent


_MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def without_markdown(text: str) -> str:
    """A bot text as the page shows it, in plain text: links as their text, no **bold** marks."""
    return _MARKDOWN_LINK.sub(r"\1", text).replace("**", "")


def bot_transcript(events: Optional[List[Dict[str, Any]]]) -> List[Dict[str, str]]:
    """What the customer and the bot said, as the customer saw it, masked; not what was said while the bot
    was paused (live chats: their messages are the live ones). A button's payload ("/ask_hotline{...}") is
    shown as the button's title, the page's opening "/greet" not at all."""
    rows = []
    titles: Dict[str, str] = {}  # payload -> title of the latest bot message's buttons
    paused = False
    for event in events or []:
        text = event.get("text") or ""
        if event.get("event") in ("pause", "resume"):
            paused = event["event"] == "pause"
        elif paused:
            continue
        elif event.get("event") == "user" and text:
            shown = titles.get(text) if text.startswith("/") else text
            if shown:
                rows.append({"from": live_chat.CUSTOMER, "text": mask_for_display(shown)})
        elif event.get("event") == "bot" and text:
            rows.append({"from": live_chat.BOT, "text": mask_for_display(without_markdown(text))})
            titles = {button.get("payload"): button.get("title")
                      for button in (event.get("data") or {}).get("buttons") or []}
    return rows


class AgentAPI:
    """The agents' request handlers; `add_live_chat_api` mounts them. `live` and `events` give the console's
    stores, opened on first use."""

    def __init__(self, knowledge: Knowledge, live: Callable[[], LiveChats], events: Callable[[], TrackerEvents],
                 tickets: Callable[[], Tickets], quick: Callable[[], QuickReplies], signal: Optional[LiveSignal]):
        self.knowledge = knowledge
        self.live = live
        self.events = events
        self.tickets = tickets
        self.quick = quick
        self.signal = signal  # wakes the Rasa processes under make cluster (common/live_signal.py)

    async def store_message(self, chat: Chat, sender: str, text: str, kind: str = live_chat.TEXT,
                            agent_id: Optional[int] = None) -> live_chat.Message:
        """Stores a message of the chat, then signals the Rasa processes to deliver it."""
        stored = await asyncio.to_thread(self.live().add_message, chat, sender, text, kind, agent_id)
        if self.signal is not None:
            await self.signal.publish(chat.conversation)
        return stored

    def agent_of(self, request: web.Request) -> Agent:
        return request[AGENT_KEY]

    # ---------- the operator manages the agents ----------

    def agent_fields(self, body: Dict[str, Any], partial: bool) -> Dict[str, Any]:
        """The checked fields of a create (all but max_chats required) or edit (any) request."""
        fields: Dict[str, Any] = {}
        if not partial or "name" in body:
            name = body.get("name")
            if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
                raise json_error(web.HTTPBadRequest, f"name must be a text of 1 to {MAX_NAME} characters")
            fields["name"] = name.strip()
        if not partial or "services" in body:
            services = body.get("services")
            if (not isinstance(services, list) or not services
                    or not all(isinstance(s, str) and s in self.knowledge.services for s in services)):
                raise json_error(web.HTTPBadRequest, f"services must be a list of {sorted(self.knowledge.services)}")
            fields["services"] = list(dict.fromkeys(services))
        if "max_chats" in body:
            max_chats = body["max_chats"]
            if not isinstance(max_chats, int) or isinstance(max_chats, bool) or not 1 <= max_chats <= MAX_CHATS:
                raise json_error(web.HTTPBadRequest, f"max_chats must be a number from 1 to {MAX_CHATS}")
            fields["max_chats"] = max_chats
        if partial and "disabled" in body:
            if not isinstance(body["disabled"], bool):
                raise json_error(web.HTTPBadRequest, "disabled must be true or false")
            fields["disabled"] = body["disabled"]
        return fields

    async def list_agents(self, request: web.Request) -> web.Response:
        now = time.time()
        agents = await asyncio.to_thread(self.live().agents)
        chats, queued = await asyncio.to_thread(self.live().load)
        away_s = self.live().limits.agent_away_s
        return web.json_response({
            "items": [{"id": agent.id, "name": agent.name, "services": list(agent.services),
                       "max_chats": agent.max_chats, "disabled": agent.disabled, "chats": chats.get(agent.id, 0),
                       "online": agent.online and not agent.disabled and agent.seen_at >= now - away_s}
                      for agent in agents],
            "services": [{"key": key, "name": service.short_name, "queued": queued.get(key, 0)}
                         for key, service in self.knowledge.services.items()],
        }, dumps=_dumps)

    async def create_agent(self, request: web.Request) -> web.Response:
        fields = self.agent_fields(await json_object(request), partial=False)
        try:
            agent_id, token = await asyncio.to_thread(self.live().create_agent, **fields)
        except live_chat.NameTaken:
            raise json_error(web.HTTPConflict, "another agent has this name") from None
        return web.json_response({"id": agent_id, "token": token}, status=201)

    def agent_id_of(self, request: web.Request) -> int:
        try:
            return int(request.match_info["agent_id"])
        except ValueError:
            raise json_error(web.HTTPNotFound, "no such agent") from None

    async def edit_agent(self, request: web.Request) -> web.Response:
        fields = self.agent_fields(await json_object(request), partial=True)
        agent_id = self.agent_id_of(request)
        try:
            found = await asyncio.to_thread(self.live().edit_agent, agent_id, **fields)
        except live_chat.NameTaken:
            raise json_error(web.HTTPConflict, "another agent has this name") from None
        if not found:
            raise json_error(web.HTTPNotFound, "no such agent")
        return web.json_response({"id": agent_id, **fields}, dumps=_dumps)

    async def rekey_agent(self, request: web.Request) -> web.Response:
        agent_id = self.agent_id_of(request)
        token = await asyncio.to_thread(self.live().new_token, agent_id)
        if token is None:
            raise json_error(web.HTTPNotFound, "no such agent")
        return web.json_response({"id": agent_id, "token": token})

    # ---------- the agent's own calls ----------

    async def me(self, request: web.Request) -> web.Response:
        agent = self.agent_of(request)
        return web.json_response({"id": agent.id, "name": agent.name, "online": agent.online,
                                  "max_chats": agent.max_chats,
                                  "services": [{"key": key, "name": self.knowledge.services[key].short_name}
                                               for key in agent.services if key in self.knowledge.services]},
                                 dumps=_dumps)

    async def status(self, request: web.Request) -> web.Response:
        online = (await json_object(request)).get("online")
        if not isinstance(online, bool):
            raise json_error(web.HTTPBadRequest, "online must be true or false")
        await asyncio.to_thread(self.live().set_online, self.agent_of(request).id, online)
        return web.json_response({"online": online})

    def topic_title(self, topic: Optional[str]) -> Optional[str]:
        return self.knowledge.intent_titles.get(topic or "", topic)

    async def queue(self, request: web.Request) -> web.Response:
        now = time.time()
        chats = await asyncio.to_thread(self.live().queue, self.agent_of(request).services)
        return web.json_response({"items": [
            {"conversation": chat.conversation, "service": chat.service, "position": position,
             "waiting_s": round(now - chat.queued_at, 1), "topic": self.topic_title(chat.topic)}
            for chat, position in chats]}, dumps=_dumps)

    async def chat_for(self, request: web.Request, conversation: str) -> Chat:
        """The conversation's latest chat: 404 if it has none, 403 if it is outside the agent's services."""
        chat = await asyncio.to_thread(self.live().latest_chat, conversation)
        if chat is None:
            raise json_error(web.HTTPNotFound, "no live chat in this conversation")
        if chat.service not in self.agent_of(request).services:
            raise json_error(web.HTTPForbidden, "this conversation is outside your services")
        return chat

    async def take(self, request: web.Request) -> web.Response:
        conversation = (await json_object(request)).get("conversation")
        if not isinstance(conversation, str) or not conversation:
            raise json_error(web.HTTPBadRequest, "conversation must be a conversation id")
        chat = await self.chat_for(request, conversation)
        agent = self.agent_of(request)
        if not agent.online:
            raise json_error(web.HTTPConflict, "go online first: an offline agent takes no customers")
        if len(await asyncio.to_thread(self.live().active_chats, agent)) >= agent.max_chats:
            raise json_error(web.HTTPConflict, f"you have {agent.max_chats} chats already, your most at once")
        if chat.state != live_chat.QUEUED or not await asyncio.to_thread(self.live().take, chat, agent):
            raise json_error(web.HTTPConflict, "this conversation is not waiting in the queue any more")
        await self.store_message(chat, live_chat.BOT, self.knowledge.template("live_taken", name=agent.name),
                                 live_chat.TAKEN)
        return web.json_response(await self.chat_view(chat), dumps=_dumps)

    async def chat_view(self, chat: Chat) -> Dict[str, Any]:
        """A chat as the workspace opens it: service, topic, product and the bot's transcript."""
        stored = await asyncio.to_thread(self.events().conversation, chat.conversation)
        return {
            "conversation": chat.conversation, "service": chat.service, "topic": self.topic_title(chat.topic),
            "product": self.knowledge.services[chat.product].short_name if chat.product in self.knowledge.services
            else chat.product,
            "transcript": bot_transcript(stored),
        }

    async def chats(self, request: web.Request) -> web.Response:
        """The agent's chats in progress: a reloaded workspace takes them up again."""
        active = await asyncio.to_thread(self.live().active_chats, self.agent_of(request))
        return web.json_response({"items": [await self.chat_view(chat) for chat in active]}, dumps=_dumps)

    async def messages(self, request: web.Request) -> web.Response:
        conversation = request.match_info["conversation_id"]
        await self.chat_for(request, conversation)
        try:
            after = int(request.query.get("after", "0"))
        except ValueError:
            raise json_error(web.HTTPBadRequest, "after must be a message number") from None
        found = await asyncio.to_thread(self.live().messages, conversation, after)
        chat = await asyncio.to_thread(self.live().latest_chat, conversation)
        names = {agent.id: agent.name for agent in await asyncio.to_thread(self.live().agents)} if any(
            m.agent_id for m in found) else {}
        # "agent_id": who has the chat now (another agent after a transfer); "agent": who wrote an agent's message;
        # "customer_typing": the customer is typing (rasa_server/live_channel.py).
        return web.json_response({"state": chat.state if chat else None, "agent_id": chat.agent_id if chat else None,
                                  "customer_typing": bool(chat and chat.customer_is_typing()),
                                  "items": [{**m.as_dict(), "text": mask_for_display(m.text),
                                             "agent": names.get(m.agent_id)} for m in found]},
                                 dumps=_dumps)

    async def own_active_chat(self, request: web.Request) -> Chat:
        chat = await self.chat_for(request, request.match_info["conversation_id"])
        if chat.state != live_chat.ACTIVE or chat.agent_id != self.agent_of(request).id:
            raise json_error(web.HTTPConflict, "you are not in a live chat with this conversation")
        return chat

    async def reply(self, request: web.Request) -> web.Response:
        chat = await self.own_active_chat(request)
        text = (await json_object(request)).get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            raise json_error(web.HTTPBadRequest, f"text must be a text of 1 to {MAX_TEXT} characters")
        sent = await self.store_message(chat, live_chat.AGENT, text.strip(), agent_id=self.agent_of(request).id)
        return web.json_response(sent.as_dict(), status=201, dumps=_dumps)

    async def typing(self, request: web.Request) -> web.Response:
        """The agent is typing: the customer's page shows it (rasa_server/live_channel.py)."""
        chat = await self.own_active_chat(request)
        await asyncio.to_thread(self.live().agent_typing, chat)
        return web.json_response({"conversation": chat.conversation})

    async def colleagues(self, request: web.Request) -> web.Response:
        """Whom the agent can transfer a chat to: the other agents online now, and every service."""
        me = self.agent_of(request)
        now = time.time()
        away_s = self.live().limits.agent_away_s
        agents = await asyncio.to_thread(self.live().agents)
        return web.json_response({
            "agents": [{"id": agent.id, "name": agent.name, "services": list(agent.services)} for agent in agents
                       if agent.id != me.id and agent.online and not agent.disabled and agent.seen_at >= now - away_s],
            "services": [{"key": key, "name": service.short_name} for key, service in self.knowledge.services.items()],
        }, dumps=_dumps)

    async def transfer(self, request: web.Request) -> web.Response:
        """To another online agent of the chat's service {"agent": id}, or to a service's queue {"service": key},
        first in line there; the customer is told, the new agent reads the whole chat."""
        chat = await self.own_active_chat(request)
        body = await json_object(request)
        if "agent" in body:
            to = await asyncio.to_thread(self.live().agent, body["agent"]) if isinstance(body["agent"], int) else None
            now = time.time()
            if (to is None or to.id == chat.agent_id or to.disabled or not to.online
                    or to.seen_at < now - self.live().limits.agent_away_s):
                raise json_error(web.HTTPBadRequest, "agent must be another agent online now")
            if chat.service not in to.services:
                raise json_error(web.HTTPBadRequest, "this agent does not serve this chat's service: transfer to it")
            if len(await asyncio.to_thread(self.live().active_chats, to)) >= to.max_chats:
                raise json_error(web.HTTPConflict, f"{to.name} has as many chats as they may have at once")
            if not await asyncio.to_thread(self.live().transfer_to_agent, chat, to):
                raise json_error(web.HTTPConflict, "this live chat is already over")
            told = self.knowledge.template("live_transferred_to_agent", name=to.name)
            await self.store_message(chat, live_chat.BOT, told, live_chat.TAKEN)
            return web.json_response({"conversation": chat.conversation, "agent": to.name}, dumps=_dumps)
        service = self.knowledge.services.get(body.get("service")) if isinstance(body.get("service"), str) else None
        if service is None:
            raise json_error(web.HTTPBadRequest, f"give an agent id or a service of {sorted(self.knowledge.services)}")
        moved = await asyncio.to_thread(self.live().transfer_to_service, chat, service.key)
        if moved is None:
            raise json_error(web.HTTPConflict, "this live chat is already over")
        position = await asyncio.to_thread(self.live().position, moved)
        await self.store_message(moved, live_chat.BOT, self.knowledge.template(
            "live_transferred_to_service", service=service.short_name, position=str(position)), live_chat.REQUEUED)
        return web.json_response({"conversation": chat.conversation, "service": service.key}, dumps=_dumps)

    def closing(self, state: str, kind: str, template: str) -> Callable[[web.Request], Any]:
        async def close(request: web.Request) -> web.Response:
            chat = await self.own_active_chat(request)
            if not await asyncio.to_thread(self.live().close, chat, state):
                raise json_error(web.HTTPConflict, "this live chat is already over")
            notice = self.knowledge.template(template)
            await self.store_message(chat, live_chat.BOT, notice, kind)
            return web.json_response({"conversation": chat.conversation, "state": state})

        return close

    # ---------- 留言 ----------

    def ticket_services(self, request: web.Request) -> Optional[Tuple[str, ...]]:
        """The services whose tickets the caller sees: the agent's, or all (None) for the operator."""
        agent = request.get(AGENT_KEY)
        return agent.services if agent is not None else None

    def ticket_dict(self, ticket: Ticket) -> Dict[str, Any]:
        shown = ticket.as_dict()
        for key in ("text", "phone", "reply"):  # masked when stored; masked again as every text that leaves
            if shown[key]:
                shown[key] = mask_for_display(shown[key])
        return shown

    async def list_tickets(self, request: web.Request) -> web.Response:
        found = await asyncio.to_thread(self.tickets().listed, self.ticket_services(request))
        return web.json_response({"items": [self.ticket_dict(ticket) for ticket in found]}, dumps=_dumps)

    async def ticket_for(self, request: web.Request) -> Ticket:
        """The ticket of the URL: 404 if there is none (or it is still being written), 403 outside the
        agent's services."""
        try:
            ticket_id = int(request.match_info["ticket_id"])
        except ValueError:
            raise json_error(web.HTTPNotFound, "no such ticket") from None
        ticket = await asyncio.to_thread(self.tickets().ticket, ticket_id)
        if ticket is None or ticket.status not in tickets.LISTED:
            raise json_error(web.HTTPNotFound, "no such ticket")
        services = self.ticket_services(request)
        if services is not None and ticket.service not in services:
            raise json_error(web.HTTPForbidden, "this ticket is outside your services")
        return ticket

    async def reply_ticket(self, request: web.Request) -> web.Response:
        ticket = await self.ticket_for(request)
        text = (await json_object(request)).get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            raise json_error(web.HTTPBadRequest, f"text must be a text of 1 to {MAX_TEXT} characters")
        agent = request.get(AGENT_KEY)
        if not await asyncio.to_thread(self.tickets().reply, ticket, text.strip(), agent.name if agent else ""):
            raise json_error(web.HTTPConflict, "this ticket is closed")
        if self.signal is not None:
            await self.signal.publish(ticket.conversation)
        return web.json_response(self.ticket_dict(await asyncio.to_thread(self.tickets().ticket, ticket.id)),
                                 dumps=_dumps)

    async def close_ticket(self, request: web.Request) -> web.Response:
        ticket = await self.ticket_for(request)
        if not await asyncio.to_thread(self.tickets().close, ticket):
            raise json_error(web.HTTPConflict, "this ticket is closed already")
        return web.json_response(self.ticket_dict(await asyncio.to_thread(self.tickets().ticket, ticket.id)),
                                 dumps=_dumps)

    async def quick_replies(self, request: web.Request) -> web.Response:
        """The operator's 常用语 for the agent's services ("managed"), then the self-help answers ("items")."""
        managed = await asyncio.to_thread(self.quick().listed, self.agent_of(request).services)
        return web.json_response({"managed": [{"title": r.title, "text": r.text} for r in managed], "items": [
            # In plain text: the customer sees an agent's text exactly as typed.
            {"title": self.knowledge.intent_titles.get(key, key), "text": without_markdown(topic.default.strip())}
            for key, topic in self.knowledge.topics.items()]}, dumps=_dumps)

    # ---------- the operator's 常用语 ----------

    async def list_quick_replies(self, request: web.Request) -> web.Response:
        replies = await asyncio.to_thread(self.quick().listed)
        return web.json_response({"items": [reply.as_dict() for reply in replies]}, dumps=_dumps)

    async def quick_reply_fields(self, request: web.Request) -> Tuple[Optional[str], str, str]:
        body = await json_object(request)
        service, title, text = body.get("service"), body.get("title"), body.get("text")
        if service is not None and service not in self.knowledge.services:
            raise json_error(web.HTTPBadRequest, f"service must be null or one of {sorted(self.knowledge.services)}")
        if not isinstance(title, str) or not title.strip() or len(title.strip()) > MAX_NAME:
            raise json_error(web.HTTPBadRequest, f"title must be a text of 1 to {MAX_NAME} characters")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            raise json_error(web.HTTPBadRequest, f"text must be a text of 1 to {MAX_TEXT} characters")
        return service, title.strip(), text.strip()

    def quick_reply_id(self, request: web.Request) -> int:
        try:
            return int(request.match_info["reply_id"])
        except ValueError:
            raise json_error(web.HTTPNotFound, "no such quick reply") from None

    async def add_quick_reply(self, request: web.Request) -> web.Response:
        reply_id = await asyncio.to_thread(self.quick().add, *await self.quick_reply_fields(request))
        return web.json_response({"id": reply_id}, status=201)

    async def edit_quick_reply(self, request: web.Request) -> web.Response:
        reply_id = self.quick_reply_id(request)
        if not await asyncio.to_thread(self.quick().edit, reply_id, *await self.quick_reply_fields(request)):
            raise json_error(web.HTTPNotFound, "no such quick reply")
        return web.json_response({"id": reply_id})

    async def delete_quick_reply(self, request: web.Request) -> web.Response:
        reply_id = self.quick_reply_id(request)
        if not await asyncio.to_thread(self.quick().delete, reply_id):
            raise json_error(web.HTTPNotFound, "no such quick reply")
        return web.json_response({"id": reply_id})


def add_live_chat_api(app: web.Application, prefix: str, knowledge: Knowledge, live: Callable[[], LiveChats],
                      events: Callable[[], TrackerEvents], tickets_store: Callable[[], Tickets],
                      quick: Callable[[], QuickReplies]) -> None:
    signal_url = live_signal.url_from_env()
    api = AgentAPI(knowledge, live, events, tickets_store, quick, LiveSignal(signal_url) if signal_url else None)
    agent_prefix = prefix + "agent/"
    app.router.add_get(prefix + "agents", api.list_agents)
    app.router.add_post(prefix + "agents", api.create_agent)
    app.router.add_post(prefix + "agents/{agent_id}", api.edit_agent)
    app.router.add_post(prefix + "agents/{agent_id}/token", api.rekey_agent)
    app.router.add_get(agent_prefix + "me", api.me)
    app.router.add_post(agent_prefix + "status", api.status)
    app.router.add_get(agent_prefix + "queue", api.queue)
    app.router.add_post(agent_prefix + "take", api.take)
    app.router.add_get(agent_prefix + "chats", api.chats)
    app.router.add_get(agent_prefix + "conversations/{conversation_id}/messages", api.messages)
    app.router.add_post(agent_prefix + "conversations/{conversation_id}/messages", api.reply)
    app.router.add_post(agent_prefix + "conversations/{conversation_id}/transfer", api.transfer)
    app.router.add_post(agent_prefix + "conversations/{conversation_id}/typing", api.typing)
    app.router.add_get(agent_prefix + "colleagues", api.colleagues)
    app.router.add_post(agent_prefix + "conversations/{conversation_id}/end",
                        api.closing(live_chat.ENDED, live_chat.END, "live_ended"))
    app.router.add_post(agent_prefix + "conversations/{conversation_id}/handback",
                        api.closing(live_chat.HANDED_BACK, live_chat.HAND_BACK, "live_handed_back"))
    app.router.add_get(agent_prefix + "quick_replies", api.quick_replies)
    app.router.add_get(prefix + "quick_replies", api.list_quick_replies)
    app.router.add_post(prefix + "quick_replies", api.add_quick_reply)
    app.router.add_post(prefix + "quick_replies/{reply_id}", api.edit_quick_reply)
    app.router.add_post(prefix + "quick_replies/{reply_id}/delete", api.delete_quick_reply)
    app.router.add_get(prefix + "tickets", api.list_tickets)
    app.router.add_post(prefix + "tickets/{ticket_id}/reply", api.reply_ticket)
    app.router.add_post(prefix + "tickets/{ticket_id}/close", api.close_ticket)


_dumps = functools.partial(json.dumps, ensure_ascii=False)
