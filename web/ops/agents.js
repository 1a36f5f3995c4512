// 座席: the operator lists, creates, edits, disables and re-keys the live-chat agents (ops/live_api.py), and
// sees who is online, their chats and the queues (refreshed every REFRESH_MS while the tab is shown); the
// administrator does the same for the operators' own accounts (运营账号, ops/operators.py).
// Uses ops.js's helpers ($, el, api, apiJson, guarded). Names and texts go in as textContent.
"use strict";

const REFRESH_MS = 5000;
const agentsPage = { items: [], services: [], editing: null, timer: null, phrase: null };

async function loadAgents() {
  clearTimeout(agentsPage.timer);
  if ($("#tab-agents").hidden || !sessionStorage.getItem(TOKEN_KEY)) return;
  await guarded(async () => {
    const data = await apiJson("agents");
    agentsPage.items = data.items;
    agentsPage.services = data.services;
    drawAgents();
    $("#queue-lengths").textContent = `排队中：${data.services.map((s) => `${s.name} ${s.queued} 人`).join("，")}`;
    if (!$("#agent-form-services input")) {
      drawServiceChoices();
      await loadPhrases();
      await loadOperators();
    }
  });
  agentsPage.timer = setTimeout(loadAgents, REFRESH_MS);
}

function serviceName(key) {
  const service = agentsPage.services.find((item) => item.key === key);
  return service ? service.name : key;
}

function drawServiceChoices() {
  $("#agent-form-services").replaceChildren(el("legend", { textContent: "负责的服务" }),
    ...agentsPage.services.map((service) => el("label", {}, [
      el("input", { type: "checkbox", value: service.key, name: "service" }), ` ${service.name}`])));
}

function agentState(agent) {
  if (agent.disabled) return "已停用";
  return agent.online ? "在线" : "离线";
}

function drawAgents() {
  $("#agents-table tbody").replaceChildren(...agentsPage.items.map((agent) => {
    const edit = el("button", { textContent: "编辑" });
    edit.addEventListener("click", () => editAgent(agent));
    const toggle = el("button", { textContent: agent.disabled ? "启用" : "停用" });
    toggle.addEventListener("click", () => saveAgent(agent.id, { disabled: !agent.disabled }));
    const rekey = el("button", { textContent: "重置令牌" });
    rekey.addEventListener("click", () => newToken(agent));
    const row = el("tr", {}, [
      el("td", { className: "name", textContent: agent.name }),
      el("td", { textContent: agent.services.map(serviceName).join("、") }),
      el("td", { textContent: String(agent.max_chats) }),
      el("td", { className: "state-cell", textContent: agentState(agent) }),
      el("td", { className: "chats-cell", textContent: `${agent.chats} / ${agent.max_chats}` }),
      el("td", {}, [edit, toggle, rekey]),
    ]);
    row.dataset.agent = String(agent.id);
    return row;
  }));
}

function editAgent(agent) {
  agentsPage.editing = agent ? agent.id : null;
  $("#agent-form-title").textContent = agent ? `编辑座席：${agent.name}` : "新建座席";
  $("#agent-form-name").value = agent ? agent.name : "";
  $("#agent-form-max").value = agent ? agent.max_chats : 3;
  for (const box of document.querySelectorAll("#agent-form-services input")) {
    box.checked = Boolean(agent && agent.services.includes(box.value));
  }
  $("#agent-token-box").hidden = true;
  $("#agent-form-status").textContent = "";
}

const AGENT_ERRORS = { 409: "已有同名的座席，请换一个名字。", 400: "请填写姓名、至少选一个服务，同时接待上限为1到10。" };

async function saveAgent(id, body) {
  await guarded(async () => {
    const response = await api(id === null ? "agents" : `agents/${id}`, { method: "POST", body: JSON.stringify(body) });
    if (!response.ok) {
      $("#agent-form-status").textContent = AGENT_ERRORS[response.status] || `保存失败（HTTP ${response.status}）`;
      return;
    }
    const saved = await response.json();
    if (saved.token) showToken(saved.token);
    $("#agent-form-status").textContent = id === null ? "座席已创建。" : "已保存。";
    if (id === null) agentsPage.editing = saved.id;
    await loadAgents();
  });
}

async function newToken(agent) {
  await guarded(async () => {
    const response = await api(`agents/${agent.id}/token`, { method: "POST" });
    if (!response.ok) return;
    editAgent(agent);
    showToken((await response.json()).token);
    $("#agent-form-status").textContent = `已为${agent.name}重置令牌，旧令牌已失效。`;
  });
}

function showToken(token) {
  $("#agent-token").textContent = token;
  $("#agent-token-box").hidden = false;
}

// ---------- 运营账号: the operators' accounts, the administrator's only ----------

