// telco-emulator inbox. Plain JavaScript, no dependencies, no build step.
//
// It reads the control API next to this page (/_emulator/messages, /calls, /webhooks, /accounts,
// /clock), follows the live event stream (/_emulator/events as Server-Sent Events) and refetches
// what an event touched, and drives the emulator through the same control endpoints a test would
// use (inbound/sms, inbound/mms, inbound/call, clock/advance, reset, webhooks/{id}/redeliver).

const BASE = new URL("../../", import.meta.url); // this file is <base>/ui/static/app.js
const LIMITS = { messages: 1000, calls: 500, webhooks: 500, requests: 300, sink: 300 };
const EVENT_BACKLOG = 2000; // recent events replayed on connect (for call timelines)
const PROVIDERS = { elks: "46elks", seven: "seven.io" };
const VIEWS = ["messages", "conversations", "phone", "calls", "webhooks", "requests", "sink", "accounts"];
const VIEW_TITLES = {
  messages: "Messages", conversations: "Conversations", phone: "Phone simulator",
  calls: "Calls", webhooks: "Webhooks", requests: "Requests", sink: "Sink", accounts: "Accounts & clock",
};

const state = {
  view: null,
  accounts: [],
  accountById: new Map(),
  messages: [],
  messagesMore: false,
  calls: [],
  deliveries: [],
  requests: [],
  arrivals: [],
  clock: null,
  loaded: new Set(),
  known: { messages: new Set(), deliveries: new Set(), calls: new Set() },
  fresh: { messages: new Map(), deliveries: new Map(), calls: new Map() }, // id -> when it arrived
  open: { messages: new Set(), deliveries: new Set(), requests: new Set(), arrivals: new Set() },
  callEvents: new Map(), // call id -> events seen on the stream (digits, actions, recordings)
  redeliveries: new Map(), // copy id -> original id
  conversation: null, // key of the open conversation
  call: null, // id of the open call
  dirty: new Set(VIEWS),
  liveFrom: Infinity, // events up to this seq were replayed on connect: not announced
};

// -- small helpers ----------------------------------------------------------------------

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const bare = (number) => String(number || "").replace(/^\+/, "");
const sameNumber = (a, b) => bare(a) === bare(b);

