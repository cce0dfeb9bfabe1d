// The agent console: start and end calls, watch the current call and recent calls live.
import {
  LABELS, LIVE, isStale, getJSON, postJSON, syncClock, elapsedSeconds, formatDuration, formatTime, cell, liveSocket,
} from "./live.js";

const $ = (id) => document.getElementById(id);
const form = $("dial");
const numberInput = $("customer-number");
const startButton = $("start");
const endButton = $("end");
const errorBox = $("error");
const statusBox = $("status");
const currentNumber = $("current-number");
const timer = $("timer");
const recentBody = $("recent");
const notifications = $("notifications");

const RECENT_SHOWN = 20;
let agentId = null;
let current = null; // the live call, if any
let lastEnded = null; // the call that just ended, shown until the next one starts
let pending = false; // a Start or End request is in flight
const calls = new Map(); // request_uuid -> newest known state

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

function apply(call) {
  if (agentId !== null && call.agent_id !== agentId) return;
  if (isStale(call, calls.get(call.request_uuid))) return;
  calls.set(call.request_uuid, call);
  if (LIVE.has(call.status)) {
    current = call;
    lastEnded = null;
  } else if (!current || current.request_uuid === call.request_uuid) {
    current = null;
    lastEnded = call;
  }
  render();
}

function resync(state) {
  syncClock(state.now);
  agentId = state.agent.id;
  calls.clear();
  for (const call of state.recent) calls.set(call.request_uuid, call);
  const previous = current || lastEnded;
  current = state.current;
  lastEnded = !current && previous ? calls.get(previous.request_uuid) || null : null;
  if (current) calls.set(current.request_uuid, current);
  render();
}

async function refresh() {
  const response = await getJSON("/console/state");
  if (response.ok) resync(response.data);
}

function render() {
  const shown = current || lastEnded;
  if (current) {
    statusBox.textContent = LABELS[current.status];
    statusBox.dataset.status = current.status;
  } else if (lastEnded) {
    statusBox.textContent = `Ended: ${LABELS[lastEnded.status]}`;
    statusBox.dataset.status = "ended";
  } else {
    statusBox.textContent = "Idle";
    statusBox.dataset.status = "idle";
  }
  currentNumber.textContent = shown ? shown.to : "–";
  startButton.disabled = pending || Boolean(current);
  endButton.disabled = pending || !current;
  tick();

  const rows = [...calls.values()]
    .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at))
    .slice(0, RECENT_SHOWN)
    .map((call) => {
      const row = document.createElement("tr");
      row.dataset.requestUuid = call.request_uuid;
      const duration = LIVE.has(call.status) ? "–" : formatDuration(call.duration);
      row.append(cell(formatTime(call.started_at || call.created_at)), cell(call.to), cell(LABELS[call.status]), cell(duration));
      return row;
    });
  recentBody.replaceChildren(...rows);
}

function tick() {
  if (current) {
    timer.textContent = formatDuration(elapsedSeconds(current.answered_at || current.started_at || current.created_at));
  } else {
    timer.textContent = formatDuration(lastEnded ? lastEnded.duration : 0);
  }
}

function notify(notification) {
  const item = document.createElement("li");
  const verb = notification.action === "START" ? "started a call to" : "ended the call with";
  item.textContent = `${formatTime(notification.created_at)} · your CRM ${verb} ${notification.customer_number}`;
  notifications.prepend(item);
  while (notifications.children.length > 5) notifications.lastChild.remove();
}

async function act(url, body) {
  showError("");
  pending = true;
  render();
  try {
    const response = await postJSON(url, body);
    if (response.ok) apply(response.data.call);
    else showError(response.data.message || `Request failed (${response.status})`);
  } catch {
    showError("Could not reach the server; try again.");
  } finally {
    pending = false;
    render();
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  act("/console/start", { customer_number: numberInput.value });
});
endButton.addEventListener("click", () => act("/console/end"));
setInterval(tick, 500);

liveSocket("/ws/console/", {
  onOpen: refresh,
  onMessage(message) {
    if (message.type === "call.update") apply(message.call);
    else if (message.type === "agent.notification") notify(message.notification);
  },
});
refresh();