async function loadOperators() {
  const response = await api("operators");
  $("#operators-card").hidden = !response.ok; // an operator's own token may not manage accounts
  if (!response.ok) return;
  const data = await response.json();
  $("#operators-table tbody").replaceChildren(...data.items.map((operator) => {
    const toggle = el("button", { textContent: operator.disabled ? "启用" : "停用" });
    toggle.addEventListener("click", () => changeOperator(operator, `operators/${operator.id}`,
      { disabled: !operator.disabled }, operator.disabled ? "已启用" : "已停用，令牌立即失效"));
    const rekey = el("button", { textContent: "重置令牌" });
    rekey.addEventListener("click", () => changeOperator(operator, `operators/${operator.id}/token`, {},
      "已重置令牌，旧令牌已失效"));
    return el("tr", {}, [
      el("td", { className: "name", textContent: operator.name }),
      el("td", { className: "state-cell", textContent: operator.disabled ? "已停用" : "可用" }),
      el("td", {}, [toggle, rekey]),
    ]);
  }));
}

async function changeOperator(operator, path, body, done) {
  await guarded(async () => {
    const response = await api(path, { method: "POST", body: JSON.stringify(body) });
    $("#operator-form-status").textContent = response.ok ? `${operator.name}：${done}。` : `操作失败（HTTP ${response.status}）`;
    const answer = response.ok ? await response.json() : {};
    showOperatorToken(answer.token);
    await loadOperators();
  });
}

async function createOperator(event) {
  event.preventDefault();
  const name = $("#operator-form-name").value.trim();
  await guarded(async () => {
    const response = await api("operators", { method: "POST", body: JSON.stringify({ name }) });
    if (!response.ok) {
      $("#operator-form-status").textContent = response.status === 409 ? "已经有这个名字的运营账号。" : `创建失败（HTTP ${response.status}）`;
      return;
    }
    $("#operator-form-name").value = "";
    $("#operator-form-status").textContent = `运营账号 ${name} 已创建。`;
    showOperatorToken((await response.json()).token);
    await loadOperators();
  });
}

function showOperatorToken(token) {
  $("#operator-token").textContent = token || "";
  $("#operator-token-box").hidden = !token;
}

// ---------- 常用语: the agents' managed quick replies ----------

async function loadPhrases() {
  const data = await apiJson("quick_replies");
  $("#phrase-service").replaceChildren(el("option", { value: "", textContent: "全部服务" }),
    ...agentsPage.services.map((service) => el("option", { value: service.key, textContent: service.name })));
  $("#phrases-table tbody").replaceChildren(...data.items.map((phrase) => {
    const edit = el("button", { textContent: "编辑" });
    edit.addEventListener("click", () => editPhrase(phrase));
    const remove = el("button", { textContent: "删除" });
    remove.addEventListener("click", () => guarded(async () => {
      await api(`quick_replies/${phrase.id}/delete`, { method: "POST" });
      await loadPhrases();
    }));
    return el("tr", {}, [
      el("td", { textContent: phrase.service ? serviceName(phrase.service) : "全部" }),
      el("td", { className: "title", textContent: phrase.title }),
      el("td", { className: "text", textContent: phrase.text }),
      el("td", {}, [edit, remove]),
    ]);
  }));
}

function editPhrase(phrase) {
  agentsPage.phrase = phrase ? phrase.id : null;
  $("#phrase-service").value = phrase && phrase.service ? phrase.service : "";
  $("#phrase-title").value = phrase ? phrase.title : "";
  $("#phrase-text").value = phrase ? phrase.text : "";
}

async function savePhrase(event) {
  event.preventDefault();
  const body = { service: $("#phrase-service").value || null, title: $("#phrase-title").value.trim(),
    text: $("#phrase-text").value.trim() };
  await guarded(async () => {
    const id = agentsPage.phrase;
    const response = await api(id === null ? "quick_replies" : `quick_replies/${id}`,
      { method: "POST", body: JSON.stringify(body) });
    if (response.ok) editPhrase(null);
    await loadPhrases();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  $("#phrase-form").addEventListener("submit", savePhrase);
  $("#operator-form").addEventListener("submit", createOperator);
  $("#phrase-new").addEventListener("click", () => editPhrase(null));
  $(".tab[data-tab=agents]").addEventListener("click", () => setTimeout(loadAgents)); // once the tab is shown
  $("#agent-form-new").addEventListener("click", () => editAgent(null));
  $("#agent-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const services = [...document.querySelectorAll("#agent-form-services input:checked")].map((box) => box.value);
    saveAgent(agentsPage.editing, { name: $("#agent-form-name").value.trim(), services,
      max_chats: Number($("#agent-form-max").value) });
  });
});
