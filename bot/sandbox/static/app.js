// The sandbox page: shows the chats of whoever you play, and turns what you do into
// the updates Telegram would send the bot. Plain JS, no build step.
"use strict";

const state = { world: null, ui: {}, who: null, version: -1, chats: [], replyTo: {},
                tab: "group", polling: 0 };

function $(selector, root = document) { return root.querySelector(selector); }

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "html") node.innerHTML = value;  // only ever the server's sanitized HTML
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function toast(text) {
  const box = $("#toast");
  box.textContent = text;
  box.classList.add("on");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => box.classList.remove("on"), 4000);
}

async function act(body) {
  const response = await fetch("/sandbox/api/act", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ as: state.who, ...body }),
  });
  const text = await response.text();
  if (!response.ok) { toast(text || state.ui.failed); return null; }
  return JSON.parse(text);
}

// ------------------------------------------------------------------ rendering

function renderMessage(chat, message) {
  const mine = message.from.id === state.who;
  const node = el("div", { class: "msg" + (mine ? " mine" : ""), "data-id": message.id,
                           "data-testid": "message" });
  if (chat.kind === "group" && !mine) node.append(el("div", { class: "sender" }, message.from.name));
  if (message.reply_to) {
    node.append(el("div", { class: "quote" }, message.reply_to.text || "…"));
  }
  if (message.photo) node.append(el("img", { src: message.photo, alt: state.ui.photo }));
  if (message.location) {
    node.append(el("div", { class: "body" },
      `📍 ${message.location.latitude.toFixed(5)}, ${message.location.longitude.toFixed(5)}`));
  }
  if (message.document) {
    node.append(el("a", { href: message.document.url, download: message.document.name },
                   `📄 ${message.document.name}`));
  }
  if (message.html !== undefined) node.append(el("div", { class: "body", html: message.html }));
  if (message.buttons.length) {
    const keyboard = el("div", { class: "keyboard" });
    for (const row of message.buttons) {
      const line = el("div", { class: "row" });
      for (const button of row) line.append(renderButton(chat, message, button));
      keyboard.append(line);
    }
    node.append(keyboard);
  }
  const meta = el("div", { class: "meta" });
  meta.append(el("button", { class: "reply-link", type: "button",
                             onclick: () => setReply(chat, message) }, state.ui.reply));
  meta.append(" · ", el("time", { "data-testid": "time" }, message.time));
  if (message.edited) meta.append(" · " + state.ui.edited);
  node.append(meta);
  return node;
}

function renderButton(chat, message, button) {
  const attributes = { type: "button", "data-testid": "button" };
  if (button.data !== undefined) {
    attributes.onclick = async () => {
      const answer = await act({ kind: "press", chat: chat.kind, message: message.id,
                                 data: button.data });
      if (answer && answer.answer) toast(answer.answer);
    };
  } else if (button.start !== undefined) {
    attributes.onclick = async () => {
      showTab("private");
      await act({ kind: "say", chat: "private", text: `/start ${button.start}` });
    };
    attributes.class = "link";
  } else {
    attributes.onclick = () => window.open(button.url, "_blank", "noopener");
    attributes.class = "link";
  }
  return el("button", attributes, button.text);
}

function setReply(chat, message) {
  state.replyTo[chat.kind] = message;
  const bar = $(`.chat[data-chat="${chat.kind}"] .replying`);
  if (!bar) return;
  bar.classList.add("on");
  $("span", bar).textContent = `${state.ui.replying_to}: ${(message.html || "").replace(/<[^>]*>/g, "").slice(0, 60)}`;
  $(`.chat[data-chat="${chat.kind}"] textarea`).focus();
}

function clearReply(kind) {
  delete state.replyTo[kind];
  const bar = $(`.chat[data-chat="${kind}"] .replying`);
  if (bar) bar.classList.remove("on");
}

function chatPane(chat) {
  let pane = $(`.chat[data-chat="${chat.kind}"]`);
  if (pane) return pane;
  const textarea = el("textarea", { placeholder: state.ui.type_here, "data-testid": "composer",
                                    maxlength: 4096 });
  const send = async () => {
    const text = textarea.value;
    if (!text.trim()) return;
    const reply = state.replyTo[chat.kind];
    const done = await act({ kind: "say", chat: chat.kind, text,
                             reply_to: reply ? reply.id : null });
    if (done) { textarea.value = ""; clearReply(chat.kind); }
  };
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); send(); }
  });
  const extra = (label, body, testid) => el("button", {
    type: "button", "data-testid": testid,
    onclick: async () => {
      const caption = textarea.value;
      if (await act({ chat: chat.kind, caption, ...body })) textarea.value = "";
    },
  }, label);
  pane = el("section", { class: "chat", "data-chat": chat.kind, "data-testid": `chat-${chat.kind}` },
    el("h2", {}),
    el("div", { class: "pinned", hidden: true }),
    el("div", { class: "messages" }),
    el("div", { class: "composer" },
      el("div", { class: "replying" }, el("span"),
         el("button", { type: "button", onclick: () => clearReply(chat.kind) }, "✕")),
      el("div", { class: "line" }, textarea,
         el("button", { type: "button", onclick: send, "data-testid": "send" }, state.ui.send)),
      el("div", { class: "line extras" },
         extra("📷 " + state.ui.photo, { kind: "photo" }, "send-photo"),
         extra("🖼 " + state.ui.album, { kind: "album" }, "send-album"),
         extra("📍 " + state.ui.location, { kind: "location", latitude: 31.2304,
                                            longitude: 121.4737 }, "send-location"))));
  $("#chats").append(pane);
  return pane;
}

