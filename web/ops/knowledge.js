// 知识库: browse and edit the answers, titles, service hours and notes, and example phrasings as a draft; preview
// an answer as the chat page shows it; 试聊 with the draft; publish, history and rollback (/ops/api/knowledge,
// ops/knowledge_api.py). Uses ops.js's helpers ($, el, api, apiJson, guarded, beijingTime). Every text goes
// in as textContent: the preview builds its bold, lists and links as elements, never from markup.
"use strict";

const kb = { data: null, selected: null, variant: "", trialConversation: null };

// ---------- the chat page's rendering (rasa-webchat's markdown: bold, lists, links, line breaks) ----------

function inlineMarkdown(text) {
  const parts = [];
  const pattern = /\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)\s]+)\)/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    parts.push(text.slice(last, match.index));
    if (match[1] !== undefined) parts.push(el("strong", { textContent: match[1] }));
    else {
      const safe = /^(tel:|https?:)/.test(match[3]);
      parts.push(safe ? el("a", { href: match[3], textContent: match[2], rel: "noopener" }) : match[2]);
    }
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  return parts.filter((part) => part !== "");
}

// As the chat page's markdown has it: a list starts at the top or after a blank line (inside a paragraph,
// "1. …" lines stay lines of the paragraph), and a line right after a list item continues that item.
function renderMarkdown(text) {
  const blocks = [];
  let paragraph = null;
  let list = null;
  for (const line of text.split("\n")) {
    const numbered = line.match(/^\s*(\d+)[.)]\s+(.*)$/);
    const bullet = line.match(/^\s*[-*+]\s+(.*)$/);
    if ((numbered || bullet) && !paragraph) {
      const tag = numbered ? "OL" : "UL";
      if (!list || list.tagName !== tag) {
        list = el(tag.toLowerCase());
        if (numbered && numbered[1] !== "1") list.start = Number(numbered[1]);
        blocks.push(list);
      }
      list.append(el("li", {}, inlineMarkdown(numbered ? numbered[2] : bullet[1])));
    } else if (!line.trim()) {
      paragraph = null;
      list = null;
    } else if (list) {
      list.lastChild.append("\n", ...inlineMarkdown(line));
    } else if (paragraph) {
      paragraph.append("\n", ...inlineMarkdown(line));
    } else {
      paragraph = el("p", {}, inlineMarkdown(line));
      blocks.push(paragraph);
    }
  }
  return blocks;
}

// ---------- browsing ----------

function serviceName(key) {
  const found = kb.data.services_list.find((s) => s.key === key);
  return found ? found.short_name : key;
}

function editedText(edited) {
  return edited ? `${edited.by} · ${beijingTime(edited.at)}` : "仓库原始版本";
}

function statePill(draft) {
  return el("span", { className: `pill${draft ? " draft" : ""}`, textContent: draft ? "已更新未发布" : "已发布" });
}

function drawKnowledge() {
  const data = kb.data;
  $("#kb-version").textContent = `已发布版本 ${data.version}（${data.published_by}，${beijingTime(data.published_at)}）`;
  $("#kb-draft").textContent = data.draft.changed ? `草稿：${data.draft.edits} 处修改未发布` : "草稿与已发布版本相同";
  $("#kb-publish").disabled = !data.draft.changed;
  $("#kb-discard").disabled = !data.draft.changed;
  $("#kb-topics tbody").replaceChildren(...data.topics.map((t) => {
    const row = el("tr", { className: "kb-topic" }, [
      el("td", { textContent: t.title || t.intent, title: t.intent }), el("td", {}, statePill(t.draft)),
      el("td", { className: "count", textContent: t.phrasings }), el("td", { className: "hint", textContent: editedText(t.edited) })]);
    row.dataset.intent = t.intent;
    row.classList.toggle("active", kb.selected && kb.selected.intent === t.intent);
    row.addEventListener("click", () => selectTopic(t.intent));
    return row;
  }));
  $("#kb-services tbody").replaceChildren(...data.services.map((s) => {
    const hours = s.hours ? `${s.hours.days} ${s.hours.open}–${s.hours.close}` : "未公布";
    const row = el("tr", { className: "kb-service" }, [el("td", { textContent: s.name }),
      el("td", { textContent: s.hotline }), el("td", { textContent: hours }), el("td", {}, statePill(s.draft))]);
    row.dataset.key = s.key;
    row.classList.toggle("active", kb.selected && kb.selected.key === s.key);
    row.addEventListener("click", () => selectService(s.key));
    return row;
  }));
}

