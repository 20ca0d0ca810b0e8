import { api, plainError } from "./api.js";
import { renderResults, choiceTexts } from "./bars.js";
import { watchPolls } from "./live.js";

const grid = document.getElementById("polls");
const template = document.getElementById("poll-card");
const cards = new Map();

const live = watchPolls((state) => {
  const card = cards.get(state.poll);
  if (!card) return;
  card.el.querySelector(".total").textContent = state.total_votes;
  card.el.querySelector(".total-word").textContent = state.total_votes === 1 ? "vote" : "votes";
  card.el.querySelector(".status").textContent = state.status;
  card.el.dataset.status = state.status;
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
  box.querySelector("input[name=count]").setAttribute("aria-label", `How many invites to create for “${poll.question}”`);
  box.querySelector("button[type=submit]").setAttribute("aria-label", `Create invites for “${poll.question}”`);
  box.querySelector(".sheet").href = `/p/${poll.id}/invites/sheet/`;

  async function refresh() {
    pending = null;
    const answer = await api("GET", url);
    if (!answer.ok) { error.textContent = plainError(answer); return; }
    box.querySelector(".issued").textContent = answer.data.issued;
    box.querySelector(".used").textContent = answer.data.used;
  }

  box.querySelector("form").addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const count = Number(new FormData(event.target).get("count"));
    if (!Number.isInteger(count) || count < 1 || count > 10000) {
      error.textContent = "Create between 1 and 10000 invites at a time.";
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

function addCard(poll) {
  const el = template.content.firstElementChild.cloneNode(true);
  el.dataset.poll = poll.id;
  el.dataset.status = poll.status;
  el.querySelector(".q").textContent = poll.question;
  el.querySelector(".status").textContent = poll.status;
  el.querySelector(".present").href = poll.urls.present;
  el.querySelector(".vote").href = poll.urls.page;
  el.querySelectorAll("button[data-action]").forEach((button) => {
    button.setAttribute("aria-label", `${button.dataset.action} “${poll.question}”`);
    button.addEventListener("click", async () => {
      const action = button.dataset.action;
      if (action === "reset" && !confirm("Delete every vote in this poll?")) return;
      const answer = await api("POST", `/api/polls/${poll.id}/${action}/`);
      if (!answer.ok) alert(plainError(answer));
    });
  });
  grid.append(el);
  const invites = poll.eligibility === "invite" ? invitesBox(el, poll) : null;
  cards.set(poll.id, { el, poll, texts: choiceTexts(poll), invites });
  live.subscribe(poll.id);
}

const answer = await api("GET", "/api/polls/?mine=true&limit=100");
if (answer.ok) {
  answer.data.results.forEach(addCard);
  document.getElementById("empty").hidden = answer.data.results.length > 0;
}
