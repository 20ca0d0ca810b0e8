// Proof of work for `challenge: pow` polls (docs/SECURITY.md). The voter
// page fetches an ALTCHA challenge and solves it in a Web Worker (ALTCHA's
// own, vendored) as soon as it opens, so the vote is instant when tapped.
// One solution buys one first ballot (or first question or upvote).
import { api } from "./api.js";

const EARLY = 60_000; // solve a new one when the held one expires sooner than this
const GIVE_UP = 120_000; // a challenge this slow to solve is solved again, anew

function inWorker(url, challenge) {
  return new Promise((resolve) => {
    const worker = new Worker(url);
    const done = (solution) => { worker.terminate(); resolve(solution); };
    worker.onmessage = (event) => done(event.data);
    worker.onerror = () => done(null);
    worker.postMessage({
      type: "work", challenge, counterStart: 0, counterStep: 1, counterMode: "uint32", timeout: GIVE_UP,
    });
  });
}

const failed = (code) => ({ error: { ok: false, status: 0, data: { code } } });

// {header} when solved; {error: an API-like answer} when it cannot be:
// WebCrypto exists only on https or localhost, or the API refused.
async function solve(pollId, workerUrl) {
  if (!globalThis.crypto?.subtle) return failed("insecure_context");
  const got = await api("GET", `/api/polls/${pollId}/challenge/`);
  if (!got.ok) return { error: got };
  const started = performance.now();
  const solution = await inWorker(workerUrl, got.data);
  if (!solution?.derivedKey) return failed("challenge_failed");
  const { counter, derivedKey } = solution;
  return {
    header: btoa(JSON.stringify({ challenge: got.data, solution: { counter, derivedKey } })),
    expires: got.data.parameters.expiresAt * 1000,
    ms: performance.now() - started,
  };
}

export function proofOfWork(pollId, workerUrl, { onSolved = () => {} } = {}) {
  let pending = null;
  const next = () => {
    pending = solve(pollId, workerUrl).then((proof) => { if (proof.header) onSolved(proof); return proof; });
    return pending;
  };
  return {
    // Start solving now, before the voter taps.
    start() { if (!pending) next(); },
    // The proof to send: {header}, {} when none is needed, or {error}
    // (then the next call tries anew: a throttled or failed fetch passes).
    async proof() {
      const proof = await (pending ?? next());
      if (proof.header && proof.expires - Date.now() < EARLY) return next();
      if (proof.error && proof.error.data?.code !== "insecure_context") pending = null;
      return proof;
    },
    // The server refused the held one (used, or expired): solve another.
    refused() { pending = null; },
    // The voter is known to the poll now: no more proofs needed.
    done() { pending = Promise.resolve({}); },
  };
}
