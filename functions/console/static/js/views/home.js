// Home: where to go next, or (for a refused sector) the refusal explained first.
import { allowed, refusalPanel, state } from "../access.js";
import { clear, h } from "../dom.js";

const IDENTIFYING = [["search", "Face search"], ["index", "Indexing photos"], ["compare", "Face comparison"],
  ["users", "Grouping faces into users"]];

export function homeView(main) {
  const refused = IDENTIFYING.filter(([op]) => !allowed(op));
  const sections = [];
  if (refused.length) {
    const [op, what] = refused[0];
    sections.push(refusalPanel(op, what));
    if (refused.length > 1) {
      sections.push(h("p", {}, "Also refused: ", refused.slice(1).map(([, w]) => w).join(", "), "."));
    }
  }
  sections.push(h("div", { class: "card" }, h("h2", {}, "What you can do here"), h("ul", {},
    h("li", {}, h("a", { href: "#/collections" }, "Collections"), ": create them, upload photos, browse faces, group users."),
    h("li", {}, h("a", { href: "#/search" }, "Search"), ": drop a photo, pick a face, see who matches."),
    h("li", {}, h("a", { href: "#/compare" }, "Compare & detect"), ": two photos side by side, boxes, landmarks, quality."),
    h("li", {}, h("a", { href: "#/policy" }, "The policy"), ": who may use what, and why."))));
  clear(main, h("h1", {}, `Welcome, ${state.me.name}`), ...sections);
}
