import { api, plainError, voterRenew } from "./api.js";
import { renderResults, choiceTexts } from "./bars.js";
import { format, gettext, ngettext, number } from "./i18n.js";
import { watchPoll } from "./live.js";
import { proofOfWork } from "./pow.js";
import { voterQuestions } from "./questions.js";

const poll = JSON.parse(document.getElementById("poll-data").textContent);
const form = document.getElementById("ballot");
const submit = document.getElementById("submit");
const passcode = document.getElementById("passcode"); // passcode polls only
const signIn = document.getElementById("sign-in"); // signed-in polls, visitor not signed in
const message = document.getElementById("message");
const results = document.getElementById("results");
const note = document.getElementById("results-note");
let watching = null;
let locked = false;
let given = 0; // a text poll's answers from this voter

// What this tab remembers about this poll. A browser may refuse storage
// (private modes): then it is simply not remembered.
const memory = {
  get(name) {
    try { return sessionStorage.getItem(`nexus:${poll.id}:${name}`); } catch { return null; }
  },
  set(name, value) {
    try { sessionStorage.setItem(`nexus:${poll.id}:${name}`, value); } catch { /* not remembered */ }
  },
};

// An invite link (?invite=<token>): keep the token for this tab and take it
// out of the address bar, so that a copied address or a screenshot does not
// hand someone else this voter's single vote.
function takeInvite() {
  const params = new URLSearchParams(location.search);
  const token = params.get("invite");
  if (token === null) return memory.get("invite");
  params.delete("invite");
  const query = params.toString();
  history.replaceState(history.state, "", `${location.pathname}${query ? `?${query}` : ""}${location.hash}`);
  if (token) memory.set("invite", token);
  return token || memory.get("invite");
}

const inviteInAddress = new URLSearchParams(location.search).has("invite");
const invite = (() => { const token = takeInvite(); return poll.eligibility === "invite" ? token : null; })();
const voterHeaders = () => (invite ? { "X-Voter-Id": invite } : {});

// A voter cookie the server no longer accepts (from an older version): get a
// fresh id, which also resets the cookie, and try once more, silently. The
// page renews once, and every call that was refused waits for that one
// renewal: a vote tapped while the page's first call is still renewing is
// retried too, not left with the stale id's refusal.
let renewal = null;
async function asVoter(call) {
  const answer = await call();
  if (answer.data?.code !== "invalid_voter_id" || invite) return answer;
  renewal ??= voterRenew().then((renewed) => renewed.ok);
  return (await renewal) ? call() : answer;
}

// A `challenge: pow` poll (pow.js): a browser proves a moment of work with
// its first ballot, question or upvote, solved while the page opens.
// Invited voters need none: the page then has no worker.
const powWorker = document.getElementById("vote-page").dataset.powWorker;
const pow = powWorker ? proofOfWork(poll.id, powWorker, {
  onSolved(proof) { form.dataset.pow = "ready"; form.dataset.powMs = Math.round(proof.ms); },
}) : null;
const PROOF_REFUSED = new Set(["challenge_required", "challenge_failed"]);

// A write that may be this voter's first: `call(headers)` carries the proof
// solved ahead; a refused proof (expired, or used up) is solved again, once.
// After a POST is taken the voter is known to the poll: no more proofs.
async function write(method, call) {
  if (!pow) return asVoter(() => call({}));
  const attempt = async () => {
    const proof = await pow.proof();
    if (proof.error) return proof.error;
    return asVoter(() => call(proof.header ? { "X-Challenge": proof.header } : {}));
  };
  let answer = await attempt();
  if (PROOF_REFUSED.has(answer.data?.code)) {
    pow.refused();
    answer = await attempt();
  }
  if (answer.ok && method === "POST") pow.done();
  return answer;
}

function say(text, kind = "info") { message.textContent = text; message.dataset.kind = kind; }

function explain(answer) {
  // With an invite, the id the server refused is the invite itself.
  const code = invite && answer.data?.code === "invalid_voter_id" ? "not_invited" : answer.data?.code;
  return plainError({ ...answer, data: { ...answer.data, code } });
}

