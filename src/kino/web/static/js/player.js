// The watch page's player: HLS through hls.js wherever Media Source Extensions exist, the
// browser's own HLS otherwise (Safari on iOS). Quality and subtitle menus, storyboard previews
// over the seek bar, keyboard controls, and the viewer's position saved every few seconds, on
// pause and on leaving, so the film resumes where it was left.

const root = document.querySelector("[data-player]");
if (root) startPlayer(root);

function startPlayer(root) {
  const video = root.querySelector("video");
  const data = root.dataset;
  const resumeAt = Number.parseFloat(data.resume) || 0;
  const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
  const ui = controls(root, video);
  const menus = {
    quality: menu(root.querySelector('[data-menu-kind="quality"]')),
    subtitles: menu(root.querySelector('[data-menu-kind="subtitles"]')),
  };
  const engine = attach(video, data.master, resumeAt, data.hlsWorker, ui, menus);
  if (!engine) return;
  storyboard(root, video, data.storyboard);
  keyboard(root, video, ui, engine);
  saveProgress(video, data.progressUrl, Number(data.progressInterval) || 10, csrfToken);
}

// --- playback engines ------------------------------------------------------------------------

function attach(video, master, resumeAt, workerPath, ui, menus) {
  const Hls = window.Hls;
  if (window.MediaSource && Hls && Hls.isSupported()) return attachHlsJs(Hls, video, master, resumeAt, workerPath, ui, menus);
  if (video.canPlayType("application/vnd.apple.mpegurl")) return attachNative(video, master, resumeAt, menus);
  ui.fail("This browser cannot play streaming video. Try a recent Firefox, Chrome, Edge or Safari.");
  return null;
}

function attachHlsJs(Hls, video, master, resumeAt, workerPath, ui, menus) {
  const hls = new Hls({ workerPath, startPosition: resumeAt > 0 ? resumeAt : -1 });
  const root = video.closest("[data-player]");
  let recoveries = 0;
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    qualityMenu(hls, menus.quality);
    ui.play(); // where the browser allows it; otherwise the big play button waits
  });
  // The subtitle tracks are known once the first variant's subtitle group is chosen.
  hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, (_event, { subtitleTracks }) => {
    subtitleMenu(menus.subtitles, subtitleTracks.map((track) => track.name || track.lang), (index) => {
      hls.subtitleTrack = index;
      hls.subtitleDisplay = index >= 0;
    });
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (_event, { level }) => {
    const height = hls.levels[level]?.height;
    root.dataset.level = height ? String(height) : "";
    const name = qualityName(hls.levels[level]);
    menus.quality.label(hls.autoLevelEnabled ? `Auto${name ? ` (${name})` : ""}` : name);
  });
  hls.on(Hls.Events.ERROR, (_event, error) => {
    if (!error.fatal) return;
    if (recoveries < 2 && error.type === Hls.ErrorTypes.MEDIA_ERROR) {
      recoveries += 1;
      hls.recoverMediaError();
    } else if (recoveries < 2 && error.type === Hls.ErrorTypes.NETWORK_ERROR) {
      recoveries += 1;
      hls.startLoad();
    } else {
      hls.destroy();
      ui.fail("The video could not be loaded. Check your connection and reload the page.");
    }
  });
  hls.loadSource(master);
  hls.attachMedia(video);
  return {
    toggleSubtitles() {
      if (!hls.subtitleTracks.length) return;
      menus.subtitles.choose(hls.subtitleTrack >= 0 ? -1 : 0);
    },
  };
}