function render() {
  const seen = new Set();
  for (const chat of state.chats) {
    seen.add(chat.kind);
    const pane = chatPane(chat);
    $("h2", pane).textContent = chat.kind === "private"
      ? `${state.ui.private_with} ${chat.title}` : chat.title;
    const list = $(".messages", pane);
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    // Something new arrived: show it, as a chat app does.
    const grew = chat.messages.length > Number(list.dataset.count || 0);
    list.dataset.count = String(chat.messages.length);
    list.replaceChildren(...chat.messages.map((m) => renderMessage(chat, m)));
    const pinned = $(".pinned", pane);
    const pinnedMessage = chat.messages.find((m) => m.id === chat.pinned);
    pinned.hidden = !pinnedMessage;
    if (pinnedMessage) {
      pinned.textContent = `📌 ${(pinnedMessage.html || "").replace(/<[^>]*>/g, "").slice(0, 90)}`;
      pinned.onclick = () => flash(list, pinnedMessage.id);
    }
    autoReply(chat);
    if (atBottom || grew) toBottom(list);
  }
  for (const pane of document.querySelectorAll(".chat")) {
    if (!seen.has(pane.dataset.chat)) pane.remove();
  }
  renderTabs();
}

// The bot asked this person to answer a message (Telegram's ForceReply): the app
// starts a reply to it, as Telegram's own apps do.
function autoReply(chat) {
  const last = chat.messages[chat.messages.length - 1];
  if (!last || !last.from.bot || !last.force_reply) return;
  if (chat.kind === "group" && !(last.reply_to && last.reply_to.from === state.who)) return;
  if (!state.replyTo[chat.kind] || state.replyTo[chat.kind].id !== last.id) setReply(chat, last);
}

function flash(list, id) {
  const node = $(`.msg[data-id="${id}"]`, list);
  if (!node) return;
  node.scrollIntoView({ block: "center" });
  node.classList.add("flash");
  setTimeout(() => node.classList.remove("flash"), 1500);
}

function renderTabs() {
  const tabs = $("#tabs");
  tabs.replaceChildren(...state.chats.map((chat) => el("button", {
    type: "button", class: chat.kind === state.tab ? "on" : "",
    onclick: () => showTab(chat.kind),
  }, chat.kind === "private" ? state.ui.private_tab : state.ui.group_tab)));
  for (const pane of document.querySelectorAll(".chat")) {
    pane.classList.toggle("on", pane.dataset.chat === state.tab);
  }
}

function showTab(kind) {
  state.tab = kind;
  renderTabs();
  const pane = document.querySelector(`.chat[data-chat="${kind}"]`);
  if (pane) toBottom($(".messages", pane));
}

// Scroll a chat to its newest message, again as each photo in it finishes loading (a
// photo that loads later would push the newest message out of sight).
function toBottom(list) {
  list.scrollTop = list.scrollHeight;
  for (const image of list.querySelectorAll("img")) {
    if (!image.complete) {
      image.addEventListener("load", () => { list.scrollTop = list.scrollHeight; },
                             { once: true });
    }
  }
}

// The picker follows the roster: a newcomer once approved is shown as a resident.
function showRoles(roles) {
  for (const person of state.world.people) {
    const label = roles[String(person.id)];
    if (!label || label === person.role_label) continue;
    person.role_label = label;
    const option = $(`#who option[value="${person.id}"]`);
    if (option) option.textContent = `${person.name} · ${label}${person.unit ? " · " + person.unit : ""}`;
  }
}

// ------------------------------------------------------------------ the loop

async function poll() {
  const ticket = ++state.polling;
  while (ticket === state.polling) {
    try {
      const response = await fetch(`/sandbox/api/state?as=${state.who}&since=${state.version}`);
      if (ticket !== state.polling) return;
      if (!response.ok) throw new Error(await response.text());
      const data = await response.json();
      state.version = data.version;
      state.chats = data.chats;
      $("#clock").textContent = `🕒 ${data.clock.shown}`;
      if (data.roles) showRoles(data.roles);
      render();
    } catch (error) {
      toast(state.ui.offline);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

function become(id) {
  state.who = id;
  state.version = -1;
  state.replyTo = {};
  localStorage.setItem("yishi-sandbox-who", String(id));
  $("#chats").replaceChildren();
  poll();
}

async function start() {
  const world = await (await fetch("/sandbox/api/world")).json();
  state.world = world;
  state.ui = world.ui;
  document.documentElement.lang = world.language;
  for (const node of document.querySelectorAll("[data-ui]")) node.textContent = state.ui[node.dataset.ui];
  const select = $("#who");
  for (const person of world.people) {
    select.append(el("option", { value: person.id },
                     `${person.name} · ${person.role_label}${person.unit ? " · " + person.unit : ""}`));
  }
  const saved = Number(localStorage.getItem("yishi-sandbox-who"));
  const first = world.people.some((p) => p.id === saved) ? saved : world.people[0].id;
  select.value = String(first);
  select.addEventListener("change", () => become(Number(select.value)));
  for (const button of document.querySelectorAll("[data-forward]")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      const done = await act({ kind: "forward", by: button.dataset.forward });
      button.disabled = false;
      if (done) $("#clock").textContent = `🕒 ${done.clock.shown}`;
    });
  }
  become(first);
}

start();