async function api(path, { method = "GET", body } = {}) {
  const init = { method, headers: { Accept: "application/json" }, cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(new URL(path, BASE), init);
  } catch (error) {
    throw new Error(`The emulator cannot be reached (${error.message}).`);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = new Error(data && data.error ? data.error.message : `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function announce(text) {
  const region = $("#announcer");
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 50);
}

function showError(error) {
  const banner = $("#error-banner");
  if (!error) {
    banner.hidden = true;
    return;
  }
  banner.textContent = error.message || String(error);
  banner.hidden = false;
}

function setResult(el, text, ok) {
  el.textContent = text;
  el.classList.toggle("ok", ok === true);
  el.classList.toggle("bad", ok === false);
}

// -- formatting --------------------------------------------------------------------------

function timeText(iso, precise = false) {
  if (!iso) return "–";
  const millis = iso.slice(19, 23);
  const time = precise && millis !== ".000" ? iso.slice(11, 23) : iso.slice(11, 19);
  const today = state.clock ? state.clock.now.slice(0, 10) : null;
  return today && iso.slice(0, 10) !== today ? `${iso.slice(0, 10)} ${time}` : time;
}

function timeEl(iso, precise = false) {
  if (!iso) return h("span", { class: "sub" }, "–");
  return h("time", { datetime: iso, title: iso.replace("T", " ").replace("Z", " UTC") }, timeText(iso, precise));
}

const numberFormat = new Intl.NumberFormat("en", { minimumFractionDigits: 2, maximumFractionDigits: 4 });

function currencyOf(accountId, provider) {
  const account = state.accountById.get(accountId);
  return account ? account.currency : provider === "seven" ? "EUR" : "SEK";
}

function money(units, currency) {
  if (units === null || units === undefined) return "–";
  return `${numberFormat.format(units / 10000)} ${currency || ""}`.trim();
}

function accountName(accountId) {
  const account = state.accountById.get(accountId);
  if (!account) return accountId;
  if (account.parent) {
    const parent = state.accountById.get(account.parent);
    return `${account.name} (sub of ${parent ? parent.name : account.parent})`;
  }
  return account.name;
}

function providerEl(provider) {
  return h("span", { class: `provider provider-${provider}` }, PROVIDERS[provider] || provider);
}

const STATUS_TONE = {
  delivered: "ok", received: "ok", ended: "ok", answered: "ok", ongoing: "ok",
  sent: "info", buffered: "warn", created: "info", scheduled: "info", ringing: "info", pending: "warn",
  failed: "bad", expired: "bad", rejected: "bad", busy: "bad", no_answer: "bad",
};

function badge(status, label) {
  return h("span", { class: `badge ${STATUS_TONE[status] || ""}` }, label || String(status).replace("_", " "));
}

function historyTrail(history) {
  return (history || []).map((change) => `${change.status} ${timeText(change.at, true)}`).join(" → ");
}

function encodingLabel(encoding) {
  return encoding === "ucs2" ? "UCS-2" : encoding === "gsm" ? "GSM-7" : encoding;
}

function prettyBody(body, headers) {
  const type = Object.entries(headers || {}).find(([name]) => name.toLowerCase() === "content-type");
  const contentType = type ? type[1].toLowerCase() : "";
  if (!body) return "(empty)";
  if (contentType.includes("json") || /^[[{]/.test(body.trim())) {
    try {
      return JSON.stringify(JSON.parse(body), null, 2);
    } catch {
      return body;
    }
  }
  if (contentType.includes("x-www-form-urlencoded")) {
    return [...new URLSearchParams(body)].map(([key, value]) => `${key} = ${value}`).join("\n");
  }
  return body;
}

// -- keeping focus and freshness across re-renders ---------------------------------------

function keepFocus(container, render) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.dataset.focusKey : null;
  render();
  if (key) {
    const again = container.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
    if (again) again.focus({ preventScroll: true });
  }
}

function noteFresh(kind, ids) {
  const known = state.known[kind];
  const first = !state.loaded.has(kind);
  for (const id of ids) {
    if (!known.has(id)) {
      known.add(id);
      if (!first) {
        state.fresh[kind].set(id, performance.now());
        setTimeout(() => state.fresh[kind].delete(id), 3000);
      }
    }
  }
  state.loaded.add(kind);
}

// A re-render must not restart the highlight of a new item: continue it where it was.
function settleFresh(container, kind) {
  const now = performance.now();
  for (const el of container.querySelectorAll(".fresh[data-id]")) {
    const arrived = state.fresh[kind].get(el.dataset.id);
    if (arrived !== undefined) el.style.animationDelay = `${Math.round(arrived - now)}ms`;
  }
}

// -- loading ---------------------------------------------------------------------------

const loadTokens = {};

async function latest(name, request) {
  const token = (loadTokens[name] = (loadTokens[name] || 0) + 1);
  const result = await request;
  return token === loadTokens[name] ? result : null;
}

const LOADERS = {
  async accounts() {
    const page = await latest("accounts", api("accounts"));
    if (!page) return;
    state.accounts = page.data;
    state.accountById = new Map(page.data.map((account) => [account.id, account]));
    fillAccountChoices();
    markDirty("accounts", "messages", "conversations", "phone", "calls");
  },
  async messages() {
    const page = await latest("messages", api(`messages?limit=${LIMITS.messages}`));
    if (!page) return;
    state.messages = page.data;
    state.messagesMore = page.next !== null;
    noteFresh("messages", page.data.map((m) => m.id));
    markDirty("messages", "conversations", "phone", "accounts");
  },
  async calls() {
    const page = await latest("calls", api(`calls?limit=${LIMITS.calls}`));
    if (!page) return;
    state.calls = page.data;
    noteFresh("calls", page.data.map((c) => c.id));
    markDirty("calls", "phone", "accounts");
  },
  async webhooks() {
    const page = await latest("webhooks", api(`webhooks?limit=${LIMITS.webhooks}`));
    if (!page) return;
    state.deliveries = page.data;
    noteFresh("deliveries", page.data.map((d) => d.id));
    markDirty("webhooks");
  },
  async requests() {
    const page = await latest("requests", api(`requests?limit=${LIMITS.requests}`));
    if (!page) return;
    state.requests = page.data;
    markDirty("requests");
  },
  async sink() {
    const page = await latest("sink", api(`sink?limit=${LIMITS.sink}`));
    if (!page) return;
    state.arrivals = page.data;
    markDirty("sink");
  },
  async clock() {
    const clock = await latest("clock", api("clock"));
    if (!clock) return;
    state.clock = clock;
    renderClock();
  },
};

const pending = new Set();
let flushTimer = null;

function schedule(...names) {
  for (const name of names) {
    if (name === "all") Object.keys(LOADERS).forEach((n) => pending.add(n));
    else pending.add(name);
  }
  if (!flushTimer) flushTimer = setTimeout(flush, 120);
}

async function flush() {
  flushTimer = null;
  const names = [...pending];
  pending.clear();
  const results = await Promise.allSettled(names.map((name) => LOADERS[name]()));
  const failed = results.find((r) => r.status === "rejected");
  showError(failed ? failed.reason : null);
  renderCounts();
  renderDirty();
}

function markDirty(...views) {
  views.forEach((view) => state.dirty.add(view));
}

function renderDirty() {
  if (state.dirty.has(state.view)) {
    state.dirty.delete(state.view);
    RENDERERS[state.view]();
  }
}

// -- live event stream ----------------------------------------------------------------

function setLive(mode) {
  const live = $("#live");
  live.dataset.state = mode;
  live.textContent = { live: "Live", connecting: "Connecting…", down: "Offline, retrying…" }[mode];
}

function callIdOf(event) {
  return event.kind === "call.recording" || event.kind === "call.leg" ? event.data.call : event.data.id;
}

function onEvent(event) {
  const kind = event.kind;
  const live = event.seq > state.liveFrom;
  if (kind === "emulator.reset") {
    state.callEvents.clear();
    state.redeliveries.clear();
    state.open.messages.clear();
    state.open.deliveries.clear();
    state.open.requests.clear();
    state.open.arrivals.clear();
    schedule("all");
    if (live) announce("The emulator was reset.");
    return;
  }
  if (kind.startsWith("message.")) {
    schedule("messages");
    if (kind === "message.received" && live) announce(`New message from ${event.data.from} to ${event.data.to}.`);
  }
  if (kind.startsWith("webhook.")) {
    schedule("webhooks");
    if (kind === "webhook.redelivered") state.redeliveries.set(event.data.id, event.data.original);
  }
  if (kind.startsWith("call.")) {
    const id = callIdOf(event);
    if (id) {
      const list = state.callEvents.get(id) || [];
      if (!list.some((seen) => seen.seq === event.seq)) list.push(event);
      state.callEvents.set(id, list);
    }
    schedule("calls");
    if (kind === "call.created" && event.data.direction === "inbound" && live) announce(`Incoming call from ${event.data.from}.`);
  }
  if (kind === "sink.received") {
    schedule("sink");
    return;
  }
  // Answered requests are no events of their own (what they did is); the journal is read again
  // on events only while it is shown, else with the clock every 2 s.
  if (state.view === "requests") schedule("requests");
  if (kind === "request.refused") return;
  if (!kind.startsWith("fault.")) schedule("accounts");
  schedule("clock");
}

async function follow() {
  let after = null;
  let backoff = 500;
  for (;;) {
    try {
      const page = await api("events?limit=1");
      if (after === null || page.last_seq < after) { // first connect, or a restarted emulator
        after = Math.max(0, page.last_seq - EVENT_BACKLOG);
        state.liveFrom = page.last_seq;
        state.callEvents.clear();
      }
      const response = await fetch(new URL(`events?after=${after}`, BASE), {
        headers: { Accept: "text/event-stream" },
        cache: "no-store",
      });
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      setLive("live");
      backoff = 500;
      schedule("all");
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, "\n");
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = block.split("\n").filter((line) => line.startsWith("data:")).map((line) => line.slice(5).trimStart()).join("\n");
          if (!data) continue;
          const event = JSON.parse(data);
          after = Math.max(after, event.seq);
          onEvent(event);
        }
      }
    } catch (error) {
      console.debug("event stream:", error);
    }
    setLive("down");
    await sleep(backoff);
    backoff = Math.min(backoff * 2, 10000);
    setLive("connecting");
  }
}

// -- routing ---------------------------------------------------------------------------

function parseHash() {
  const raw = location.hash.replace(/^#/, "");
  const cut = raw.indexOf("?");
  const path = cut < 0 ? raw : raw.slice(0, cut);
  const slash = path.indexOf("/");
  const view = slash < 0 ? path : path.slice(0, slash);
  const item = slash < 0 ? "" : decodeURIComponent(path.slice(slash + 1));
  return {
    view: VIEWS.includes(view) ? view : "messages",
    item: item || null,
    query: new URLSearchParams(cut < 0 ? "" : raw.slice(cut + 1)),
  };
}

function route(fromUser) {
  const { view, item, query } = parseHash();
  if (query.has("q")) {
    const search = $(`#view-${view} input[type="search"]`);
    if (search) search.value = query.get("q");
  }
  if (view === "conversations") state.conversation = item;
  if (view === "calls") state.call = item;
  const changed = state.view !== view;
  state.view = view;
  for (const name of VIEWS) $(`#view-${name}`).hidden = name !== view;
  for (const link of $$(".views a")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${VIEW_TITLES[view]} · telco-emulator inbox`;
  state.dirty.delete(view);
  RENDERERS[view]();
  if (fromUser && changed) $(`#h-${view}`).focus({ preventScroll: false });
}

function go(hash) {
  if (location.hash === hash) route(true);
  else location.hash = hash;
}

// -- messages ---------------------------------------------------------------------------

function messageFilters() {
  return {
    search: $("#msg-search").value.trim().toLowerCase(),
    provider: $("#msg-provider").value,
    direction: $("#msg-direction").value,
    status: $("#msg-status").value,
    account: $("#msg-account").value,
  };
}

function matchesSearch(query, fields) {
  if (!query) return true;
  const plain = query.replace(/^\+/, "");
  return fields.some((field) => {
    const text = String(field || "").toLowerCase();
    return text.includes(query) || (plain && bare(text).includes(plain));
  });
}

function filteredMessages() {
  const f = messageFilters();
  return state.messages.filter((m) =>
    (!f.provider || m.provider === f.provider) &&
    (!f.direction || m.direction === f.direction) &&
    (!f.status || m.status === f.status) &&
    (!f.account || m.account_id === f.account) &&
    matchesSearch(f.search, [m.id, m.from, m.to, m.text, m.account_id]));
}

function renderMessages() {
  const rows = $("#msg-rows");
  const shown = filteredMessages();
  const total = state.messages.length;
  $("#msg-summary").textContent = total === 0 ? "" :
    `${shown.length} of ${total} message${total === 1 ? "" : "s"}${state.messagesMore ? ` (the newest ${LIMITS.messages})` : ""}`;
  $("#msg-empty").hidden = total !== 0;
  keepFocus(rows, () => {
    rows.replaceChildren(...shown.flatMap((message) => messageRows(message)));
  });
  settleFresh(rows, "messages");
}

function messageRows(m) {
  const open = state.open.messages.has(m.id);
  const detailsId = `msg-details-${m.id}`;
  const currency = currencyOf(m.account_id, m.provider);
  const isMms = m.attributes && m.attributes.kind === "mms";
  const row = h("tr", { class: `row${open ? " open" : ""}${state.fresh.messages.has(m.id) ? " fresh" : ""}`, dataset: { id: m.id } },
    h("td", { "data-label": "Time" },
      h("button", {
        type: "button", class: "row-toggle", "aria-expanded": String(open), "aria-controls": detailsId,
        "aria-label": `Details of the ${m.direction} message ${m.id}, ${timeText(m.created)}`, dataset: { focusKey: `msg:${m.id}` },
        onclick: () => toggleMessage(m.id),
      }, timeText(m.created))),
    h("td", { "data-label": "Provider · account" }, providerEl(m.provider), h("span", { class: "trail" }, accountName(m.account_id))),
    h("td", { "data-label": "Direction" }, badge(m.direction === "inbound" ? "received" : "sent", m.direction === "inbound" ? "← in" : "out →")),
    h("td", { "data-label": "From", class: "number" }, m.from),
    h("td", { "data-label": "To", class: "number" }, m.to),
    h("td", { "data-label": "Text", class: "text-cell" },
      isMms ? h("span", { class: "badge info" }, `MMS${(m.attributes.images || []).length ? ` · ${m.attributes.images.length} image${m.attributes.images.length === 1 ? "" : "s"}` : ""}`) : null,
      " ", h("span", { class: "clip" }, m.text || (isMms ? "" : "(empty)"))),
    h("td", { "data-label": "Parts", class: "num" }, m.parts),
    h("td", { "data-label": "Encoding" }, encodingLabel(m.encoding)),
    h("td", { "data-label": "Cost", class: "num" }, money(m.cost, currency)),
    h("td", { "data-label": "Status" }, badge(m.status), h("span", { class: "trail" }, historyTrail(m.history))));
  if (!open) return [row];
  return [row, h("tr", { class: "details", id: detailsId }, h("td", { colspan: "10" }, messageDetails(m)))];
}

function conversationKeyOf(m) {
  return `${m.account_id}|${m.direction === "outbound" ? m.to : m.from}`;
}

function messageDetails(m) {
  const currency = currencyOf(m.account_id, m.provider);
  const attributes = m.attributes || {};
  const images = (attributes.images || []).map((id, k) =>
    h("img", { src: new URL(`images/${encodeURIComponent(id)}`, BASE), alt: `Image ${k + 1} of message ${m.id}`, class: "preview" }));
  return h("div", {},
    h("dl", { class: "facts" },
      fact("Id", h("span", { class: "mono" }, m.id)),
      fact("Account", `${accountName(m.account_id)} · ${m.account_id}`),
      fact("Created", timeEl(m.created, true)),
      fact("Delivered", timeEl(m.delivered, true)),
      fact("Parts · encoding", `${m.parts} · ${encodingLabel(m.encoding)}`),
      fact("Cost", money(m.cost, currency)),
      fact("Callback URL", m.callback_url ? h("span", { class: "mono" }, m.callback_url) : "–"),
      attributes.reply_to ? fact("Replies to", h("span", { class: "mono" }, attributes.reply_to)) : null),
    h("h3", {}, "Status history"),
    h("ol", { class: "history" }, (m.history || []).map((change) => h("li", {}, badge(change.status), timeEl(change.at, true)))),
    images.length ? [h("h3", {}, "Images"), h("div", { class: "link-row" }, images)] : null,
    Object.keys(attributes).length ? [h("h3", {}, "Attributes"), h("pre", { class: "json" }, JSON.stringify(attributes, null, 2))] : null,
    h("div", { class: "link-row" },
      h("a", { href: `#conversations/${encodeURIComponent(conversationKeyOf(m))}` }, "Open the conversation"),
      h("a", { href: `#webhooks?q=${encodeURIComponent(m.id)}` }, "Webhooks about this message")));
}

function fact(term, value) {
  return h("div", {}, h("dt", {}, term), h("dd", {}, value));
}

function toggleMessage(id) {
  if (state.open.messages.has(id)) state.open.messages.delete(id);
  else state.open.messages.add(id);
  renderMessages();
}

// -- conversations ----------------------------------------------------------------------

function conversations() {
  const byKey = new Map();
  for (const m of [...state.messages].reverse()) { // oldest first
    const key = conversationKeyOf(m);
    let conversation = byKey.get(key);
    if (!conversation) {
      conversation = { key, accountId: m.account_id, provider: m.provider, other: m.direction === "outbound" ? m.to : m.from, messages: [] };
      byKey.set(key, conversation);
    }
    conversation.messages.push(m);
  }
  return [...byKey.values()].sort((a, b) => (a.messages.at(-1).created < b.messages.at(-1).created ? 1 : -1));
}

const TICKS = {
  scheduled: ["◷", "Scheduled"], created: ["○", "Queued"], sent: ["✓", "Sent"], buffered: ["✓", "Sent, buffered by the network"],
  delivered: ["✓✓", "Delivered"], failed: ["✕", "Failed"], expired: ["✕", "Expired"], rejected: ["✕", "Rejected"],
};

function ticks(m) {
  const [glyph, label] = TICKS[m.status] || ["", m.status];
  return h("span", { class: `ticks ${m.status}`, title: historyTrail(m.history) },
    h("span", { "aria-hidden": "true" }, glyph), h("span", { class: "visually-hidden" }, label));
}

function renderConversations() {
  const all = conversations();
  const query = $("#conv-search").value.trim().toLowerCase();
  const list = $("#conv-list");
  const shown = all.filter((c) => matchesSearch(query, [c.other, accountName(c.accountId), c.messages.at(-1).text]));
  $("#conv-empty").hidden = all.length !== 0;
  $("#count-conversations").textContent = all.length ? String(all.length) : "";
  keepFocus(list, () => {
    list.replaceChildren(...shown.map((c) => {
      const last = c.messages.at(-1);
      const current = c.key === state.conversation;
      return h("li", {},
        h("button", {
          type: "button", class: "pick", "aria-current": current ? "true" : null, dataset: { focusKey: `conv:${c.key}` },
          onclick: () => go(`#conversations/${encodeURIComponent(c.key)}`),
        },
          h("span", { class: "pick-top" }, h("span", { class: "pick-title" }, c.other), h("span", { class: "pick-time" }, timeText(last.created))),
          h("span", { class: "pick-line" }, providerEl(c.provider), ` · ${accountName(c.accountId)} · ${c.messages.length} message${c.messages.length === 1 ? "" : "s"}`),
          h("span", { class: "pick-line" }, `${last.direction === "outbound" ? "→ " : "← "}${last.text || "(MMS)"}`)));
    }));
  });
  renderThread(all.find((c) => c.key === state.conversation) || null);
}

function replyNumber(conversation) {
  const account = state.accountById.get(conversation.accountId);
  const usable = account ? account.numbers.filter((n) => n.capabilities.includes("sms")) : [];
  for (const m of [...conversation.messages].reverse()) {
    const ours = m.direction === "outbound" ? m.from : m.to;
    if (usable.some((n) => n.number === ours)) return ours;
  }
  return usable.length ? usable[0].number : null;
}

function renderThread(conversation) {
  $("#conv-split").classList.toggle("has-selection", Boolean(conversation));
  $("#thread-empty").hidden = Boolean(conversation);
  $("#thread-body").hidden = !conversation;
  if (!conversation) return;
  const account = state.accountById.get(conversation.accountId);
  $("#thread-title").textContent = conversation.other;
  $("#thread-sub").replaceChildren(providerEl(conversation.provider), ` · ${accountName(conversation.accountId)}`,
    account ? ` · ${account.id}` : "");
  const list = $("#bubbles");
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
  let day = null;
  const items = [];
  for (const m of conversation.messages) {
    if (m.created.slice(0, 10) !== day) {
      day = m.created.slice(0, 10);
      items.push(h("li", { class: "day", "aria-hidden": "true" }, day));
    }
    const failed = ["failed", "expired", "rejected"].includes(m.status);
    const images = (m.attributes && m.attributes.images) || [];
    const who = m.direction === "outbound" ? `Sent by ${m.from}` : `Received from ${m.from}`;
    items.push(h("li", { class: `bubble ${m.direction === "outbound" ? "out" : "in"}${failed ? " failed" : ""}${state.fresh.messages.has(m.id) ? " fresh" : ""}`, dataset: { id: m.id } },
      h("span", { class: "visually-hidden" }, `${who}: `),
      images.length ? h("span", { class: "images" }, images.map((id, k) =>
        h("img", { src: new URL(`images/${encodeURIComponent(id)}`, BASE), alt: `Image ${k + 1}` }))) : null,
      m.text,
      h("span", { class: "bubble-meta" },
        m.direction === "outbound" && m.from !== conversation.other ? h("span", {}, `from ${m.from} ·`) : null,
        timeEl(m.created),
        m.direction === "outbound" ? ticks(m) : null,
        failed ? h("span", {}, m.status) : null)));
  }
  list.replaceChildren(...items);
  settleFresh(list, "messages");
  if (nearBottom || state.fresh.messages.size) list.scrollTop = list.scrollHeight;
  const ours = replyNumber(conversation);
  const form = $("#reply-form");
  form.dataset.to = ours || "";
  form.dataset.from = conversation.other;
  $("#reply-label").textContent = ours
    ? `Reply as ${conversation.other} (the phone) to ${ours}`
    : "This account has no number that can receive SMS, so the phone cannot reply.";
  for (const control of form.querySelectorAll("textarea, button")) control.disabled = !ours;
}

async function sendReply(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const text = $("#reply-text");
  const result = $("#reply-result");
  if (!text.value.trim()) {
    setResult(result, "Type a message first.", false);
    text.focus();
    return;
  }
  try {
    const message = await api("inbound/sms", { method: "POST", body: { to: form.dataset.to, from: form.dataset.from, text: text.value } });
    text.value = "";
    setResult(result, `Sent to ${message.to}.`, true);
    schedule("messages", "webhooks");
  } catch (error) {
    setResult(result, error.message, false);
  }
}

// -- phone simulator -------------------------------------------------------------------

function numberLabel(account, number) {
  const caps = number.capabilities.join(", ");
  return `${number.number} — ${account.name} (${PROVIDERS[account.provider]}) · ${caps}${number.name ? ` · ${number.name}` : ""}`;
}

function fillAccountChoices() {
  for (const select of $$("select[data-accounts]")) {
    const value = select.value;
    select.replaceChildren(h("option", { value: "" }, "All"),
      ...state.accounts.map((a) => h("option", { value: a.id }, `${PROVIDERS[a.provider]} · ${accountName(a.id)}`)));
    select.value = state.accountById.has(value) ? value : "";
  }
  for (const select of $$("select[data-numbers]")) {
    const capability = select.dataset.numbers;
    const value = select.value;
    const options = [];
    for (const account of state.accounts) {
      for (const number of account.numbers) {
        if (number.capabilities.includes(capability) || (capability === "sms" && number.capabilities.includes("mms"))) {
          options.push(h("option", { value: number.number, dataset: { caps: number.capabilities.join(" ") } }, numberLabel(account, number)));
        }
      }
    }
    if (!options.length) options.push(h("option", { value: "" }, "No account has such a number"));
    select.replaceChildren(...options);
    if ([...select.options].some((o) => o.value === value)) select.value = value;
  }
}

let chosenImage = null;

function readImage(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(new Error(`Cannot read ${file.name}.`));
    reader.readAsDataURL(file);
  });
}

