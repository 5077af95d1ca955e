// Block Kit → DOM nodes: header, section (text, fields, accessory), context, divider, actions
// with buttons (primary / danger), image, markdown, rich_text; anything else shows a placeholder.
"use strict";

(function () {
  const { render, el } = window.Mrkdwn;
  const TEXT = {
    unsupported: "Unsupported block: ",
    unsupportedElement: "Unsupported element: ",
    image: "Image: ",
  };

  function textObject(obj, users) {
    if (!obj) return document.createDocumentFragment();
    if (obj.type === "mrkdwn") return render(obj.text, users);
    return document.createTextNode(plain(obj));
  }

  // plain_text renders :shortcodes: as emoji unless the object says "emoji": false
  function plain(obj) {
    return obj.emoji === false ? obj.text || "" : window.Mrkdwn.emoji(obj.text || "");
  }

  function button(element) {
    const node = el("button", "btn", element.text ? plain(element.text) : "");
    if (element.style === "primary" || element.style === "danger") node.classList.add("btn-" + element.style);
    node.type = "button";
    node.dataset.actionId = element.action_id || "";
    if (element.value !== undefined) node.dataset.value = element.value;
    if (element.url) node.dataset.url = element.url;
    return node;
  }

  function element(item, users) {
    if (item.type === "button") return button(item);
    if (item.type === "image") return el("span", "blk-image-alt", TEXT.image + (item.alt_text || ""));
    if (item.type === "mrkdwn" || item.type === "plain_text") {
      const span = el("span");
      span.appendChild(textObject(item, users));
      return span;
    }
    return el("span", "blk-unsupported", TEXT.unsupportedElement + item.type);
  }

  function section(block, users) {
    const node = el("div", "blk blk-section");
    const main = el("div", "blk-section-main");
    if (block.text) main.appendChild(textObject(block.text, users));
    if (block.fields) {
      const fields = el("div", "blk-fields");
      for (const field of block.fields) {
        const cell = el("div", "blk-field");
        cell.appendChild(textObject(field, users));
        fields.appendChild(cell);
      }
      main.appendChild(fields);
    }
    node.appendChild(main);
    if (block.accessory) node.appendChild(element(block.accessory, users));
    return node;
  }

  function row(block, users, className) {
    const node = el("div", "blk " + className);
    for (const item of block.elements || []) node.appendChild(element(item, users));
    return node;
  }

  function richText(block, users) {
    const parts = [];
    const walk = (items) => (items || []).forEach((item) => {
      if (item.type === "text") parts.push(item.text);
      else if (item.type === "link") parts.push(item.text || item.url);
      else if (item.type === "user") parts.push("<@" + item.user_id + ">");
      walk(item.elements);
    });
    walk(block.elements);
    const node = el("div", "blk");
    node.appendChild(render(parts.join(""), users));
    return node;
  }

  const RENDERERS = {
    header: (block) => el("div", "blk blk-header", block.text ? plain(block.text) : ""),
    section,
    context: (block, users) => row(block, users, "blk-context"),
    actions: (block, users) => row(block, users, "blk-actions"),
    divider: () => el("hr", "blk-divider"),
    image: (block) => el("div", "blk blk-image-alt", TEXT.image + (block.alt_text || "")),
    markdown: (block, users) => {
      const node = el("div", "blk");
      node.appendChild(render(block.text, users));
      return node;
    },
    rich_text: richText,
  };

  function renderBlocks(blocks, users) {
    const out = document.createDocumentFragment();
    for (const block of blocks) {
      const renderer = RENDERERS[block.type];
      const node = renderer ? renderer(block, users) : el("div", "blk blk-unsupported", TEXT.unsupported + block.type);
      if (block.block_id) node.dataset.blockId = block.block_id;
      out.appendChild(node);
    }
    return out;
  }

  window.BlockKit = { renderBlocks };
})();