async function loadKnowledge() {
  await guarded(async () => {
    kb.data = await apiJson("knowledge");
    drawKnowledge();
    if (kb.selected && kb.selected.intent) showTopic();
    if (kb.selected && kb.selected.key) showService();
  });
}

// ---------- editing a topic ----------

// From the inbox: a topic whose answer customers found not enough.
async function openKnowledgeTopic(intent) {
  await loadKnowledge();
  if (kb.data && kb.data.topics.some((t) => t.intent === intent)) selectTopic(intent);
}

function currentTopic() {
  return kb.data.topics.find((t) => t.intent === kb.selected.intent);
}

function selectTopic(intent) {
  kb.selected = { intent };
  kb.variant = "";
  drawKnowledge();
  showTopic();
  loadPhrasings();
}

function showTopic() {
  const topic = currentTopic();
  $("#kb-editor-empty").hidden = true;
  $("#kb-service-form").hidden = true;
  $("#kb-topic-form").hidden = false;
  $("#kb-topic-heading").textContent = `${topic.title || topic.intent}（${topic.intent}）`;
  $("#kb-title").value = topic.title || "";
  $("#kb-title").disabled = !topic.title;
  $("#kb-variant").replaceChildren(el("option", { value: "", textContent: "默认答复（所有服务）" }),
    ...kb.data.services_list.map((s) => el("option", { value: s.key,
      textContent: `${s.short_name}专用${topic.variants[s.key] ? "" : "（未设置，用默认答复）"}` })));
  $("#kb-variant").value = kb.variant;
  $("#kb-variant").disabled = !topic.has_answer;
  $("#kb-answer").disabled = !topic.has_answer;
  $("#kb-answer").value = kb.variant ? (topic.variants[kb.variant] || "") : (topic.answer || "");
  $("#kb-error").textContent = "";
  $("#kb-phrasing-count").textContent = ` 共 ${topic.phrasings} 条`;
  preview();
}

// The chat page shows each part of an answer between blank lines as a bubble of its own.
function bubbles(text) {
  return text.split(/\n\s*\n/).filter((part) => part.trim())
    .map((part) => el("div", { className: "kb-bubble" }, renderMarkdown(part)));
}

function preview() {
  const topic = currentTopic();
  const text = $("#kb-answer").value || (kb.variant ? topic.answer || "" : "");
  $("#kb-preview").replaceChildren(...bubbles(text));
}

async function saveTopic(event) {
  event.preventDefault();
  const topic = currentTopic();
  const body = {};
  if (topic.title && $("#kb-title").value !== topic.title) body.title = $("#kb-title").value;
  const text = $("#kb-answer").value;
  if (topic.has_answer) {
    if (kb.variant) body.variants = { [kb.variant]: text.trim() ? text : null };
    else body.answer = text;
  }
  await sendTopic(body, "#kb-error");
}

async function sendTopic(body, errorLine) {
  await guarded(async () => {
    const response = await api(`knowledge/topics/${encodeURIComponent(kb.selected.intent)}`,
      { method: "PUT", body: JSON.stringify(body) });
    const answer = await response.json();
    if (!response.ok) {
      $(errorLine).textContent = `没有保存：${answer.error}`;
      return;
    }
    $(errorLine).textContent = "";
    $("#kb-status").textContent = "已存为草稿，发布后客户才看得到。";
    await loadKnowledge();
    await loadPhrasings();
  });
}