function attachNative(video, master, resumeAt, menus) {
  video.src = master;
  menus.quality.label("Auto");
  menus.quality.disable();
  video.addEventListener(
    "loadedmetadata",
    () => {
      if (resumeAt > 0) video.currentTime = resumeAt;
      video.play().catch(() => {});
    },
    { once: true },
  );
  // Safari lists the playlist's subtitle renditions as text tracks, as it finds them.
  const listTracks = () => {
    const tracks = [...video.textTracks].filter((track) => track.kind === "subtitles" || track.kind === "captions");
    subtitleMenu(menus.subtitles, tracks.map((track) => track.label || track.language), (index) => {
      tracks.forEach((track, i) => {
        track.mode = i === index ? "showing" : "disabled";
      });
    });
  };
  video.textTracks.addEventListener("addtrack", listTracks);
  video.addEventListener("loadedmetadata", listTracks, { once: true });
  return {
    toggleSubtitles() {
      const tracks = [...video.textTracks];
      if (!tracks.length) return;
      menus.subtitles.choose(tracks.some((track) => track.mode === "showing") ? -1 : 0);
    },
  };
}

// A quality is named by the picture's short side, as the ladder names its rungs: a vertical
// 1080x1920 video is "1080p", not "1920p".
function qualityName(level) {
  if (!level?.height) return "";
  return `${level.width ? Math.min(level.width, level.height) : level.height}p`;
}

function qualityMenu(hls, qualityMenu) {
  const rungs = hls.levels
    .map((level, index) => ({ index, height: level.height, bitrate: level.bitrate, name: qualityName(level) }))
    .sort((a, b) => b.height - a.height || b.bitrate - a.bitrate);
  const options = [{ label: "Auto", value: -1 }, ...rungs.map((rung) => ({ label: rung.name, value: rung.index }))];
  qualityMenu.fill(options, -1, (value) => {
    hls.currentLevel = value; // -1 hands the choice back to the bandwidth estimate
    const chosen = options.find((option) => option.value === value);
    qualityMenu.label(chosen.label);
  });
}

function subtitleMenu(subtitles, names, select) {
  subtitles.show(names.length > 0);
  if (!names.length) return;
  const options = [{ label: "Off", value: -1 }, ...names.map((name, index) => ({ label: name, value: index }))];
  subtitles.fill(options, -1, select);
}

// --- controls --------------------------------------------------------------------------------

function controls(root, video) {
  const seek = root.querySelector("[data-seek]");
  const volume = root.querySelector("[data-volume]");
  const current = root.querySelector("[data-current]");
  const total = root.querySelector("[data-total]");
  const toggle = root.querySelector('[data-action="toggle"]');
  const mute = root.querySelector('[data-action="mute"]');
  const message = root.querySelector(".player-message");
  let dragging = false;
  let idleTimer = 0;

  const play = () => video.play().catch(() => {});
  const togglePlay = () => (video.paused || video.ended ? play() : video.pause());

  root.querySelector('[data-action="play"]').addEventListener("click", play);
  toggle.addEventListener("click", togglePlay);
  video.addEventListener("click", togglePlay);
  video.addEventListener("dblclick", () => toggleFullscreen(root));
  root.querySelector('[data-action="fullscreen"]').addEventListener("click", () => toggleFullscreen(root));
  mute.addEventListener("click", () => {
    video.muted = !video.muted;
  });
  volume.addEventListener("input", () => {
    video.volume = Number(volume.value);
    video.muted = video.volume === 0;
  });

  seek.addEventListener("input", () => {
    dragging = true;
    current.textContent = clock(Number(seek.value));
  });
  seek.addEventListener("change", () => {
    dragging = false;
    video.currentTime = Number(seek.value);
  });

  video.addEventListener("durationchange", () => {
    if (Number.isFinite(video.duration)) {
      seek.max = String(video.duration);
      total.textContent = clock(video.duration);
    }
  });
  video.addEventListener("timeupdate", () => {
    if (dragging) return;
    seek.value = String(video.currentTime);
    current.textContent = clock(video.currentTime);
    seek.setAttribute("aria-valuetext", `${clock(video.currentTime)} of ${total.textContent}`);
  });
  video.addEventListener("play", () => setPlaying(true));
  video.addEventListener("pause", () => setPlaying(false));
  video.addEventListener("ended", () => setPlaying(false));
  video.addEventListener("waiting", () => root.classList.add("waiting"));
  for (const ready of ["playing", "canplay", "seeked"]) {
    video.addEventListener(ready, () => root.classList.remove("waiting"));
  }
  video.addEventListener("volumechange", () => {
    const silent = video.muted || video.volume === 0;
    icon(mute, silent ? "muted" : "volume");
    mute.setAttribute("aria-label", silent ? "Unmute" : "Mute");
    volume.value = String(video.muted ? 0 : video.volume);
  });
  video.addEventListener("error", () => fail("The video could not be played."));

  root.addEventListener("pointermove", wake);
  root.addEventListener("focusin", wake);

  function wake() {
    root.classList.remove("idle");
    window.clearTimeout(idleTimer);
    idleTimer = window.setTimeout(() => {
      const menuOpen = root.querySelector('[role="menu"]:not([hidden])');
      const active = document.activeElement;
      const focused = active !== root && root.contains(active) && active.matches(":focus-visible");
      if (!menuOpen && !focused) root.classList.add("idle");
    }, 2500);
  }

  function setPlaying(playing) {
    root.classList.toggle("playing", playing);
    root.dataset.state = playing ? "playing" : "paused";
    icon(toggle, playing ? "pause" : "play");
    toggle.setAttribute("aria-label", playing ? "Pause" : "Play");
    if (playing) wake();
  }

  function fail(text) {
    message.textContent = text;
    message.hidden = false;
    root.classList.add("failed");
  }

  return { play, togglePlay, fail };
}