async function onImageChosen(event) {
  const file = event.currentTarget.files[0];
  const preview = $("#phone-image-preview");
  chosenImage = null;
  preview.hidden = true;
  $("#phone-sms-send").textContent = "Send SMS";
  if (!file) return;
  try {
    chosenImage = await readImage(file);
    preview.src = chosenImage;
    preview.alt = `Chosen image: ${file.name}`;
    preview.hidden = false;
    $("#phone-sms-send").textContent = "Send MMS";
  } catch (error) {
    setResult($("#phone-sms-result"), error.message, false);
  }
}

function phoneNumber() {
  return $("#phone-from").value.trim();
}

async function sendFromPhone(event) {
  event.preventDefault();
  const result = $("#phone-sms-result");
  const to = $("#phone-sms-to").value;
  const text = $("#phone-text").value;
  const from = phoneNumber();
  if (!from) {
    setResult(result, "Enter this phone's number first.", false);
    $("#phone-from").focus();
    return;
  }
  if (!text && !chosenImage) {
    setResult(result, "Type a text or choose an image.", false);
    $("#phone-text").focus();
    return;
  }
  try {
    const message = chosenImage
      ? await api("inbound/mms", { method: "POST", body: { to, from, text, images: [chosenImage] } })
      : await api("inbound/sms", { method: "POST", body: { to, from, text } });
    setResult(result, "", true);
    result.replaceChildren(`${chosenImage ? "MMS" : "SMS"} ${message.id} received by ${message.to}. `,
      h("a", { href: `#conversations/${encodeURIComponent(conversationKeyOf(message))}` }, "Open the conversation"), " · ",
      h("a", { href: `#webhooks?q=${encodeURIComponent(message.id)}` }, "its webhooks"));
    $("#phone-text").value = "";
    $("#phone-image").value = "";
    chosenImage = null;
    $("#phone-image-preview").hidden = true;
    $("#phone-sms-send").textContent = "Send SMS";
    updateTextCount();
    schedule("messages", "webhooks");
  } catch (error) {
    setResult(result, error.message, false);
  }
}

