// The staff video page (/admin/movies/{id}/media): a new video goes to the tus endpoint with
// tus-js-client, in chunks, retried after a dropped connection and resumed after a reload (the
// file's fingerprint and its upload's URL are kept in localStorage until it completes). Once it
// is complete the upload is attached to the film, and the processing panel that answers
// follows the job (htmx polls it).

const CHUNK_BYTES = 8 * 1024 * 1024;
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000];
const STATUS_EVERY_MS = 1000; // how often the spoken status may change while uploading
const SPEED_WINDOW_MS = 4000;

const root = document.querySelector("[data-upload]");
if (root) startUploader(root, window.tus);

function startUploader(root, tus) {
  const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
  const input = root.querySelector("[data-upload-file]");
  const startButton = root.querySelector("[data-upload-start]");
  const pauseButton = root.querySelector("[data-upload-pause]");
  const progress = root.querySelector("[data-upload-progress]");
  const bar = progress.querySelector("progress");
  const percent = root.querySelector("[data-upload-percent]");
  const status = root.querySelector("[data-upload-status]");
  const form = root.querySelector("[data-attach-form]");
  const say = (text) => {
    status.textContent = text;
  };
  let upload = null;
  let paused = false;

  if (!tus?.isSupported) {
    say("This browser cannot upload in pieces. Use a recent Firefox, Chrome, Edge or Safari.");
    input.disabled = true;
    return;
  }
  unfinishedUploads(tus).then((names) => {
    if (names.length && !upload) say(`An upload of ${names.join(", ")} did not finish: choose the file again to resume it.`);
  });

  input.addEventListener("change", () => {
    const file = input.files[0];
    startButton.disabled = !file;
    if (file) say(`${file.name}, ${bytes(file.size)}.`);
  });
  startButton.addEventListener("click", () => {
    if (input.files[0]) begin(input.files[0]);
  });
  pauseButton.addEventListener("click", () => {
    if (!upload) return;
    paused = !paused;
    pauseButton.textContent = paused ? "Resume" : "Pause";
    if (paused) {
      upload.abort(); // keeps the bytes sent: start() goes on from there
      say(`Paused at ${bar.value}%.`);
    } else {
      upload.start();
      say("Resuming…");
    }
  });

  async function begin(file) {
    startButton.disabled = true;
    input.disabled = true;
    pauseButton.hidden = false;
    progress.hidden = false;
    const report = progressReporter(file.size);
    upload = new tus.Upload(file, {
      endpoint: root.dataset.endpoint,
      chunkSize: CHUNK_BYTES,
      retryDelays: RETRY_DELAYS,
      headers: { "X-CSRF-Token": csrfToken },
      metadata: { filename: file.name, filetype: file.type || "application/octet-stream" },
      removeFingerprintOnSuccess: true,
      onProgress: report,
      onError: failed,
      onSuccess: () => attach(upload.url),
    });
    const previous = await upload.findPreviousUploads();
    if (previous.length) {
      upload.resumeFromPreviousUpload(previous[0]);
      say("Resuming the earlier upload of this file…");
    } else {
      say("Uploading…");
    }
    upload.start();
  }

  // The bar follows every chunk's bytes; the spoken status changes at most once a second.
  function progressReporter(total) {
    const samples = [];
    let spokenAt = 0;
    return (sent) => {
      const now = performance.now();
      samples.push([now, sent]);
      while (samples.length > 2 && now - samples[0][0] > SPEED_WINDOW_MS) samples.shift();
      const share = total ? Math.floor((sent / total) * 100) : 100;
      bar.value = share;
      bar.textContent = `${share}%`;
      percent.textContent = `${share}%`;
      if (now - spokenAt < STATUS_EVERY_MS && sent < total) return;
      spokenAt = now;
      const [startedAt, startBytes] = samples[0];
      const seconds = (now - startedAt) / 1000;
      const speed = seconds > 0 ? `, ${bytes((sent - startBytes) / seconds)}/s` : "";
      say(`Uploading: ${share}%, ${bytes(sent)} of ${bytes(total)}${speed}.`);
    };
  }

  function failed(error) {
    const reason = serverMessage(error) || "the connection was lost";
    say(`The upload stopped: ${reason} Choose the file again to resume it.`);
    finish();
  }

  async function attach(url) {
    bar.value = 100;
    percent.textContent = "100%";
    say("Uploaded. Starting the processing…");
    form.querySelector("[data-upload-id]").value = url.split("/").pop();
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { "HX-Request": "true" },
        credentials: "same-origin",
      });
      showJobPanel(await response.text());
      say(response.ok ? "Uploaded. Processing has started." : "Uploaded, but the processing did not start.");
    } catch {
      say("Uploaded, but the processing could not be started: check the connection and reload the page.");
    }
    finish();
  }

  function finish() {
    upload = null;
    paused = false;
    input.disabled = false;
    input.value = "";
    startButton.disabled = true;
    pauseButton.hidden = true;
    pauseButton.textContent = "Pause";
  }
}

// The processing panel from the server replaces the page's, and htmx starts polling it.
function showJobPanel(html) {
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  const fresh = template.content.firstElementChild;
  const panel = document.getElementById("media-job");
  if (!fresh || !panel) return;
  panel.replaceWith(fresh);
  window.htmx?.process(fresh);
}

async function unfinishedUploads(tus) {
  try {
    const stored = await tus.defaultOptions.urlStorage.findAllUploads();
    return stored.map((entry) => entry.metadata?.filename).filter(Boolean);
  } catch {
    return [];
  }
}

// The error the API answered with ({"error": {"message": ...}}), if it answered.
function serverMessage(error) {
  try {
    const body = error.originalResponse?.getBody();
    return body ? JSON.parse(body).error.message : "";
  } catch {
    return "";
  }
}

function bytes(count) {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = count;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(value < 10 && unit ? 1 : 0)} ${units[unit]}`;
}
