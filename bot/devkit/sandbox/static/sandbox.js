// The sandbox page: polls what the Slack stand-in holds (about once a second) and turns clicks,
// commands and modal submissions into the requests Slack would send (made by the server's
// SlackDriver). Regions are replaced only when their HTML changed, so typing is never lost.
"use strict";

const HOME = "home";
const REQUIRED = "Please complete this required field.";
const view = { user: "", channel: "", thread: "" };
const shown = { sidebar: "", header: "", body: "", thread: "", modalKey: "", people: "", generation: 0 };
const $ = (id) => document.getElementById(id);

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  view.user = params.get("user") || localStorage.getItem("sandbox.user") || "";
  view.channel = params.get("channel") || "";
  view.thread = params.get("thread") || "";
}

function writeHash() {
  const params = new URLSearchParams();
  for (const key of ["user", "channel", "thread"]) if (view[key]) params.set(key, view[key]);
  history.replaceState(null, "", "#" + params.toString());
  if (view.user) localStorage.setItem("sandbox.user", view.user);
}

async function post(name, body) {
  const response = await fetch("/sandbox/api/" + name, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user: view.user, ...body }),
  });
  let answer = {};
  try { answer = await response.json(); } catch (e) { answer = { ok: false, error: "HTTP " + response.status }; }
  if (!response.ok && !answer.error) answer.error = "HTTP " + response.status;
  return answer;
}

function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 4000);
}

// ---------------------------------------------------------------- polling and drawing

let polling = false;
let again = false;

async function refresh() {
  if (polling) { again = true; return; }
  polling = true;
  try {
    const asked = { ...view };
    const params = new URLSearchParams(asked);
    const response = await fetch("/sandbox/api/state?" + params.toString(), { cache: "no-store" });
    const state = response.ok ? await response.json() : null;
    // The visitor switched user, channel or thread while this poll ran: its answer is stale.
    const same = ["user", "channel", "thread"].every((key) => asked[key] === view[key]);
    if (!same) again = true;
    else if (state) draw(state);
  } catch (e) {
    // the server restarts or is gone: try again at the next tick
  } finally {
    polling = false;
    if (again) { again = false; refresh(); }
  }
}

function soon() {
  for (const delay of [60, 250, 600]) setTimeout(refresh, delay);
}

function draw(state) {
  if (state.generation !== shown.generation) {
    shown.generation = state.generation;
    shown.modalKey = "";
  }
  drawPeople(state.people, state.user);
  const channelChanged = view.channel !== state.channel;
  view.user = state.user;
  view.channel = state.channel;
  writeHash();
  replace("sidebar", $("sidebar"), state.sidebar);
  markUnread();
  replace("header", $("header"), state.header);
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  if (replace("body", list, state.body) && (atBottom || channelChanged)) list.scrollTop = list.scrollHeight;
  const pane = $("thread");
  if (!state.thread) view.thread = "";
  pane.hidden = !state.thread;
  const threadBody = pane.querySelector(".th-body");
  const threadAtBottom = !threadBody || threadBody.scrollHeight - threadBody.scrollTop - threadBody.clientHeight < 80;
  if (replace("thread", pane, state.thread) && threadAtBottom) {
    const body = pane.querySelector(".th-body");
    if (body) body.scrollTop = body.scrollHeight;
  }
  $("composer-box").classList.toggle("hidden", state.channel === HOME || state.channel === "mail");
  $("composer-input").placeholder = state.composer || "Message";
  drawModal(state.modal);
}

function markUnread() {
  // What arrived in a channel since this visitor, as this user, last looked at it is bold.
  for (const item of document.querySelectorAll(".sb-item[data-count]")) {
    const key = `sandbox.seen.${shown.generation}.${view.user}.${item.dataset.channel}`;
    const count = Number(item.dataset.count);
    if (item.dataset.channel === view.channel) sessionStorage.setItem(key, String(count));
    const seen = Number(sessionStorage.getItem(key) || 0);
    item.classList.toggle("unread", count > seen);
  }
}

function followPermalink(link) {
  // Slack permalinks (…/archives/<channel>/p<ts>) open the message here instead of slack.com.
  const found = /\/archives\/([A-Z0-9]+)\/p(\d{10})(\d{6})/.exec(link.href);
  if (!found) return false;
  const url = new URL(link.href);
  view.channel = found[1];
  view.thread = url.searchParams.get("thread_ts") || `${found[2]}.${found[3]}`;
  writeHash();
  refresh();
  return true;
}

function replace(key, element, html) {
  if (shown[key] === html) return false;
  shown[key] = html;
  element.innerHTML = html;
  return true;
}

function drawPeople(people, current) {
  const key = JSON.stringify(people) + current;
  if (shown.people === key) return;
  shown.people = key;
  const select = $("user");
  select.innerHTML = "";
  for (const person of people) {
    const option = document.createElement("option");
    option.value = person.id;
    option.textContent = `${person.name} — ${person.role}`;
    option.selected = person.id === current;
    select.appendChild(option);
  }
}

function drawModal(modal) {
  const backdrop = $("modal");
  if (!modal) {
    shown.modalKey = "";
    backdrop.hidden = true;
    backdrop.innerHTML = "";
    return;
  }
  if (modal.key === shown.modalKey) return;
  shown.modalKey = modal.key;
  backdrop.innerHTML = modal.html;
  backdrop.hidden = false;
  const first = backdrop.querySelector("input, textarea, select");
  if (first) first.focus();
}

// ---------------------------------------------------------------- modals

