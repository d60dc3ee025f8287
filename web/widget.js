/*
 * Clinic chat widget: plain JavaScript, no dependencies, no build step.
 *
 * Why self-written: rasa-webchat is unmaintained and its socket.io channel fails with
 * Rasa 3.6 and current python-socketio (Rasa issue #13027), the @rasahq widgets are
 * gone, and Chatroom is dead and AGPL. This talks to the "website" channel
 * (clinic_channel/website.py): POST <server>/webhooks/website/webhook with
 * {"sender", "message"}, reply = [{recipient_id, text, buttons: [{title, payload}]}].
 *
 * Embed (see docs/website.md for every data-* attribute):
 *   <link rel="stylesheet" href="https://CHAT-SERVER/webhooks/website/widget.css">
 *   <script src="https://CHAT-SERVER/webhooks/website/widget.js" defer></script>
 *
 * Safety: every text (visitor's or assistant's) becomes DOM text nodes; links are made
 * only for http(s), mailto and tel. Nothing is ever assigned to innerHTML.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.clinicChatWidget) return;

  var data = script.dataset;
  var DEFAULTS = {
    title: "Chat with us",
    greeting: "",
    placeholder: "Type your question…",
    sendLabel: "Send",
    retryLabel: "Retry",
    timeoutText: "Sorry, the assistant isn't answering right now. Please check your connection and try again.",
    errorText: "Sorry, something went wrong. Please try again.",
    openLabel: "Open chat",
    closeLabel: "Close chat",
    newLabel: "New conversation",
    typingText: "The assistant is typing…",
    inputLabel: "Your message",
    youLabel: "You:",
    botLabel: "Assistant:",
    suggestionsLabel: "Suggested replies"
  };
  var text = {};
  Object.keys(DEFAULTS).forEach(function (key) {
    text[key] = data[key] !== undefined ? data[key] : DEFAULTS[key];
  });

  var server = (data.server || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  var WEBHOOK = server + "/webhooks/website/webhook";
  var TIMEOUT_MS = (Number(data.timeout) > 0 ? Number(data.timeout) : 15) * 1000;
  var MAX_ITEMS = 50;
  var KEY = "clinicChat:" + server + ":";
  var LINK = /\b(?:https?:\/\/|mailto:|tel:)[^\s<>"'()\[\]{}]+/gi;
  var LINK_PROTOCOLS = ["http:", "https:", "mailto:", "tel:"];

  // --- storage (localStorage can be missing or full: the chat then just forgets) ---
  var memory = {};
  function load(name) {
    try {
      var raw = window.localStorage.getItem(KEY + name);
      return raw === null ? null : JSON.parse(raw);
    } catch (e) {
      return memory[name] === undefined ? null : memory[name];
    }
  }
  function save(name, value) {
    memory[name] = value;
    try {
      window.localStorage.setItem(KEY + name, JSON.stringify(value));
    } catch (e) { /* private mode or quota: keep it in memory */ }
  }

  function newSenderId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  var senderId = load("sender");
  if (typeof senderId !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(senderId)) {
    senderId = newSenderId();
    save("sender", senderId);
  }
  /** Stored items are re-checked: storage is the page's, anything may be in it. */
  function loadItems() {
    var stored = load("transcript");
    return (Array.isArray(stored) ? stored : []).filter(function (item) {
      return item && (item.from === "user" || item.from === "bot") && typeof item.text === "string";
    });
  }
  var items = loadItems();

  // --- DOM helpers ---
  var uid = Math.random().toString(36).slice(2, 8);
  function el(tag, className, attrs, children) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }
  function button(className, label, attrs) {
    return el("button", className, Object.assign({ type: "button" }, attrs || {}), [label]);
  }

  /** Appends `value` to `parent` as text, with http(s)/mailto/tel links as <a>. */
  function appendWithLinks(parent, value) {
    var last = 0;
    value.replace(LINK, function (match, offset) {
      var href = match.replace(/[.,;:!?]+$/, "");
      var url = null;
      try { url = new URL(href); } catch (e) { /* not a URL: stays text */ }
      if (!url || LINK_PROTOCOLS.indexOf(url.protocol) < 0) return match;
      parent.appendChild(document.createTextNode(value.slice(last, offset)));
      var link = el("a", "cw-link", { href: url.href }, [href]);
      if (url.protocol === "http:" || url.protocol === "https:") {
        link.target = "_blank";
        link.rel = "noopener noreferrer";
      }
      parent.appendChild(link);
      last = offset + href.length;
      return match;
    });
    parent.appendChild(document.createTextNode(value.slice(last)));
  }

  // --- the widget ---
  var root = el("div", "cw-root cw-" + (data.position === "left" ? "left" : "right"));
  if (data.primaryColor && window.CSS && CSS.supports("color", data.primaryColor)) {
    root.style.setProperty("--cw-primary", data.primaryColor);
  }
  // A toggle: its name stays the same and aria-expanded tells whether the chat is open.
  var launcher = button("cw-launcher", "", {
    "aria-expanded": "false", "aria-controls": "cw-panel-" + uid, "aria-label": text.openLabel
  });
  launcher.appendChild(el("span", "cw-launcher-icon", { "aria-hidden": "true" }));
  var title = el("h2", "cw-title", { id: "cw-title-" + uid }, [text.title]);
  var newButton = button("cw-new", text.newLabel);
  var closeButton = button("cw-close", "×", { "aria-label": text.closeLabel });
  var log = el("div", "cw-log", { role: "log", "aria-live": "polite", "aria-labelledby": "cw-title-" + uid });
  var typing = el("div", "cw-typing", {}, [
    el("span", "cw-sr", {}, [text.typingText]),
    el("span", "cw-dots", { "aria-hidden": "true" }, [el("i"), el("i"), el("i")])
  ]);
  var input = el("input", "cw-input", {
    id: "cw-input-" + uid, type: "text", autocomplete: "off", placeholder: text.placeholder
  });
  var sendButton = el("button", "cw-send", { type: "submit" }, [text.sendLabel]);
  var form = el("form", "cw-form", {}, [
    el("label", "cw-sr", { for: "cw-input-" + uid }, [text.inputLabel]), input, sendButton
  ]);
  var panel = el("section", "cw-panel", {
    id: "cw-panel-" + uid, role: "dialog", "aria-modal": "false", "aria-labelledby": "cw-title-" + uid
  }, [el("div", "cw-header", {}, [title, newButton, closeButton]), log, form]);
  panel.hidden = true;
  root.appendChild(panel);
  root.appendChild(launcher);

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function renderItem(item) {
    if (!item.text) return;  // a reply that is only buttons
    var bubble = el("div", "cw-msg cw-" + (item.from === "user" ? "user" : "bot"));
    bubble.appendChild(el("span", "cw-sr", {}, [(item.from === "user" ? text.youLabel : text.botLabel) + " "]));
    if (item.from === "user") bubble.appendChild(document.createTextNode(item.text));
    else appendWithLinks(bubble, item.text);
    log.insertBefore(bubble, typing.parentNode === log ? typing : null);
  }

  /** Quick replies and error notices belong to the last turn only. */
  function clearTurnExtras() {
    Array.prototype.forEach.call(log.querySelectorAll(".cw-quick, .cw-notice"), function (node) {
      node.remove();
    });
  }

  function renderQuickReplies(buttons) {
    var group = el("div", "cw-quick", { role: "group", "aria-label": text.suggestionsLabel });
    buttons.forEach(function (choice) {
      var quick = button("cw-quick-button", choice.title);
      quick.addEventListener("click", function () { send(choice.payload, choice.title); });
      group.appendChild(quick);
    });
    log.appendChild(group);
  }

  function addItem(item) {
    items.push(item);
    items = items.slice(-MAX_ITEMS);
    save("transcript", items);
    renderItem(item);
    scrollDown();
  }

  function showNotice(message, retry) {
    var notice = el("div", "cw-notice", {}, [message]);
    if (retry) {
      var again = button("cw-retry", text.retryLabel);
      again.addEventListener("click", function () {
        notice.remove();
        retry();
      });
      notice.appendChild(document.createTextNode(" "));
      notice.appendChild(again);
    }
    log.appendChild(notice);
    scrollDown();
    return notice;
  }

  // --- talking to the server ---
  var busy = false;
  var inFlight = null;

  function cleanButtons(buttons) {
    return (Array.isArray(buttons) ? buttons : []).filter(function (b) {
      return b && typeof b.title === "string" && typeof b.payload === "string";
    }).map(function (b) { return { title: b.title, payload: b.payload }; });
  }

  function request(message) {
    busy = true;
    sendButton.setAttribute("aria-disabled", "true");
    log.appendChild(typing);
    scrollDown();
    var controller = new AbortController();
    inFlight = controller;
    var timer = setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    var retry = function () { if (!busy) request(message); };
    return fetch(WEBHOOK, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: senderId, message: message }),
      signal: controller.signal,
      credentials: "omit"
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        if (controller !== inFlight) return;  // a new conversation was started meanwhile
        if (response.ok && Array.isArray(body)) {
          var last = null;
          body.forEach(function (reply) {
            var buttons = cleanButtons(reply && reply.buttons);
            if (!reply || (typeof reply.text !== "string" && !buttons.length)) return;
            last = { from: "bot", text: typeof reply.text === "string" ? reply.text : "", buttons: buttons };
            addItem(last);
          });
          if (last && last.buttons.length) renderQuickReplies(last.buttons);
        } else if (response.status === 429 && body && typeof body.message === "string") {
          showNotice(body.message, retry);
        } else {
          showNotice(text.errorText, retry);
        }
      });
    }).catch(function () {
      if (controller === inFlight) showNotice(text.timeoutText, retry);
    }).then(function () {
      clearTimeout(timer);
      if (controller !== inFlight) return;
      inFlight = null;
      busy = false;
      sendButton.removeAttribute("aria-disabled");
      typing.remove();
      scrollDown();
    });
  }

  function send(message, shown) {
    if (busy || !message.trim()) return;
    clearTurnExtras();
    addItem({ from: "user", text: shown });
    request(message);
  }

  // --- opening, closing, new conversation ---
  function open(moveFocus) {
    panel.hidden = false;
    root.classList.add("cw-open");
    launcher.setAttribute("aria-expanded", "true");
    save("open", true);
    scrollDown();
    if (moveFocus) input.focus();
  }
  function close() {
    panel.hidden = true;
    root.classList.remove("cw-open");
    launcher.setAttribute("aria-expanded", "false");
    save("open", false);
    launcher.focus();
  }

  function greet() {
    if (!items.length && text.greeting) addItem({ from: "bot", text: text.greeting, buttons: [] });
  }

  function restore() {
    while (log.firstChild) log.removeChild(log.firstChild);
    items.forEach(renderItem);
    var last = items[items.length - 1];
    if (last && last.from === "bot" && last.buttons && last.buttons.length) {
      renderQuickReplies(cleanButtons(last.buttons));
    }
    greet();
  }

  function newConversation() {
    if (inFlight) inFlight.abort();
    inFlight = null;
    busy = false;
    sendButton.removeAttribute("aria-disabled");
    typing.remove();
    items = [];
    save("transcript", items);
    senderId = newSenderId();
    save("sender", senderId);
    restore();
    input.focus();
  }

  launcher.addEventListener("click", function () {
    if (panel.hidden) open(true);
    else close();
  });
  closeButton.addEventListener("click", close);
  newButton.addEventListener("click", newConversation);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var message = input.value;
    if (busy || !message.trim()) return;
    input.value = "";
    send(message, message);
  });
  // Another tab of the same site changed the conversation: show the same transcript.
  window.addEventListener("storage", function (event) {
    if (event.key !== KEY + "transcript" || busy) return;
    items = loadItems();
    senderId = load("sender") || senderId;
    restore();
    scrollDown();
  });

  function start() {
    document.body.appendChild(root);
    restore();
    var wasOpen = load("open");
    if (wasOpen === true || (wasOpen === null && data.open !== undefined && data.open !== "false")) {
      open(false);  // opened by the page, not the visitor: don't steal the focus
    }
  }
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);

  window.clinicChatWidget = { open: function () { open(true); }, close: close, newConversation: newConversation };
})();
