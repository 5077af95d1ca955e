// The modal in front of the acting person: the top view of their stack as an overlay with its
// blocks, field errors, Close and Submit. Values typed into inputs survive a re-render of the
// same view (Slack keeps what was entered when a view is updated or shows errors).
"use strict";

(function () {
  const { el } = window.Mrkdwn;
  const { renderBlocks, plain } = window.BlockKit;
  const TEXT = {
    close: "Close",
    closeLabel: "Close dialog",
    required: "Please complete this required field.",
  };
  const layer = () => document.getElementById("modal-layer");
  let shownViewId = null;

  function controls(root) {
    return Array.from(root.querySelectorAll("[data-input-block]")).map((block) => ({
      block,
      control: block.querySelector("[data-action-id]"),
    }));
  }

  // {block_id: {action_id: value or null}}, as /_sandbox/submit takes them
  function values(root) {
    const out = {};
    for (const { block, control } of controls(root)) {
      const fields = (out[block.dataset.inputBlock] = out[block.dataset.inputBlock] || {});
      fields[control.dataset.actionId] = control.value || null;
    }
    return out;
  }

  function restore(root, saved) {
    for (const { block, control } of controls(root)) {
      const fields = saved[block.dataset.inputBlock] || {};
      const value = fields[control.dataset.actionId];
      if (value) control.value = value;
    }
  }

  // Slack's client refuses to submit while a required input is empty.
  function complete(root) {
    let ok = true;
    for (const { block, control } of controls(root)) {
      if (block.dataset.optional === "true" || control.value) continue;
      block.classList.add("has-error");
      block.querySelector(".blk-error").textContent = TEXT.required;
      ok = false;
    }
    return ok;
  }

  function footer(view, onClose) {
    const bar = el("div", "dialog-buttons");
    const close = el("button", "btn modal-close", view.close ? plain(view.close) : TEXT.close);
    close.type = "button";
    close.addEventListener("click", onClose);
    bar.appendChild(close);
    if (view.submit) {
      const submit = el("button", "btn btn-primary modal-submit", plain(view.submit));
      submit.type = "submit";
      bar.appendChild(submit);
    }
    return bar;
  }

  // entry: {view, errors}; handlers: {submit(viewId, values) → Promise, close(viewId)}
  function show(entry, directory, handlers) {
    const view = entry.view;
    const saved = shownViewId === view.id ? values(layer()) : {};
    const dialog = el("form", "dialog modal");
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-modal", "true");
    dialog.setAttribute("aria-labelledby", "modal-title");
    dialog.dataset.viewId = view.id;
    dialog.noValidate = true;
    const header = el("div", "modal-header");
    const title = el("h2", null, plain(view.title));
    title.id = "modal-title";
    const dismiss = el("button", "modal-x", "\u00D7");
    dismiss.type = "button";
    dismiss.setAttribute("aria-label", TEXT.closeLabel);
    dismiss.addEventListener("click", () => handlers.close(view.id));
    header.append(title, dismiss);
    const body = el("div", "modal-body");
    body.appendChild(renderBlocks(view.blocks, directory, { inModal: true, errors: entry.errors }));
    dialog.append(header, body, footer(view, () => handlers.close(view.id)));
    dialog.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!complete(dialog)) return;
      const submit = dialog.querySelector(".modal-submit");
      submit.disabled = true;
      handlers.submit(view.id, values(dialog)).finally(() => { submit.disabled = false; });
    });
    layer().replaceChildren(dialog);
    layer().hidden = false;
    restore(dialog, saved);
    shownViewId = view.id;
  }

  function hide() {
    layer().hidden = true;
    layer().replaceChildren();
    shownViewId = null;
  }

  window.Modal = { show, hide };
})();