function icon(button, name) {
  button.querySelector("use")?.setAttribute("href", `#i-${name}`);
}

function toggleFullscreen(root) {
  if (document.fullscreenElement) document.exitFullscreen();
  else root.requestFullscreen?.().catch(() => {});
}

// A menu of radio items under a button (quality, subtitles).
function menu(container) {
  const button = container.querySelector("[data-menu-button]");
  const list = container.querySelector('[role="menu"]');
  let onSelect = () => {};

  const open = (shown) => {
    list.hidden = !shown;
    button.setAttribute("aria-expanded", String(shown));
    if (shown) list.querySelector('[aria-checked="true"]')?.focus();
  };
  button.addEventListener("click", () => open(list.hidden));
  list.addEventListener("keydown", (event) => {
    const items = [...list.querySelectorAll("[role=menuitemradio]")];
    const index = items.indexOf(document.activeElement);
    if (event.key === "Escape") {
      open(false);
      button.focus();
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      items[(index + step + items.length) % items.length]?.focus();
    } else {
      return;
    }
    event.stopPropagation();
  });
  document.addEventListener("click", (event) => {
    if (!container.contains(event.target)) open(false);
  });

  const api = {
    fill(options, checked, select) {
      onSelect = select;
      list.replaceChildren(
        ...options.map((option) => {
          const item = document.createElement("button");
          item.type = "button";
          item.setAttribute("role", "menuitemradio");
          item.dataset.value = String(option.value);
          item.setAttribute("aria-checked", String(option.value === checked));
          item.textContent = option.label;
          item.addEventListener("click", () => {
            api.choose(option.value);
            open(false);
            button.focus();
          });
          return item;
        }),
      );
    },
    choose(value) {
      for (const item of list.children) item.setAttribute("aria-checked", String(item.dataset.value === String(value)));
      onSelect(value);
    },
    label(text) {
      if (container.dataset.menuKind === "quality") button.textContent = text;
    },
    disable() {
      button.disabled = true;
    },
    show(shown) {
      container.hidden = !shown;
    },
  };
  return api;
}

// --- storyboard previews ---------------------------------------------------------------------