function modalValues(dialog) {
  const values = {};
  for (const block of dialog.querySelectorAll(".bk-input[data-block-id]")) {
    const id = block.dataset.blockId;
    const type = block.dataset.type;
    if (["multi_static_select", "checkboxes", "multi_users_select"].includes(type)) {
      values[id] = [...block.querySelectorAll("input:checked")].map((input) => input.value);
    } else if (type === "radio_buttons") {
      const checked = block.querySelector("input:checked");
      values[id] = checked ? checked.value : null;
    } else {
      const control = block.querySelector(".bk-control");
      values[id] = control && control.value !== "" ? control.value : null;
    }
  }
  return values;
}

function showErrors(dialog, errors) {
  for (const block of dialog.querySelectorAll(".bk-input[data-block-id]")) {
    const message = errors[block.dataset.blockId] || "";
    block.classList.toggle("has-error", Boolean(message));
    block.querySelector(".bk-error").textContent = message;
  }
}

function missing(dialog, values) {
  // Slack checks required inputs itself and sends nothing until they are filled in.
  const errors = {};
  for (const block of dialog.querySelectorAll(".bk-input[data-block-id]")) {
    const value = values[block.dataset.blockId];
    const empty = value === null || (Array.isArray(value) && value.length === 0);
    if (empty && block.dataset.optional !== "true") errors[block.dataset.blockId] = REQUIRED;
  }
  return errors;
}

async function submitModal(button) {
  const dialog = button.closest(".md-dialog");
  const values = modalValues(dialog);
  const required = missing(dialog, values);
  showErrors(dialog, required);
  dialog.querySelector(".md-problems").textContent = "";
  if (Object.keys(required).length) return;
  button.disabled = true;
  try {
    const answer = await post("submit", { view_id: dialog.dataset.viewId, values });
    if (answer.action === "errors") {
      showErrors(dialog, answer.errors || {});
    } else if (!answer.ok) {
      const problems = (answer.problems || []).join("; ");
      dialog.querySelector(".md-problems").textContent =
        "Slack could not apply the bot's answer: " + (problems || answer.error || "HTTP " + answer.status);
    }
  } finally {
    button.disabled = false;
    soon();
  }
}

// ---------------------------------------------------------------- clicks

async function clickElement(element, value) {
  const action = { action_id: element.dataset.actionId, value: value ?? null };
  const inView = element.closest("[data-view-id]");
  if (inView) {
    action.view_id = inView.dataset.viewId;
    if (inView.classList.contains("md-dialog")) action.values = modalValues(inView);
  } else {
    const message = element.closest(".msg[data-ts]");
    if (!message) return;
    action.channel = message.dataset.channel;
    action.ts = message.dataset.ts;
  }
  if (element.dataset.url) window.open(element.dataset.url, "_blank", "noopener");
  element.disabled = true;
  try {
    const answer = await post("click", action);
    if (!answer.ok) toast("The click was not delivered: " + (answer.error || "HTTP " + answer.status));
  } finally {
    element.disabled = false;
    soon();
  }
}

function switchTo(channel) {
  view.channel = channel;
  view.thread = "";
  writeHash();
  if (channel === HOME) post("home", {}).then(soon);
  refresh();
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href*='/archives/']");
  if (link && followPermalink(link)) { event.preventDefault(); return; }
  const target = event.target.closest(
    "[data-channel].sb-item, [data-channel].tab, [data-thread], [data-close-thread], " +
      ".bk-button, [data-modal-submit], [data-modal-close], [data-fill], [data-shortcut]",
  );
  if (!target) return;
  event.preventDefault();
  if (target.matches(".sb-item, .tab")) switchTo(target.dataset.channel);
  else if (target.matches("[data-thread]")) { view.thread = target.dataset.thread; writeHash(); refresh(); }
  else if (target.matches("[data-close-thread]")) { view.thread = ""; writeHash(); refresh(); }
  else if (target.matches(".bk-button")) clickElement(target);
  else if (target.matches("[data-shortcut]")) {
    const message = target.closest(".msg[data-ts]");
    post("shortcut", { channel: message.dataset.channel, ts: message.dataset.ts,
                       callback_id: target.dataset.shortcut }).then((answer) => {
      if (!answer.ok) toast("The shortcut was not delivered: " + (answer.error || "HTTP " + answer.status));
      soon();
    });
  }
  else if (target.matches("[data-modal-submit]")) submitModal(target);
  else if (target.matches("[data-modal-close]")) {
    const dialog = target.closest(".md-dialog");
    post("close", { view_id: dialog.dataset.viewId }).then(soon);
  } else if (target.matches("[data-fill]")) {
    const input = $("composer-input");
    input.value = target.dataset.fill;
    input.focus();
  }
});

document.addEventListener("change", (event) => {
  const select = event.target.closest(".bk-action-select");
  if (select && select.value) clickElement(select, select.value);
});

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("composer-input");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  const answer = await post("command", { channel: view.channel, text });
  if (answer.error) toast(answer.error);
  soon();
});

$("user").addEventListener("change", (event) => {
  view.user = event.target.value;
  shown.modalKey = "";
  writeHash();
  if (view.channel === HOME) post("home", {}).then(soon);
  refresh();
});

$("reset").addEventListener("click", async () => {
  if (!confirm("Reset the sandbox? Every case, message and modal is wiped.")) return;
  $("reset").disabled = true;
  try {
    await post("reset", {});
    view.thread = "";
    toast("The sandbox starts again from nothing.");
  } finally {
    $("reset").disabled = false;
    refresh();
  }
});

readHash();
refresh();
setInterval(refresh, 1000);