async function loadPhrasings() {
  await guarded(async () => {
    const intent = kb.selected.intent;
    const data = await apiJson(`knowledge/topics/${encodeURIComponent(intent)}/phrasings`);
    const topic = currentTopic();
    const removed = new Set(topic.phrasings_removed);
    const row = (text, state) => {
      const remove = el("button", { className: "quiet", type: "button", textContent: state === "removed" ? "恢复" : "删除" });
      remove.addEventListener("click", () => sendTopic(state === "removed" ? { phrasings_add: [text] }
        : state === "added" ? { phrasings_remove: [text] } : { phrasings_remove: [text] }, "#kb-error"));
      return el("li", { className: state }, [el("span", { textContent: text }), remove]);
    };
    $("#kb-phrasings").replaceChildren(...topic.phrasings_added.map((text) => row(text, "added")),
      ...data.items.map((text) => row(text, removed.has(text) ? "removed" : "")));
  });
}

function addPhrasing() {
  const text = $("#kb-new-phrasing").value.trim();
  if (!text) return;
  $("#kb-new-phrasing").value = "";
  sendTopic({ phrasings_add: [text] }, "#kb-error");
}

// ---------- editing a service ----------

function selectService(key) {
  kb.selected = { key };
  drawKnowledge();
  showService();
}

function showService() {
  const service = kb.data.services.find((s) => s.key === kb.selected.key);
  $("#kb-editor-empty").hidden = true;
  $("#kb-topic-form").hidden = true;
  $("#kb-service-form").hidden = false;
  $("#kb-service-heading").textContent = `${service.name} · 热线 ${service.hotline}`;
  const hours = service.hours || { open: "09:00", close: "18:00", days: "每天", note: "" };
  $("#kb-no-hours").checked = !service.hours;
  $("#kb-open").value = hours.open;
  $("#kb-close").value = hours.close;
  $("#kb-days").value = hours.days;
  $("#kb-hours-note").value = hours.note;
  $("#kb-service-note").value = service.note || "";
  $("#kb-service-error").textContent = "";
}

async function saveService(event) {
  event.preventDefault();
  const hours = $("#kb-no-hours").checked ? null : { open: $("#kb-open").value, close: $("#kb-close").value,
    days: $("#kb-days").value, note: $("#kb-hours-note").value };
  await guarded(async () => {
    const response = await api(`knowledge/services/${encodeURIComponent(kb.selected.key)}`,
      { method: "PUT", body: JSON.stringify({ hours, note: $("#kb-service-note").value }) });
    const answer = await response.json();
    if (!response.ok) {
      $("#kb-service-error").textContent = `没有保存：${answer.error}`;
      return;
    }
    $("#kb-status").textContent = "已存为草稿，发布后客户才看得到。";
    await loadKnowledge();
  });
}

// ---------- publishing, history, rollback ----------

async function publish() {
  const note = $("#kb-note").value.trim();
  if (!note) {
    $("#kb-status").textContent = "请先写发布说明。";
    $("#kb-note").focus();
    return;
  }
  await guarded(async () => {
    const response = await api("knowledge/publish", { method: "POST", body: JSON.stringify({ note }) });
    const answer = await response.json();
    $("#kb-status").textContent = response.ok ? answer.message : answer.error;
    if (response.ok) $("#kb-note").value = "";
    await loadKnowledge();
    if (!$("#kb-history").hidden) await loadHistory();
  });
}

async function discardDraft() {
  if (!window.confirm("放弃全部未发布的修改？")) return;
  await guarded(async () => {
    await apiJson("knowledge/draft", { method: "DELETE" });
    $("#kb-status").textContent = "草稿已放弃。";
    await loadKnowledge();
  });
}

function changeLine(change) {
  const show = (value) => (value === null ? "（无）" : typeof value === "object" ? `${value.days} ${value.open}–${value.close} ${value.note}` : value);
  return el("div", { className: "change" }, [el("strong", { textContent: `${change.label}：` }),
    el("del", { textContent: show(change.before) }), " → ", el("ins", { textContent: show(change.after) })]);
}

