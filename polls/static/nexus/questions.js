// A Q&A poll's questions as a live list: the pinned one first, then the
// rest as the server orders them (most upvoted first), answered ones last.
// Rows are kept and moved, not rebuilt, and glide to their new place (FLIP),
// so a question that gains upvotes is seen rising.

import { format, gettext, number } from "./i18n.js";

const still = () => matchMedia("(prefers-reduced-motion: reduce)").matches;

export function questionOrder(questions) {
  const rank = (q) => (q.pinned ? 0 : q.state === "answered" ? 2 : 1);
  return [...questions].sort((a, b) => rank(a) - rank(b));  // stable: the server's order within
}

// `upvote(question, row)`: given on the voter's page, where each row has a
// button; `upvoted`: the ids this voter upvoted.
// `moderate(id, action)`: given on the owner's presenter screen, where each
// row has pin / answered / hide (keys p, a, h on a focused row).
export function renderQuestions(list, questions, { upvote = null, upvoted = new Set(), moderate = null, limit = Infinity } = {}) {
  const before = new Map([...list.children].map((li) => [li.dataset.question, li.getBoundingClientRect().top]));
  const rows = questionOrder(questions).slice(0, limit).map((q) => {
    let li = list.querySelector(`li[data-question="${q.id}"]`);
    if (!li) li = newRow(q, upvote, moderate);
    li.question = q;
    li.classList.toggle("pinned", q.pinned);
    li.classList.toggle("answered", q.state === "answered");
    li.querySelector(".votes").textContent = number(q.upvotes);
    li.querySelector(".flag").textContent = q.pinned ? gettext("Now answering")
      : q.state === "answered" ? gettext("Answered") : "";
    const pin = li.querySelector('.tools [data-action="pin"]');
    if (pin) pin.textContent = q.pinned ? gettext("Unpin") : gettext("Pin");
    const button = li.querySelector("button.upvote");
    if (button) {
      const mine = upvoted.has(q.id);
      button.setAttribute("aria-pressed", String(mine));
      const label = mine ? gettext("Take back your upvote of: %(text)s (%(n)s)") : gettext("Upvote: %(text)s (%(n)s)");
      button.setAttribute("aria-label", format(label, { text: q.text, n: number(q.upvotes) }));
    }
    return li;
  });
  list.replaceChildren(...rows);
  if (still()) return;
  for (const li of rows) {
    const was = before.get(li.dataset.question);
    const shift = was === undefined ? 0 : was - li.getBoundingClientRect().top;
    if (!shift) continue;
    li.animate([{ transform: `translateY(${shift}px)` }, { transform: "none" }], {
      duration: 600, easing: "cubic-bezier(.2,.8,.2,1)",
    });
  }
}

const TOOLS = [["pin", gettext("Pin"), "p"], ["answered", gettext("Answered"), "a"], ["hide", gettext("Hide"), "h"]];

function newRow(q, upvote, moderate) {
  const li = document.createElement("li");
  li.dataset.question = q.id;
  li.innerHTML = '<span class="votes"></span><span class="body"><span class="flag"></span><span class="text"></span></span>';
  li.querySelector(".text").textContent = q.text;
  if (upvote) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "upvote";
    button.innerHTML = '<span aria-hidden="true">▲</span>';
    button.append(li.querySelector(".votes"));
    button.addEventListener("click", () => upvote(q.id, button));
    li.prepend(button);
  }
  if (moderate) {
    const act = (action) => moderate(q.id, action === "pin" && li.question.pinned ? "unpin" : action);
    const tools = document.createElement("span");
    tools.className = "tools";
    for (const [action, label, key] of TOOLS) {
      const button = Object.assign(document.createElement("button"), { type: "button", textContent: label });
      button.dataset.action = action;
      button.setAttribute("aria-keyshortcuts", key);
      button.addEventListener("click", () => act(action));
      tools.append(button);
    }
    li.tabIndex = 0;
    li.addEventListener("keydown", (event) => {
      const tool = TOOLS.find(([, , key]) => key === event.key);
      if (tool && event.target === li) act(tool[0]);
    });
    li.append(tools);
  }
  return li;
}

// The voter's page of a Q&A poll: the room's questions, live, each with an
// upvote toggle, and this voter's own questions that wait for the organiser.
// `request(method, url)`: the page's API call, as this voter.
export function voterQuestions(poll, { list, mine, request, say }) {
  const base = `/api/polls/${poll.id}/questions/`;
  let upvoted = new Set();
  let shown = [];
  let waiting = [];

  function showMine() {
    mine.hidden = !waiting.length;
    mine.querySelector("ul").replaceChildren(...waiting.map((q) => {
      const li = document.createElement("li");
      li.textContent = q.text;
      return li;
    }));
  }

  // Whether this voter has asked or upvoted here already (known to the poll).
  async function refresh() {
    const answer = await request("GET", `${base}mine/`);
    if (!answer.ok) return false;
    upvoted = new Set(answer.data.upvoted);
    waiting = answer.data.questions.filter((q) => q.state === "pending");
    showMine();
    renderQuestions(list, shown, { upvote, upvoted });
    return Boolean(answer.data.questions.length || upvoted.size);
  }

  async function upvote(id, button) {
    button.disabled = true;
    const again = upvoted.has(id);
    const answer = await request(again ? "DELETE" : "POST", `${base}${id}/upvote/`);
    button.disabled = false;
    if (answer.ok || answer.data?.code === "already_voted") {
      if (again && answer.ok) upvoted.delete(id); else upvoted.add(id);
      if (answer.ok) shown = shown.map((q) => (q.id === id ? { ...q, upvotes: answer.data.upvotes } : q));
      renderQuestions(list, shown, { upvote, upvoted });
    } else {
      say(answer);
    }
  }

  return {
    refresh,
    asked(question) {
      if (question.state === "pending" && !waiting.some((q) => q.id === question.id)) {
        waiting = [question, ...waiting];
        showMine();
      }
    },
    show(state) {
      shown = state.questions ?? [];
      const ids = new Set(shown.map((q) => q.id));
      const before = waiting.length;
      waiting = waiting.filter((q) => !ids.has(q.id));
      if (waiting.length !== before) showMine();
      else if (waiting.length && state.pending < waiting.length) refresh(); // some were hidden
      renderQuestions(list, shown, { upvote, upvoted });
    },
  };
}
