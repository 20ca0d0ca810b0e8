import { api } from "./api.js";
import { gettext } from "./i18n.js";

const form = document.getElementById("create");

// The passcode field (and the invite note) only for the choice they belong to.
function showEligibilityExtras() {
  const eligibility = new FormData(form).get("eligibility");
  document.getElementById("passcode-row").hidden = eligibility !== "passcode";
  document.getElementById("passcode").required = eligibility === "passcode";
  document.getElementById("invite-hint").hidden = eligibility !== "invite";
  document.getElementById("scale-row").hidden = new FormData(form).get("kind") !== "rating";
  const text = ["text", "qa"].includes(new FormData(form).get("kind"));
  document.getElementById("text-row").hidden = !text;
  document.getElementById("choices").required = !text;
}

function pollBody(data) {
  const body = {
    question: data.get("question").trim(),
    choices: data.get("choices").split("\n").map((line) => line.trim()).filter(Boolean),
    kind: data.get("kind"),
    results: data.get("results"),
    allow_vote_change: data.get("allow_vote_change") === "on",
    eligibility: data.get("eligibility"),
    challenge: data.get("challenge") === "on" ? "pow" : "none",
  };
  if (body.kind === "text" || body.kind === "qa") {
    body.choices = [];
    body.moderation = data.get("premoderate") === "on" ? "pre" : "none";
    body.blocked_words = data.get("blocked_words");
  }
  if (body.kind === "rating") {
    body.scale = { min: Number(data.get("scale_min")), max: Number(data.get("scale_max")) };
  }
  if (body.eligibility === "passcode") body.passcode = data.get("passcode").trim();
  const cap = data.get("max_ballots_per_address").trim();
  // Sent as typed when it is not a whole number, for the server to explain.
  if (cap !== "") body.max_ballots_per_address = /^\d+$/.test(cap) ? Number(cap) : cap;
  if (data.get("event")) body.event = data.get("event");
  return body;
}

// The owner's events, to add the new poll to one (?event=<id> preselects it).
async function offerEvents() {
  const answer = await api("GET", "/api/events/?mine=true&limit=100");
  if (!answer.ok || !answer.data.results.length) return;
  const select = document.getElementById("event");
  for (const event of answer.data.results) {
    select.append(new Option(`${event.title} (${event.id})`, event.id));
  }
  select.value = new URLSearchParams(location.search).get("event") || "";
  document.getElementById("event-row").hidden = false;
}

if (form) {
  offerEvents();
  form.addEventListener("change", showEligibilityExtras);
  showEligibilityExtras();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    form.querySelectorAll(".error").forEach((p) => { p.textContent = ""; });
    const body = pollBody(new FormData(form));
    const answer = await api("POST", "/api/polls/", body);
    if (answer.ok) {
      // An invite poll needs its invites made first: that is on the dashboard.
      // A poll of an event is presented through the event's screen.
      location.href = body.eligibility === "invite" || body.event ? "/dashboard/" : answer.data.urls.present;
      return;
    }
    const fields = answer.data?.fields || {};
    for (const [name, text] of Object.entries(fields)) {
      const slot = form.querySelector(`.error[data-for="${name}"]`) || form.querySelector('.error[data-for="form"]');
      slot.textContent = text;
    }
    if (!Object.keys(fields).length) form.querySelector('.error[data-for="form"]').textContent = answer.data?.detail || gettext("Could not create the poll.");
  });
}
