// Sign in with an API key: a password field, kept in sessionStorage only (cleared by sign-out).
import { clear, errorBox, h } from "../dom.js";

export function signInView(main, signIn) {
  const input = h("input", { id: "api-key", name: "api-key", type: "password", autocomplete: "off",
    spellcheck: "false", required: true, "aria-describedby": "api-key-hint" });
  const status = h("div", { "aria-live": "polite" });
  const button = h("button", { type: "submit", id: "signin-submit" }, "Sign in");
  const form = h("form", { class: "card", novalidate: true },
    h("label", { for: "api-key" }, "API key"),
    h("div", { class: "row" }, input, button),
    h("p", { id: "api-key-hint", class: "hint" },
      "The key stays in this browser tab (sessionStorage) and is sent only to this service's API. "
      + "Sign out, or close the tab, to forget it."),
    status);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const key = input.value.trim();
    if (!key) {
      clear(status, errorBox({ code: "API_KEY_MISSING", message: "Type your API key." }));
      input.focus();
      return;
    }
    button.disabled = true;
    clear(status, h("p", {}, "Checking the key…"));
    try {
      await signIn(key);
      input.value = "";
      location.hash = "#/";
    } catch (err) {
      clear(status, errorBox(err, "Sign-in failed"));
      input.focus();
    } finally {
      button.disabled = false;
    }
  });
  clear(main, h("h1", {}, "Sign in"), form,
    h("p", {}, "No key? Your administrator creates one with ",
      h("code", {}, "facesearch admin keys create"), ". Anyone may ", h("a", { href: "#/policy" }, "read the policy"), "."));
  input.focus();
}
