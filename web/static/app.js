/* The 「在线客服」 page: mounts rasa-webchat full-page, shows the connection state in Chinese, and
 * keeps a pinyin input method's Enter (confirming a candidate) from sending a half-typed message.
 * During a live chat the header says who answers (「人工客服 小王」) and the agent's messages get their own
 * bubble: the server's `live_chat` socket event ({"agent": "小王"} or {"agent": null}) says so. While a person
 * answers, the page tells the server that the customer is typing (`customer_typing`, without the text), so that
 * the agent sees 「客户正在输入…」. */
(function () {
  "use strict";

  var config = window.CS_CHAT_CONFIG || {};
  var statusLine = document.getElementById("status");
  var notice = document.getElementById("connection-notice");
  var chat = document.getElementById("chat");
  var placeholder = document.getElementById("chat-placeholder");
  var placeholderText = document.getElementById("chat-placeholder-text");
  var everConnected = false;
  var liveAgent = null;  /* the agent's name while a person answers */
  var agentPrefixes = [];  /* "客服小王：": how this page's agents' messages start */

  var STATUS_TEXT = {
    connecting: "正在连接…",
    online: "智能客服在线",
    offline: "未连接，正在重试…"
  };
  var UNREACHABLE = "无法连接客服服务器，请稍后再试";
  var RETRYING = "客服服务恢复后，本页会自动重新连接";
  var NOT_LOADED = "客服组件加载失败，请刷新页面或稍后再试";
  var CONNECT_TIMEOUT_MS = 10000;
  var WIDGET_STORAGE_KEY = "chat_session";  /* where rasa-webchat keeps the conversation (params.storage) */
  var CLEARED_NOTICE = "聊天记录已删除";
  var RELOAD_AFTER_CLEAR_MS = 1500;

  /* The widget shows itself only once the server confirmed a session; until then the page shows
   * its own placeholder, and a notice in Chinese when the server cannot be reached. */
  function setState(state, message) {
    statusLine.dataset.state = state;
    statusLine.textContent = state === "online" && liveAgent ? "人工客服 " + liveAgent : STATUS_TEXT[state];
    document.body.dataset.connection = state;
    if (state === "online") {
      everConnected = true;
      notice.hidden = true;
      placeholder.hidden = true;
    } else if (message) {
      notice.textContent = message;
      notice.hidden = false;
      placeholderText.textContent = message === UNREACHABLE ? RETRYING : message;
      placeholder.classList.add("failed");
      placeholder.hidden = everConnected;
    }
  }

  /* rasa-webchat sends on any keydown with keyCode 13 and no Shift. While an input method is
   * composing (pinyin -> 汉字), Enter confirms the candidate: Chromium reports it with
   * isComposing = true (keyCode 229 from most IMEs), Safari as keyCode 229 right after
   * compositionend. Stop those keydowns in the capture phase at window, before React's listener
   * on document sees them; the input method still gets the key, nothing is sent. */
  function installImeGuard() {
    var composing = false;
    document.addEventListener("compositionstart", function () { composing = true; }, true);
    document.addEventListener("compositionend", function () { composing = false; }, true);
    window.addEventListener("keydown", function (event) {
      var target = event.target;
      if (!target || !target.classList || !target.classList.contains("rw-new-message")) return;
      if (event.isComposing || event.keyCode === 229 || (composing && event.key === "Enter")) {
        event.stopPropagation();
      }
    }, true);
  }

  /* Touch-ups on what the widget renders: it opens every link in a new tab, but a hotline (tel:)
   * should just dial; its quick replies are plain <div>s, make them buttons for keyboards and
   * screen readers. */
  var TYPING_SHOWN_MS = 4000;
  var typingTimer = null;

  function showWhoAnswers(live) {
    if (live && live.typing) {
      showTyping(String(live.agent || ""));
      return;
    }
    liveAgent = live && live.agent ? String(live.agent) : null;
    document.body.dataset.answeredBy = liveAgent ? "agent" : "bot";
    if (liveAgent && agentPrefixes.indexOf("客服" + liveAgent + "：") < 0) agentPrefixes.push("客服" + liveAgent + "：");
    if (statusLine.dataset.state === "online") setState("online");
    markAgentMessages(chat);
  }

  /* 「小王正在输入…」 in the header while the agent types; gone when their message arrives or after a while. */
  function showTyping(agent) {
    clearTimeout(typingTimer);
    if (statusLine.dataset.state !== "online") return;
    statusLine.textContent = "人工客服 " + agent + " 正在输入…";
    typingTimer = setTimeout(stopTyping, TYPING_SHOWN_MS);
  }

  function stopTyping() {
    clearTimeout(typingTimer);
    if (statusLine.dataset.state === "online") setState("online");
  }

  /* The customer types while a person answers: tell the server at most every CUSTOMER_TYPING_EVERY_MS, on the
   * widget's own socket (the one the `connect` handler is called on), never what is typed. */
  var CUSTOMER_TYPING_EVERY_MS = 2000;
  var widgetSocket = null;
  var typingToldAt = 0;

  function tellCustomerTyping(event) {
    var target = event.target;
    if (!liveAgent || !widgetSocket || !target.classList || !target.classList.contains("rw-new-message")) return;
    if (!target.value || Date.now() - typingToldAt < CUSTOMER_TYPING_EVERY_MS) return;
    typingToldAt = Date.now();
    widgetSocket.emit("customer_typing");
  }

  function markAgentMessages(element) {
    var responses = element.querySelectorAll(".rw-message .rw-response:not(.agent-message)");
    for (var i = 0; i < responses.length; i++) {
      var text = responses[i].textContent || "";
      for (var j = 0; j < agentPrefixes.length; j++) {
        if (text.indexOf(agentPrefixes[j]) === 0) responses[i].classList.add("agent-message");
      }
    }
  }

  function fixUp(element) {
    markAgentMessages(element);
    var links = element.querySelectorAll('a[href^="tel:"][target]');
    for (var i = 0; i < links.length; i++) links[i].removeAttribute("target");
    var replies = element.querySelectorAll(".rw-reply:not([role])");
    for (var j = 0; j < replies.length; j++) {
      replies[j].setAttribute("role", "button");
      replies[j].setAttribute("tabindex", "0");
    }
  }

  function watchWidget() {
    new MutationObserver(function () {
      fixUp(chat);
      if (awaitingStorage.length) confirmStored();  /* the widget renders a message as it stores it */
    }).observe(chat, { childList: true, subtree: true });
    chat.addEventListener("keydown", function (event) {
      var target = event.target;
      if (target.classList && target.classList.contains("rw-reply") && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        target.click();
      }
    });
  }

  /* The bot's messages (answers, live chat, replies to 留言) come with a socket.io acknowledgement callback:
   * what the page does not confirm, the server sends again on the page's next connection
   * (rasa_server/page_delivery.py, rasa_server/live_channel.py). The widget shows a message after a short
   * delay (customMessageDelay) and keeps it in localStorage only then, so confirm once it is stored (checked
   * as the widget renders, and every STORED_CHECK_MS): a reload before that gets it again. A message
   * without text (an attachment) is confirmed at once. */
  var STORED_CHECK_MS = 100;
  var awaitingStorage = [];  /* {text, stored: how many copies of text were stored before it, confirm}, in order */
  var storageTimer = null;

  function storedCopies(text) {
    try {
      var session = JSON.parse(window.localStorage.getItem(WIDGET_STORAGE_KEY) || "{}");
      return (session.conversation || []).filter(function (m) { return m && m.text === text; }).length;
    } catch (error) {
      return 0;
    }
  }

  function confirmWhenStored(message, confirm) {
    if (!message || typeof message.text !== "string") {
      confirm();
      return;
    }
    var text = message.text;
    var before = storedCopies(text);
    awaitingStorage.forEach(function (waiting) { if (waiting.text === text) before += 1; });
    awaitingStorage.push({ text: text, stored: before, confirm: confirm });
    if (!storageTimer) storageTimer = setInterval(confirmStored, STORED_CHECK_MS);
  }

  function confirmStored() {
    awaitingStorage = awaitingStorage.filter(function (waiting) {
      if (storedCopies(waiting.text) <= waiting.stored) return true;
      waiting.confirm();
      return false;
    });
    if (!awaitingStorage.length) {
      clearInterval(storageTimer);
      storageTimer = null;
    }
  }

  /* The customer confirmed "删除我的聊天记录": the server has erased the conversation and sends
   * {clear_history: true} (common/erasure.py). Let them read the confirmation, then drop the
   * widget's copy and start over with a new session (a new conversation id). */
  function forgetConversation() {
    setTimeout(function () {
      window.localStorage.removeItem(WIDGET_STORAGE_KEY);
      window.sessionStorage.setItem("cs-history-cleared", "1");
      window.location.reload();
    }, RELOAD_AFTER_CLEAR_MS);
  }

  function showClearedNotice() {
    if (window.sessionStorage.getItem("cs-history-cleared") !== "1") return;
    window.sessionStorage.removeItem("cs-history-cleared");
    var note = document.createElement("span");
    note.className = "cleared-note";
    note.textContent = " · " + CLEARED_NOTICE;
    statusLine.insertAdjacentElement("afterend", note);
  }

  if (!window.WebChat || typeof window.WebChat.default !== "function" || !config.socketUrl) {
    setState("offline", NOT_LOADED);
    return;
  }

  installImeGuard();
  watchWidget();
  document.addEventListener("input", tellCustomerTyping, true);
  showClearedNotice();

  var connectTimer = setTimeout(function () { setState("offline", UNREACHABLE); }, CONNECT_TIMEOUT_MS);

  window.WebChat.default({
    socketUrl: config.socketUrl,
    socketPath: config.socketPath || "/socket.io/",
    initPayload: "/greet",
    embedded: true,
    hideWhenNotConnected: false,
    title: "在线客服",
    inputTextFieldHint: "请输入您的问题，按回车发送",
    connectingText: "正在连接客服…",
    showMessageDate: false,
    params: { storage: "local" },
    mainColor: "#1f6feb",
    userBackgroundColor: "#1f6feb",
    userTextColor: "#ffffff",
    assistBackgoundColor: "#f2f4f7",
    assistTextColor: "#1d2129",
    customMessageDelay: function (message) {
      var length = message ? message.length : 0;
      return Math.min(900, Math.max(250, length * 8));
    },
    onSocketEvent: {
      connect: function () {
        widgetSocket = this;  /* the widget registers these handlers on its socket.io socket, which calls them */
        clearTimeout(connectTimer);
        setState("online");
      },
      bot_uttered: function (message, confirm) {
        if (message && message.clear_history) forgetConversation();
        if (typingTimer) stopTyping();
        if (typeof confirm === "function") confirmWhenStored(message, confirm);
      },
      live_chat: showWhoAnswers,
      connect_error: function () { setState("offline", UNREACHABLE); },
      disconnect: function () { setState("offline", UNREACHABLE); }
    }
  }, chat);
})();
