// Who is signed in and what the policy lets them do (GET /me), shown in the header and as refusals.
import { clear, h } from "./dom.js";

export const state = { api: null, me: null };

export function decision(op) {
  if (!state.me) return null;
  return state.me.operations.find((d) => d.operation === op) || null;
}

export function allowed(op) {
  const d = decision(op);
  return Boolean(d && d.allowed);
}

/** The header: name, sector, sign out, and every operation allowed or refused with the rule's reason. */
export function renderWho(who, accessEl, onSignOut) {
  const me = state.me;
  if (!me) {
    clear(who, h("a", { href: "#/signin", class: "signin-link" }, h("span", { class: "name" }, "Sign in")));
    clear(accessEl);
    return;
  }
  clear(who,
    h("span", { class: "name", id: "who-name" }, me.name),
    h("span", { class: "sector", id: "who-sector", title: "Sector in the customer registry" }, me.sector),
    me.status !== "active" ? h("span", { class: "sector" }, me.status) : null,
    h("button", { type: "button", id: "signout", onclick: onSignOut }, "Sign out"));
  const refused = me.operations.filter((d) => !d.allowed);
  clear(accessEl, h("details", { id: "access-details", open: refused.length > 0 ? true : undefined },
    h("summary", {}, refused.length
      ? `What the policy lets you do: ${refused.length} of ${me.operations.length} operations refused`
      : `What the policy lets you do: all ${me.operations.length} operations allowed`),
    h("ul", { class: "ops", "aria-label": "Operations and the policy's decision" },
      me.operations.map((d) => h("li", { "data-op": d.operation },
        h("span", {}, h("strong", {}, d.operation)),
        h("span", {}, h("span", { class: `tag ${d.allowed ? "ok" : "no"}` }, d.allowed ? "allowed" : "refused")),
        h("span", { class: "why" }, d.allowed ? describeOp(d.operation) : refusalLine(d)))))));
  for (const link of document.querySelectorAll("#nav a[data-op]")) {
    const ok = allowed(link.dataset.op);
    link.classList.toggle("refused", !ok);
    if (!ok) link.setAttribute("aria-description", "refused by the policy");
    else link.removeAttribute("aria-description");
  }
}

function describeOp(op) {
  const d = decision(op);
  return d && d.description ? d.description : "";
}

function refusalLine(d) {
  return `${d.reason_code}${d.rule_id ? ` (rule ${d.rule_id})` : ""}: ${d.message}`;
}

/** The page a refused operation gets instead of its tool: the code, the rule, its reason and references. */
export function refusalPanel(op, what) {
  const d = decision(op);
  if (!d) return null;
  return h("section", { class: "refusal", role: "alert", "aria-labelledby": `refusal-${op}` },
    h("h2", { id: `refusal-${op}` }, `${what} is refused to ${state.me.name}`),
    h("p", {}, `The usage policy does not allow the ${state.me.sector} sector to use ${op}. `
      + "Every such request is refused and audited, and none of its images is processed."),
    h("dl", {},
      h("dt", {}, "Code"), h("dd", {}, h("code", { class: "reason-code" }, d.reason_code)),
      d.rule_id ? [h("dt", {}, "Rule"), h("dd", {}, h("code", { class: "rule-id" }, d.rule_id))] : null,
      h("dt", {}, "Decision"), h("dd", {}, d.message),
      d.rule_reason ? [h("dt", {}, "Why"), h("dd", { class: "rule-reason" }, d.rule_reason)] : null),
    d.references && d.references.length
      ? [h("p", {}, h("strong", {}, "References")), h("ul", {}, d.references.map((r) => h("li", {}, r)))] : null,
    h("p", {}, "Still open to you: ",
      state.me.operations.filter((x) => x.allowed).map((x) => x.operation).join(", ") || "nothing", ". ",
      h("a", { href: "#/policy" }, "Read the whole policy"), "."));
}
