// Block Kit confirm dialogs: Confirm.ask(spec) shows spec's title, text, confirm and deny
// buttons and resolves true only when the person confirms (Escape or deny resolve false).
"use strict";

(function () {
  const { el } = window.Mrkdwn;
  const { textObject, plain } = window.BlockKit;
  const TEXT = { confirm: "Confirm", deny: "Cancel" };

  function ask(spec, directory) {
    const layer = document.getElementById("confirm-layer");
    return new Promise((resolve) => {
      const dialog = el("div", "dialog confirm-dialog");
      dialog.setAttribute("role", "alertdialog");
      dialog.setAttribute("aria-modal", "true");
      dialog.setAttribute("aria-labelledby", "confirm-title");
      const title = el("h2", null, spec.title ? plain(spec.title) : "");
      title.id = "confirm-title";
      const body = el("div", "confirm-text");
      body.appendChild(textObject(spec.text, directory));
      const deny = el("button", "btn confirm-deny", spec.deny ? plain(spec.deny) : TEXT.deny);
      const accept = el("button", "btn confirm-accept", spec.confirm ? plain(spec.confirm) : TEXT.confirm);
      accept.classList.add(spec.style === "danger" ? "btn-danger" : "btn-primary");
      deny.type = accept.type = "button";
      const buttons = el("div", "dialog-buttons");
      buttons.append(deny, accept);
      dialog.append(title, body, buttons);

      function finish(answer) {
        layer.hidden = true;
        layer.replaceChildren();
        document.removeEventListener("keydown", onKey);
        resolve(answer);
      }
      function onKey(event) { if (event.key === "Escape") finish(false); }
      deny.addEventListener("click", () => finish(false));
      accept.addEventListener("click", () => finish(true));
      document.addEventListener("keydown", onKey);
      layer.replaceChildren(dialog);
      layer.hidden = false;
      accept.focus();
    });
  }

  window.Confirm = { ask };
})();
