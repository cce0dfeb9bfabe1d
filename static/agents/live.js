// Shared by the console and the wallboard: a WebSocket that comes back, JSON fetches, formatting.

export const LABELS = {
  queued: "Queued",
  ringing: "Ringing",
  answered: "Answered",
  in_progress: "In progress",
  completed: "Completed",
  failed: "Failed",
  no_answer: "No answer",
  busy: "Busy",
  canceled: "Canceled",
};
export const AGENT_LABELS = {
  available: "Available",
  on_call: "On call",
  wrap_up: "Wrap-up",
  paused: "Paused",
  offline: "Offline",
};
export const LIVE = new Set(["queued", "ringing", "answered", "in_progress"]);
const RANK = { queued: 0, ringing: 1, answered: 2, in_progress: 3 };

// Pushes for one call can overtake each other; never let an older state replace a newer one.
export function isStale(incoming, known) {
  return Boolean(known) && (RANK[incoming.status] ?? 4) < (RANK[known.status] ?? 4);
}

const csrfToken = document.querySelector('meta[name="csrf-token"]').content;

export async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  return { ok: response.ok, status: response.status, data: await response.json().catch(() => ({})) };
}

export async function postJSON(url, body) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken },
    body: JSON.stringify(body ?? {}),
  });
  return { ok: response.ok, status: response.status, data: await response.json().catch(() => ({})) };
}

// The server's clock, so timers agree with timestamps the server wrote.
let clockOffset = 0;
export function syncClock(serverNow) {
  if (serverNow) clockOffset = Date.parse(serverNow) - Date.now();
}
export function elapsedSeconds(since) {
  return Math.max(0, Math.floor((Date.now() + clockOffset - Date.parse(since)) / 1000));
}

export function secondsUntil(when) {
  return Math.floor((Date.parse(when) - Date.now() - clockOffset) / 1000);
}

export function formatDuration(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = String(Math.floor((seconds % 3600) / 60)).padStart(2, "0");
  const s = String(seconds % 60).padStart(2, "0");
  return h ? `${h}:${m}:${s}` : `${m}:${s}`;
}

export function formatTime(iso) {
  return iso ? new Date(iso).toLocaleTimeString() : "–";
}

export function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

// Keeps one socket open. After every (re)connect `onOpen` runs, so the page re-reads the
// state it may have missed: the channel layer delivers at most once.
export function liveSocket(path, { onMessage, onOpen }) {
  const banner = document.getElementById("connection");
  let failures = 0;
  let heartbeat = null;

  function open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${path}`);
    socket.addEventListener("open", () => {
      failures = 0;
      banner.hidden = true;
      document.body.dataset.socket = "open";
      heartbeat = setInterval(() => socket.send(JSON.stringify({ type: "ping" })), 25000);
      onOpen();
    });
    socket.addEventListener("message", (event) => onMessage(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      clearInterval(heartbeat);
      document.body.dataset.socket = "closed";
      if (event.code === 4401) {
        location.assign(`/accounts/login/?next=${encodeURIComponent(location.pathname)}`);
        return;
      }
      if (event.code === 4403) {
        banner.textContent = "This login may not receive live updates here.";
        banner.hidden = false;
        return;
      }
      banner.textContent = "reconnecting…";
      banner.hidden = false;
      const ceiling = Math.min(30000, 500 * 2 ** failures);
      failures += 1;
      setTimeout(open, ceiling / 2 + Math.random() * (ceiling / 2));
    });
  }

  open();
}
