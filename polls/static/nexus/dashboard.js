import { api, fieldErrors, plainError } from "./api.js";
import { renderResults, choiceTexts } from "./bars.js";
import { format, gettext, kindWord, ngettext, number, signalWord, statusWord, time } from "./i18n.js";
import { embedBox } from "./embed_box.js";
import { watchPolls } from "./live.js";

const grid = document.getElementById("polls");
const template = document.getElementById("poll-card");
const cards = new Map();

const live = watchPolls((state) => {
  const card = cards.get(state.poll);
  if (!card) return;
  card.el.querySelector(".total").textContent = number(state.total_votes);
  card.el.querySelector(".total-word").textContent = ngettext("vote", "votes", state.total_votes);
  card.el.querySelector(".status").textContent = statusWord(state.status);
  card.el.querySelector(".status").dataset.status = state.status;
  card.el.dataset.status = state.status;
  const moved = state.total_votes !== card.total || (state.quarantined ?? 0) !== card.held;
  Object.assign(card, { status: state.status, total: state.total_votes, held: state.quarantined ?? 0 });
  if (moved) card.integrity?.refreshSoon();
  showActions(card);
  card.queue?.pendingNow(state.pending ?? 0);
  renderResults(card.el.querySelector(".bars"), card.texts, state, card.poll);
  card.invites?.refreshSoon(); // a vote may have used an invite
}, { onError: (msg) => msg.poll && cards.get(msg.poll)?.el.classList.add("gone") });

// The invites of an invite poll: counts, minting, the CSV and the sheet.
function invitesBox(el, poll) {
  const box = el.querySelector(".invites");
  const error = box.querySelector(".invite-error");
  const url = `/api/polls/${poll.id}/invites/`;
  let pending = null;
  box.hidden = false;
  const named = (text) => format(text, { question: poll.question });
  box.querySelector("input[name=count]").setAttribute("aria-label", named(gettext("How many invites to create for “%(question)s”")));
  box.querySelector("button[type=submit]").setAttribute("aria-label", named(gettext("Create invites for “%(question)s”")));
  box.querySelector(".sheet").href = `/p/${poll.id}/invites/sheet/`;

  async function refresh() {
    pending = null;
    const answer = await api("GET", url);
    if (!answer.ok) { error.textContent = plainError(answer); return; }
    box.querySelector(".issued").textContent = number(answer.data.issued);
    box.querySelector(".used").textContent = number(answer.data.used);
  }

  box.querySelector("form").addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const count = Number(new FormData(event.target).get("count"));
    if (!Number.isInteger(count) || count < 1 || count > 10000) {
      error.textContent = format(gettext("Create between 1 and %(most)s invites at a time."), { most: number(10000) });
      return;
    }
    const answer = await api("POST", url, { count });
    if (!answer.ok) error.textContent = answer.data?.fields?.count || plainError(answer);
    await refresh();
  });

  box.querySelector(".csv").addEventListener("click", async () => {
    error.textContent = "";
    const response = await fetch(url, { headers: { Accept: "text/csv" }, credentials: "same-origin" });
    if (!response.ok) {
      const data = await response.json().catch(() => null);
      error.textContent = plainError({ status: response.status, data, retryAfter: response.headers.get("Retry-After") });
      return;
    }
    const file = URL.createObjectURL(await response.blob());
    const link = Object.assign(document.createElement("a"), { href: file, download: `nexus-${poll.id}-invites.csv` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(file), 60000);
  });

  refresh();
  return { refreshSoon() { pending ??= setTimeout(refresh, 1000); } };
}

// What each status offers: a draft or a closed poll opens, an open one closes;
// a poll with votes can be reset.
function showActions(card) {
  const { el, status, total } = card;
  el.querySelector("[data-action=open]").hidden = status === "open";
  el.querySelector("[data-action=close]").hidden = status !== "open";
  el.querySelector("[data-action=reset]").hidden = !total;
}

