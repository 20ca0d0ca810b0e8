// The presenter's replay: the vote told again from its first ballot to its
// close, from the results history (GET …/results/history/), in real time
// for a short vote and in at most LONGEST_MS for a long one.
import { api } from "./api.js";
import { time } from "./i18n.js";

const LONGEST_MS = 12000;
const PAGES = 20; // 3,600 points a page: the first 20 hours of a longer vote

async function history(pollId, signal) {
  const points = [];
  let url = `/api/polls/${pollId}/results/history/?every=1s`;
  for (let page = 0; url && page < PAGES && !signal.aborted; page += 1) {
    const answer = await api("GET", url);
    if (!answer.ok || !Array.isArray(answer.data?.points)) return null;
    points.push(...answer.data.points);
    url = answer.data.next;
  }
  return points;
}

function stateOf(point, status) {
  const total = point.total_votes;
  const share = (votes) => (total ? Math.round((votes / total) * 10000) / 10000 : 0);
  return {
    status,
    total_votes: total,
    choices: point.choices.map((c) => ({ id: c.id, votes: c.votes, share: share(c.votes) })),
  };
}

// Play the history through `render(state)`, each point's time through
// `clock(text)`; resolves true at the end, false if there is nothing to
// play (or it could not be read), and early (true) when `signal` aborts.
export async function replay(pollId, { render, clock, signal, status }) {
  const points = await history(pollId, signal).catch(() => null);
  if (!points?.length || signal.aborted) return false;
  const ends = points.map((p) => Date.parse(p.at));
  const start = ends[0] - 1000; // the first second's start: the empty tally
  const span = ends.at(-1) - start;
  const length = Math.min(span, LONGEST_MS);
  const empty = { total_votes: 0, choices: points[0].choices.map((c) => ({ id: c.id, votes: 0 })) };
  render(stateOf(empty, status));
  clock(time(start));
  const began = performance.now();
  let shown = -1;
  await new Promise((resolve) => {
    function frame(now) {
      if (signal.aborted) return resolve();
      const reached = start + Math.min(1, (now - began) / length) * span;
      let next = shown;
      while (next + 1 < points.length && ends[next + 1] <= reached) next += 1;
      if (next !== shown) {
        shown = next;
        render(stateOf(points[shown], status));
        clock(time(ends[shown]));
      }
      if (shown === points.length - 1) return resolve();
      requestAnimationFrame(frame);
    }
    requestAnimationFrame(frame);
  });
  return true;
}
