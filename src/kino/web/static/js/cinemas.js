// Cinemas near me: asks the browser for its position and reloads the list sorted by distance
// (?near=LAT,LON). Without this script, or without geolocation, the city filter still works.

const button = document.querySelector("[data-near-me]");
const status = document.querySelector("[data-near-status]");

function nearUrl(position) {
  const { latitude, longitude } = position.coords;
  const kept = new URLSearchParams(window.location.search);
  kept.delete("near");
  kept.delete("page");
  const rest = kept.toString();
  // The comma as it is, for an address a person can read.
  return `/cinemas?near=${latitude.toFixed(4)},${longitude.toFixed(4)}${rest ? `&${rest}` : ""}`;
}

function failed(error) {
  button.disabled = false;
  status.textContent =
    error.code === error.PERMISSION_DENIED
      ? "Your browser did not share your position. Choose a city instead."
      : "Your position could not be found. Choose a city instead.";
}

if (button && "geolocation" in navigator) {
  button.hidden = false;
  button.addEventListener("click", () => {
    button.disabled = true;
    status.textContent = "Finding your position…";
    navigator.geolocation.getCurrentPosition(
      (position) => window.location.assign(nearUrl(position)),
      failed,
      { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 },
    );
  });
}
