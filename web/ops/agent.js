// 在线客服工作台: the live-chat workspace of the console, opened with an agent's own token.
// Uses ops.js's helpers ($, el, api, apiJson, guarded, switchTab). Every text from the conversation is
// put in as textContent, never as markup. The queue and the open chat are polled every POLL_MS.
"use strict";

const POLL_MS = 2000;
const SERVICE_NAMES = {};
const workspace = { agent: null, token: "", online: false, chat: null, lastN: 0, timer: null };

async function enterWorkspace() {
  const response = await fetch("/ops/api/agent/me", {
    headers: { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) || ""}` },
  });
  if (!response.ok) return false;
  const me = await response.json();
  workspace.agent = me;
  workspace.token = sessionStorage.getItem(TOKEN_KEY);
  for (const service of me.services) SERVICE_NAMES[service.key] = service.name;
  for (const tab of document.querySelectorAll(".tab")) tab.hidden = tab.dataset.tab !== "workspace";
  $("#agent-name").textContent = `客服${me.name}`;
  $("#agent-services").textContent = `负责：${me.services.map((s) => s.name).join("、")}`;
  showOnline(me.online);
  switchTab("workspace");
  await loadQuickReplies();
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
  await guarded(async () => {
    const result = await apiJson("agent/status", { method: "POST", body: JSON.stringify({ online }) });
    showOnline(result.online);
  });
}

async function loadQuickReplies() {
  const data = await apiJson("agent/quick_replies");
  $("#quick-replies").replaceChildren(el("option", { value: "", textContent: "快捷回复…" }),
    ...data.items.map((item) => el("option", { value: item.text, textContent: item.title })));
}

function waited(seconds) {
  return seconds < 60 ? `${Math.round(seconds)} 秒` : `${Math.floor(seconds / 60)} 分 ${Math.round(seconds % 60)} 秒`;
}

function drawQueue(items) {
  $("#queue-table tbody").replaceChildren(...items.map((item) => {
    const take = el("button", { className: "primary", textContent: "接入" });
    take.addEventListener("click", () => takeChat(item.conversation));
    take.disabled = Boolean(workspace.chat);
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
}

function addTurn(kind, text, label) {
  const turn = el("div", { className: `turn ${kind}` }, [
    el("span", { className: "meta", textContent: label }),
    el("div", { className: "bubble", textContent: text }),
  ]);
  $("#chat-log").append(turn);
  $("#chat-log").scrollTop = $("#chat-log").scrollHeight;
}

const SENDER_LABELS = { customer: "客户", agent: "我", bot: "" };  // "bot": a notice, shown small and centred

async function takeChat(conversation) {
  await guarded(async () => {
    const response = await api("agent/take", { method: "POST", body: JSON.stringify({ conversation }) });
    if (!response.ok) {
      $("#chat-info").textContent = "这位客户已被接入或已离开队列。";
      return;
    }
    const chat = await response.json();
    workspace.chat = chat;
    workspace.lastN = 0;
    $("#chat-title").textContent = `当前会话：${SERVICE_NAMES[chat.service] || chat.service}`;
    $("#chat-info").textContent = `问题：${chat.topic || "—"}　产品：${chat.product || "—"}　（以上是机器人阶段的对话记录，个人号码已打码）`;
    $("#chat-log").replaceChildren();
    for (const turn of chat.transcript) {
      addTurn(`history ${turn.from === "customer" ? "customer" : "bot"}`, turn.text,
        turn.from === "customer" ? "客户" : "机器人");
    }
    addTurn("notice", "—— 以下为人工服务 ——", "");
    setChatControls(true);
    await readMessages();
    poll(); // the queue without the customer just taken
  });
}

function setChatControls(enabled) {
  for (const id of ["#reply-text", "#send-reply", "#handback", "#end-chat"]) $(id).disabled = !enabled;
}

async function readMessages() {
  const chat = workspace.chat;
  if (!chat) return;
  const data = await apiJson(`agent/conversations/${encodeURIComponent(chat.conversation)}/messages?after=${workspace.lastN}`);
  for (const message of data.items) {
    addTurn(message.from === "bot" ? "notice" : message.from, message.text, SENDER_LABELS[message.from]);
    workspace.lastN = message.n;
  }
}

async function sendReply(event) {
  event.preventDefault();
  const text = $("#reply-text").value.trim();
  if (!text || !workspace.chat) return;
  await guarded(async () => {
    const response = await api(`agent/conversations/${encodeURIComponent(workspace.chat.conversation)}/messages`,
      { method: "POST", body: JSON.stringify({ text }) });
    if (response.ok) {
      $("#reply-text").value = "";
      await readMessages();
    }
  });
}

async function closeChat(how) {
  if (!workspace.chat) return;
  await guarded(async () => {
    await api(`agent/conversations/${encodeURIComponent(workspace.chat.conversation)}/${how}`, { method: "POST" });
    await readMessages();
    workspace.chat = null;
    setChatControls(false);
    $("#chat-title").textContent = "当前会话";
    $("#chat-info").textContent = how === "end" ? "会话已结束，客户会收到评价邀请。" : "已转回机器人。";
  });
}

async function poll() {
  clearTimeout(workspace.timer);
  if (!workspace.agent || !sessionStorage.getItem(TOKEN_KEY)) return;
  await guarded(async () => {
    drawQueue((await apiJson("agent/queue")).items);
    await readMessages();
  });
  workspace.timer = setTimeout(poll, POLL_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  $("#agent-online").addEventListener("click", () => setOnline(!workspace.online));
  $("#reply-form").addEventListener("submit", sendReply);
  $("#reply-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.ctrlKey) sendReply(event);
  });
  $("#quick-replies").addEventListener("change", () => {
    if ($("#quick-replies").value) $("#reply-text").value = $("#quick-replies").value;
    $("#quick-replies").value = "";
  });
  $("#handback").addEventListener("click", () => closeChat("handback"));
  $("#end-chat").addEventListener("click", () => closeChat("end"));
  $("#logout").addEventListener("click", () => {
    // ops.js has already forgotten the token: go offline with the one kept here.
    if (workspace.agent && workspace.online) {
      fetch("/ops/api/agent/status", { method: "POST", body: JSON.stringify({ online: false }),
        headers: { Authorization: `Bearer ${workspace.token}`, "Content-Type": "application/json" } });
    }
    workspace.agent = null;
    clearTimeout(workspace.timer);
    for (const tab of document.querySelectorAll(".tab")) tab.hidden = tab.dataset.tab === "workspace";
  });
});
