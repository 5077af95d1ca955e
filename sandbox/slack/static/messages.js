// One message as a Slack-like row: avatar, sender, time, blocks or mrkdwn text, shared files
// with download links, reactions, and its thread (folded unless expanded).
"use strict";

(function () {
  const { render, el, emoji } = window.Mrkdwn;
  const { renderBlocks } = window.BlockKit;
  const TEXT = {
    botName: "gpuwarden",
    appBadge: "APP",
    onlyVisibleToYou: "Only visible to you",
    edited: "(edited)",
    oneReply: "1 reply",
    manyReplies: (count) => count + " replies",
    hideReplies: "Hide replies",
    download: "Download",
    fileBadge: (file) => (file.name.includes(".") ? file.name.split(".").pop() : "file").slice(0, 4).toUpperCase(),
    bytes: (size) => size < 1024 ? size + " B" : size < 1048576 ? (size / 1024).toFixed(1) + " KB" : (size / 1048576).toFixed(1) + " MB",
  };
  const SAFE_URL = /^https?:\/\//i;

  function domId(ts) { return ts.replace(".", "-"); }

  function timeOf(ts) {
    return new Date(parseFloat(ts) * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function senderName(message, directory) {
    if (message.bot_id) return TEXT.botName;
    const user = directory.users[message.user];
    return user ? user.real_name : message.user;
  }

  function link(className, text, url) {
    const node = el("a", className, text);
    if (SAFE_URL.test(url || "")) node.href = url;
    node.target = "_blank";
    node.rel = "noopener noreferrer";
    return node;
  }

  function fileCard(file) {
    const card = el("div", "file-card");
    card.dataset.fileId = file.id;
    card.appendChild(el("span", "file-icon", TEXT.fileBadge(file)));
    const info = el("div", "file-info");
    info.appendChild(link("file-name", file.title || file.name, file.url_private));
    info.appendChild(el("div", "file-meta", file.name + " \u00B7 " + TEXT.bytes(file.size)));
    card.appendChild(info);
    const download = link("file-download", TEXT.download, file.url_private_download);
    download.setAttribute("download", file.name);
    card.appendChild(download);
    return card;
  }

  function reactions(message, directory) {
    const row = el("div", "reactions");
    for (const reaction of message.reactions) {
      const pill = el("span", "reaction", emoji(":" + reaction.name + ":") + " " + reaction.count);
      pill.dataset.name = reaction.name;
      pill.title = reaction.users.map((id) => (directory.users[id] || { name: id }).name).join(", ");
      row.appendChild(pill);
    }
    return row;
  }

  function threadNode(message, context) {
    const wrapper = el("div");
    const open = context.expanded.has(message.ts);
    const count = message.replies.length;
    const toggle = el("button", "thread-toggle",
      open ? TEXT.hideReplies : (count === 1 ? TEXT.oneReply : TEXT.manyReplies(count)));
    toggle.type = "button";
    toggle.dataset.threadTs = message.ts;
    wrapper.appendChild(toggle);
    if (open) {
      const thread = el("div", "thread");
      thread.id = "thread-" + domId(message.ts);
      for (const reply of message.replies) thread.appendChild(messageNode(reply, false, context));
      wrapper.appendChild(thread);
    }
    return wrapper;
  }

  // context: {directory, expanded: Set of thread ts}
  function messageNode(message, ephemeral, context) {
    const directory = context.directory;
    const node = el("div", "message" + (ephemeral ? " ephemeral" : ""));
    node.id = (ephemeral ? "eph-" : "msg-") + domId(message.ts);
    node.dataset.ts = message.ts;
    if (ephemeral) node.dataset.ephemeral = "true";
    const name = senderName(message, directory);
    node.appendChild(el("div", "avatar" + (message.bot_id ? " bot" : ""), name.charAt(0).toUpperCase()));
    const content = el("div", "content");
    const meta = el("div", "meta");
    meta.appendChild(el("span", "sender", name));
    if (message.bot_id) meta.appendChild(el("span", "app-badge", TEXT.appBadge));
    meta.appendChild(el("span", "time", timeOf(message.ts)));
    if (message.edited) meta.appendChild(el("span", "edited", TEXT.edited));
    content.appendChild(meta);
    if (ephemeral) content.appendChild(el("div", "ephemeral-label", TEXT.onlyVisibleToYou));
    const body = el("div", "body");
    body.appendChild(message.blocks && message.blocks.length
      ? renderBlocks(message.blocks, directory)
      : render(message.text, directory));
    content.appendChild(body);
    for (const file of message.files || []) content.appendChild(fileCard(file));
    if (message.reactions) content.appendChild(reactions(message, directory));
    if (message.replies && message.replies.length) content.appendChild(threadNode(message, context));
    node.appendChild(content);
    return node;
  }

  window.MessageView = { messageNode };
})();
