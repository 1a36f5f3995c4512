// 在线客服工作台: the live-chat workspace of the console, opened with an agent's own token.
// Uses ops.js's helpers ($, el, api, apiJson, guarded, switchTab). Every text from the conversation is
// put in as textContent, never as markup. The queue, the open chat and the 留言 are polled every POLL_MS;
// each call is also the agent's heartbeat (an agent whose console stops calling is away, common/live_chat.py).
"use strict";

const POLL_MS = 2000;
const SERVICE_NAMES = {};
const TICKET_STATES = { open: "待回复", replied: "已回复", closed: "已关闭" };
const workspace = {
  agent: null, token: "", online: false, timer: null, tickets: [], ticket: null,
  chats: new Map(), current: null, // conversation -> {chat, lastN, thread, tab, unread, over}; the one shown
  queued: new Set(), alertsReady: false, // the queue last seen, for the new-customer alert
};

// A fresh login starts offline (the agent chooses to go online); a reload keeps the presence and takes up
// the agent's chat in progress.
async function enterWorkspace(fromLogin) {
  const response = await fetch("/ops/api/agent/me", {
    headers: { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) || ""}` },
  });
  if (!response.ok) return false;
  let me = await response.json();
  if (fromLogin && me.online) {
    await fetch("/ops/api/agent/status", { method: "POST", body: JSON.stringify({ online: false }),
      headers: { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}`, "Content-Type": "application/json" } });
    me = { ...me, online: false };
  }
  workspace.agent = me;
  workspace.token = sessionStorage.getItem(TOKEN_KEY);
  for (const service of me.services) SERVICE_NAMES[service.key] = service.name;
  for (const tab of document.querySelectorAll(".tab")) tab.hidden = tab.dataset.tab !== "workspace";
  $("#agent-name").textContent = `客服${me.name}`;
  $("#agent-services").textContent = `负责：${me.services.map((s) => s.name).join("、")}`;
  showOnline(me.online);
  switchTab("workspace");
  await loadQuickReplies();
  const chats = await apiJson("agent/chats");
  for (const chat of chats.items) openChat(chat);
  if (chats.items.length) showChat(chats.items[0].conversation);
  poll();
  return true;
}

function showOnline(online) {
  workspace.online = online;
  $("#agent-state").dataset.online = String(online);
  $("#agent-state").textContent = online ? "在线" : "离线";
  $("#agent-online").textContent = online ? "下线" : "上线";
  $("#agent-online").classList.toggle("primary", !online);
}

async function setOnline(online) {
  // Going online is a click: the moment to ask for desktop notifications of new customers.
  if (online && "Notification" in window && Notification.permission === "default") Notification.requestPermission();
  await guarded(async () => {
    const result = await apiJson("agent/status", { method: "POST", body: JSON.stringify({ online }) });
    showOnline(result.online);
  });
  poll(); // the queue's 接入 as the presence allows
}

async function loadQuickReplies() {
  const data = await apiJson("agent/quick_replies");
  const options = (items) => items.map((item) => el("option", { value: item.text, textContent: item.title }));
  $("#quick-replies").replaceChildren(el("option", { value: "", textContent: "快捷回复…" }),
    el("optgroup", { label: "常用语" }, options(data.managed)),
    el("optgroup", { label: "自助答复" }, options(data.items)));
}

function waited(seconds) {
  return seconds < 60 ? `${Math.round(seconds)} 秒` : `${Math.floor(seconds / 60)} 分 ${Math.round(seconds % 60)} 秒`;
}

function drawQueue(items) {
  const inProgress = [...workspace.chats.values()].filter((entry) => !entry.over).length;
  const full = inProgress >= (workspace.agent.max_chats || 1);
  $("#queue-table tbody").replaceChildren(...items.map((item) => {
    const take = el("button", { className: "primary", textContent: "接入" });
    take.addEventListener("click", () => takeChat(item.conversation));
    take.disabled = full || !workspace.online;
    take.title = workspace.online ? "" : "上线后才能接入";
    const row = el("tr", {}, [
      el("td", { textContent: SERVICE_NAMES[item.service] || item.service }),
      el("td", { className: "position", textContent: `第 ${item.position} 位` }),
      el("td", { textContent: waited(item.waiting_s) }),
      el("td", { textContent: item.topic || "—" }),
      el("td", {}, take),
    ]);
    row.dataset.conversation = item.conversation;
    return row;
  }));
  $("#queue-empty").hidden = items.length > 0;
  alertNewCustomers(items);
}

// ---------- the agent's chats: one thread each in #chat-log, the current one shown ----------

function addTurn(thread, kind, text, label) {
  const turn = el("div", { className: `turn ${kind}` }, [
    el("span", { className: "meta", textContent: label }),
    el("div", { className: "bubble", textContent: text }),
  ]);
  thread.append(turn);
  $("#chat-log").scrollTop = $("#chat-log").scrollHeight;
}