// A text poll's answers waiting for the owner. The owner's socket says how
// many wait (the state's `pending`); when that changes the queue is fetched,
// so new answers arrive without a reload. On an answer, `a` approves it and
// `h` hides it; focus moves on to the next.
function moderationQueue(el, poll) {
  const box = el.querySelector(".queue");
  const list = box.querySelector(".pending");
  const url = `/api/polls/${poll.id}/${poll.kind === "qa" ? "questions" : "answers"}/`;
  box.querySelectorAll(".hint[data-kind]").forEach((hint) => { hint.hidden = hint.dataset.kind !== poll.kind; });
  let known = -1;
  box.hidden = false;

  async function decide(item, action) {
    const next = item.nextElementSibling || item.previousElementSibling;
    const answer = await api("POST", `${url}${item.dataset.item}/${action}/`);
    if (!answer.ok) { el.querySelector(".card-error").textContent = plainError(answer); return; }
    item.remove();
    box.querySelector(".waiting").textContent = number(list.children.length);
    next?.focus();
  }

  function entry(answer) {
    const item = document.createElement("li");
    item.dataset.item = answer.id;
    item.tabIndex = 0;
    const text = Object.assign(document.createElement("span"), { className: "text", textContent: answer.text });
    const approve = Object.assign(document.createElement("button"), { type: "button", textContent: gettext("Approve") });
    const hide = Object.assign(document.createElement("button"), { type: "button", textContent: gettext("Hide") });
    approve.setAttribute("aria-label", format(gettext("Approve “%(text)s”"), { text: answer.text }));
    hide.setAttribute("aria-label", format(gettext("Hide “%(text)s”"), { text: answer.text }));
    approve.addEventListener("click", () => decide(item, "show"));
    hide.addEventListener("click", () => decide(item, "hide"));
    item.addEventListener("keydown", (event) => {
      if (event.target !== item) return;
      if (event.key === "a") decide(item, "show");
      else if (event.key === "h") decide(item, "hide");
    });
    item.append(text, approve, hide);
    return item;
  }

  async function refresh() {
    const answer = await api("GET", `${url}?state=pending&limit=50`);
    if (!answer.ok) return;
    const focused = document.activeElement?.closest?.("li[data-item]")?.dataset.item;
    const oldest = [...answer.data.results].reverse(); // the oldest waited longest: first
    list.replaceChildren(...oldest.map(entry));
    box.querySelector(".waiting").textContent = number(answer.data.count);
    if (focused) list.querySelector(`li[data-item="${Number(focused)}"]`)?.focus();
  }

  return { pendingNow(count) { if (count !== known) { known = count; refresh(); } } };
}

// Stuffing detection, for the owner: a badge (clean, n flagged, n
// quarantined), the ballots' arrivals on a timeline with the flagged and
// quarantined ones marked, each signal with its quarantine or release, and
// what the owner did. The owner's socket says when ballots arrive; the report
// reads every ballot and is rate limited per account, so it is fetched again
// at most every INTEGRITY_EVERY ms, and at once after a quarantine or release.
const INTEGRITY_EVERY = 15000;

