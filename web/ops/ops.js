// 客服运营后台: the page talks only to /ops/api/ with the operator's token (kept for this browser
// session only) and draws with ECharts served by this server. Texts from users go in as textContent.
// An agent's token opens the live-chat workspace instead (agent.js).
"use strict";

const TOKEN_KEY = "opsToken";
const TZ = "Asia/Shanghai";
const charts = {};
let period = { days: 7 };
let labels = [];

const $ = (selector) => document.querySelector(selector);

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of [].concat(children)) node.append(child);
  return node;
}

function beijingDate(offsetDays = 0) {
  const moment = new Date(Date.now() + offsetDays * 86400000);
  return new Intl.DateTimeFormat("en-CA", { timeZone: TZ }).format(moment); // YYYY-MM-DD
}

function beijingTime(seconds) {
  return new Date(seconds * 1000).toLocaleString("zh-CN", { timeZone: TZ, hour12: false });
}

function periodQuery() {
  if (period.from) return `from=${period.from}&to=${period.to}`;
  return `from=${beijingDate(1 - period.days)}&to=${beijingDate()}`;
}

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const response = await fetch(`/ops/api/${path}`, {
    ...options,
    headers: { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) || ""}`,
               ...(options.body ? { "Content-Type": "application/json" } : {}) },
  });
  if (response.status === 401) throw new Unauthorized();
  return response;
}

async function apiJson(path, options) {
  const response = await api(path, options);
  if (!response.ok && response.status !== 409) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

function showLogin(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  $("#console").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = message || "";
}

async function guarded(work) {
  try {
    await work();
  } catch (error) {
    if (error instanceof Unauthorized) showLogin("令牌不对或已失效，请重新输入。");
    else console.error(error);
  }
}

// ---------- dashboard ----------

const KPIS = [
  ["conversations", "会话"], ["user_messages", "用户消息"], ["answers", "自助答复"],
  ["resolved", "解决了"], ["unresolved", "没解决"], ["resolution_rate", "智能解决率"],
  ["handoffs", "转人工"], ["handoffs_while_closed", "非服务时间转人工"], ["clarifications", "追问澄清"],
  ["second_misses", "二次未理解"], ["declines", "超出范围"],
  ["live_chats", "在线人工接待"], ["live_wait_p50_s", "排队等待 p50"], ["live_wait_p90_s", "排队等待 p90"],
  ["live_abandoned", "离开排队"],
  ["tickets_open", "待回复留言"], ["tickets_oldest_open_s", "最早待回复留言已等"], ["tickets_reply_p50_s", "留言回复用时 p50"],
];
const RATING_TITLES = { satisfied: "满意", neutral: "一般", unsatisfied: "不满意" };

function formatValue(key, value) {
  if (key === "resolution_rate") return value === null ? "—" : `${(value * 100).toFixed(1)}%`;
  if (key.startsWith("live_wait") || key.startsWith("tickets_") && key.endsWith("_s")) {
    return value === null ? "—" : `${value} 秒`;
  }
  return String(value);
}

function chart(id) {
  if (!charts[id]) charts[id] = echarts.init(document.getElementById(id));
  return charts[id];
}

function drawDashboard(s) {
  $("#kpis").replaceChildren(...KPIS.map(([key, label]) => el("div", { className: "kpi", id: `kpi-${key}` }, [
    el("div", { className: "value", textContent: formatValue(key, s[key]) }),
    el("div", { className: "label", textContent: label }),
  ])));

  chart("chart-resolution").setOption({
    tooltip: { trigger: "item" }, legend: { bottom: 0 },
    series: [{ type: "pie", radius: ["40%", "70%"], data: [
      { name: "解决了", value: s.resolved }, { name: "没解决", value: s.unresolved },
      { name: "未点按钮", value: Math.max(0, s.answers - s.resolved - s.unresolved) }] }],
  }, true);

  const services = Object.entries(s.services);
  chart("chart-handoffs").setOption({
    tooltip: { trigger: "axis" }, legend: { bottom: 0 },
    xAxis: { type: "category", data: services.map(([, v]) => v.name), axisLabel: { interval: 0 } },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: "转人工", type: "bar", data: services.map(([, v]) => v.handoffs) },
      { name: "其中非服务时间", type: "bar", data: services.map(([, v]) => v.handoffs_while_closed) },
    ],
  }, true);

  const hours = [...Array(24).keys()].map(String);
  const staffed = services.filter(([, v]) => v.hours).map(([, v]) => {
    const open = parseInt(v.hours.open, 10);
    const [closeHour, closeMinute] = v.hours.close.split(":").map(Number);
    const lastHour = closeMinute > 0 ? closeHour : closeHour - 1;
    return [{ name: `${v.name} 人工 ${v.hours.open}–${v.hours.close}`, xAxis: String(open) }, { xAxis: String(lastHour) }];
  });
  chart("chart-hours").setOption({
    tooltip: { trigger: "axis" }, legend: { bottom: 0 },
    xAxis: { type: "category", data: hours, name: "时" }, yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: "用户消息", type: "bar", data: hours.map((h) => s.hours[h]),
        markArea: { itemStyle: { color: "rgba(46, 160, 67, 0.12)" }, label: { position: "insideTop", color: "#1a7f37" },
          data: staffed } },
      { name: "转人工", type: "line", data: hours.map((h) => s.handoff_hours[h]) },
    ],
  }, true);
  $("#closed-note").textContent = `绿色区域是有人工服务时间的热线；本期在人工下班时需要人工的客户：${s.handoffs_while_closed} 次。` +
    "没有公布服务时间的热线不计入。";

  chart("chart-topics").setOption({
    tooltip: { trigger: "axis" }, grid: { left: 110 },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", inverse: true, data: s.topics.map((t) => t.title) },
    series: [{ name: "消息", type: "bar", data: s.topics.map((t) => t.count) }],
  }, true);
  chart("chart-topics").off("click");
  chart("chart-topics").on("click", (params) => {
    const topic = s.topics[params.dataIndex];
    if (topic) openConversationsOf({ topic: topic.intent });
  });
  chart("chart-trend").setOption({
    tooltip: { trigger: "axis" }, legend: { bottom: 0, type: "scroll" },
    xAxis: { type: "category", data: s.days.map((d) => d.slice(5)) }, yAxis: { type: "value", minInterval: 1 },
    series: s.topics.slice(0, 5).map((t) => ({ name: t.title, type: "line", data: t.trend })),
  }, true);
  chart("chart-numbers").setOption({
    tooltip: { trigger: "item" }, legend: { bottom: 0 },
    series: [{ type: "pie", radius: "65%", data: [
      { name: "官方号码", value: s.numbers.official }, { name: "已知非官方", value: s.numbers.unofficial },
      { name: "未知号码", value: s.numbers.unknown }] }],
  }, true);

  $("#scam-table tbody").replaceChildren(...(s.scam_numbers.length ? s.scam_numbers.map((n) =>
    el("tr", {}, [el("td", { textContent: n.number }), el("td", { textContent: n.conversations })]))
    : [el("tr", {}, el("td", { colSpan: 2, className: "hint", textContent: "本期没有" }))]));
  $("#unknown-numbers").textContent = s.unknown_numbers.map((n) => `${n.number}（${n.conversations}）`).join("、") || "无";

  const rows = [["统计区间", `${s.period.from} 至 ${s.period.to}（北京时间）`],
    ...KPIS.map(([key, label]) => [label, formatValue(key, s[key])]),
    ["在线人工评价（满意 / 一般 / 不满意）", ratingText(s.ratings)],
    ...Object.entries(s.live_by_service).map(([key, v]) => [`在线人工 ${serviceTitle(s, key)}：接待 ${v.live_chats}`, ratingText(v.ratings)]),
    ...Object.entries(s.live_by_agent).map(([name, v]) => [`客服${name}：接待 ${v.live_chats}`, ratingText(v.ratings)]),
    ...Object.entries(s.intents).map(([name, count]) => [`意图 ${intentTitle(s, name)}`, count]),
    ["号码：官方 / 已知非官方 / 未知", `${s.numbers.official} / ${s.numbers.unofficial} / ${s.numbers.unknown}`]];
  $("#figures-table tbody").replaceChildren(...rows.map(([k, v]) =>
    el("tr", {}, [el("th", { textContent: k }), el("td", { textContent: v })])));
}

const INTENT_NAMES = { nlu_fallback: "没听懂（追问）", out_of_scope: "超出范围", greet: "打招呼", goodbye: "再见",
  thanks: "感谢", affirm: "肯定/解决了", deny: "否定/没解决", bot_challenge: "问是不是机器人",
  delete_history: "删除聊天记录", non_chinese: "非中文", unreadable_input: "无法识别的输入" };

function intentTitle(s, name) {
  const title = s.intent_titles[name] || INTENT_NAMES[name];
  return title ? `${title}（${name}）` : name;
}

function serviceTitle(s, key) {
  return s.services[key] ? s.services[key].name : key;
}

function ratingText(ratings) {
  return Object.keys(RATING_TITLES).map((key) => ratings[key]).join(" / ");
}

async function loadDashboard() {
  await guarded(async () => drawDashboard(await apiJson(`summary?${periodQuery()}`)));
}

async function exportCsv() {
  await guarded(async () => {
    const response = await api(`export.csv?${periodQuery()}`);
    const name = (response.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/);
    const link = el("a", { href: URL.createObjectURL(await response.blob()), download: name ? name[1] : "ops.csv" });
    document.body.append(link);
    link.click();
    link.remove();
  });
}

// ---------- review inbox ----------

function labelTitle(intent) {
  const found = labels.find((l) => l.intent === intent);
  return found ? `${found.title}（${intent}）` : intent;
}

function inboxRow(item) {
  const select = el("select", { className: "label-select" },
    [el("option", { value: "", textContent: "选择正确的意图…" }),
     ...labels.map((l) => el("option", { value: l.intent, textContent: l.intent === "ignore" ? "忽略" : labelTitle(l.intent) }))]);
  select.value = labels.some((l) => l.intent === item.intent) ? item.intent : "";
  const save = el("button", { className: "label-save", textContent: "提交" });
  save.addEventListener("click", () => guarded(async () => {
    if (!select.value) return;
    save.disabled = true;
    await apiJson(`inbox/${item.id}`, { method: "POST", body: JSON.stringify({ intent: select.value }) });
    await loadInbox();
  }));
  const decision = item.to_knowledge ? knowledgeDecision(item) : [select, " ", save];
  const link = el("a", { href: "#", textContent: "查看" });
  link.addEventListener("click", (event) => { event.preventDefault(); openConversation(item.conversation); });
  const others = item.examples.slice(1).join(" / ");
  return el("tr", { className: "inbox-item" }, [
    el("td", { className: "text" }, [el("div", { textContent: item.text }),
      ...(others ? [el("div", { className: "examples", textContent: `相似：${others}` })] : [])]),
    el("td", { className: "count", textContent: item.count }),
    el("td", { textContent: labelTitle(item.intent) }),
    el("td", { textContent: item.confidence.toFixed(2) }),
    el("td", { textContent: item.reason_text }),
    el("td", {}, link),
    el("td", {}, decision),
  ]);
}

// The answer was right but not enough: what to change is its text (知识库, knowledge.js), not the training data.
function knowledgeDecision(item) {
  const edit = el("button", { className: "to-knowledge primary", textContent: "去知识库改答复" });
  edit.addEventListener("click", () => { switchTab("knowledge"); openKnowledgeTopic(item.intent); });
  const done = el("button", { className: "label-save", textContent: "已处理" });
  done.addEventListener("click", () => guarded(async () => {
    done.disabled = true;
    await apiJson(`inbox/${item.id}`, { method: "POST", body: JSON.stringify({ intent: "ignore" }) });
    await loadInbox();
  }));
  return [edit, " ", done];
}

async function loadInbox() {
  await guarded(async () => {
    const data = await apiJson("inbox");
    labels = data.labels;
    $("#inbox-table tbody").replaceChildren(...data.items.map(inboxRow));
    $("#inbox-empty").hidden = data.items.length > 0;
    $("#inbox-count").textContent = data.items.length || "";
  });
}

function showRetrain(status) {
  const line = $("#retrain-status");
  line.className = `status ${status.state}`;
  const servers = (status.servers || []).map((s) => `${s.url}：${s.message || "等待"}`).join("；");
  if (status.state === "running") line.textContent = `正在${status.step_title}…（模型未换之前，线上仍用原来的模型）`;
  else if (status.state === "succeeded" || status.state === "failed") line.textContent = status.message + (servers ? ` ${servers}` : "");
  else line.textContent = "";
  $("#retrain").disabled = status.state === "running";
}

async function pollRetrain() {
  await guarded(async () => {
    const status = await apiJson("retrain");
    showRetrain(status);
    if (status.state === "running") setTimeout(pollRetrain, 2000);
  });
}

async function startRetrain() {
  await guarded(async () => {
    showRetrain(await apiJson("retrain", { method: "POST" }));
    setTimeout(pollRetrain, 1000);
  });
}

// ---------- conversations ----------

function conversationQuery() {
  const filters = new URLSearchParams(periodQuery());
  const text = $("#conv-search").value.trim();
  if (text) filters.set("q", text);
  if ($("#conv-service").value) filters.set("service", $("#conv-service").value);
  if ($("#conv-topic").value) filters.set("topic", $("#conv-topic").value);
  if ($("#conv-handoff").checked) filters.set("handoff", "1");
  if ($("#conv-rated").checked) filters.set("rated", "1");
  return filters.toString();
}

// Filled once, even when the tab and a dashboard click ask at the same moment; asked again after a failure.
let conversationFilters = null;

function fillConversationFilters() {
  conversationFilters ??= (async () => {
    const s = await apiJson(`summary?${periodQuery()}`);
    $("#conv-service").append(...Object.entries(s.services).map(([key, v]) => el("option", { value: key, textContent: v.name })));
    $("#conv-topic").append(...Object.entries(s.intent_titles).map(([key, title]) => el("option", { value: key, textContent: title })));
  })().catch((error) => { conversationFilters = null; throw error; });
  return conversationFilters;
}

// Opening the tab and choosing a filter may each ask for the list; only the latest answer is shown.
let conversationListAsked = 0;

async function loadConversations() {
  const asked = ++conversationListAsked;
  await guarded(async () => {
    await fillConversationFilters();
    const data = await apiJson(`conversations?${conversationQuery()}`);
    if (asked !== conversationListAsked) return;
    const ratings = { satisfied: "满意", neutral: "一般", unsatisfied: "不满意" };
    $("#conversation-list").replaceChildren(...data.conversations.map((c) => {
      const marks = [c.handed_off ? "转人工" : "", c.live_chat ? "在线人工" : "", c.rating ? `评价：${ratings[c.rating] || c.rating}` : ""]
        .filter(Boolean).join(" · ");
      const item = el("li", { className: "conversation", title: c.id }, [
        el("div", { textContent: c.first_message || "（空）" }),
        el("div", { className: "hint", textContent: `${beijingTime(c.last_seen)} · ${c.messages} 条${marks ? ` · ${marks}` : ""}` })]);
      item.dataset.id = c.id;
      item.addEventListener("click", () => openConversation(c.id));
      return item;
    }));
    $("#conversation-empty").hidden = data.conversations.length > 0;
  });
}

// From the dashboard: the conversations of a topic in the dashboard's period.
async function openConversationsOf(filters) {
  switchTab("conversations");
  await guarded(fillConversationFilters);
  $("#conv-topic").value = filters.topic || "";
  await loadConversations();
}

function transcriptTurn(t) {
  if (t.from === "notice") return el("div", { className: "turn notice" }, el("div", { className: "bubble", textContent: t.text }));
  let meta = `${beijingTime(t.time)} · ${t.action || ""}`;
  let body = [t.text];
  if (t.from === "user") {
    meta = `${beijingTime(t.time)} · ` + (t.to_person ? "写给人工客服" :
      `${t.clicked ? "点了按钮 · " : ""}意图 ${t.intent} · 置信度 ${t.confidence.toFixed(2)}`);
  } else if (t.from === "agent") {
    meta = `${beijingTime(t.time)} · 人工客服`;
    body = [`客服${t.name}：${t.text}`];
  } else {
    body = bubbles(t.text); // as the chat page renders it (knowledge.js)
    if (t.buttons && t.buttons.length) body.push(el("div", { className: "buttons" },
      t.buttons.map((title) => el("span", { className: "pill", textContent: title }))));
  }
  return el("div", { className: `turn ${t.from}${t.clicked ? " clicked" : ""}` }, [
    el("div", { className: "bubble" }, body), el("div", { className: "meta", textContent: meta })]);
}

async function openConversation(id) {
  switchTab("conversations");
  await guarded(async () => {
    const data = await apiJson(`conversations/${encodeURIComponent(id)}`);
    for (const li of document.querySelectorAll("#conversation-list li")) li.classList.toggle("active", li.dataset.id === id);
    $("#transcript").replaceChildren(el("h2", { textContent: `会话 ${id}` }), ...data.turns.map(transcriptTurn));
  });
}

// ---------- wiring ----------

function switchTab(name) {
  for (const button of document.querySelectorAll(".tab")) button.classList.toggle("active", button.dataset.tab === name);
  for (const page of document.querySelectorAll(".tab-page")) page.hidden = page.id !== `tab-${name}`;
  if (name === "dashboard") Object.values(charts).forEach((c) => c.resize());
  if (name === "inbox") { loadInbox(); pollRetrain(); }
  if (name === "conversations" && !$("#conversation-list").children.length) loadConversations();
  if (name === "knowledge") loadKnowledge(); // knowledge.js
}

async function enter(fromLogin = false) {
  $("#login").hidden = true;
  $("#console").hidden = false;
  if (await enterWorkspace(fromLogin)) return; // an agent's token: the live-chat workspace only (agent.js)
  await loadDashboard();
  if (!sessionStorage.getItem(TOKEN_KEY)) return; // refused
  loadInbox();
}

document.addEventListener("DOMContentLoaded", () => {
  $("#login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("#token").value.trim());
    $("#token").value = "";
    enter(true);
  });
  // A fresh page: nothing the last token was allowed to see stays on screen for the next one.
  $("#logout").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); location.reload(); });
  for (const button of document.querySelectorAll(".tab")) button.addEventListener("click", () => switchTab(button.dataset.tab));
  for (const button of document.querySelectorAll(".period")) {
    button.addEventListener("click", () => {
      period = { days: Number(button.dataset.days) };
      document.querySelectorAll(".period").forEach((b) => b.classList.toggle("active", b === button));
      loadDashboard();
      $("#conversation-list").replaceChildren();
    });
  }
  $("#apply-period").addEventListener("click", () => {
    if (!$("#from").reportValidity() || !$("#to").reportValidity() || !$("#from").value || !$("#to").value) return;
    period = { from: $("#from").value, to: $("#to").value };
    document.querySelectorAll(".period").forEach((b) => b.classList.remove("active"));
    loadDashboard();
    $("#conversation-list").replaceChildren();
  });
  $("#export").addEventListener("click", exportCsv);
  $("#conv-filter").addEventListener("submit", (event) => { event.preventDefault(); loadConversations(); });
  $("#retrain").addEventListener("click", startRetrain);
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
  if (sessionStorage.getItem(TOKEN_KEY)) enter();
});
