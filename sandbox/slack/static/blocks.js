// Block Kit → DOM nodes: header, section (text, fields, accessory), context, divider, actions,
// image, markdown, rich_text and input; elements button (primary / danger), static_select,
// overflow, users_select and plain_text_input. Anything else shows a placeholder. Text goes in
// through textContent only. An element's confirm dialog rides along as node.confirmSpec.
"use strict";

(function () {
  const { render, el, emoji } = window.Mrkdwn;
  const TEXT = {
    unsupported: "Unsupported block: ",
    unsupportedElement: "Unsupported element: ",
    image: "Image: ",
    selectPlaceholder: "Select an item",
    usersPlaceholder: "Select a person",
    overflow: "\u22EF",
    overflowLabel: "More actions",
    optional: "(optional)",
    modalOnly: "Not available in the sandbox's modals",
  };

  function textObject(obj, directory) {
    if (!obj) return document.createDocumentFragment();
    if (obj.type === "mrkdwn") return render(obj.text, directory);
    return document.createTextNode(plain(obj));
  }

  // plain_text renders :shortcodes: as emoji unless the object says "emoji": false
  function plain(obj) {
    return obj.emoji === false ? obj.text || "" : emoji(obj.text || "");
  }

  function tag(node, item) {
    node.dataset.actionId = item.action_id || "";
    node.dataset.kind = item.type;
    if (item.confirm) node.confirmSpec = item.confirm;
    return node;
  }

  function button(item) {
    const node = tag(el("button", "btn", item.text ? plain(item.text) : ""), item);
    if (item.style === "primary" || item.style === "danger") node.classList.add("btn-" + item.style);
    node.type = "button";
    if (item.value !== undefined) node.dataset.value = item.value;
    if (item.url) node.dataset.url = item.url;
    return node;
  }

  function option(value, label, selected) {
    const node = el("option", null, label);
    node.value = value;
    node.selected = Boolean(selected);
    return node;
  }

  function choices(item, directory) {
    if (item.type === "users_select") {
      return Object.values(directory.users).filter((user) => !user.is_bot)
        .map((user) => [user.id, user.real_name + " (@" + user.name + ")"]);
    }
    return (item.options || []).map((choice) => [choice.value, plain(choice.text)]);
  }

  function initialChoice(item) {
    if (item.type === "users_select") return item.initial_user || "";
    return item.initial_option ? item.initial_option.value : "";
  }

  function select(item, directory) {
    const node = tag(el("select", "blk-select" + (item.type === "overflow" ? " blk-overflow" : "")), item);
    const fallback = item.type === "overflow" ? TEXT.overflow
      : item.type === "users_select" ? TEXT.usersPlaceholder : TEXT.selectPlaceholder;
    const initial = initialChoice(item);
    const prompt = option("", item.placeholder ? plain(item.placeholder) : fallback, !initial);
    prompt.disabled = true;
    node.appendChild(prompt);
    for (const [value, label] of choices(item, directory)) node.appendChild(option(value, label, value === initial));
    if (item.type === "overflow") node.setAttribute("aria-label", TEXT.overflowLabel);
    return node;
  }

  function textInput(item) {
    const node = tag(el(item.multiline ? "textarea" : "input", "blk-text-input"), item);
    if (!item.multiline) node.type = "text";
    if (item.placeholder) node.placeholder = plain(item.placeholder);
    if (item.max_length) node.maxLength = item.max_length;
    node.value = item.initial_value || "";
    return node;
  }

  const ELEMENTS = {
    button: (item) => button(item),
    static_select: select,
    overflow: select,
    users_select: select,
    plain_text_input: textInput,
    image: (item) => el("span", "blk-image-alt", TEXT.image + (item.alt_text || "")),
  };

  function element(item, directory, options) {
    if (item.type === "mrkdwn" || item.type === "plain_text") {
      const span = el("span");
      span.appendChild(textObject(item, directory));
      return span;
    }
    const build = ELEMENTS[item.type];
    if (!build) return el("span", "blk-unsupported", TEXT.unsupportedElement + item.type);
    const node = build(item, directory);
    if (options.inModal && item.type !== "image") {
      node.disabled = true;
      node.title = TEXT.modalOnly;
    }
    return node;
  }

  function section(block, directory, options) {
    const node = el("div", "blk blk-section");
    const main = el("div", "blk-section-main");
    if (block.text) main.appendChild(textObject(block.text, directory));
    if (block.fields) {
      const fields = el("div", "blk-fields");
      for (const field of block.fields) {
        const cell = el("div", "blk-field");
        cell.appendChild(textObject(field, directory));
        fields.appendChild(cell);
      }
      main.appendChild(fields);
    }
    node.appendChild(main);
    if (block.accessory) node.appendChild(element(block.accessory, directory, options));
    return node;
  }

  function row(block, directory, options, className) {
    const node = el("div", "blk " + className);
    for (const item of block.elements || []) node.appendChild(element(item, directory, options));
    return node;
  }

  function richText(block, directory) {
    const parts = [];
    const walk = (items) => (items || []).forEach((item) => {
      if (item.type === "text") parts.push(item.text);
      else if (item.type === "link") parts.push(item.text || item.url);
      else if (item.type === "user") parts.push("<@" + item.user_id + ">");
      walk(item.elements);
    });
    walk(block.elements);
    const node = el("div", "blk");
    node.appendChild(render(parts.join(""), directory));
    return node;
  }

  function input(block, directory, options) {
    const node = el("div", "blk blk-input");
    node.dataset.inputBlock = block.block_id;
    node.dataset.optional = block.optional ? "true" : "false";
    const label = el("label", "blk-label", plain(block.label));
    const control = element(block.element, directory, {});
    control.id = "input-" + block.block_id;
    label.htmlFor = control.id;
    if (block.optional) label.appendChild(el("span", "blk-optional", " " + TEXT.optional));
    node.append(label, control);
    if (block.hint) node.appendChild(el("div", "blk-hint", plain(block.hint)));
    const error = (options.errors || {})[block.block_id];
    node.appendChild(el("div", "blk-error", error || ""));
    if (error) node.classList.add("has-error");
    return node;
  }

  const RENDERERS = {
    header: (block) => el("div", "blk blk-header", block.text ? plain(block.text) : ""),
    section,
    context: (block, directory, options) => row(block, directory, options, "blk-context"),
    actions: (block, directory, options) => row(block, directory, options, "blk-actions"),
    divider: () => el("hr", "blk-divider"),
    image: (block) => el("div", "blk blk-image-alt", TEXT.image + (block.alt_text || "")),
    markdown: (block, directory) => {
      const node = el("div", "blk");
      node.appendChild(render(block.text, directory));
      return node;
    },
    rich_text: richText,
    input,
  };

  // options: { inModal: disable non-input elements, errors: {block_id: message} }
  function renderBlocks(blocks, directory, options) {
    const out = document.createDocumentFragment();
    for (const block of blocks) {
      const renderer = RENDERERS[block.type];
      const node = renderer ? renderer(block, directory, options || {})
        : el("div", "blk blk-unsupported", TEXT.unsupported + block.type);
      if (block.block_id) node.dataset.blockId = block.block_id;
      out.appendChild(node);
    }
    return out;
  }

  window.BlockKit = { renderBlocks, textObject, plain };
})();