async function loadHistory() {
  await guarded(async () => {
    const data = await apiJson("knowledge/history");
    const newest = data.items.length ? data.items[0].version : 0;
    $("#kb-history-table tbody").replaceChildren(...data.items.map((item) => {
      const changes = item.version === 1 && item.by === "knowledge/*.yml" ? [el("span", { className: "hint", textContent: "从仓库的 knowledge/*.yml 导入" })]
        : item.changes.map(changeLine);
      for (const [intent, change] of Object.entries(item.phrasings || {})) {
        const title = (kb.data.topics.find((t) => t.intent === intent) || {}).title || intent;
        changes.push(el("div", { className: "change", textContent:
          `${title} · 说法：新增 ${change.added.length} 条，删除 ${change.removed.length} 条` }));
      }
      const back = el("button", { className: "kb-rollback", textContent: "回滚到此版本" });
      back.hidden = item.version === newest;
      back.addEventListener("click", () => rollback(item.version));
      const row = el("tr", { className: "kb-version" }, [el("td", { textContent: item.version }),
        el("td", { textContent: beijingTime(item.at) }), el("td", { textContent: item.by }),
        el("td", { textContent: item.note }), el("td", {}, changes), el("td", {}, back)]);
      row.dataset.version = item.version;
      return row;
    }));
  });
}

async function rollback(version) {
  if (!window.confirm(`把版本 ${version} 的内容发布为新版本？`)) return;
  await guarded(async () => {
    const response = await api("knowledge/rollback", { method: "POST", body: JSON.stringify({ version }) });
    const answer = await response.json();
    const retrain = answer.retrain ? "；说法也已恢复，正在重新训练并上线新模型" : "";
    $("#kb-status").textContent = response.ok ? `已回滚：版本 ${answer.version} 的内容与版本 ${version} 相同，几秒内生效${retrain}。` : answer.error;
    await loadKnowledge();
    await loadHistory();
  });
}

// ---------- 试聊 ----------

function trialBubble(from, text, buttons = []) {
  const bubble = el("div", { className: "bubble" }, from === "bot" ? bubbles(text) : [text]);
  for (const button of buttons) {
    const choice = el("button", { type: "button", textContent: button.title });
    choice.addEventListener("click", () => trialSend(button.payload, button.title));
    bubble.append(choice);
  }
  const log = $("#kb-trial-log");
  log.append(el("div", { className: `turn ${from === "bot" ? "bot" : "customer"}` }, bubble));
  log.scrollTop = log.scrollHeight;
}

async function trialSend(text, shown) {
  trialBubble("customer", shown || text);
  await guarded(async () => {
    const body = { text, ...(kb.trialConversation ? { conversation: kb.trialConversation } : {}) };
    const response = await api("knowledge/trial", { method: "POST", body: JSON.stringify(body) });
    const answer = await response.json();
    if (!response.ok) {
      trialBubble("bot", `（${answer.error}）`);
      return;
    }
    kb.trialConversation = answer.conversation;
    for (const message of answer.messages) trialBubble("bot", message.text, message.buttons);
  });
}

function wireKnowledge() {
  $("#kb-topic-form").addEventListener("submit", saveTopic);
  $("#kb-service-form").addEventListener("submit", saveService);
  $("#kb-answer").addEventListener("input", preview);
  $("#kb-variant").addEventListener("change", () => { kb.variant = $("#kb-variant").value; showTopic(); });
  $("#kb-add-phrasing").addEventListener("click", addPhrasing);
  $("#kb-try").addEventListener("click", () => {
    const topic = currentTopic();
    const product = kb.variant ? JSON.stringify({ product: kb.variant }) : "";
    trialSend(`/${topic.intent}${product}`, `（点选「${topic.title || topic.intent}」${kb.variant ? ` · ${serviceName(kb.variant)}` : ""}）`);
  });
  $("#kb-publish").addEventListener("click", publish);
  $("#kb-discard").addEventListener("click", discardDraft);
  $("#kb-show-history").addEventListener("click", () => {
    $("#kb-history").hidden = !$("#kb-history").hidden;
    if (!$("#kb-history").hidden) loadHistory();
  });
  $("#kb-trial-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("#kb-trial-text").value.trim();
    if (!text) return;
    $("#kb-trial-text").value = "";
    trialSend(text);
  });
  $("#kb-trial-reset").addEventListener("click", () => {
    kb.trialConversation = null;
    $("#kb-trial-log").replaceChildren();
  });
}

document.addEventListener("DOMContentLoaded", wireKnowledge);
