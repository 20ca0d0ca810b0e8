// Result bars, updated in place so CSS can animate the widths.
import { decimal, format, gettext, ngettext, number } from "./i18n.js";

const percentOf = new Intl.NumberFormat(document.documentElement.lang || "en", { style: "percent" });
export function renderBars(list, texts, state, { hidden = false } = {}) {
  for (const choice of state.choices) {
    let item = list.querySelector(`[data-choice="${choice.id}"]`);
    if (!item) {
      item = document.createElement("li");
      item.dataset.choice = choice.id;
      item.innerHTML = '<span class="label"></span><span class="track"><span class="fill"></span></span><span class="count"></span>';
      item.querySelector(".label").textContent = texts.get(choice.id) ?? "";
      list.append(item);
    }
    const percent = Math.round(choice.share * 100);
    item.querySelector(".fill").style.width = hidden ? "0%" : `${Math.min(100, percent)}%`;
    item.querySelector(".count").textContent = hidden ? "" : `${number(choice.votes)} · ${percentOf.format(percent / 100)}`;
  }
}

export function choiceTexts(poll) {
  return new Map(poll.choices.map((c) => [c.id, c.text]));
}

// Results as the poll's kind shows them: bars of votes (single, multiple),
// of each item's mean with its scores' spread (rating), or of Borda points
// with the instant-runoff rounds (ranking; `runoff` is their container).
export function renderResults(list, texts, state, poll, { hidden = false, runoff = null } = {}) {
  if (poll.kind === "text") renderWords(list, state, hidden);
  else if (poll.kind === "qa") renderTopQuestions(list, state, hidden);
  else if (poll.kind === "rating") renderRatings(list, texts, state, poll.scale, hidden);
  else if (poll.kind === "ranking") renderRanking(list, texts, state, hidden);
  else renderBars(list, texts, state, { hidden });
  if (runoff) renderRunoff(runoff, texts, poll.kind === "ranking" && !hidden ? state.irv : null);
}

function row(list, id, texts, extra = "") {
  let item = [...list.children].find((li) => li.dataset.choice === String(id));
  if (!item) {
    item = document.createElement("li");
    item.dataset.choice = id;
    item.innerHTML = `<span class="label"></span><span class="track"><span class="fill"></span></span><span class="count"></span>${extra}`;
    item.querySelector(".label").textContent = texts.get(id) ?? "";
    list.append(item);
  }
  return item;
}

// A text poll's words as bars, most counted first (the presenter also draws a cloud).
function renderWords(list, state, hidden) {
  const words = hidden ? [] : (state.words ?? []).slice(0, 12);
  const most = Math.max(1, ...words.map((w) => w.count));
  const texts = new Map(words.map((w) => [w.word, w.word]));
  const kept = new Set(words.map((w) => w.word));
  list.querySelectorAll("li").forEach((item) => { if (!kept.has(item.dataset.choice)) item.remove(); });
  for (const w of words) {
    const item = row(list, w.word, texts);
    item.querySelector(".fill").style.width = `${Math.round((w.count / most) * 100)}%`;
    item.querySelector(".count").textContent = number(w.count);
    list.append(item); // in count order
  }
}

// A Q&A poll's most upvoted questions as bars (dashboards; the presenter
// and the voter page show the full list, questions.js).
function renderTopQuestions(list, state, hidden) {
  const top = hidden ? [] : (state.questions ?? []).slice(0, 5);
  const most = Math.max(1, ...top.map((q) => q.upvotes));
  const texts = new Map(top.map((q) => [String(q.id), q.text]));
  list.replaceChildren();
  for (const q of top) {
    const item = row(list, String(q.id), texts);
    item.querySelector(".fill").style.width = `${Math.round((q.upvotes / most) * 100)}%`;
    item.querySelector(".count").textContent = counted(ngettext("%(n)s upvote", "%(n)s upvotes", q.upvotes), q.upvotes);
  }
}

const counted = (text, n) => format(text, { n: number(n) });

function renderRatings(list, texts, state, scale, hidden) {
  const span = scale.max - scale.min;
  for (const choice of state.choices) {
    const item = row(list, choice.id, texts, '<span class="spread" aria-hidden="true"></span>');
    const count = choice.count ?? 0;
    const mean = choice.mean ?? null;
    const width = mean === null ? 0 : Math.round(((mean - scale.min) / span) * 100);
    item.querySelector(".fill").style.width = hidden ? "0%" : `${width}%`;
    item.querySelector(".count").textContent = hidden ? ""
      : mean === null ? gettext("no ratings")
        : `${decimal(mean)} / ${number(scale.max)} · ${counted(ngettext("%(n)s rating", "%(n)s ratings", count), count)}`;
    const spread = item.querySelector(".spread");
    const counts = choice.distribution ?? Array(span + 1).fill(0);
    const most = Math.max(1, ...counts);
    if (spread.children.length !== counts.length) {
      spread.replaceChildren(...counts.map((_, i) => {
        const column = document.createElement("span");
        column.innerHTML = '<span class="column"></span><span class="score"></span>';
        column.querySelector(".score").textContent = scale.min + i;
        return column;
      }));
    }
    counts.forEach((n, i) => {
      const column = spread.children[i];
      column.title = hidden ? "" : `${scale.min + i}: ${number(n)}`;
      column.querySelector(".column").style.height = hidden ? "0%" : `${Math.round((n / most) * 100)}%`;
    });
  }
}

function renderRanking(list, texts, state, hidden) {
  const most = Math.max(1, ...state.choices.map((c) => c.borda ?? 0));
  for (const choice of state.choices) {
    const item = row(list, choice.id, texts);
    const points = choice.borda ?? 0;
    item.querySelector(".fill").style.width = hidden ? "0%" : `${Math.round((points / most) * 100)}%`;
    item.querySelector(".count").textContent = hidden ? ""
      : `${counted(ngettext("%(n)s point", "%(n)s points", points), points)} · ${
        counted(ngettext("%(n)s first", "%(n)s first", choice.first ?? 0), choice.first ?? 0)}`;
  }
}

// The instant-runoff rounds, one line each; a changed count replays them
// one after another (CSS staggers them), ending on the winner.
function renderRunoff(section, texts, irv) {
  section.hidden = !irv?.rounds?.length;
  if (section.hidden) return section.replaceChildren();
  const key = JSON.stringify(irv);
  if (section.dataset.key === key) return;
  section.dataset.key = key;
  const title = document.createElement("h3");
  title.textContent = gettext("Instant runoff");
  const rounds = document.createElement("ol");
  rounds.className = "rounds";
  irv.rounds.forEach((round, i) => {
    const line = document.createElement("li");
    line.style.animationDelay = `${i * 0.6}s`;
    const counts = Object.entries(round.counts).sort((a, b) => b[1] - a[1])
      .map(([id, n]) => `${texts.get(Number(id)) ?? id} ${number(n)}`).join(" · ");
    const values = { round: number(i + 1), counts, out: texts.get(round.eliminated) ?? round.eliminated };
    line.textContent = format(round.eliminated === null
      ? gettext("Round %(round)s: %(counts)s") : gettext("Round %(round)s: %(counts)s — %(out)s out"), values);
    rounds.append(line);
  });
  const winner = document.createElement("p");
  winner.className = "winner";
  winner.style.animationDelay = `${irv.rounds.length * 0.6}s`;
  winner.textContent = irv.winner === null ? gettext("No winner yet")
    : format(gettext("Winner: %(winner)s"), { winner: texts.get(irv.winner) ?? irv.winner });
  section.replaceChildren(title, rounds, winner);
}
