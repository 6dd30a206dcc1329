// Checkout: counts down the seat hold, and when it runs out says so and leads back to the seat
// map instead of letting a card be sent for seats that are no longer held. The pay button is
// disabled once pressed, so a double click sends one payment (the idempotency key in the form
// would make it one order anyway).

const countdown = document.querySelector("[data-countdown]");
const clock = countdown?.querySelector("[data-countdown-clock]");
const expiredNotice = document.querySelector("[data-countdown-expired]");
const payForm = document.querySelector("[data-pay-form]");
const payButton = payForm?.querySelector("[data-pay-button]");

function formatClock(seconds) {
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${String(seconds % 60).padStart(2, "0")}`;
}

function expire() {
  countdown.hidden = true;
  expiredNotice.hidden = false;
  if (payButton) payButton.disabled = true;
}

if (countdown && clock) {
  // The server's count of seconds left, from when the page arrived: immune to a wrong clock.
  const deadline = performance.now() + Number(countdown.dataset.secondsLeft) * 1000;
  const tick = () => {
    const left = Math.max(0, Math.round((deadline - performance.now()) / 1000));
    clock.textContent = formatClock(left);
    if (left === 0) {
      window.clearInterval(timer);
      expire();
    } else if (left === 60) {
      countdown.setAttribute("aria-live", "polite");
    }
  };
  const timer = window.setInterval(tick, 1000);
  tick();
}

payForm?.addEventListener("submit", (event) => {
  if (payButton.disabled) {
    event.preventDefault();
    return;
  }
  // After this submit has gone: disabling first would leave the button out of the form data.
  window.setTimeout(() => {
    payButton.disabled = true;
    payButton.textContent = "Paying…";
  });
});