// A Q&A poll: the room's questions with upvotes, and this voter's own
// that wait for the organiser (questions.js).
const qa = poll.kind === "qa" ? voterQuestions(poll, {
  list: document.getElementById("questions"),
  mine: document.getElementById("mine"),
  request: (method, url) => (method === "GET"
    ? asVoter(() => api(method, url, undefined, { headers: writeHeaders() }))
    : write(method, (proof) => api(method, url, undefined, { headers: { ...writeHeaders(), ...proof } }))),
  say: (answer) => say(explain(answer), "error"),
}) : null;

function showResults() {
  if (watching) return;
  watching = watchPoll(poll.id, (state) => {
    results.hidden = false; note.hidden = true;
    const count = qa ? state.shown : state.total_votes;
    const total = qa ? ngettext("(%(n)s question)", "(%(n)s questions)", count)
      : ngettext("(%(n)s vote)", "(%(n)s votes)", count);
    document.getElementById("total").textContent = format(total, { n: number(count) });
    if (qa) qa.show(state);
    else renderResults(document.getElementById("bars"), choiceTexts(poll), state, poll, {
      runoff: document.getElementById("runoff"),
    });
    if (state.status === "closed") {  // say so, not just grey the form out
      lockForm(true);
      say(plainError({ data: { code: "poll_closed" } }), "error");
    }
  }, {
    voter: invite,
    onStatus(status) {
      if (status === "hidden") {
        note.hidden = false;
        note.textContent = poll.results === "after_close"
          ? gettext("Results appear when the poll closes.") : gettext("Results appear after you vote.");
      }
    },
  });
}

// The ballot on the form: single and multiple choice tick their choices, a
// rating checks each item's score, a ranking puts the rows in its order.
function mark(ballot) {
  for (const input of form.querySelectorAll("input[name=choice]")) {
    input.checked = ballot.choices.includes(Number(input.value));
  }
  for (const [id, score] of Object.entries(ballot.ratings ?? {})) {
    const input = form.querySelector(`input[name="rate-${id}"][value="${score}"]`);
    if (input) input.checked = true;
  }
  if (ballot.ranking) {
    const ranked = ballot.ranking.map((id) => rankRow(id)).filter(Boolean);
    const rest = [...ranking.children].filter((row) => !ranked.includes(row));
    ranking.append(...ranked, ...rest);
    renumber();
  }
}

// A rating left out is not rated: "clear" takes an item's score back.
form.addEventListener("click", (event) => {
  const clear = event.target.closest("button.clear-rating");
  if (!clear || locked) return;
  clear.closest("fieldset").querySelectorAll("input").forEach((input) => { input.checked = false; });
});

// --- ranking: drag and drop, and ↑ ↓ buttons for keyboards and screen readers --

const ranking = document.getElementById("ranking"); // ranking polls only
const rankSaid = document.getElementById("ranking-said");
const rankRow = (id) => ranking.querySelector(`li[data-choice="${id}"]`);

function renumber() {
  [...ranking.children].forEach((row, i) => { row.querySelector(".place").textContent = i + 1; });
}

function placed(row) {
  const rows = [...ranking.children];
  rankSaid.textContent = format(gettext("%(text)s: %(place)s of %(count)s."), {
    text: row.querySelector(".text").textContent, place: number(rows.indexOf(row) + 1), count: number(rows.length),
  });
}