// "bot": a notice to the customer, shown small and centred; "note": for the agent only (page closed, 留言)
const SENDER_LABELS = { customer: "客户", agent: "我", bot: "", note: "" };

async function takeChat(conversation) {
  await guarded(async () => {
    const response = await api("agent/take", { method: "POST", body: JSON.stringify({ conversation }) });
    if (!response.ok) {
      $("#chat-info").textContent = response.status === 409 && workspace.chats.size
        ? "已达到同时接待上限，或这位客户已被接入、已离开队列。" : "这位客户已被接入或已离开队列。";
      return;
    }
    const chat = await response.json();
    openChat(chat);
    await readMessages(workspace.chats.get(chat.conversation));
    poll(); // the queue without the customer just taken
  });
}

// Adds a chat the agent has (just taken, or taken up after a reload): the bot's transcript, then the live
// messages (read from the first), in a thread of its own; it becomes the current one.
function openChat(chat) {
  const thread = el("div", { className: "chat-thread" });
  thread.dataset.conversation = chat.conversation;
  $("#chat-log").append(thread);
  const tab = el("button", { type: "button", className: "chat-tab" });
  tab.addEventListener("click", () => showChat(chat.conversation));
  $("#chat-tabs").append(tab);
  const entry = { chat, lastN: 0, thread, tab, unread: 0, over: false };
  workspace.chats.set(chat.conversation, entry);
  for (const turn of chat.transcript) {
    addTurn(thread, `history ${turn.from === "customer" ? "customer" : "bot"}`, turn.text,
      turn.from === "customer" ? "客户" : "机器人");
  }
  addTurn(thread, "notice", "—— 以下为人工服务 ——", "");
  showChat(chat.conversation);
}

function tabLabel(entry, number) {
  const unread = entry.unread ? `（${entry.unread}条新消息）` : "";
  const typing = entry.customerTyping && !entry.over ? "（正在输入…）" : "";
  const service = SERVICE_NAMES[entry.chat.service] || entry.chat.service;
  return `客户${number} · ${service}${entry.over ? "（已结束）" : ""}${unread}${typing}`;
}

// 「客户正在输入…」 under the current chat while its customer types (the server keeps it a few seconds after a
// keystroke, and drops it when their message comes).
function showCustomerTyping() {
  const entry = currentChat();
  // Its line keeps its place while hidden: the reply box does not jump as the hint comes and goes.
  $("#customer-typing").style.visibility = entry && entry.customerTyping ? "visible" : "hidden";
}

function drawTabs() {
  let number = 0;
  for (const entry of workspace.chats.values()) {
    number += 1;
    entry.tab.textContent = tabLabel(entry, number);
    entry.tab.classList.toggle("active", entry.chat.conversation === workspace.current);
  }
  $("#chat-tabs").hidden = workspace.chats.size < 2;
}

function showChat(conversation) {
  // A chat that is over leaves its tab once the agent looks at another one.
  for (const [key, entry] of workspace.chats) {
    if (entry.over && key !== conversation) {
      entry.thread.remove();
      entry.tab.remove();
      workspace.chats.delete(key);
    }
  }
  const entry = workspace.chats.get(conversation);
  workspace.current = entry ? conversation : null;
  for (const other of workspace.chats.values()) other.thread.hidden = other !== entry;
  if (entry) {
    entry.unread = 0;
    const chat = entry.chat;
    $("#chat-title").textContent = `当前会话：${SERVICE_NAMES[chat.service] || chat.service}`;
    $("#chat-info").textContent = entry.over ? entry.overText
      : `问题：${chat.topic || "—"}　产品：${chat.product || "—"}　（以上是机器人阶段的对话记录，个人号码已打码）`;
  }
  setChatControls(Boolean(entry && !entry.over));
  showCustomerTyping();
  drawTabs();
}

function currentChat() {
  const entry = workspace.chats.get(workspace.current);
  return entry && !entry.over ? entry : null;
}

function setChatControls(enabled) {
  for (const id of ["#reply-text", "#send-reply", "#handback", "#end-chat", "#transfer-to", "#transfer"]) {
    $(id).disabled = !enabled;
  }
}

// The chat is over for this agent: ended or handed back here, or the customer chose 留言, or it went back to
// the queue while this console was away.
function chatOver(entry, text) {
  entry.over = true;
  entry.overText = text;
  if (workspace.current === entry.chat.conversation) showChat(entry.chat.conversation);
  else drawTabs();
}

function senderLabel(message) {
  if (message.from === "agent" && message.agent && message.agent !== workspace.agent.name) return `客服${message.agent}`;
  return SENDER_LABELS[message.from];
}

