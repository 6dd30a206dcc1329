// Kino's small enhancements on every page. Everything works without them; they make it quicker.

const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

// htmx requests carry the page's CSRF token, as forms do in their hidden field.
document.addEventListener("htmx:configRequest", (event) => {
  event.detail.headers["X-CSRF-Token"] = csrfToken;
});

// Menus built on <details>: close on Escape and on a click elsewhere.
function closeMenus(except) {
  for (const menu of document.querySelectorAll("details[data-menu][open]")) {
    if (menu !== except) menu.open = false;
  }
}
document.addEventListener("click", (event) => {
  closeMenus(event.target.closest("details[data-menu]"));
  if (!event.target.closest("[data-search]")) hideSuggestions();
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const open = document.querySelector("details[data-menu][open]");
  if (open) {
    open.open = false;
    open.querySelector("summary")?.focus();
  }
});

// Search as you type: the suggestions (fetched by htmx) are reached with the arrow keys.
const searchForm = document.querySelector("[data-search]");
const searchInput = searchForm?.querySelector("input[type=search]");
const suggestions = document.getElementById("search-suggestions");

function hideSuggestions() {
  if (suggestions) suggestions.replaceChildren();
}

function suggestionLinks() {
  return suggestions ? [...suggestions.querySelectorAll("a")] : [];
}

searchForm?.addEventListener("keydown", (event) => {
  const links = suggestionLinks();
  if (event.key === "Escape") {
    hideSuggestions();
    searchInput.focus();
    return;
  }
  if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
  if (!links.length) return;
  event.preventDefault();
  const index = links.indexOf(document.activeElement);
  if (event.key === "ArrowDown") {
    links[Math.min(index + 1, links.length - 1)].focus();
  } else if (index <= 0) {
    searchInput.focus();
  } else {
    links[index - 1].focus();
  }
});

searchInput?.addEventListener("input", () => {
  if (!searchInput.value.trim()) hideSuggestions();
});

// Selects marked data-autosubmit send their form when changed (filters, sorting, ratings).
document.addEventListener("change", (event) => {
  const select = event.target.closest("[data-autosubmit]");
  if (select?.form) select.form.requestSubmit();
});

// Plain forms marked data-confirm ask first (htmx forms use hx-confirm).
document.addEventListener("submit", (event) => {
  const question = event.target.dataset?.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

// Disclosures marked data-collapse-narrow (the browse filters) start closed on a phone.
if (window.matchMedia("(max-width: 860px)").matches) {
  for (const box of document.querySelectorAll("details[data-collapse-narrow]")) box.open = false;
}