if (ranking) {
  ranking.addEventListener("click", (event) => {
    const button = event.target.closest("button.move");
    if (!button || locked) return;
    const row = button.closest("li");
    const step = Number(button.dataset.move);
    const other = step < 0 ? row.previousElementSibling : row.nextElementSibling;
    if (!other) return;
    if (step < 0) other.before(row); else other.after(row);
    renumber();
    placed(row);
    button.focus(); // the same button, so pressing it again keeps moving the row
  });
  let dragged = null;
  ranking.addEventListener("dragstart", (event) => {
    if (locked) return event.preventDefault();
    dragged = event.target.closest("li");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.choice);
    dragged.classList.add("dragging");
  });
  ranking.addEventListener("dragover", (event) => {
    const over = event.target.closest("li");
    if (!dragged || !over || over === dragged) return;
    event.preventDefault();
    const { top, height } = over.getBoundingClientRect();
    if (event.clientY < top + height / 2) over.before(dragged); else over.after(dragged);
    renumber();
  });
  ranking.addEventListener("drop", (event) => event.preventDefault());
  ranking.addEventListener("dragend", () => {
    if (dragged) { dragged.classList.remove("dragging"); placed(dragged); }
    dragged = null;
  });
}

function lockForm(lock) {
  locked = lock;
  form.querySelectorAll("input, button").forEach((el) => { el.disabled = lock; });
  ranking?.querySelectorAll("li").forEach((row) => { row.draggable = !lock; });
  if (qa) {
    submit.textContent = gettext("Ask");
  } else if (poll.kind === "text") {
    const replaces = poll.allow_vote_change && poll.answers_per_voter === 1 && given > 0;
    submit.textContent = replaces ? gettext("Change my answer") : gettext("Send");
  } else {
    submit.textContent = poll.allow_vote_change ? gettext("Change my vote") : gettext("Vote");
  }
}

// The vote's body as the poll's kind takes it, or a hint when it is empty.
function ballotBody() {
  if (poll.kind === "rating") {
    const ratings = {};
    for (const input of form.querySelectorAll("fieldset.rating input:checked")) {
      ratings[input.closest("fieldset").dataset.choice] = Number(input.value);
    }
    return Object.keys(ratings).length ? { ratings } : { hint: gettext("Rate at least one item first.") };
  }
  if (poll.kind === "ranking") {
    return { ranking: [...ranking.children].map((row) => Number(row.dataset.choice)) };
  }
  if (poll.kind === "text" || qa) {
    const text = document.getElementById("answer").value.trim();
    return text ? { text } : { hint: qa ? gettext("Write a question first.") : gettext("Write an answer first.") };
  }
  const choices = [...form.querySelectorAll("input[name=choice]:checked")].map((i) => Number(i.value));
  return choices.length ? { choices } : { hint: gettext("Pick a choice first.") };
}

// The passcode as a header: fetch refuses characters outside Latin-1, and
// no passcode the server could match has them.
function passcodeHeader() {
  const value = passcode.value.trim();
  if (!value) return { error: "passcode_required" };
  if (/[^\u0020-\u00ff]/.test(value)) return { error: "wrong_passcode" };
  return { value };
}

// Headers for a question or an upvote: the invite, and the passcode typed
// or remembered.
function writeHeaders() {
  const headers = voterHeaders();
  const value = passcode?.value.trim();
  if (value && !/[^\u0020-\u00ff]/.test(value)) headers["X-Poll-Passcode"] = value;
  return headers;
}

function passcodeRefused(code) {
  say(plainError({ data: { code } }), "error");
  passcode.setAttribute("aria-invalid", "true");
  passcode.focus();
  passcode.select();
}

form.addEventListener("change", (event) => {
  const checked = form.querySelectorAll("input[name=choice]:checked");
  if (poll.kind === "multiple" && checked.length > poll.max_choices) {
    event.target.checked = false;
    say(format(gettext("You can pick up to %(n)s."), { n: number(poll.max_choices) }), "error");
  }
});

// A text poll's answer taken: say whether it shows or waits for the
// organiser; keep the box open while the poll takes more from this voter.
function answered(data) {
  given += 1;
  say(data.state === "pending"
    ? gettext("Thanks — your answer shows once the organiser has read it.")
    : gettext("Thank you — your answer is in."), "ok");
  const more = given < poll.answers_per_voter || (poll.allow_vote_change && poll.answers_per_voter === 1);
  document.getElementById("answer").value = "";
  lockForm(!more);
  showResults();
}