async function readMessages(entry) {
  if (!entry || entry.over) return;
  const conversation = entry.chat.conversation;
  const response = await api(`agent/conversations/${encodeURIComponent(conversation)}/messages?after=${entry.lastN}`);
  if (response.status === 403 || response.status === 404) { // transferred to a service that is not the agent's
    chatOver(entry, "这位客户已转接。");
    return;
  }
  if (!response.ok) throw new Error(`messages: HTTP ${response.status}`);
  const data = await response.json();
  for (const message of data.items) {
    addTurn(entry.thread, message.from === "bot" ? "notice" : message.from, message.text, senderLabel(message));
    entry.lastN = message.n;
    if (message.from === "customer" && workspace.current !== conversation) entry.unread += 1;
  }
  const typingChanged = entry.customerTyping !== Boolean(data.customer_typing);
  entry.customerTyping = Boolean(data.customer_typing);
  if (data.state === "active" && data.agent_id !== workspace.agent.id) {
    chatOver(entry, "这位客户已转接给其他客服。");
  } else if (data.state !== "active") {
    chatOver(entry, data.state === "queued" ? "这位客户已重新排队。" : "这位客户已离开会话。");
  } else if (data.items.length || typingChanged) {
    drawTabs();
  }
  showCustomerTyping();
}

// The customer's page shows 「小王正在输入…」: tell the server at most every TYPING_MS while the agent types.
const TYPING_MS = 2000;

function tellTyping() {
  const entry = currentChat();
  if (!entry || Date.now() - (entry.typingToldAt || 0) < TYPING_MS) return;
  entry.typingToldAt = Date.now();
  api(`agent/conversations/${encodeURIComponent(entry.chat.conversation)}/typing`, { method: "POST" })
    .catch(() => {}); // a lost typing hint is no matter
}

// ---------- transfer to another agent online, or to a service's queue ----------

async function loadTransferTargets() {
  if (document.activeElement === $("#transfer-to")) return; // not while the agent is choosing
  const data = await apiJson("agent/colleagues");
  const key = JSON.stringify(data);
  if (key === workspace.transferTargets) return;
  workspace.transferTargets = key;
  $("#transfer-to").replaceChildren(el("option", { value: "", textContent: "转接给…" }),
    el("optgroup", { label: "在线客服" }, data.agents.map((agent) => el("option", {
      value: `agent:${agent.id}`, textContent: `客服${agent.name}（${agent.services.map((s) => SERVICE_NAMES[s] || s).join("、")}）`,
    }))),
    el("optgroup", { label: "服务队列" }, data.services.map((service) => el("option", {
      value: `service:${service.key}`, textContent: `${service.name}队列`,
    }))));
}

async function transferChat() {
  const entry = currentChat();
  const [kind, value] = $("#transfer-to").value.split(":");
  if (!entry || !value) return;
  await guarded(async () => {
    const body = kind === "agent" ? { agent: Number(value) } : { service: value };
    const response = await api(`agent/conversations/${encodeURIComponent(entry.chat.conversation)}/transfer`,
      { method: "POST", body: JSON.stringify(body) });
    if (!response.ok) {
      $("#chat-info").textContent = `转接失败：${(await response.json()).error || response.status}`;
      return;
    }
    $("#transfer-to").value = "";
    await readMessages(entry);
    chatOver(entry, `已转接给${$("#transfer-to option[value='" + `${kind}:${value}` + "']")?.textContent || "其他客服"}。`);
  });
}

async function sendReply(event) {
  event.preventDefault();
  const text = $("#reply-text").value.trim();
  const entry = currentChat();
  if (!text || !entry) return;
  await guarded(async () => {
    const response = await api(`agent/conversations/${encodeURIComponent(entry.chat.conversation)}/messages`,
      { method: "POST", body: JSON.stringify({ text }) });
    if (response.ok) {
      $("#reply-text").value = "";
      await readMessages(entry);
    }
  });
}

async function closeChat(how) {
  const entry = currentChat();
  if (!entry) return;
  await guarded(async () => {
    await api(`agent/conversations/${encodeURIComponent(entry.chat.conversation)}/${how}`, { method: "POST" });
    await readMessages(entry);
    chatOver(entry, how === "end" ? "会话已结束，客户会收到评价邀请。" : "已转回机器人。");
  });
}

// ---------- a new customer in the queue: title, sound and desktop notification (where permitted) ----------

function alertNewCustomers(items) {
  const known = workspace.queued;
  workspace.queued = new Set(items.map((item) => item.conversation));
  const fresh = items.filter((item) => !known.has(item.conversation));
  document.title = items.length ? `(${items.length}) 客户排队中 · 客服运营后台` : "客服运营后台";
  if (!fresh.length || !workspace.online || !workspace.alertsReady) {
    workspace.alertsReady = true; // the queue found at login is no news
    return;
  }
  chime();
  if ("Notification" in window && Notification.permission === "granted") {
    new Notification("新客户排队", { body: `${fresh.length} 位新客户在排队，请到工作台接入。`, tag: "cs-queue" });
  }
}

