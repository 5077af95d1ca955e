// The sandbox's Slack-like channel view. Polls /_sandbox/messages, re-renders only on change,
// and acts as the chosen user through /_sandbox/command and /_sandbox/click.
"use strict";

(function () {
  const STRINGS = {
    botName: "gpuwarden",
    appBadge: "APP",
    onlyVisibleToYou: "Only visible to you",
    edited: "(edited)",
    oneReply: "1 reply",
    manyReplies: (count) => count + " replies",
    hideReplies: "Hide replies",
    empty: "No messages in this channel yet. Try a slash command below.",
    live: "Live",
    offline: "Sandbox unreachable, retrying…",
    clickRejected: (error, status) => "The app did not accept the click: " + error + (status ? " (HTTP " + status + ")" : ""),
    requestFailed: (detail) => "Request failed: " + detail,
  };
  const POLL_MS = 1500;
  const { render, el } = window.Mrkdwn;
  const { renderBlocks } = window.BlockKit;
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(window.location.search);
  const state = {
    channel: params.get("channel") || "gpu-alerts",
    user: params.get("user") || "alice",
    users: {},
    snapshot: "",
    data: null,
    expanded: new Set(),
  };

  function domId(ts) { return ts.replace(".", "-"); }

  function timeOf(ts) {
    return new Date(parseFloat(ts) * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function senderName(message) {
    if (message.bot_id) return STRINGS.botName;
    const user = state.users[message.user];
    return user ? user.real_name : message.user;
  }

  function hint(text) { $("composer-hint").textContent = text || ""; }

  async function postJson(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json();
    if (!response.ok) throw new Error(typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail));
    return data;
  }

  function messageNode(message, ephemeral) {
    const node = el("div", "message" + (ephemeral ? " ephemeral" : ""));
    node.id = (ephemeral ? "eph-" : "msg-") + domId(message.ts);
    node.dataset.ts = message.ts;
    if (ephemeral) node.dataset.ephemeral = "true";
    const name = senderName(message);
    node.appendChild(el("div", "avatar" + (message.bot_id ? " bot" : ""), name.charAt(0).toUpperCase()));
    const content = el("div", "content");
    const meta = el("div", "meta");
    meta.appendChild(el("span", "sender", name));
    if (message.bot_id) meta.appendChild(el("span", "app-badge", STRINGS.appBadge));
    meta.appendChild(el("span", "time", timeOf(message.ts)));
    if (message.edited) meta.appendChild(el("span", "edited", STRINGS.edited));
    content.appendChild(meta);
    if (ephemeral) content.appendChild(el("div", "ephemeral-label", STRINGS.onlyVisibleToYou));
    const body = el("div", "body");
    body.appendChild(message.blocks && message.blocks.length
      ? renderBlocks(message.blocks, state.users)
      : render(message.text, state.users));
    content.appendChild(body);
    if (message.replies && message.replies.length) content.appendChild(threadNode(message));
    node.appendChild(content);
    return node;
  }

  function threadNode(message) {
    const wrapper = el("div");
    const open = state.expanded.has(message.ts);
    const count = message.replies.length;
    const toggle = el("button", "thread-toggle",
      open ? STRINGS.hideReplies : (count === 1 ? STRINGS.oneReply : STRINGS.manyReplies(count)));
    toggle.type = "button";
    toggle.dataset.threadTs = message.ts;
    wrapper.appendChild(toggle);
    if (open) {
      const thread = el("div", "thread");
      thread.id = "thread-" + domId(message.ts);
      for (const reply of message.replies) thread.appendChild(messageNode(reply, false));
      wrapper.appendChild(thread);
    }
    return wrapper;
  }

  function renderMessages() {
    const data = state.data;
    const box = $("messages");
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    const items = data.messages.map((m) => [m, false]).concat(data.ephemerals.map((e) => [e, true]));
    items.sort((a, b) => parseFloat(a[0].ts) - parseFloat(b[0].ts));
    box.replaceChildren();
    if (!items.length) box.appendChild(el("div", "empty", STRINGS.empty));
    for (const [message, ephemeral] of items) box.appendChild(messageNode(message, ephemeral));
    if (atBottom) box.scrollTop = box.scrollHeight;
  }

  async function poll() {
    const query = new URLSearchParams({ channel: state.channel, user: state.user });
    try {
      const response = await fetch("/_sandbox/messages?" + query);
      const text = await response.text();
      $("connection-status").textContent = STRINGS.live;
      $("connection-status").className = "";
      if (text === state.snapshot) return;
      state.snapshot = text;
      state.data = JSON.parse(text);
      renderMessages();
    } catch (error) {
      $("connection-status").textContent = STRINGS.offline;
      $("connection-status").className = "offline";
    }
  }

  function selectChannel(name) {
    state.channel = name;
    state.snapshot = "";
    state.expanded.clear();
    $("channel-title").textContent = "#" + name;
    for (const link of document.querySelectorAll("#channel-list a")) {
      link.classList.toggle("selected", link.dataset.channel === name);
    }
    params.set("channel", name);
    window.history.replaceState(null, "", "?" + params);
    poll();
  }

  async function loadDirectory() {
    const [users, channels] = await Promise.all([
      fetch("/_sandbox/users").then((r) => r.json()),
      fetch("/_sandbox/channels").then((r) => r.json()),
    ]);
    const picker = $("acting-as");
    for (const user of users.users) {
      state.users[user.id] = user;
      if (user.is_bot) continue;
      const option = el("option", null, user.real_name + " (@" + user.name + ")");
      option.value = user.name;
      option.selected = user.name === state.user;
      picker.appendChild(option);
    }
    const list = $("channel-list");
    for (const channel of channels.channels) {
      const link = el("a", null, "# " + channel.name);
      link.id = "channel-" + channel.name;
      link.dataset.channel = channel.name;
      list.appendChild(link);
    }
  }

  async function sendCommand(event) {
    event.preventDefault();
    const input = $("command-input");
    const line = input.value.trim();
    if (!line) return;
    const space = line.indexOf(" ");
    const command = space < 0 ? line : line.slice(0, space);
    const text = space < 0 ? "" : line.slice(space + 1).trim();
    const who = { user: state.user, channel: state.channel };
    hint("");
    input.value = "";
    try {
      if (line.startsWith("/")) await postJson("/_sandbox/command", { ...who, command, text });
      else await postJson("/_sandbox/message", { ...who, text: line });
    } catch (error) {
      hint(STRINGS.requestFailed(error.message));
    }
    poll();
  }

  async function clickButton(button) {
    const message = button.closest(".message");
    if (button.dataset.url) window.open(button.dataset.url, "_blank", "noopener");
    button.disabled = true;
    hint("");
    try {
      const body = { user: state.user, channel: state.channel, ts: message.dataset.ts, action_id: button.dataset.actionId };
      if (button.dataset.value !== undefined) body.value = button.dataset.value;
      const result = await postJson("/_sandbox/click", body);
      if (result.error) hint(STRINGS.clickRejected(result.error, result.status));
    } catch (error) {
      hint(STRINGS.requestFailed(error.message));
    } finally {
      button.disabled = false;
    }
    poll();
  }

  function onMessagesClick(event) {
    const button = event.target.closest("button");
    if (!button) return;
    if (button.dataset.threadTs) {
      const ts = button.dataset.threadTs;
      if (state.expanded.has(ts)) state.expanded.delete(ts); else state.expanded.add(ts);
      renderMessages();
    } else if (button.dataset.actionId !== undefined) {
      clickButton(button);
    }
  }

  async function start() {
    await loadDirectory();
    $("channel-list").addEventListener("click", (event) => {
      const link = event.target.closest("a[data-channel]");
      if (link) selectChannel(link.dataset.channel);
    });
    $("acting-as").addEventListener("change", (event) => {
      state.user = event.target.value;
      state.snapshot = "";
      params.set("user", state.user);
      window.history.replaceState(null, "", "?" + params);
      poll();
    });
    $("messages").addEventListener("click", onMessagesClick);
    $("composer").addEventListener("submit", sendCommand);
    selectChannel(state.channel);
    window.setInterval(poll, POLL_MS);
  }

  start();
})();
