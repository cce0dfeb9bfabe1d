// The agent console: the agent's state, calls with screen pop, wrap-up and disposition,
// callbacks, contact search and the agent's own history, all kept live over one socket.
import {
  AGENT_LABELS, LABELS, LIVE, isStale, getJSON, postJSON, syncClock, elapsedSeconds, secondsUntil, formatDuration, formatTime, cell,
  liveSocket,
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
const announcer = $("announce");

const RECENT_SHOWN = 20;
let agentId = null;
let current = null; // the live call, if any
let lastEnded = null; // the call that just ended, shown until the next one starts
let pending = false; // a request is in flight
const calls = new Map(); // request_uuid -> newest known state
let agentState = null;
let settings = { wrap_up_seconds: 0, disposition_required: false, pause_reason_required: true, time_zone: "UTC" };
let dispositions = [];
let callbacks = new Map();
let dispositioned = new Set(); // request_uuids whose disposition was saved here
let popFor = null;
let historyPage = 1;

function announce(text) {
  // Cleared first so the same words are read again when they repeat.
  announcer.textContent = "";
  setTimeout(() => { announcer.textContent = text; }, 50);
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

function stateText(state) {
  if (!state) return "Offline";
  const label = AGENT_LABELS[state.state] || state.state;
  return state.pause_reason ? `${label} (${state.pause_reason})` : label;
}

function setAgentState(state) {
  const before = agentState ? stateText(agentState) : null;
  agentState = state;
  const text = stateText(state);
  if (before !== null && before !== text) announce(`You are now ${text}`);
  render();
}

function apply(call) {
  if (agentId !== null && call.agent_id !== agentId) return;
  if (isStale(call, calls.get(call.request_uuid))) return;
  const before = calls.get(call.request_uuid);
  calls.set(call.request_uuid, call);
  if (LIVE.has(call.status)) {
    current = call;
    lastEnded = null;
    if (popFor !== call.request_uuid) loadPop(call);
  } else if (!current || current.request_uuid === call.request_uuid) {
    current = null;
    lastEnded = call;
  }
  if (!before || before.status !== call.status) {
    announce(LIVE.has(call.status) ? `Call ${LABELS[call.status]}` : `Call ended: ${LABELS[call.status]}`);
  }
  render();
}

function resync(state) {
  syncClock(state.now);
  agentId = state.agent.id;
  settings = state.settings;
  dispositions = state.dispositions;
  calls.clear();
  for (const call of state.recent) {
    calls.set(call.request_uuid, call);
    if (call.disposition) dispositioned.add(call.request_uuid);
  }
  const previous = current || lastEnded;
  current = state.current;
  lastEnded = !current && previous ? calls.get(previous.request_uuid) || null : null;
  if (current) {
    calls.set(current.request_uuid, current);
    if (popFor !== current.request_uuid) loadPop(current);
  }
  if (!lastEnded && state.agent_state.state === "wrap_up" && state.agent_state.call_uuid) {
    lastEnded = calls.get(state.agent_state.call_uuid) || null;
  }
  callbacks = new Map(state.callbacks.map((c) => [c.id, c]));
  const reasons = state.pause_reasons.map((r) => [r.id, r.name]);
  fillSelect($("pause-reason"), settings.pause_reason_required ? reasons : [["", "No reason"], ...reasons]);
  fillSelect($("disposition"), [["", "Choose…"], ...dispositions.map((d) => [d.id, d.label])]);
  const filter = $("history-disposition");
  fillSelect(filter, [["", "Any disposition"], ...dispositions.map((d) => [d.code, d.label])], filter.value);
  $("callback-tz").textContent = settings.time_zone;
  setAgentState(state.agent_state);
  renderCallbacks();
}

function fillSelect(select, options, keep) {
  const value = keep ?? select.value;
  select.replaceChildren(...options.map(([v, label]) => el("option", label, { value: String(v) })));
  if ([...select.options].some((o) => o.value === value)) select.value = value;
}

async function refresh() {
  const response = await getJSON("/console/state");
  if (response.ok) resync(response.data);
  loadHistory();
}

function reasonText(call) {
  const reason = call && call.hangup_reason;
  return reason ? `${reason.words}${reason.cause ? ` (cause ${reason.cause})` : ""}` : "";
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
  const reason = !current && lastEnded ? reasonText(lastEnded) : "";
  $("reason").textContent = reason ? `Why: ${reason}` : "";
  $("reason").hidden = !reason;
  currentNumber.textContent = shown ? shown.to : "–";
  startButton.disabled = pending || Boolean(current);
  endButton.disabled = pending || !current;

  const stateBox = $("agent-state");
  stateBox.textContent = stateText(agentState);
  stateBox.dataset.state = agentState ? agentState.state : "offline";
  const s = agentState ? agentState.state : "offline";
  $("pause").disabled = pending || s === "on_call";
  $("resume").disabled = pending || s === "available" || s === "on_call";

  const wrapping = s === "wrap_up";
  const owes = lastEnded && !dispositioned.has(lastEnded.request_uuid);
  $("wrap-up").hidden = !(wrapping || owes);
  $("end-wrap").hidden = !wrapping;
  // Not while a disposition save is in flight: leaving would race it and be refused.
  $("end-wrap").disabled = pending;
  // Once per wrap-up, while its time runs (the server says so too).
  $("extend-wrap").hidden = !(wrapping && agentState.wrap_up_until && !agentState.wrap_up_extended);
  $("extend-wrap").disabled = pending;
  $("save-disposition").disabled = pending || !lastEnded;
  $("pop").hidden = !popFor;
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

function seconds(from, to) {
  if (!from) return 0;
  return to ? Math.max(0, Math.floor((Date.parse(to) - Date.parse(from)) / 1000)) : elapsedSeconds(from);
}

function tick() {
  const call = current || lastEnded;
  if (current) {
    timer.textContent = formatDuration(elapsedSeconds(current.answered_at || current.started_at || current.created_at));
  } else {
    timer.textContent = formatDuration(lastEnded ? lastEnded.duration : 0);
  }
  // Ringing runs from the first ring to the answer (or the end); talk from the answer to the end.
  const ringEnd = call ? call.answered_at || call.ended_at : null;
  $("ring-time").textContent = formatDuration(call && call.started_at ? seconds(call.started_at, ringEnd) : 0);
  $("talk-time").textContent = formatDuration(call && call.answered_at ? seconds(call.answered_at, call.ended_at) : 0);
  if (agentState && agentState.state === "wrap_up" && agentState.wrap_up_until) {
    const left = secondsUntil(agentState.wrap_up_until);
    $("wrap-countdown").textContent = left > 0 ? `${formatDuration(left)} left` : "disposition needed";
    if (left <= 0) $("extend-wrap").hidden = true;
  } else {
    $("wrap-countdown").textContent = agentState && agentState.state === "wrap_up" ? "disposition needed" : "";
  }
}

async function loadPop(call) {
  popFor = call.request_uuid;
  const response = await getJSON(`/console/pop?number=${encodeURIComponent(call.to)}`);
  if (!response.ok || popFor !== call.request_uuid) return;
  const pop = response.data;
  const box = $("pop-contact");
  if (pop.contact) {
    const c = pop.contact;
    box.replaceChildren(
      el("p", null, {}),
    );
    const p = box.firstChild;
    p.append(el("strong", c.name, { id: "pop-name" }));
    if (c.company) p.append(` · ${c.company}`);
    if (c.email) p.append(` · ${c.email}`);
    if (c.notes) box.append(el("p", c.notes, { class: "muted" }));
    if (c.tags && c.tags.length) box.append(el("p", `Tags: ${c.tags.join(", ")}`, { class: "muted" }));
    announce(`Calling ${c.name}`);
  } else {
    box.replaceChildren(el("p", `${pop.number}: not in your contacts`, { id: "pop-name" }));
  }
  const crm = $("pop-crm");
  crm.hidden = !pop.crm_link;
  if (pop.crm_link) crm.href = pop.crm_link;
  $("pop-calls").replaceChildren(
    ...pop.recent.filter((c) => c.request_uuid !== call.request_uuid).map((c) => {
      const item = el("li");
      const outcome = c.disposition ? `${c.disposition.label}${c.disposition.note ? `: ${c.disposition.note}` : ""}` : "no disposition";
      item.append(el("span", `${formatTime(c.created_at)} · ${LABELS[c.status]} · ${outcome}`));
      return item;
    }),
  );
  if (!$("pop-calls").children.length) $("pop-calls").append(el("li", "No earlier calls"));
  render();
}

function renderCallbacks() {
  const list = $("callbacks");
  const items = [...callbacks.values()].filter((c) => c.status === "pending")
    .sort((a, b) => Date.parse(a.due_at) - Date.parse(b.due_at))
    .map((c) => {
      const item = el("li");
      item.dataset.callbackId = c.id;
      if (Date.parse(c.due_at) <= Date.now()) item.classList.add("due");
      const who = c.contact_name ? `${c.contact_name} (${c.number})` : c.number;
      const forAnyone = c.agent_id === null;
      item.append(el("span", `${c.due_local} ${c.time_zone} · ${who}${c.note ? ` · ${c.note}` : ""}${forAnyone ? " · for any agent" : ""}`));
      const buttons = el("span");
      if (forAnyone) {
        // Left for any agent: the first to take it holds it; the others' lists drop it.
        const take = el("button", "Take", { type: "button", class: "small" });
        take.addEventListener("click", async () => {
          const response = await postJSON(`/console/callbacks/${c.id}/take`);
          if (response.ok) {
            callbacks.set(c.id, response.data.callback);
            announce(`You took the callback to ${who}`);
          } else {
            callbacks.delete(c.id);
            announce(response.data.message || "Could not take the callback");
          }
          renderCallbacks();
        });
        buttons.append(take);
      } else {
        const call = el("button", "Call", { type: "button", class: "small" });
        call.addEventListener("click", () => dial(c.number));
        const done = el("button", "Done", { type: "button", class: "small" });
        done.addEventListener("click", async () => {
          const response = await postJSON(`/console/callbacks/${c.id}/done`);
          if (response.ok) { callbacks.delete(c.id); renderCallbacks(); }
        });
        buttons.append(call, " ", done);
      }
      item.append(buttons);
      return item;
    });
  list.replaceChildren(...items);
  if (!items.length) list.append(el("li", "No callbacks due"));
}

// A callback was scheduled, taken or done: keep it while it is pending and ours or anyone's.
function callbackChanged(callback) {
  if (callback.status === "pending" && (callback.agent_id === null || callback.agent_id === agentId)) {
    callbacks.set(callback.id, callback);
  } else callbacks.delete(callback.id);
  renderCallbacks();
}

function remind(callback) {
  callbacks.set(callback.id, callback);
  renderCallbacks();
  const who = callback.contact_name || callback.number;
  const item = el("li", `Callback due now: ${who} (${callback.number})`, { class: "reminder" });
  notifications.prepend(item);
  announce(`Callback due now: ${who}`);
}

function notify(notification) {
  const item = document.createElement("li");
  const verb = notification.action === "START" ? "started a call to" : "ended the call with";
  item.textContent = `${formatTime(notification.created_at)} · your CRM ${verb} ${notification.customer_number}`;
  notifications.prepend(item);
  while (notifications.children.length > 5) notifications.lastChild.remove();
}

async function act(url, body, onDone) {
  showError("");
  pending = true;
  render();
  try {
    const response = await postJSON(url, body);
    if (response.ok) onDone(response.data);
    else {
      showError(response.data.message || `Request failed (${response.status})`);
      announce(response.data.message || "Request failed");
    }
  } catch {
    showError("Could not reach the server; try again.");
  } finally {
    pending = false;
    render();
  }
}

const applyCall = (data) => apply(data.call);
const applyState = (data) => setAgentState(data.agent_state);

function start() {
  act("/console/start", { customer_number: numberInput.value }, applyCall);
}

function dial(number) {
  numberInput.value = number;
  start();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  start();
});
endButton.addEventListener("click", () => act("/console/end", {}, applyCall));
$("pause").addEventListener("click", () => act("/console/agent-state",
  { state: "paused", pause_reason_id: $("pause-reason").value ? Number($("pause-reason").value) : null }, applyState));
$("resume").addEventListener("click", () => act("/console/agent-state", { state: "available" }, applyState));
$("end-wrap").addEventListener("click", () => act("/console/agent-state", { state: "available" }, applyState));
$("extend-wrap").addEventListener("click", () => act("/console/wrap-up/extend", {}, (data) => {
  applyState(data);
  announce("Wrap-up extended");
}));
$("disposition-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!lastEnded) return;
  const call = lastEnded;
  act("/console/disposition", {
    call_uuid: call.request_uuid, disposition_id: Number($("disposition").value), note: $("note").value,
  }, (data) => {
    dispositioned.add(call.request_uuid);
    call.disposition = { ...data.disposition.disposition, note: data.disposition.note };
    $("note").value = "";
    announce(`Saved: ${data.disposition.disposition.label}`);
    setAgentState(data.agent_state);
    loadHistory();
  });
});
$("callback-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const call = lastEnded || current;
  const number = call ? call.to : numberInput.value;
  act("/console/callbacks", {
    number, due_at: $("callback-due").value, note: $("callback-note").value,
    call_uuid: call ? call.request_uuid : null, anyone: $("callback-anyone").checked,
  }, (data) => {
    callbacks.set(data.callback.id, data.callback);
    renderCallbacks();
    $("callback-note").value = "";
    $("callback-anyone").checked = false;
    announce(`Callback scheduled for ${data.callback.due_local}`);
  });
});