function chime() {
  try {
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    const volume = audio.createGain();
    tone.frequency.value = 880;
    volume.gain.setValueAtTime(0.15, audio.currentTime);
    volume.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
    tone.connect(volume).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.4);
  } catch (error) {
    // No sound where the browser does not allow it; the title and the notification still tell.
  }
}

// ---------- 留言 ----------

function beijingTimeOf(seconds) {
  return new Date(seconds * 1000).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false,
    month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

function drawTickets(items) {
  workspace.tickets = items;
  $("#ticket-table tbody").replaceChildren(...items.map((ticket) => {
    const open = el("button", { textContent: "查看" });
    open.addEventListener("click", () => showTicket(ticket.id));
    const row = el("tr", {}, [
      el("td", { textContent: String(ticket.id) }),
      el("td", { textContent: SERVICE_NAMES[ticket.service] || ticket.service }),
      el("td", { textContent: beijingTimeOf(ticket.at) }),
      el("td", { className: "status", textContent: TICKET_STATES[ticket.status] || ticket.status }),
      el("td", { className: "text", textContent: ticket.text }),
      el("td", {}, open),
    ]);
    row.dataset.ticket = String(ticket.id);
    return row;
  }));
  $("#tickets-empty").hidden = items.length > 0;
  if (workspace.ticket !== null) showTicket(workspace.ticket, false);
}

function showTicket(id, clearReply = true) {
  const ticket = workspace.tickets.find((item) => item.id === id);
  workspace.ticket = ticket ? id : null;
  $("#ticket-detail").hidden = !ticket;
  if (!ticket) return;
  $("#ticket-title").textContent = `留言 ${ticket.id}（${TICKET_STATES[ticket.status] || ticket.status}）`;
  $("#ticket-text").textContent = ticket.text;
  $("#ticket-phone").textContent = ticket.phone || "未留";
  $("#ticket-reply-shown").textContent = ticket.reply ? `已回复：${ticket.reply}` : "";
  if (clearReply) $("#ticket-reply").value = "";
  const closed = ticket.status === "closed";
  for (const id of ["#ticket-reply", "#send-ticket-reply", "#close-ticket"]) $(id).disabled = closed;
}

async function loadTickets() {
  drawTickets((await apiJson("tickets")).items);
}

async function ticketAction(how, body) {
  if (workspace.ticket === null) return;
  await guarded(async () => {
    const response = await api(`tickets/${workspace.ticket}/${how}`,
      { method: "POST", ...(body ? { body: JSON.stringify(body) } : {}) });
    if (response.ok && how === "reply") $("#ticket-reply").value = "";
    await loadTickets();
  });
}

// ---------- polling ----------

async function poll() {
  clearTimeout(workspace.timer);
  if (!workspace.agent || !sessionStorage.getItem(TOKEN_KEY)) return;
  await guarded(async () => {
    drawQueue((await apiJson("agent/queue")).items);
    for (const entry of [...workspace.chats.values()]) await readMessages(entry);
    await loadTickets();
    await loadTransferTargets();
  });
  workspace.timer = setTimeout(poll, POLL_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  $("#agent-online").addEventListener("click", () => setOnline(!workspace.online));
  $("#reply-form").addEventListener("submit", sendReply);
  $("#reply-text").addEventListener("input", tellTyping);
  $("#reply-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.ctrlKey) sendReply(event);
  });
  $("#quick-replies").addEventListener("change", () => {
    if ($("#quick-replies").value) $("#reply-text").value = $("#quick-replies").value;
    $("#quick-replies").value = "";
  });
  $("#ticket-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("#ticket-reply").value.trim();
    if (text) ticketAction("reply", { text });
  });
  $("#close-ticket").addEventListener("click", () => ticketAction("close"));
  $("#handback").addEventListener("click", () => closeChat("handback"));
  $("#transfer").addEventListener("click", transferChat);
  $("#end-chat").addEventListener("click", () => closeChat("end"));
  $("#logout").addEventListener("click", () => {
    // ops.js has already forgotten the token: go offline with the one kept here.
    if (workspace.agent && workspace.online) {
      fetch("/ops/api/agent/status", { method: "POST", body: JSON.stringify({ online: false }),
        headers: { Authorization: `Bearer ${workspace.token}`, "Content-Type": "application/json" } });
    }
    workspace.agent = null;
    workspace.chats.clear();
    workspace.current = null;
    $("#chat-log").replaceChildren();
    $("#chat-tabs").replaceChildren();
    clearTimeout(workspace.timer);
    for (const tab of document.querySelectorAll(".tab")) tab.hidden = tab.dataset.tab === "workspace";
  });
});
