// Small DOM helpers: elements are built with textContent, never from HTML strings.

/** h("button", {class: "x", onclick: fn}, "text", child) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A readable error: the API's code, its message and the policy rule when there is one. */
export function errorBox(err, context) {
  const code = err && err.code ? err.code : "ERROR";
  const message = err && err.message ? err.message : String(err);
  return h("div", { class: "error", role: "alert" },
    context ? h("span", {}, `${context}: `) : null,
    h("code", {}, code), " ", message,
    err && err.ruleId ? h("span", {}, ` (rule ${err.ruleId})`) : null,
    err && err.reason ? h("span", {}, ` [${err.reason}]`) : null,
    err && err.policy ? h("span", { class: "hint" }, `, ${err.policy}`) : null);
}

export function announce(region, text) {
  clear(region, text);
}

let dialogSeq = 0;

/** A modal confirmation naming what will happen; resolves true when confirmed. */
export function confirmDialog(title, lines, action = "Delete") {
  return new Promise((resolve) => {
    const id = `dlg-${++dialogSeq}`;
    const ok = h("button", { class: "danger", value: "ok" }, action);
    const cancel = h("button", { class: "secondary", value: "cancel", autofocus: true }, "Cancel");
    const form = h("form", { method: "dialog" },
      h("h2", { id }, title), ...lines.map((l) => h("p", {}, l)), h("div", { class: "row" }, cancel, ok));
    const dialog = h("dialog", { "aria-labelledby": id }, form);
    dialog.addEventListener("close", () => { resolve(dialog.returnValue === "ok"); dialog.remove(); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function fmtSim(value) {
  return `${Number(value).toFixed(1)}%`;
}
