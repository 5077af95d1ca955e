// The sandbox's Slack-like client. Refreshes on every server-sent change (polling while the
// stream is down), re-renders only what changed, and acts as the chosen person through
// /_sandbox/command, /message, /click, /select, /submit and /close. Confirm dialogs are asked
// before anything is delivered.
"use strict";

(function () {
  const STRINGS = {
    empty: "No messages here yet. Try a slash command below.",
    live: "Live",
    polling: "Polling",
    offline: "Sandbox unreachable, retrying\u2026",
    appRejected: (error, status) => "The app did not accept it: " + error + (status ? " (HTTP " + status + ")" : ""),
    requestFailed: (detail) => "Request failed: " + detail,
    person: (user) => user.real_name + " (@" + user.name + ")",
    roles: (user) => user.roles.join(", "),
    details: (user) => [user.profile.title, user.tz].filter(Boolean).join(" \u00B7 "),
    channel: (channel) => "# " + channel.name,
    dm: "gpuwarden",
    channelTitle: (channel) => (channel.is_im ? "@gpuwarden" : "#" + channel.name),
  };
  const SAFE_URL = /^https?:\/\//i;
  const { el } = window.Mrkdwn;
  const { messageNode } = window.MessageView;
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(window.location.search);
  const state = {
    channel: params.get("channel") || "gpu-alerts",
    user: params.get("user") || "alice",
    directory: { users: {}, groups: {} },
    channels: [],
    snapshots: {},
    data: null,
    expanded: new Set(),
    mode: "polling",
    refreshing: null,
    again: false,
  };

  function hint(text) { $("composer-hint").textContent = text || ""; }

  function me() {
    return Object.values(state.directory.users).find((user) => user.name === state.user);
  }

  function status(offline) {
    $("connection-status").textContent = offline ? STRINGS.offline : STRINGS[state.mode];
    $("connection-status").className = offline ? "offline" : state.mode;
  }

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

  // Fetch as JSON; report whether it differs from what was rendered last time under `key`.
  async function load(key, path) {
    const text = await (await fetch(path)).text();
    const changed = text !== state.snapshots[key];
    state.snapshots[key] = text;
    return [JSON.parse(text), changed];
  }

  function renderMessages() {
    const box = $("messages");
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    const items = state.data.messages.map((m) => [m, false]).concat(state.data.ephemerals.map((e) => [e, true]));
    items.sort((a, b) => parseFloat(a[0].ts) - parseFloat(b[0].ts));
    const context = { directory: state.directory, expanded: state.expanded };
    box.replaceChildren();
    if (!items.length) box.appendChild(el("div", "empty", STRINGS.empty));
    for (const [message, ephemeral] of items) box.appendChild(messageNode(message, ephemeral, context));
    if (atBottom) box.scrollTop = box.scrollHeight;
  }

  function renderSidebar() {
    const mine = me();
    const channels = state.channels.filter((c) => !c.is_im);
    const dms = state.channels.filter((c) => c.is_im && mine && c.user === mine.id);
    const entry = (channel, label) => {
      const link = el("a", null, label);
      link.id = "channel-" + (channel.is_im ? channel.id : channel.name);
      link.dataset.channel = channel.is_im ? channel.id : channel.name;
      link.classList.toggle("selected", link.dataset.channel === state.channel);
      return link;
    };
    $("channel-list").replaceChildren(...channels.map((c) => entry(c, STRINGS.channel(c))));
    $("dm-list").replaceChildren(...dms.map((c) => entry(c, STRINGS.dm)));
    $("acting-as-roles").textContent = mine ? STRINGS.roles(mine) : "";
    $("acting-as-details").textContent = mine ? STRINGS.details(mine) : "";
  }

  function renderModal(stacks) {
    const mine = me();
    const stack = (mine && stacks.views[mine.id]) || [];
    if (!stack.length) return window.Modal.hide();
    window.Modal.show(stack[stack.length - 1], state.directory, { submit: submitView, close: closeView });
  }

  async function refreshOnce() {
    const who = new URLSearchParams({ channel: state.channel, user: state.user });
    const [[channels, channelsChanged], [data, dataChanged], [views, viewsChanged]] = await Promise.all([
      load("channels", "/_sandbox/channels"),
      load("messages", "/_sandbox/messages?" + who),
      load("views", "/_sandbox/views?" + new URLSearchParams({ user: state.user })),
    ]);
    state.channels = channels.channels;
    state.data = data;
    $("channel-title").textContent = STRINGS.channelTitle(data.channel);
    if (channelsChanged) renderSidebar();
    if (dataChanged) renderMessages();
    if (viewsChanged) renderModal(views);
  }

  // One refresh at a time; a change during a refresh triggers one more afterwards.
  async function refresh() {
    if (state.refreshing) {
      state.again = true;
      return state.refreshing;
    }
    state.refreshing = refreshOnce()
      .then(() => status(false))
      .catch(() => status(true))
      .finally(() => {
        state.refreshing = null;
        if (state.again) {
          state.again = false;
          refresh();
        }
      });
    return state.refreshing;
  }

  function reset() {
    state.snapshots = {};
    state.expanded.clear();
    params.set("channel", state.channel);
    params.set("user", state.user);
    window.history.replaceState(null, "", "?" + params);
    return refresh();
  }

  async function loadDirectory() {
    const [users, groups] = await Promise.all([
      fetch("/_sandbox/users").then((r) => r.json()),
      fetch("/_sandbox/usergroups").then((r) => r.json()),
    ]);
    const picker = $("acting-as");
    for (const user of users.users) {
      state.directory.users[user.id] = user;
      if (user.is_bot) continue;
      const option = el("option", null, STRINGS.person(user));
      option.value = user.name;
      option.selected = user.name === state.user;
      picker.appendChild(option);
    }
    for (const group of groups.usergroups) state.directory.groups[group.id] = group;
  }

  // Run an action as the acting person; show the app's refusal or a failed request.
  async function act(path, body) {
    hint("");
    try {
      const result = await postJson(path, { user: state.user, ...body });
      if (result.error) hint(STRINGS.appRejected(result.error, result.status));
      return result;
    } catch (error) {
      hint(STRINGS.requestFailed(error.message));
      return null;
    } finally {
      refresh();
    }
  }

  async function confirmed(node) {
    return !node.confirmSpec || window.Confirm.ask(node.confirmSpec, state.directory);
  }

  async function sendLine(event) {
    event.preventDefault();
    const input = $("command-input");
    const line = input.value.trim();
    if (!line) return;
    input.value = "";
    const space = line.indexOf(" ");
    const command = space < 0 ? line : line.slice(0, space);
    const text = space < 0 ? "" : line.slice(space + 1).trim();
    if (line.startsWith("/")) await act("/_sandbox/command", { channel: state.channel, command, text });
    else await act("/_sandbox/message", { channel: state.channel, text: line });
  }

  async function clickButton(button) {
    if (!(await confirmed(button))) return;
    if (SAFE_URL.test(button.dataset.url || "")) window.open(button.dataset.url, "_blank", "noopener");
    const body = { channel: state.channel, ts: button.closest(".message").dataset.ts, action_id: button.dataset.actionId };
    if (button.dataset.value !== undefined) body.value = button.dataset.value;
    button.disabled = true;
    await act("/_sandbox/click", body);
    button.disabled = false;
  }

  async function choose(select) {
    const value = select.value;
    if (!(await confirmed(select))) {
      select.selectedIndex = 0;
      return;
    }
    const ts = select.closest(".message").dataset.ts;
    await act("/_sandbox/select", { channel: state.channel, ts, action_id: select.dataset.actionId, value });
  }

  async function submitView(viewId, values) {
    await act("/_sandbox/submit", { view_id: viewId, values });
  }

  function closeView(viewId) {
    return act("/_sandbox/close", { view_id: viewId });
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

  function onMessagesChange(event) {
    if (event.target.matches("select.blk-select")) choose(event.target);
  }

  async function start() {
    await loadDirectory();
    $("sidebar").addEventListener("click", (event) => {
      const link = event.target.closest("a[data-channel]");
      if (!link) return;
      state.channel = link.dataset.channel;
      renderSidebar();
      reset();
    });
    $("acting-as").addEventListener("change", (event) => {
      state.user = event.target.value;
      if (state.channels.some((c) => c.is_im && c.id === state.channel)) state.channel = "gpu-alerts";
      reset();
    });
    $("messages").addEventListener("click", onMessagesClick);
    $("messages").addEventListener("change", onMessagesChange);
    $("composer").addEventListener("submit", sendLine);
    await reset();
    window.Live.connect(refresh, (mode) => {
      state.mode = mode;
      status(false);
    });
  }

  start();
})();