async function storyboard(root, video, url) {
  if (!url) return;
  const seek = root.querySelector(".seek");
  const preview = root.querySelector(".preview");
  const label = preview.querySelector("span");
  let tiles;
  try {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) return;
    tiles = parseStoryboard(await response.text(), new URL(url, window.location.href));
  } catch {
    return;
  }
  if (!tiles.length) return;
  seek.addEventListener("pointermove", (event) => {
    const duration = Number.isFinite(video.duration) ? video.duration : Number(root.dataset.duration);
    if (!duration) return;
    const box = seek.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    const time = fraction * duration;
    const tile = tiles.find((candidate) => time >= candidate.start && time < candidate.end) ?? tiles[tiles.length - 1];
    preview.style.width = `${tile.w}px`;
    preview.style.height = `${tile.h}px`;
    preview.style.backgroundImage = `url("${tile.image}")`;
    preview.style.backgroundPosition = `-${tile.x}px -${tile.y}px`;
    const half = tile.w / 2;
    preview.style.left = `${Math.min(box.width - half, Math.max(half, event.clientX - box.left))}px`;
    label.textContent = clock(time);
    preview.classList.add("shown");
  });
  seek.addEventListener("pointerleave", () => preview.classList.remove("shown"));
}

function parseStoryboard(text, base) {
  const tiles = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i += 1) {
    const timing = lines[i].match(/^(\S+)\s+-->\s+(\S+)/);
    const target = lines[i + 1]?.match(/^(.+)#xywh=(\d+),(\d+),(\d+),(\d+)$/);
    if (!timing || !target) continue;
    const [, image, x, y, w, h] = target;
    tiles.push({
      start: seconds(timing[1]),
      end: seconds(timing[2]),
      image: new URL(image, base).href,
      x: Number(x),
      y: Number(y),
      w: Number(w),
      h: Number(h),
    });
  }
  return tiles;
}

function seconds(timestamp) {
  return timestamp.split(":").reduce((total, part) => total * 60 + Number.parseFloat(part), 0);
}

// --- keyboard --------------------------------------------------------------------------------

function keyboard(root, video, ui, engine) {
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest?.("input:not([type=range]), textarea, select, [contenteditable], [role=menu]")) return;
    if (target.matches?.("#volume-bar")) return; // its arrows change the volume natively
    if (target.tagName === "BUTTON" && (event.key === " " || event.key === "Enter")) return;
    const duration = Number.isFinite(video.duration) ? video.duration : 0;
    const seekBy = (delta) => {
      video.currentTime = Math.min(Math.max(0, video.currentTime + delta), duration || Infinity);
    };
    const handled = {
      " ": () => ui.togglePlay(),
      k: () => ui.togglePlay(),
      ArrowLeft: () => seekBy(-5),
      ArrowRight: () => seekBy(5),
      j: () => seekBy(-10),
      l: () => seekBy(10),
      ArrowUp: () => {
        video.muted = false;
        video.volume = Math.min(1, video.volume + 0.1);
      },
      ArrowDown: () => {
        video.volume = Math.max(0, video.volume - 0.1);
      },
      m: () => {
        video.muted = !video.muted;
      },
      f: () => toggleFullscreen(root),
      c: () => engine.toggleSubtitles(),
      Home: () => {
        video.currentTime = 0;
      },
    }[event.key.length === 1 ? event.key.toLowerCase() : event.key];
    if (handled) {
      event.preventDefault();
      handled();
    } else if (/^[0-9]$/.test(event.key) && duration) {
      event.preventDefault();
      video.currentTime = (Number(event.key) / 10) * duration;
    }
  });
}

// --- progress --------------------------------------------------------------------------------

function saveProgress(video, url, intervalSeconds, csrfToken) {
  if (!url) return; // signed out: nothing to keep
  let saved = -1;
  const save = (leaving = false) => {
    const position = Math.round(video.currentTime * 10) / 10;
    if (!Number.isFinite(position) || position <= 0 || Math.abs(position - saved) < 0.5) return;
    saved = position;
    fetch(url, {
      method: "PUT",
      credentials: "same-origin",
      keepalive: leaving, // lets the request outlive the page
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken },
      body: JSON.stringify({ position_seconds: position }),
    }).catch(() => {
      saved = -1; // try again next time
    });
  };
  window.setInterval(() => {
    if (!video.paused) save();
  }, intervalSeconds * 1000);
  video.addEventListener("pause", () => save());
  video.addEventListener("ended", () => save());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") save(true);
  });
  window.addEventListener("pagehide", () => save(true));
}

function clock(value) {
  const total = Math.max(0, Math.floor(value || 0));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
}