$("contact-search").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await getJSON(`/console/contacts?q=${encodeURIComponent($("contact-q").value)}`);
  if (!response.ok) return;
  const list = $("contacts");
  list.replaceChildren(...response.data.contacts.map((c) => {
    const item = el("li");
    item.append(el("span", c.company ? `${c.name} · ${c.company}` : c.name));
    const buttons = el("span");
    for (const number of c.numbers) {
      if (c.do_not_call.includes(number)) {
        buttons.append(el("span", `${number} · Do not call`, { class: "do-not-call" }), " ");
        continue;
      }
      const button = el("button", `Call ${number}`, { type: "button", class: "small" });
      button.addEventListener("click", () => dial(number));
      buttons.append(button, " ");
    }
    item.append(buttons);
    return item;
  }));
  if (!list.children.length) list.append(el("li", "No contacts found"));
  announce(`${response.data.contacts.length} contacts found`);
});

async function loadHistory(page = historyPage) {
  const q = encodeURIComponent($("history-q").value);
  const d = encodeURIComponent($("history-disposition").value);
  const response = await getJSON(`/console/history?q=${q}&disposition=${d}&page=${page}`);
  if (!response.ok) return;
  historyPage = response.data.page;
  $("history").replaceChildren(...response.data.calls.map((call) => {
    const row = document.createElement("tr");
    row.dataset.requestUuid = call.request_uuid;
    const who = call.contact_name ? `${call.contact_name} ${call.to}` : call.to;
    const outcome = call.disposition ? `${call.disposition.label}${call.disposition.note ? `: ${call.disposition.note}` : ""}` : "–";
    const status = reasonText(call) ? `${LABELS[call.status]} (${call.hangup_reason.words})` : LABELS[call.status];
    const redial = el("button", "Redial", { type: "button", class: "small", "aria-label": `Redial ${call.to}` });
    redial.addEventListener("click", () => dial(call.to));
    const action = document.createElement("td");
    action.append(redial);
    if (call.recording_url) {
      const player = el("audio", "", { controls: "", preload: "none", src: call.recording_url,
        "aria-label": `Recording of the call with ${call.to}` });
      player.className = "recording";
      action.append(player);
    }
    row.append(cell(formatTime(call.started_at || call.created_at)), cell(who), cell(status),
      cell(LIVE.has(call.status) ? "–" : formatDuration(call.duration)), cell(outcome), action);
    return row;
  }));
  $("history-prev").disabled = historyPage <= 1;
  $("history-next").disabled = !response.data.has_next;
}
$("history-search").addEventListener("submit", (event) => { event.preventDefault(); loadHistory(1); });
$("history-prev").addEventListener("click", () => loadHistory(historyPage - 1));
$("history-next").addEventListener("click", () => loadHistory(historyPage + 1));