// A question taken: say whether it shows or waits; the box stays open.
function asked(data) {
  say(data.state === "pending"
    ? gettext("Thanks — your question shows once the organiser has read it.")
    : gettext("Thank you — your question is in."), "ok");
  document.getElementById("answer").value = "";
  qa.asked(data);
  showResults();
}

async function cast(body) {
  const headers = voterHeaders();
  if (passcode) {
    const sent = passcodeHeader();
    if (sent.error) return passcodeRefused(sent.error);
    headers["X-Poll-Passcode"] = sent.value;
  }
  const url = qa ? `/api/polls/${poll.id}/questions/` : poll.urls.vote;
  if (pow && form.dataset.pow !== "ready") say(gettext("One moment…"));
  const answer = await write("POST", (proof) => api("POST", url, body, { headers: { ...headers, ...proof } }));
  const code = answer.data?.code;
  passcode?.removeAttribute("aria-invalid");
  if (answer.ok) {
    if (passcode) memory.set("passcode", headers["X-Poll-Passcode"]);
    if (qa) return asked(answer.data);
    if (poll.kind === "text") return answered(answer.data);
    say(answer.status === 201 ? gettext("Thank you — your vote is in.") : gettext("Your vote has been changed."), "ok");
    lockForm(!poll.allow_vote_change);
    showResults();
  } else if (code === "wrong_passcode" || code === "passcode_required") {
    passcodeRefused(code);
  } else {
    say(explain(answer), "error");
    if (code === "already_voted" || code === "poll_closed") { lockForm(true); showResults(); }
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const { hint, ...body } = ballotBody();
  if (hint) return say(hint, "error");
  if (submit.disabled) return;
  submit.disabled = true;
  try { await cast(body); } finally { submit.disabled = locked; }
});

// An invite poll opened without its token: nothing to vote with.
function inviteNeeded() {
  document.getElementById("invite-needed").hidden = false;
  submit.hidden = true;
  lockForm(true);
  if (poll.status === "closed") say(plainError({ data: { code: "poll_closed" } }), "error");
  if (poll.results === "live" || poll.status === "closed") showResults();
}

// The ballot the page came with ({choices, ratings?, ranking?}), {choices: []}
// for none, or null when the server could not tell.
function knownBallot() {
  const ballot = JSON.parse(document.getElementById("ballot-data").textContent);
  if (!ballot.known || (invite && !inviteInAddress)) return null;
  return ballot.choices ? ballot : { choices: [] };
}

// Coming back to the page: show the ballot this voter already cast.
async function start() {
  if (poll.eligibility === "invite" && !invite) return inviteNeeded();
  if (passcode) passcode.value = memory.get("passcode") || "";
  if (qa) {
    if (poll.status === "closed") {
      say(plainError({ data: { code: "poll_closed" } }), "error");
      lockForm(true);
    } else lockForm(Boolean(signIn));
    showResults();
    if (await qa.refresh()) pow?.done();
    else if (poll.status !== "closed" && !signIn) pow?.start();
    return;
  }
  // The server read this visitor's ballot with the page; it asks the API
  // only when it could not tell (a stale voter id, or an invite token this
  // tab kept after it left the address bar).
  const ballot = knownBallot() ?? (await asVoter(
    () => api("GET", `${poll.urls.vote}mine/`, undefined, { headers: voterHeaders() }),
  )).data;
  if (ballot?.answered || ballot?.choices?.length) pow?.done();
  else if (poll.status !== "closed" && !signIn) pow?.start();
  if (ballot?.answered) {
    given = ballot.answered;
    say(gettext("You have answered in this poll."), "ok");
    lockForm(given >= poll.answers_per_voter && !poll.allow_vote_change);
    showResults();
  } else if (ballot?.choices?.length) {
    mark(ballot);
    say(gettext("You have voted in this poll."), "ok");
    lockForm(!poll.allow_vote_change);
    showResults();
  } else if (poll.status === "closed") {
    say(plainError({ data: { code: "poll_closed" } }), "error");
    lockForm(true);
    showResults();
  } else {
    if (signIn) lockForm(true);
    if (poll.results === "live") showResults();
  }
}

await start();
