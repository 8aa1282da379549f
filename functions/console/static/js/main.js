// The console's entry point: sign-in state, the hash router, the header.
import { Api, ApiError, session } from "./api.js";
import { renderWho, state } from "./access.js";
import { clear, errorBox, h } from "./dom.js";
import { collectionsView } from "./views/collections.js";
import { collectionView } from "./views/collection.js";
import { compareView } from "./views/compare.js";
import { homeView } from "./views/home.js";
import { policyView } from "./views/policy.js";
import { searchView } from "./views/search.js";
import { signInView } from "./views/signin.js";

const main = document.getElementById("main");
const who = document.getElementById("who");
const accessEl = document.getElementById("access");

async function loadMe() {
  const key = session.key();
  if (!key) { state.api = null; state.me = null; return; }
  state.api = new Api(key);
  state.me = await state.api.me();
}

function signOut() {
  session.signOut();
  state.api = null;
  state.me = null;
  renderWho(who, accessEl, signOut);
  location.hash = "#/signin";
}

export async function signIn(key) {
  session.signIn(key);
  try {
    await loadMe();
  } catch (err) {
    session.signOut();
    state.api = null;
    state.me = null;
    throw err;
  }
  renderWho(who, accessEl, signOut);
}

const routes = [
  [/^#\/signin$/, () => signInView(main, signIn), false],
  [/^#\/policy$/, () => policyView(main, new Api(null)), false],
  [/^#\/collections$/, () => collectionsView(main), true],
  [/^#\/collections\/([^/]+)$/, (m) => collectionView(main, decodeURIComponent(m[1])), true],
  [/^#\/search$/, () => searchView(main), true],
  [/^#\/compare$/, () => compareView(main), true],
  [/^#?\/?$/, () => homeView(main), true],
];

async function route() {
  const hash = location.hash || "#/";
  for (const link of document.querySelectorAll("#nav a")) {
    if (hash.startsWith(link.getAttribute("href"))) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  for (const [pattern, view, needsKey] of routes) {
    const m = hash.match(pattern);
    if (!m) continue;
    if (needsKey && !state.me) {
      location.replace("#/signin");
      return;
    }
    try {
      await view(m);
    } catch (err) {
      clear(main, h("h1", {}, "Something went wrong"), errorBox(err));
    }
    if (!main.contains(document.activeElement)) main.focus({ preventScroll: true });  // for screen readers
    return;
  }
  clear(main, h("h1", {}, "Not found"), h("p", {}, "No such page. ", h("a", { href: "#/" }, "Home")));
}

async function start() {
  try {
    await loadMe();
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403) && !err.ruleId) session.signOut();
    state.me = null;
    state.api = null;
  }
  renderWho(who, accessEl, signOut);
  window.addEventListener("hashchange", route);
  await route();
}

start();