async function callFromPhone(event) {
  event.preventDefault();
  const result = $("#phone-call-result");
  const from = phoneNumber();
  const digits = $("#phone-digits").value.trim();
  const talk = $("#phone-talk").value;
  if (!/^[0-9*#]*$/.test(digits)) {
    setResult(result, "Keys may only be 0-9, * and #.", false);
    $("#phone-digits").focus();
    return;
  }
  const body = { to: $("#phone-call-to").value, from };
  if (digits) body.digits = digits;
  if (talk !== "") body.talk_time = Number(talk);
  try {
    const call = await api("inbound/call", { method: "POST", body });
    setResult(result, "", true);
    result.replaceChildren(`Calling ${call.to}: call ${call.id} is ${call.status}. `,
      h("a", { href: `#calls/${encodeURIComponent(call.id)}` }, "Follow its timeline"));
    schedule("calls", "webhooks");
  } catch (error) {
    setResult(result, error.message, false);
  }
}

function updateTextCount() {
  const length = [...$("#phone-text").value].length;
  $("#phone-text-count").textContent = `${length} character${length === 1 ? "" : "s"}`;
}

function renderPhone() {
  const number = phoneNumber();
  const known = new Set();
  for (const m of state.messages) known.add(m.direction === "outbound" ? m.to : m.from);
  let datalist = $("#known-phones");
  if (!datalist) {
    datalist = h("datalist", { id: "known-phones" });
    document.body.append(datalist);
    $("#phone-from").setAttribute("list", "known-phones");
  }
  datalist.replaceChildren(...[...known].filter((n) => n.startsWith("+")).slice(0, 50).map((n) => h("option", { value: n })));
  const items = [];
  for (const m of state.messages) {
    if (sameNumber(m.from, number) || sameNumber(m.to, number)) items.push({ at: m.created, message: m });
  }
  for (const c of state.calls) {
    if (sameNumber(c.from, number) || sameNumber(c.to, number)) items.push({ at: c.created, call: c });
  }
  items.sort((a, b) => (a.at < b.at ? 1 : -1));
  const list = $("#phone-activity");
  list.replaceChildren(...items.slice(0, 12).map(({ message, call }) => message
    ? h("li", {}, timeEl(message.created), badge(message.status),
      h("span", {}, `${message.direction === "inbound" ? "Sent" : "Received"} ${message.direction === "inbound" ? `to ${message.to}` : `from ${message.from}`}: `),
      h("span", { class: "clip" }, message.text || "(MMS)"),
      h("a", { href: `#conversations/${encodeURIComponent(conversationKeyOf(message))}` }, "conversation"))
    : h("li", {}, timeEl(call.created), badge(call.status),
      h("span", {}, `Call ${call.direction === "inbound" ? `to ${call.to}` : `from ${call.from}`}, ${call.duration} s`),
      h("a", { href: `#calls/${encodeURIComponent(call.id)}` }, "timeline"))));
  if (!items.length) list.replaceChildren(h("li", { class: "sub" }, `Nothing to or from ${number || "this phone"} yet.`));
}

// -- calls ----------------------------------------------------------------------------

function filteredCalls() {
  const query = $("#call-search").value.trim().toLowerCase();
  const provider = $("#call-provider").value;
  const direction = $("#call-direction").value;
  return state.calls.filter((c) =>
    (!provider || c.provider === provider) && (!direction || c.direction === direction) &&
    matchesSearch(query, [c.id, c.from, c.to, c.account_id]));
}

function renderCalls() {
  const list = $("#call-list");
  const shown = filteredCalls();
  $("#call-empty").hidden = state.calls.length !== 0;
  $("#call-summary").textContent = state.calls.length ? `${shown.length} of ${state.calls.length} call${state.calls.length === 1 ? "" : "s"}` : "";
  keepFocus(list, () => {
    list.replaceChildren(...shown.map((c) => h("li", {},
      h("button", {
        type: "button", class: `pick${state.fresh.calls.has(c.id) ? " fresh" : ""}`, "aria-current": c.id === state.call ? "true" : null,
        dataset: { focusKey: `call:${c.id}`, id: c.id }, onclick: () => go(`#calls/${encodeURIComponent(c.id)}`),
      },
        h("span", { class: "pick-top" }, h("span", { class: "pick-title" }, `${c.from} → ${c.to}`), h("span", { class: "pick-time" }, timeText(c.created))),
        h("span", { class: "pick-line" }, providerEl(c.provider), ` · ${c.direction} · `, badge(c.status),
          ` · ${c.duration} s · ${money(c.cost, currencyOf(c.account_id, c.provider))}`)))));
  });
  settleFresh(list, "calls");
  const detail = $("#call-detail");
  const call = state.calls.find((c) => c.id === state.call);
  keepFocus(detail, () => {
    detail.replaceChildren(call ? callDetail(call) : h("p", { class: "empty" }, state.call ? `Call ${state.call} is not in the list.` : "Choose a call to see its timeline."));
  });
}

function timeline(call) {
  const entries = [];
  const add = (at, kind, ...content) => entries.push({ at, kind, content, order: entries.length });
  const labels = {
    created: "Call created", ringing: "Ringing", answered: "Answered", ongoing: "On the line",
    ended: `Ended${call.ended_by ? ` by ${call.ended_by}` : ""}`, busy: "Busy", no_answer: "No answer", failed: "Failed",
  };
  for (const change of call.history) {
    add(change.at, ["ended", "busy", "no_answer", "failed"].includes(change.status) ? "end" : "status", badge(change.status), " ", labels[change.status] || change.status);
  }
  for (const leg of call.legs) {
    add(leg.created, "leg", "Connecting ", h("span", { class: "number" }, leg.to), ` (caller id ${leg.from})`);
    if (leg.answered) add(leg.answered, "leg", h("span", { class: "number" }, leg.to), " answered");
    if (leg.ended) add(leg.ended, "leg", h("span", { class: "number" }, leg.to), " ", badge(leg.status), ` after ${leg.duration} s · ${money(leg.cost, currencyOf(call.account_id, call.provider))}`);
  }
  for (const event of state.callEvents.get(call.id) || []) {
    if (event.kind === "call.digits") {
      add(event.at, "digits", event.data.digits ? ["Caller pressed ", h("span", { class: "digits" }, event.data.digits)] : "No keys pressed");
    } else if (event.kind === "call.action") {
      add(event.at, "action", "Action ", h("span", { class: "verb" }, event.data.action), event.data.value ? `: ${event.data.value}` : "");
    } else if (event.kind === "call.recording") {
      add(event.at, "action", `Recording ${event.data.id} saved (${event.data.duration} s)`);
    }
  }
  // Same millisecond: keep the order above (status changes, legs, then what the script did).
  const instant = (entry) => entry.at.slice(0, 23);
  entries.sort((a, b) => (instant(a) === instant(b) ? a.order - b.order : instant(a) < instant(b) ? -1 : 1));
  return h("ol", { class: "timeline" }, entries.map((entry) => h("li", { class: `kind-${entry.kind}` }, timeEl(entry.at, true), entry.content)));
}

function actionItem(action) {
  const [verb, ...rest] = Object.keys(action);
  const details = rest.filter((key) => key !== "result").map((key) => `${key}: ${action[key]}`);
  return h("li", {}, h("span", { class: "verb" }, verb), " ", String(action[verb]),
    details.length ? h("span", { class: "sub" }, ` (${details.join(", ")})`) : null,
    "result" in action ? [" → ", verb === "ivr" && /^[0-9*#]+$/.test(action.result) ? ["pressed ", h("span", { class: "digits" }, action.result)] : badge(action.result === "success" ? "delivered" : action.result === "failed" ? "failed" : "sent", action.result)] : null);
}

function callDetail(call) {
  const currency = currencyOf(call.account_id, call.provider);
  const recordings = (call.attributes && call.attributes.recordings) || [];
  const pressed = (state.callEvents.get(call.id) || []).filter((e) => e.kind === "call.digits" && e.data.digits).map((e) => e.data.digits);
  return h("div", {},
    h("h2", {}, `${call.from} → ${call.to}`),
    h("dl", { class: "facts" },
      fact("Call", h("span", { class: "mono" }, call.id)),
      fact("Provider · account", [providerEl(call.provider), ` · ${accountName(call.account_id)}`]),
      fact("Direction", call.direction),
      fact("Status", [badge(call.status), call.error ? h("span", { class: "error-text" }, ` ${call.error}`) : null]),
      fact("Duration", `${call.duration} s`),
      fact("Cost", money(call.cost, currency)),
      fact("Keys pressed", pressed.length ? h("span", { class: "digits" }, pressed.join(" ")) : "–"),
      fact("Keys still to press", call.digits_left ? h("span", { class: "digits" }, call.digits_left) : "–")),
    h("h3", {}, "Timeline"),
    timeline(call),
    h("h3", {}, "Actions"),
    call.actions.length ? h("ol", { class: "actions" }, call.actions.map(actionItem)) : h("p", { class: "sub" }, "No actions ran."),
    call.legs.length ? [h("h3", {}, "Legs"), h("div", { class: "table-wrap" }, h("table", { class: "legs" },
      h("caption", { class: "visually-hidden" }, "Legs of the call"),
      h("thead", {}, h("tr", {}, ["Leg", "To", "Caller id", "Status", "Duration", "Cost"].map((label) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, call.legs.map((leg) => h("tr", {},
        h("td", { class: "mono" }, leg.id), h("td", { class: "number" }, leg.to), h("td", { class: "number" }, leg.from),
        h("td", {}, badge(leg.status)), h("td", {}, `${leg.duration} s`), h("td", {}, money(leg.cost, currency)))))))] : null,
    h("h3", {}, "Recordings"),
    recordings.length
      ? h("ul", { class: "recordings" }, recordings.map((id) => h("li", {},
        h("span", { class: "mono" }, id), " ",
        h("a", { href: new URL(`recordings/${encodeURIComponent(id)}.wav`, BASE), download: `${id}.wav` }, "download"),
        h("audio", { controls: true, preload: "metadata", src: new URL(`recordings/${encodeURIComponent(id)}.wav`, BASE), "aria-label": `Recording ${id}` }))))
      : h("p", { class: "sub" }, "No recordings."),
    h("div", { class: "link-row" }, h("a", { href: `#webhooks?q=${encodeURIComponent(call.id)}` }, "Webhooks about this call")));
}

// -- webhooks -------------------------------------------------------------------------

function filteredDeliveries() {
  const query = $("#hook-search").value.trim().toLowerCase();
  const provider = $("#hook-provider").value;
  const wanted = $("#hook-state").value;
  return state.deliveries.filter((d) =>
    (!provider || d.provider === provider) && (!wanted || d.state === wanted) &&
    matchesSearch(query, [d.id, d.url, d.event, d.subject_id, d.account_id]));
}

function renderWebhooks() {
  const list = $("#hook-list");
  const shown = filteredDeliveries();
  const total = state.deliveries.length;
  const failed = state.deliveries.filter((d) => d.state === "failed").length;
  $("#hook-empty").hidden = total !== 0;
  $("#hook-summary").textContent = total ? `${shown.length} of ${total} deliveries${failed ? ` · ${failed} failed` : ""}` : "";
  const copies = new Map([...state.redeliveries].map(([copy, original]) => [original, copy]));
  keepFocus(list, () => {
    list.replaceChildren(...shown.map((d) => deliveryItem(d, copies)));
  });
  settleFresh(list, "deliveries");
}

function attemptOutcome(a) {
  if (a.error) return badge("failed", "error");
  return badge(a.status >= 200 && a.status < 300 ? "delivered" : "failed", `HTTP ${a.status}`);
}

function deliveryItem(d, copies) {
  const open = state.open.deliveries.has(d.id);
  const attemptsId = `attempts-${d.id}`;
  const last = d.attempts.at(-1);
  const original = state.redeliveries.get(d.id);
  const copy = copies.get(d.id);
  return h("li", { class: `delivery${open ? " open" : ""}${state.fresh.deliveries.has(d.id) ? " fresh" : ""}`, dataset: { id: d.id } },
    h("div", { class: "delivery-head" },
      badge(d.state === "delivered" ? "delivered" : d.state === "failed" ? "failed" : "pending", d.state),
      providerEl(d.provider),
      h("span", { class: "mono" }, d.event),
      h("span", { class: "url" }, `${d.method} ${d.url}`),
      h("button", {
        type: "button", class: "small", "aria-expanded": String(open), "aria-controls": attemptsId,
        dataset: { focusKey: `hook:${d.id}` }, onclick: () => toggleDelivery(d.id),
      }, `${open ? "Hide" : "Show"} ${d.attempts.length} attempt${d.attempts.length === 1 ? "" : "s"}`),
      h("button", { type: "button", class: "small", dataset: { focusKey: `redeliver:${d.id}` }, onclick: (event) => redeliver(d, event.currentTarget) }, "Redeliver")),
    h("div", { class: "delivery-meta" },
      h("span", {}, "Queued ", timeEl(d.created, true)),
      last ? h("span", {}, "Last answer ", attemptOutcome(last), last.latency_ms !== null ? ` in ${last.latency_ms} ms` : "") : h("span", {}, "Not attempted yet"),
      d.next_attempt_at ? h("span", {}, "Next attempt ", timeEl(d.next_attempt_at, true)) : null,
      h("span", {}, accountName(d.account_id)),
      d.subject_id ? h("span", {}, "About ", h("a", { href: subjectLink(d.subject_id) }, d.subject_id)) : null,
      original ? h("span", {}, "Redelivery of ", h("span", { class: "mono" }, original)) : null,
      copy ? h("span", {}, "Redelivered as ", h("span", { class: "mono" }, copy)) : null,
      h("span", { class: "mono" }, d.id)),
    open ? h("ol", { class: "attempts", id: attemptsId }, d.attempts.length
      ? d.attempts.map((a) => attemptItem(a))
      : h("li", { class: "sub" }, "No attempt yet.")) : null);
}

function subjectLink(id) {
  if (state.calls.some((c) => c.id === id)) return `#calls/${encodeURIComponent(id)}`;
  return `#messages?q=${encodeURIComponent(id)}`;
}

function attemptItem(a) {
  const ok = a.status !== null && a.status >= 200 && a.status < 300;
  return h("li", { class: `attempt ${ok ? "ok" : "bad"}` },
    h("div", { class: "attempt-head" },
      h("strong", {}, `Attempt ${a.number}`), timeEl(a.at, true), attemptOutcome(a),
      a.latency_ms !== null ? h("span", {}, `${a.latency_ms} ms`) : null,
      a.error ? h("span", { class: "error-text" }, a.error) : null),
    h("details", {},
      h("summary", {}, "Request"),
      h("p", { class: "mono" }, `${a.method} ${a.url}`),
      h("table", { class: "headers" }, h("caption", { class: "visually-hidden" }, "Request headers"),
        h("tbody", {}, Object.entries(a.request_headers).map(([name, value]) => h("tr", {}, h("th", { scope: "row" }, name), h("td", {}, value))))),
      h("pre", { class: "json" }, prettyBody(a.request_body, a.request_headers))),
    h("details", {},
      h("summary", {}, "Response"),
      h("pre", { class: "json" }, a.response_body === null ? (a.error ? "(no response)" : "(empty)") : a.response_body || "(empty)")));
}

function toggleDelivery(id) {
  if (state.open.deliveries.has(id)) state.open.deliveries.delete(id);
  else state.open.deliveries.add(id);
  renderWebhooks();
}

async function redeliver(delivery, button) {
  button.disabled = true;
  try {
    const copy = await api(`webhooks/${encodeURIComponent(delivery.id)}/redeliver`, { method: "POST" });
    state.redeliveries.set(copy.id, delivery.id);
    announce(`Redelivery of ${delivery.event} queued as ${copy.id}.`);
    schedule("webhooks");
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

// -- requests (the journal) and the sink ----------------------------------------------

function filteredRequests() {
  const query = $("#req-search").value.trim().toLowerCase();
  const provider = $("#req-provider").value;
  const outcome = $("#req-outcome").value;
  return state.requests.filter((r) =>
    (!provider || r.provider === provider) && (!outcome || r.refused === (outcome === "refused")) &&
    matchesSearch(query, [r.path, r.reason, r.account_id, r.method, String(r.status), JSON.stringify(r.params)]));
}

function renderRequests() {
  const list = $("#req-list");
  const shown = filteredRequests();
  const total = state.requests.length;
  const refused = state.requests.filter((r) => r.refused).length;
  $("#req-empty").hidden = total !== 0;
  $("#req-summary").textContent = total ? `${shown.length} of ${total} requests${refused ? ` · ${refused} refused` : ""}` : "";
  keepFocus(list, () => {
    list.replaceChildren(...shown.map((r) => requestItem(r)));
  });
}

function requestItem(r) {
  const open = state.open.requests.has(r.id);
  const detailId = `request-${r.id}`;
  return h("li", { class: `delivery request${open ? " open" : ""}${r.refused ? " refused" : ""}`, dataset: { id: String(r.id) } },
    h("div", { class: "delivery-head" },
      badge(r.refused ? "failed" : "delivered", String(r.status)),
      providerEl(r.provider),
      h("span", { class: "url" }, `${r.method} ${r.path}`),
      h("button", {
        type: "button", class: "small", "aria-expanded": String(open), "aria-controls": detailId,
        dataset: { focusKey: `req:${r.id}` }, onclick: () => toggleRequest(r.id),
      }, open ? "Hide" : r.refused ? "Why?" : "Details")),
    h("div", { class: "delivery-meta" },
      timeEl(r.at, true),
      h("span", {}, `${r.duration_ms} ms`),
      r.account_id ? h("span", {}, accountName(r.account_id)) : h("span", {}, "no account"),
      h("span", { class: "mono" }, `#${r.id}`)),
    open ? h("div", { class: "request-detail", id: detailId },
      r.reason ? h("p", { class: "reason" }, h("strong", {}, "Reason: "), h("span", { class: "reason-text" }, r.reason)) : null,
      h("details", { open: true },
        h("summary", {}, "Parameters"),
        h("pre", { class: "json" }, JSON.stringify(r.params, null, 2)),
        r.body_note ? h("p", { class: "sub" }, r.body_note) : null),
      h("details", {},
        h("summary", {}, "Headers"),
        h("table", { class: "headers" }, h("caption", { class: "visually-hidden" }, "Request headers"),
          h("tbody", {}, Object.entries(r.headers).map(([name, value]) => h("tr", {}, h("th", { scope: "row" }, name), h("td", {}, value)))))),
      h("details", { open: true },
        h("summary", {}, `Answer (${r.status})`),
        h("pre", { class: "json" }, r.answer === null ? "(streamed or empty)" : typeof r.answer === "string" ? r.answer || "(empty)" : JSON.stringify(r.answer, null, 2)))) : null);
}

function toggleRequest(id) {
  if (state.open.requests.has(id)) state.open.requests.delete(id);
  else state.open.requests.add(id);
  renderRequests();
}

function renderSink() {
  const list = $("#sink-list");
  const total = state.arrivals.length;
  $("#sink-empty").hidden = total !== 0;
  $("#sink-summary").textContent = total ? `${total} request${total === 1 ? "" : "s"} received` : "";
  $("#sink-url").textContent = new URL("sink/…", BASE).href;
  keepFocus(list, () => {
    list.replaceChildren(...state.arrivals.map((a) => arrivalItem(a)));
  });
}

function arrivalItem(a) {
  const open = state.open.arrivals.has(a.id);
  const detailId = `arrival-${a.id}`;
  return h("li", { class: `delivery arrival${open ? " open" : ""}`, dataset: { id: String(a.id) } },
    h("div", { class: "delivery-head" },
      h("span", { class: "mono" }, a.method),
      h("span", { class: "url" }, `/sink${a.path}${a.query ? `?${a.query}` : ""}`),
      h("button", {
        type: "button", class: "small", "aria-expanded": String(open), "aria-controls": detailId,
        dataset: { focusKey: `sink:${a.id}` }, onclick: () => toggleArrival(a.id),
      }, open ? "Hide" : "Show")),
    h("div", { class: "delivery-meta" },
      timeEl(a.at, true),
      h("span", {}, `${a.body_size} bytes${a.truncated ? " (cut)" : ""}`),
      h("span", { class: "mono" }, `#${a.id}`)),
    open ? h("div", { class: "request-detail", id: detailId },
      h("table", { class: "headers" }, h("caption", { class: "visually-hidden" }, "Headers"),
        h("tbody", {}, Object.entries(a.headers).map(([name, value]) => h("tr", {}, h("th", { scope: "row" }, name), h("td", {}, value))))),
      h("pre", { class: "json" }, prettyBody(a.body, a.headers) || "(empty)")) : null);
}

function toggleArrival(id) {
  if (state.open.arrivals.has(id)) state.open.arrivals.delete(id);
  else state.open.arrivals.add(id);
  renderSink();
}

// -- accounts and clock ---------------------------------------------------------------

function charges(accountId) {
  const found = [];
  for (const m of state.messages) {
    if (m.account_id === accountId && m.cost > 0) {
      found.push({ at: m.created, what: `${m.attributes && m.attributes.kind === "mms" ? "MMS" : "SMS"} to ${m.to}${m.parts > 1 ? `, ${m.parts} parts` : ""}`, cost: m.cost });
    }
  }
  for (const c of state.calls) {
    if (c.account_id === accountId && c.cost > 0) found.push({ at: c.ended || c.created, what: `Call to ${c.to}, ${c.duration} s`, cost: c.cost });
  }
  return found.sort((a, b) => (a.at < b.at ? 1 : -1)).slice(0, 6);
}

function accountCard(account, children) {
  const recent = charges(account.id);
  return h("article", { class: "card account", "aria-labelledby": `acct-${account.id}`, dataset: { id: account.id } },
    h("div", { class: "account-head" },
      h("h3", { id: `acct-${account.id}` }, account.name),
      h("span", {}, providerEl(account.provider), account.parent ? " · subaccount" : "")),
    h("p", { class: "sub mono" }, account.id),
    h("p", { class: "balance" }, numberFormat.format(account.balance / 10000), " ", h("span", { class: "currency" }, account.currency),
      h("span", { class: "visually-hidden" }, " balance")),
    h("h4", { class: "visually-hidden" }, "Numbers"),
    account.numbers.length
      ? h("ul", { class: "numbers", "aria-label": `Numbers of ${account.name}` }, account.numbers.map((n) => h("li", {},
        h("span", { class: "number" }, n.number), n.name ? h("span", { class: "sub" }, n.name) : null,
        n.capabilities.map((cap) => h("span", { class: "cap" }, cap)),
        ["sms_url", "mms_url", "voice_start"].filter((key) => n[key]).map((key) =>
          h("span", { class: "sub mono number-url", title: n[key] }, `${key} ${n[key].length > 90 ? `${n[key].slice(0, 90)}…` : n[key]}`)))))
      : h("p", { class: "sub" }, "No numbers."),
    h("h4", {}, "Recent charges"),
    recent.length
      ? h("ul", { class: "charges", "aria-label": `Recent charges of ${account.name}` }, recent.map((c) => h("li", {},
        timeEl(c.at), h("span", {}, c.what), h("span", { class: "amount" }, `−${money(c.cost, account.currency)}`))))
      : h("p", { class: "sub" }, "No charges in the inbox's messages and calls."),
    children.length ? h("div", { class: "subaccounts", "aria-label": `Subaccounts of ${account.name}`, role: "group" }, children.map((child) => accountCard(child, []))) : null);
}

function renderAccounts() {
  const container = $("#account-list");
  const mains = state.accounts.filter((a) => !a.parent || !state.accountById.has(a.parent));
  keepFocus(container, () => {
    container.replaceChildren(...mains.map((a) => accountCard(a, state.accounts.filter((s) => s.parent === a.id))));
  });
  renderClock();
}

function renderClock() {
  const clock = state.clock;
  if (!clock) return;
  const virtual = clock.clock === "virtual";
  $("#clock-kind").textContent = virtual ? "virtual clock" : "real clock";
  $("#clock-now").textContent = `${clock.now.slice(0, 10)} ${clock.now.slice(11, 19)} UTC`;
  $("#clock-now").setAttribute("datetime", clock.now);
  $("#clock-kind-long").textContent = virtual ? "Virtual: time moves only when you advance it" : "Real: time passes by itself";
  $("#clock-now-long").textContent = clock.now.replace("T", " ").replace("Z", "");
  $("#clock-pending").textContent = String(clock.pending_events);
  for (const button of $$("[data-advance], #advance-form button, #advance-seconds")) button.disabled = !virtual;
  $(".quick-advance").hidden = !virtual;
  $("#clock-hint").textContent = virtual ? "" : "Start the emulator with --clock virtual to move time by hand.";
}

async function advance(seconds, result) {
  try {
    const moved = await api("clock/advance", { method: "POST", body: { seconds } });
    const text = `Now ${moved.now.slice(11, 19)} UTC; ${moved.fired} timed event${moved.fired === 1 ? "" : "s"} fired.`;
    if (result) setResult(result, text, true);
    else announce(text);
    schedule("all");
  } catch (error) {
    if (result) setResult(result, error.message, false);
    else showError(error);
  }
}

async function resetEmulator() {
  if (!window.confirm("Reset the emulator to its fixtures? Every message, call and webhook is forgotten.")) return;
  try {
    await api("reset", { method: "POST" });
    setResult($("#reset-result"), "Reset done.", true);
    schedule("all");
  } catch (error) {
    setResult($("#reset-result"), error.message, false);
  }
}

// -- counts and wiring ----------------------------------------------------------------

function renderCounts() {
  $("#count-messages").textContent = state.messages.length ? String(state.messages.length) : "";
  $("#count-calls").textContent = state.calls.length ? String(state.calls.length) : "";
  const failed = state.deliveries.filter((d) => d.state === "failed").length;
  $("#count-webhooks").textContent = state.deliveries.length ? `${state.deliveries.length}${failed ? ` · ${failed}✕` : ""}` : "";
  const refused = state.requests.filter((r) => r.refused).length;
  $("#count-requests").textContent = state.requests.length ? `${state.requests.length}${refused ? ` · ${refused}✕` : ""}` : "";
  $("#count-sink").textContent = state.arrivals.length ? String(state.arrivals.length) : "";
  const keys = new Set(state.messages.map(conversationKeyOf));
  $("#count-conversations").textContent = keys.size ? String(keys.size) : "";
}

const RENDERERS = {
  messages: renderMessages,
  conversations: renderConversations,
  phone: renderPhone,
  calls: renderCalls,
  webhooks: renderWebhooks,
  requests: renderRequests,
  sink: renderSink,
  accounts: renderAccounts,
};

function wire() {
  window.addEventListener("hashchange", () => route(true));
  $(".skip-link").addEventListener("click", (event) => {
    event.preventDefault(); // the hash names views; moving focus is all the link has to do
    $("#main").focus();
  });
  for (const form of $$("form[data-filters]")) {
    const view = form.dataset.filters;
    form.addEventListener("input", () => RENDERERS[view]());
    form.addEventListener("submit", (event) => event.preventDefault());
  }
  $("#conv-search").addEventListener("input", renderConversations);
  $("#thread-back").addEventListener("click", () => go("#conversations"));
  $("#reply-form").addEventListener("submit", sendReply);
  $("#reply-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("#reply-form").requestSubmit();
    }
  });
  $("#phone-sms").addEventListener("submit", sendFromPhone);
  $("#phone-call").addEventListener("submit", callFromPhone);
  $("#phone-image").addEventListener("change", onImageChosen);
  $("#phone-text").addEventListener("input", updateTextCount);
  $("#phone-from").addEventListener("change", renderPhone);
  for (const key of $$(".keypad button")) {
    key.addEventListener("click", () => {
      const digits = $("#phone-digits");
      if (digits.value.length < 100) digits.value += key.dataset.key;
    });
  }
  $("#phone-digits-clear").addEventListener("click", () => { $("#phone-digits").value = ""; });
  for (const button of $$("[data-advance]")) {
    button.addEventListener("click", () => advance(Number(button.dataset.advance), null));
  }
  $("#advance-form").addEventListener("submit", (event) => {
    event.preventDefault();
    advance(Number($("#advance-seconds").value), $("#advance-result"));
  });
  $("#reset-button").addEventListener("click", resetEmulator);
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if ((event.key === "ArrowDown" || event.key === "ArrowUp") && target.matches && target.matches(".pick, .row-toggle")) {
      // Up and down move between the items of a list, as in a mail client.
      const peers = $$(target.classList.contains("pick") ? ".pick" : ".row-toggle", target.closest("ul, tbody"));
      const next = peers[peers.indexOf(target) + (event.key === "ArrowDown" ? 1 : -1)];
      if (next) {
        event.preventDefault();
        next.focus();
      }
      return;
    }
    const typing = target.closest && target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      const search = $(`#view-${state.view} input[type="search"]`);
      if (search) {
        event.preventDefault();
        search.focus();
        search.select();
      }
    } else if (event.key === "Escape") {
      if (typing && target.type === "search" && target.value) {
        target.value = "";
        RENDERERS[state.view]();
        return;
      }
      const row = target.closest && target.closest("tr.details, tr.row, li.delivery");
      if (row && state.view === "messages") {
        const id = row.classList.contains("details") ? row.previousElementSibling.dataset.id : row.dataset.id;
        if (state.open.messages.has(id)) {
          state.open.messages.delete(id);
          renderMessages();
          $(`[data-focus-key="msg:${CSS.escape(id)}"]`).focus();
        }
      } else if (row && state.view === "webhooks" && state.open.deliveries.has(row.dataset.id)) {
        state.open.deliveries.delete(row.dataset.id);
        renderWebhooks();
        $(`[data-focus-key="hook:${CSS.escape(row.dataset.id)}"]`).focus();
      }
    }
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) schedule("all");
  });
}

function start() {
  wire();
  route(false);
  schedule("all");
  setInterval(() => schedule("clock", "requests"), 2000);
  follow();
}

start();
