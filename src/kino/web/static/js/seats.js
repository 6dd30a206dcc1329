// The seat picker: a running total of the chosen seats, arrow keys to move between seats, and
// live seat states. Every few seconds it reads the showtime's seat map from the API and changes
// the seats in place (taken ones become unavailable), so the visitor's choice and focus stay;
// a chosen seat that someone else took is let go, and the visitor is told which.

const POLL_MS = 3000;
const STATE_NAMES = { held: "held by someone else", sold: "sold", blocked: "not in use" };

const form = document.querySelector("[data-seat-picker]");
const inputs = form ? [...form.querySelectorAll(".seat-input")] : [];
const byName = new Map(inputs.map((input) => [input.value, input]));
const totalLine = form?.querySelector("[data-seat-total]");
const alertLine = form?.querySelector("[data-seat-alert]");
const freeCount = form?.querySelector("[data-free-count]");
const onSale = Boolean(form?.querySelector("[data-hold-button]"));

function formatMoney(amount) {
  const exponent = Number(form.dataset.exponent);
  const whole = exponent ? (amount / 10 ** exponent).toFixed(exponent) : String(amount);
  return `${whole} ${form.dataset.currency}`;
}

function chosen() {
  return inputs.filter((input) => input.checked);
}

function showTotal() {
  const seats = chosen();
  if (!seats.length) {
    totalLine.textContent = "No seats chosen yet.";
    return;
  }
  const total = seats.reduce((sum, input) => sum + Number(input.dataset.price), 0);
  const names = seats.map((input) => input.value).join(", ");
  const count = seats.length === 1 ? "1 seat" : `${seats.length} seats`;
  totalLine.replaceChildren(`${count}: ${names} · `);
  const strong = document.createElement("strong");
  strong.textContent = formatMoney(total);
  totalLine.append(strong);
}

function tell(message) {
  alertLine.textContent = message;
  alertLine.hidden = !message;
}

// --- choosing ----------------------------------------------------------------------------

form?.addEventListener("change", (event) => {
  const input = event.target.closest(".seat-input");
  if (!input) return;
  const most = Number(form.dataset.maxSeats);
  if (input.checked && chosen().length > most) {
    input.checked = false;
    tell(`You can hold up to ${most} seats at a time.`);
  } else {
    tell("");
  }
  showTotal();
});

form?.addEventListener("submit", (event) => {
  if (!chosen().length) {
    event.preventDefault();
    tell("Choose at least one seat on the map first.");
  }
});

// --- the keyboard: arrows move between seats, as in the hall ------------------------------

function usable(input) {
  return input && !input.disabled;
}

function rowOf(input) {
  return inputs.filter((other) => other.dataset.row === input.dataset.row);
}

function sideways(input, step) {
  const row = rowOf(input);
  for (let index = row.indexOf(input) + step; index >= 0 && index < row.length; index += step) {
    if (usable(row[index])) return row[index];
  }
  return null;
}

function nextRow(input, step) {
  const rows = [...new Set(inputs.map((other) => other.dataset.row))];
  const position = Number(input.dataset.position);
  for (let index = rows.indexOf(input.dataset.row) + step; index >= 0 && index < rows.length; index += step) {
    const candidates = inputs.filter((other) => other.dataset.row === rows[index] && usable(other));
    if (candidates.length) {
      const distance = (other) => Math.abs(Number(other.dataset.position) - position);
      return candidates.reduce((best, other) => (distance(other) < distance(best) ? other : best));
    }
  }
  return null;
}

const MOVES = {
  ArrowLeft: (input) => sideways(input, -1),
  ArrowRight: (input) => sideways(input, 1),
  ArrowUp: (input) => nextRow(input, -1),
  ArrowDown: (input) => nextRow(input, 1),
};

form?.addEventListener("keydown", (event) => {
  const input = event.target.closest(".seat-input");
  const move = MOVES[event.key];
  if (!input || !move) return;
  event.preventDefault();
  move(input)?.focus();
});

// --- live seat states --------------------------------------------------------------------

function applySeat(seat) {
  const input = byName.get(seat.name);
  if (!input) return null;
  const free = seat.state === "free" || seat.mine;
  const label = input.nextElementSibling;
  label.classList.remove("state-free", "state-held", "state-sold", "state-blocked", "state-mine");
  label.classList.add(`state-${seat.mine ? "mine" : seat.state}`);
  const name = input.dataset.name;
  input.setAttribute("aria-label", free ? name : `${name}, ${STATE_NAMES[seat.state]}`);
  label.title = input.getAttribute("aria-label");
  let lost = null;
  if (!free && input.checked) {
    input.checked = false;
    lost = seat.name;
  }
  if (onSale) input.disabled = !free;
  return lost;
}

function applyMap(seatMap) {
  const lost = [];
  for (const row of seatMap.rows) {
    for (const seat of row.seats) {
      const name = applySeat(seat);
      if (name) lost.push(name);
    }
  }
  if (freeCount) freeCount.textContent = String(seatMap.counts.free);
  if (lost.length) {
    const verb = lost.length === 1 ? "was" : "were";
    tell(`Sorry, ${lost.join(", ")} ${verb} just taken by someone else. Choose another seat.`);
    showTotal();
  }
}

let polling = false;

async function refresh() {
  if (polling || document.hidden) return;
  polling = true;
  try {
    const response = await fetch(form.dataset.seatsUrl, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
    });
    if (response.ok) applyMap(await response.json());
  } catch {
    // Offline for a moment: the next round tries again.
  } finally {
    polling = false;
  }
}

if (form) {
  showTotal();
  window.setInterval(refresh, POLL_MS);
  document.addEventListener("visibilitychange", refresh);
  form.dataset.live = "true";
}