function integrityBox(el, poll) {
  const box = el.querySelector(".integrity");
  const badge = box.querySelector(".badge");
  const error = box.querySelector(".integrity-error");
  const url = `/api/polls/${poll.id}/integrity/`;
  let timer = null;
  let last = 0;
  box.hidden = false;

  function drawTimeline(arrivals) {
    const bars = box.querySelector(".timeline");
    const most = Math.max(1, ...arrivals.ballots);
    const start = arrivals.start ? new Date(arrivals.start).getTime() : 0;
    bars.replaceChildren(...arrivals.ballots.map((count, i) => {
      const held = arrivals.quarantined[i];
      const flagged = Math.max(0, arrivals.flagged[i] - held);
      const stretch = Object.assign(document.createElement("div"), { className: "stretch" });
      stretch.title = format(gettext("%(time)s: %(ballots)s ballots, %(flagged)s flagged, %(held)s quarantined"), {
        time: time(start + i * arrivals.seconds * 1000), ballots: number(count),
        flagged: number(arrivals.flagged[i]), held: number(held),
      });
      for (const [part, n] of [["counted", count - held - flagged], ["flagged", flagged], ["held", held]]) {
        const segment = Object.assign(document.createElement("span"), { className: part });
        segment.style.height = `${(64 * n) / most}px`;
        stretch.append(segment);
      }
      return stretch;
    }));
    const total = arrivals.ballots.reduce((a, b) => a + b, 0);
    bars.setAttribute("aria-label", format(
      gettext("%(total)s ballots in stretches of %(seconds)s s; the most in one stretch: %(most)s"),
      { total: number(total), seconds: number(arrivals.seconds), most: number(most) },
    ));
    box.querySelector(".span").textContent = format(gettext("%(seconds)s s a bar"), { seconds: number(arrivals.seconds) });
  }

  function signalItem(signal) {
    const item = document.createElement("li");
    item.dataset.signal = signal.id;
    const what = Object.assign(document.createElement("strong"), { textContent: signalWord(signal.kind) });
    const when = { start: time(signal.start), end: time(signal.end), held: number(signal.quarantined) };
    item.append(what, ` ${signal.detail} (${format(signal.quarantined
      ? gettext("%(start)s–%(end)s, %(held)s quarantined") : gettext("%(start)s–%(end)s"), when)})`);
    const buttons = [];
    if (signal.quarantined < signal.ballots) {
      buttons.push([gettext("Quarantine"), "quarantine", gettext("Quarantine the %(n)s ballots of this %(signal)s")]);
    }
    if (signal.quarantined > 0) {
      buttons.push([gettext("Release"), "release", gettext("Release the %(n)s ballots of this %(signal)s")]);
    }
    for (const [label, path, described] of buttons) {
      const button = Object.assign(document.createElement("button"), { type: "button", textContent: label });
      button.dataset.act = path;
      button.setAttribute("aria-label", format(described, { n: number(signal.ballots), signal: what.textContent }));
      button.addEventListener("click", () => act(button, path, { signal: signal.id }));
      item.append(button);
    }
    return item;
  }

  function showBadge({ flagged, quarantined }) {
    badge.dataset.state = quarantined ? "quarantined" : flagged ? "flagged" : "clean";
    const parts = [
      flagged && format(gettext("%(n)s flagged"), { n: number(flagged) }),
      quarantined && format(gettext("%(n)s quarantined"), { n: number(quarantined) }),
    ];
    badge.textContent = parts.filter(Boolean).join(" · ") || gettext("clean");
  }

  function show(report) {
    const { quarantined } = report;
    showBadge(report);
    drawTimeline(report.arrivals);
    box.querySelector(".signals").replaceChildren(...report.signals.map(signalItem));
    box.querySelector(".quarantine-all").hidden = !report.signals.some((s) => s.quarantined < s.ballots);
    box.querySelector(".release-all").hidden = !quarantined;
    box.querySelector(".integrity-log").replaceChildren(...report.actions.slice(0, 10).map((a) => {
      const did = a.action === "quarantine"
        ? ngettext("%(who)s quarantined %(n)s ballot: %(which)s", "%(who)s quarantined %(n)s ballots: %(which)s", a.ballots)
        : ngettext("%(who)s released %(n)s ballot: %(which)s", "%(who)s released %(n)s ballots: %(which)s", a.ballots);
      const which = a.signal === "all_flagged" ? gettext("every flagged ballot")
        : a.signal === "all" ? gettext("every quarantined ballot") : a.detail;
      const who = a.by ?? gettext("a deleted account");
      return Object.assign(document.createElement("li"), {
        textContent: `${time(a.at)} · ${format(did, { who, n: number(a.ballots), which })}`,
      });
    }));
  }

  async function refresh() {
    timer = null;
    last = Date.now();
    const answer = await api("GET", url);
    if (!answer.ok) {
      error.textContent = plainError(answer);
      if (answer.status === 429) later(1000 * (Number(answer.retryAfter) || 15));
      return;
    }
    error.textContent = "";
    show(answer.data);
  }

  function later(ms) { timer ??= setTimeout(refresh, ms); }

  async function act(button, path, body) {
    error.textContent = "";
    button.disabled = true;
    try {
      const answer = await api("POST", `${url}${path}/`, body);
      if (!answer.ok) { error.textContent = fieldErrors(answer); return; }
      clearTimeout(timer);
      await refresh();
    } finally { button.disabled = false; }
  }

  box.querySelector(".quarantine-all").addEventListener("click", (event) => act(event.target, "quarantine", { all_flagged: true }));
  box.querySelector(".release-all").addEventListener("click", (event) => act(event.target, "release", { all: true }));
  box.addEventListener("toggle", () => { if (box.open) refresh(); });
  // The worker's detector keeps the badge's counts on the poll: no report
  // is read until the owner opens the box or ballots arrive.
  showBadge(poll.integrity ?? { flagged: 0, quarantined: 0 });
  return { refreshSoon() { later(Math.max(0, last + INTEGRITY_EVERY - Date.now())); } };
}

