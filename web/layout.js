// layout.js — shows and hides the side columns (conversations, settings &
// models). Wide screens have three columns, each side one toggled from the
// top bar. Narrow screens (NARROW) have the chat alone; a side column opens
// as an overlay over it, one at a time, closed by its ✕, the backdrop,
// Escape or its toggle. Crossing the breakpoint either way closes the
// overlays and restores the wide columns as the user left them, so a resize
// never leaves a panel over the chat.

const NARROW = window.matchMedia("(max-width: 900px)");

const app = document.getElementById("app");
const backdrop = document.getElementById("backdrop");
const SIDES = {
  sidebar: { element: document.getElementById("sidebar"), toggle: document.getElementById("toggle-sidebar") },
  panel: { element: document.getElementById("panel"), toggle: document.getElementById("toggle-panel") },
};

const wideHidden = { sidebar: false, panel: false };
let overlay = null; // narrow screens: the open side ("sidebar" or "panel"), or null

function apply() {
  const narrow = NARROW.matches;
  for (const [name, side] of Object.entries(SIDES)) {
    const shown = narrow ? overlay === name : !wideHidden[name];
    side.element.hidden = !shown;
    side.toggle.setAttribute("aria-expanded", String(shown));
    app.classList.toggle(`${name}-hidden`, !shown);
  }
  app.classList.toggle("narrow", narrow);
  backdrop.hidden = !(narrow && overlay);
}

function toggle(name) {
  if (NARROW.matches) overlay = overlay === name ? null : name;
  else wideHidden[name] = !wideHidden[name];
  apply();
}

function closeOverlay() {
  overlay = null;
  apply();
}

export function startLayout() {
  for (const name of Object.keys(SIDES)) SIDES[name].toggle.addEventListener("click", () => toggle(name));
  // The ✕ buttons show on narrow screens only (style.css).
  for (const button of document.querySelectorAll("[data-close]")) button.addEventListener("click", closeOverlay);
  backdrop.addEventListener("click", closeOverlay);
  // Opening a conversation from the overlay shows it.
  SIDES.sidebar.element.addEventListener("click", (event) => {
    if (NARROW.matches && event.target.closest("#new-chat, .conversation-open")) closeOverlay();
  });
  // Capture phase: Escape closes an open overlay before it stops a reply.
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && NARROW.matches && overlay && !document.querySelector("dialog[open]")) {
      event.stopImmediatePropagation();
      closeOverlay();
    }
  }, true);
  NARROW.addEventListener("change", closeOverlay);
  apply();
}
