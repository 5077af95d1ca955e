// Slack mrkdwn → DOM nodes. Builds nodes with textContent only, so message content can never
// inject HTML. Supports *bold*, _italic_, ~strike~, `code`, ```pre```, <url|text>, <@U…>,
// <#C…|name>, <!here>, <!subteam^S…>, :emoji: shortcodes, and Slack's &amp; &lt; &gt; escapes.
// `directory` is { users: {id: user}, groups: {id: usergroup} }. As in Slack,
// _italic_, *bold* and ~strike~ only open and close at word boundaries (snake_case stays plain).
"use strict";

(function () {
  const INLINE = new RegExp(
    [
      "(`[^`\\n]+`)",
      "(<[^<>\\n]+>)",
      "(?<![\\w*])(\\*[^*\\n]+\\*)(?![\\w*])",
      "(?<![\\w_])(_[^_\\n]+_)(?![\\w_])",
      "(?<![\\w~])(~[^~\\n]+~)(?![\\w~])",
      "(:[a-z0-9_+-]+:)",
    ].join("|"),
    "g",
  );
  // The shortcodes gpuwarden and the tests use; others stay as text, as in a workspace
  // without that custom emoji.
  const EMOJI = {
    rotating_light: "\u{1F6A8}", eyes: "\u{1F440}", adhesive_bandage: "\u{1FA79}",
    white_check_mark: "\u2705", lock: "\u{1F512}", red_circle: "\u{1F534}",
    large_orange_circle: "\u{1F7E0}", large_green_circle: "\u{1F7E2}", warning: "\u26A0\uFE0F",
    fire: "\u{1F525}", hourglass: "\u231B", bell: "\u{1F514}",
  };
  const SAFE_URL = /^(https?:|mailto:)/i;
  const SPECIAL = { here: "@here", channel: "@channel", everyone: "@everyone" };

  function emoji(text) {
    return String(text).replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] || whole);
  }

  function unescape(text) {
    return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function special(target, label, directory) {
    const [name, id] = target.slice(1).split("^", 2);
    const group = name === "subteam" ? directory.groups[id] : null;
    return el("span", "mention", label || SPECIAL[name] || "@" + (group ? group.handle : name));
  }

  function angle(token, directory) {
    const [target, label] = token.slice(1, -1).split("|", 2);
    if (target.startsWith("@")) {
      const user = directory.users[target.slice(1)];
      return el("span", "mention", "@" + (label || (user ? user.name : target.slice(1))));
    }
    if (target.startsWith("#")) return el("span", "mention", "#" + (label || target.slice(1)));
    if (target.startsWith("!")) return special(target, label, directory);
    const url = unescape(target);
    if (!SAFE_URL.test(url)) return document.createTextNode(unescape(token));
    const link = el("a", null, unescape(label || target));
    link.href = url;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    return link;
  }

  function styled(tag, token, directory) {
    const node = el(tag);
    node.appendChild(inline(token.slice(1, -1), directory));
    return node;
  }

  function token(match, directory) {
    const [text, code, ang, bold, italic, strike, shortcode] = match;
    if (code) return el("code", null, unescape(code.slice(1, -1)));
    if (ang) return angle(ang, directory);
    if (bold) return styled("strong", bold, directory);
    if (italic) return styled("em", italic, directory);
    if (strike) return styled("s", strike, directory);
    if (shortcode) return document.createTextNode(emoji(shortcode));
    return document.createTextNode(text);
  }

  function inline(text, directory) {
    const out = document.createDocumentFragment();
    let last = 0;
    for (const match of text.matchAll(INLINE)) {
      if (match.index > last) out.appendChild(document.createTextNode(unescape(text.slice(last, match.index))));
      out.appendChild(token(match, directory));
      last = match.index + match[0].length;
    }
    if (last < text.length) out.appendChild(document.createTextNode(unescape(text.slice(last))));
    return out;
  }

  function lines(text, directory) {
    const out = document.createDocumentFragment();
    text.split("\n").forEach((line, index) => {
      if (index > 0) out.appendChild(document.createElement("br"));
      out.appendChild(inline(line, directory));
    });
    return out;
  }

  function render(text, directory) {
    const out = document.createDocumentFragment();
    String(text || "").split("```").forEach((part, index) => {
      if (index % 2 === 1) out.appendChild(el("pre", null, unescape(part.replace(/^\n/, ""))));
      else out.appendChild(lines(part, directory));
    });
    return out;
  }

  window.Mrkdwn = { render, el, emoji };
})();
