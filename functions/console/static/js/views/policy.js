// The policy, open to anyone (GET /policy needs no key): sectors, operations, rules, reasons, references.
import { clear, errorBox, h } from "../dom.js";

export async function policyView(main, api) {
  clear(main, h("h1", {}, "The usage policy"), h("p", {}, "Loading…"));
  let p;
  try {
    p = await api.policy();
  } catch (err) {
    clear(main, h("h1", {}, "The usage policy"), errorBox(err, "The policy could not be read"));
    return;
  }
  const ruleOf = (sector) => p.rules.filter((r) => r.sectors.includes(sector));
  clear(main,
    h("h1", {}, "The usage policy"),
    h("p", {}, "Every request and every upload is checked against this policy and the customer registry. "
      + "A refusal is audited and no image of the refused request is processed."),
    h("dl", { class: "kv", id: "policy-version" },
      h("dt", {}, "Version"), h("dd", {}, String(p.version)),
      p.sha256 ? [h("dt", {}, "SHA-256"), h("dd", {}, h("code", {}, p.sha256))] : null,
      h("dt", {}, "Always allowed"), h("dd", {}, (p.always_allowed || []).join(", ") || "nothing")),
    h("h2", {}, "Rules"),
    p.rules.map((r) => h("section", { class: "policy-rule", "data-rule": r.id, "aria-labelledby": `rule-${r.id}` },
      h("h3", { id: `rule-${r.id}` }, r.id),
      h("dl", { class: "kv" },
        h("dt", {}, "Sectors"), h("dd", {}, r.sectors.join(", ")),
        h("dt", {}, "Refused"), h("dd", {}, r.deny.join(", "))),
      h("p", {}, r.reason),
      r.references.length ? h("ul", {}, r.references.map((ref) => h("li", {}, ref))) : null)),
    h("h2", {}, "Operations"),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Operation"), h("th", { scope: "col" }, "What it does"))),
      h("tbody", {}, Object.entries(p.operations).map(([op, text]) => h("tr", {}, h("td", {}, h("code", {}, op)),
        h("td", {}, text)))))),
    h("h2", {}, "Sectors"),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Sector"), h("th", { scope: "col" }, "Who"),
        h("th", { scope: "col" }, "Refused"))),
      h("tbody", {}, Object.entries(p.sectors).map(([sector, text]) => h("tr", {}, h("td", {}, h("code", {}, sector)),
        h("td", {}, text),
        h("td", {}, ruleOf(sector).flatMap((r) => r.deny).join(", ") || "—")))))));
}