// A copy to change and reuse: the same question, kind and rules, as a draft.
// A passcode is never sent back by the API, so the copy asks for one.
async function duplicate(poll) {
  const body = {
    question: poll.question, description: poll.description, kind: poll.kind,
    choices: poll.choices.map((c) => c.text), results: poll.results, status: "draft",
    allow_vote_change: poll.allow_vote_change, eligibility: poll.eligibility,
    max_ballots_per_address: poll.max_ballots_per_address, challenge: poll.challenge,
  };
  if (poll.kind === "multiple") body.max_choices = poll.max_choices;
  if (poll.kind === "rating") body.scale = poll.scale;
  if (poll.kind === "text") Object.assign(body, { moderation: poll.moderation, answers_per_voter: poll.answers_per_voter });
  if (poll.kind === "qa") body.moderation = poll.moderation;
  if (poll.eligibility === "passcode") {
    body.passcode = prompt(gettext("The copy's passcode (4 to 64 characters):")) ?? "";
  }
  return api("POST", "/api/polls/", body);
}

// A CSV export runs as a background job: start it, wait for it, download it.
async function exportCsv(poll, error) {
  let answer = await api("POST", `/api/polls/${poll.id}/exports/`);
  const deadline = Date.now() + 120000;
  while (answer.ok && !["done", "failed"].includes(answer.data.status) && Date.now() < deadline) {
    await new Promise((resolve) => { setTimeout(resolve, 700); });
    answer = await api("GET", answer.data.url);
  }
  if (!answer.ok) { error.textContent = plainError(answer); return; }
  if (answer.data.status !== "done") { error.textContent = gettext("The export did not finish; try again."); return; }
  const link = Object.assign(document.createElement("a"), { href: answer.data.download, download: "" });
  document.body.append(link);
  link.click();
  link.remove();
}

function editForm(card) {
  const { el, poll } = card;
  const form = el.querySelector(".edit-form");
  const toggle = el.querySelector("[data-action=edit]");
  const fill = () => {
    form.elements.question.value = poll.question;
    form.elements.description.value = poll.description;
    form.elements.choices.value = poll.choices.map((c) => c.text).join("\n");
  };
  const show = (open) => { form.hidden = !open; toggle.setAttribute("aria-expanded", String(open)); if (open) fill(); };
  form.querySelector(".cancel").addEventListener("click", () => show(false));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { question: form.elements.question.value.trim(), description: form.elements.description.value.trim() };
    const choices = form.elements.choices.value.split("\n").map((line) => line.trim()).filter(Boolean);
    if (choices.join("\n") !== poll.choices.map((c) => c.text).join("\n")) body.choices = choices;
    const answer = await api("PATCH", `/api/polls/${poll.id}/`, body);
    if (!answer.ok) { el.querySelector(".card-error").textContent = fieldErrors(answer); return; }
    replaceCard(card, answer.data);
  });
  return show;
}

function fillCard(el, poll) {
  el.dataset.poll = poll.id;
  el.dataset.status = poll.status;
  el.querySelector(".q").textContent = poll.question;
  el.querySelector(".status").textContent = statusWord(poll.status);
  el.querySelector(".status").dataset.status = poll.status;
  el.querySelector(".code").textContent = poll.id;
  el.querySelector(".kind").textContent = kindWord(poll.kind);
  el.querySelector(".total").textContent = number(poll.total_votes);
  el.querySelector(".total-word").textContent = ngettext("vote", "votes", poll.total_votes);
  el.querySelector(".present").href = poll.urls.present;
  el.querySelector(".vote").href = poll.urls.page;
  el.querySelectorAll("button[data-action]").forEach((button) => {
    button.setAttribute("aria-label", format(gettext("%(action)s “%(question)s”"), {
      action: button.textContent, question: poll.question,
    }));
  });
}