// Keyboard shortcuts (README, "The agent console"): Alt plus a letter.
document.addEventListener("keydown", (event) => {
  if (!event.altKey || event.ctrlKey || event.metaKey) return;
  const key = event.key.toLowerCase();
  const click = (id) => { if (!$(id).disabled && !$(id).hidden) $(id).click(); };
  const actions = {
    s: () => { if (numberInput.value) click("start"); else numberInput.focus(); },
    e: () => click("end"),
    p: () => { $("pause-reason").focus(); click("pause"); },
    r: () => (agentState && agentState.state === "wrap_up" ? click("end-wrap") : click("resume")),
    x: () => click("extend-wrap"),
    d: () => { if (!$("wrap-up").hidden) $("disposition").focus(); },
    k: () => $("contact-q").focus(),
    h: () => $("history-q").focus(),
  };
  if (actions[key]) {
    event.preventDefault();
    actions[key]();
  }
});

setInterval(() => { tick(); }, 500);
setInterval(renderCallbacks, 30000);

liveSocket("/ws/console/", {
  onOpen: refresh,
  onMessage(message) {
    if (message.type === "call.update") {
      apply(message.call);
      if (!LIVE.has(message.call.status)) loadHistory();
    } else if (message.type === "agent.notification") notify(message.notification);
    else if (message.type === "agent.state") setAgentState(message.state);
    else if (message.type === "agent.callback") remind(message.callback);
    else if (message.type === "agent.callback_changed") callbackChanged(message.callback);
  },
});
refresh();
