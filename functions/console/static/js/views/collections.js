// Collections: list with face/user counts, create, delete with a confirmation naming what is erased.
import { allowed, refusalPanel, state } from "../access.js";
import { clear, confirmDialog, errorBox, h } from "../dom.js";

export async function collectionsView(main) {
  if (!allowed("manage")) {
    clear(main, h("h1", {}, "Collections"), refusalPanel("manage", "Managing collections"));
    return;
  }
  const status = h("div", { "aria-live": "polite", id: "collections-status" });
  const list = h("div", { class: "table-wrap" });
  const input = h("input", { id: "new-collection", type: "text", required: true, pattern: "[a-zA-Z0-9_.\\-]{1,255}",
    "aria-describedby": "new-collection-hint", autocomplete: "off" });
  const form = h("form", { class: "card", id: "create-collection" },
    h("h2", {}, "New collection"),
    h("label", { for: "new-collection" }, "Collection id"),
    h("div", { class: "row" }, input, h("button", { type: "submit" }, "Create")),
    h("p", { id: "new-collection-hint", class: "hint" }, "Letters, digits, '.', '_' and '-'; up to 255 characters."));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await state.api.createCollection(input.value.trim());
      clear(status, h("p", {}, `Collection ${input.value.trim()} created.`));
      input.value = "";
      await refresh();
    } catch (err) {
      clear(status, errorBox(err, "Could not create the collection"));
    }
  });

  async function refresh() {
    const rows = await state.api.allCollections();
    if (!rows.length) {
      clear(list, h("p", {}, "No collections yet: create one below."));
      return;
    }
    clear(list, h("table", { id: "collections" },
      h("caption", { class: "visually-hidden" }, "Your collections"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Collection"), h("th", { scope: "col" }, "Faces"),
        h("th", { scope: "col" }, "Users"), h("th", { scope: "col" }, "Created"), h("th", { scope: "col" }, "Actions"))),
      h("tbody", {}, rows.map((c) => h("tr", { "data-collection": c.collection_id },
        h("td", {}, h("a", { href: `#/collections/${encodeURIComponent(c.collection_id)}` }, c.collection_id)),
        h("td", { class: "face-count" }, String(c.face_count)),
        h("td", {}, String(c.user_count)),
        h("td", {}, (c.created_at || "").slice(0, 19).replace("T", " ")),
        h("td", {}, h("button", { type: "button", class: "danger", "aria-label": `Delete collection ${c.collection_id}`,
          onclick: () => remove(c) }, "Delete")))))));
  }

  async function remove(c) {
    const ok = await confirmDialog(`Delete collection ${c.collection_id}?`, [
      `This erases ${c.face_count} face${c.face_count === 1 ? "" : "s"}, ${c.user_count} user${c.user_count === 1 ? "" : "s"}, `
        + "the indexing status of every photo and the collection's search index.",
      "It cannot be undone."], "Delete collection");
    if (!ok) return;
    try {
      await state.api.deleteCollection(c.collection_id);
      clear(status, h("p", {}, `Collection ${c.collection_id} deleted.`));
      await refresh();
    } catch (err) {
      clear(status, errorBox(err, "Could not delete the collection"));
    }
  }

  clear(main, h("h1", {}, "Collections"), status, list, form);
  try {
    await refresh();
  } catch (err) {
    clear(list, errorBox(err, "Could not list the collections"));
  }
}