function addCard(poll, before = null) {
  const el = template.content.firstElementChild.cloneNode(true);
  fillCard(el, poll);
  const card = { el, poll, texts: choiceTexts(poll), status: poll.status, total: poll.total_votes, held: poll.integrity?.quarantined ?? 0 };
  const error = el.querySelector(".card-error");
  const edit = editForm(card);
  const actions = {
    async open() { return api("POST", `/api/polls/${poll.id}/open/`); },
    async close() { return api("POST", `/api/polls/${poll.id}/close/`); },
    async reset() {
      if (!confirm(format(gettext("Delete every vote in “%(question)s”?"), { question: poll.question }))) return null;
      return api("POST", `/api/polls/${poll.id}/reset/`);
    },
    async edit() { edit(el.querySelector(".edit-form").hidden); return null; },
    async duplicate() {
      const answer = await duplicate(poll);
      if (answer.ok) { addCard(answer.data, grid.firstElementChild); return null; }
      return answer;
    },
    async export() { await exportCsv(poll, error); return null; },
    async delete() {
      const sure = gettext("Delete “%(question)s” and all its votes? This cannot be undone.");
      if (!confirm(format(sure, { question: poll.question }))) return null;
      const answer = await api("DELETE", `/api/polls/${poll.id}/`);
      if (answer.ok) { removeCard(poll.id); return null; }
      return answer;
    },
  };
  el.querySelectorAll("button[data-action]").forEach((button) => {
    button.addEventListener("click", async () => {
      error.textContent = "";
      button.disabled = true;
      try {
        const answer = await actions[button.dataset.action]();
        if (answer && !answer.ok) error.textContent = fieldErrors(answer);
      } finally { button.disabled = false; }
    });
  });
  grid.insertBefore(el, before);
  card.invites = poll.eligibility === "invite" ? invitesBox(el, poll) : null;
  card.integrity = poll.kind === "qa" ? null : integrityBox(el, poll);
  embedBox(el.querySelector(".embed"), poll, poll.question, `/api/polls/${poll.id}/`);
  const written = poll.kind === "text" || poll.kind === "qa";
  card.queue = written && poll.moderation === "pre" ? moderationQueue(el, poll) : null;
  cards.set(poll.id, card);
  showActions(card);
  live.subscribe(poll.id);
  return card;
}

function removeCard(pollId) {
  const card = cards.get(pollId);
  if (!card) return;
  live.unsubscribe(pollId);
  card.el.remove();
  cards.delete(pollId);
}

function replaceCard(card, poll) {
  const next = card.el.nextElementSibling;
  removeCard(card.poll.id);
  addCard(poll, next);
}

// Search and pages: the server filters (`?search=`, `?status=`) and pages.
const PAGE = 12;
const search = document.getElementById("poll-search");
let offset = 0;

async function loadPage() {
  const data = new FormData(search);
  const query = new URLSearchParams({ mine: "true", limit: PAGE, offset });
  if (data.get("search").trim()) query.set("search", data.get("search").trim());
  if (data.get("status")) query.set("status", data.get("status"));
  const answer = await api("GET", `/api/polls/?${query}`);
  if (!answer.ok) { document.getElementById("page-info").textContent = plainError(answer); return; }
  for (const id of [...cards.keys()]) removeCard(id);
  answer.data.results.forEach((poll) => addCard(poll));
  const { count } = answer.data;
  const filtered = query.has("search") || query.has("status");
  document.getElementById("empty").hidden = count > 0 || filtered;
  document.getElementById("page-info").textContent = count
    ? format(gettext("Polls %(first)s–%(last)s of %(count)s"), {
      first: number(offset + 1), last: number(offset + answer.data.results.length), count: number(count),
    })
    : filtered ? gettext("No poll matches.") : "";
  document.getElementById("previous-page").hidden = offset === 0;
  document.getElementById("next-page").hidden = offset + PAGE >= count;
}

search.addEventListener("submit", (event) => { event.preventDefault(); offset = 0; loadPage(); });
document.getElementById("previous-page").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); loadPage(); });
document.getElementById("next-page").addEventListener("click", () => { offset += PAGE; loadPage(); });
await loadPage();
