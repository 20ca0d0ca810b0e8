// Nexus live results client (docs/REALTIME.md).
// Keeps one socket open, shows only states newer than the last one shown,
// and reconnects with jittered exponential back-off.
import { voterRenew } from "./api.js";

const WS_BASE = location.origin.replace(/^http/, "ws");
const FINAL = { 4400: "invalid_voter_id", 4401: "unauthorized", 4404: "not_found" };

function reconnecting(path, { onMessage, onStatus = () => {}, onOpen = () => {} }) {
  let delay = 500, socket, stopped = false, renewed = false;
  function open() {
    socket = new WebSocket(WS_BASE + path);
    socket.onopen = () => { delay = 500; onStatus("live"); onOpen(socket); };
    socket.onmessage = (event) => onMessage(JSON.parse(event.data));
    socket.onclose = (event) => {
      if (stopped) return;
      // 4400: a voter cookie from an older version. Get a fresh one, once.
      if (event.code === 4400 && !renewed) {
        renewed = true;
        const again = () => stopped || open();
        voterRenew().then(again, again);
        return;
      }
      if (FINAL[event.code]) return onStatus(FINAL[event.code]);
      // 4403: results hidden for now (e.g. until the poll closes): ask again later.
      const wait = event.code === 4403 ? 15000 : delay * (1 + Math.random());
      onStatus(event.code === 4403 ? "hidden" : "reconnecting");
      setTimeout(open, wait);
      delay = Math.min(delay * 2, 15000);
    };
  }
  open();
  return { stop() { stopped = true; socket.close(); }, get socket() { return socket; } };
}

// One poll: onState(message) gets each newer full state. `voter`: an invite
// token to watch as (browsers cannot set X-Voter-Id on a socket).
export function watchPoll(pollId, onState, { onStatus, voter } = {}) {
  let version = 0;
  const query = voter ? `?voter=${encodeURIComponent(voter)}` : "";
  return reconnecting(`/ws/polls/${pollId}/${query}`, {
    onStatus,
    onMessage(msg) {
      if (msg.type === "results" && msg.version > version) { version = msg.version; onState(msg); }
      if (msg.type === "deleted") onStatus?.("deleted");
    },
  });
}

// Many polls on one socket (dashboards). Resubscribes everything on reconnect.
export function watchPolls(onState, { onStatus, onError = () => {} } = {}) {
  const versions = new Map();
  const send = (socket, type, poll) => socket?.readyState === 1 && socket.send(JSON.stringify({ type, poll }));
  const conn = reconnecting("/ws/", {
    onStatus,
    onOpen(socket) { for (const poll of versions.keys()) send(socket, "subscribe", poll); },
    onMessage(msg) {
      if (msg.type === "results" && versions.has(msg.poll) && msg.version > versions.get(msg.poll)) {
        versions.set(msg.poll, msg.version); onState(msg);
      } else if (msg.type === "deleted" || msg.type === "error") {
        versions.delete(msg.poll); onError(msg);
      }
    },
  });
  return {
    subscribe(poll) { versions.set(poll, 0); send(conn.socket, "subscribe", poll); },
    unsubscribe(poll) { versions.delete(poll); send(conn.socket, "unsubscribe", poll); },
    stop: conn.stop,
  };
}

// An event (`/ws/events/{id}/`): onEvent(message) gets each newer event
// state ({event, version, current, title}); the current poll's results
// messages that follow are for pages that show them (onResults).
export function watchEvent(eventId, onEvent, { onStatus, onResults = () => {} } = {}) {
  let version = 0;
  return reconnecting(`/ws/events/${eventId}/`, {
    onStatus,
    onMessage(msg) {
      if (msg.type === "event" && msg.version > version) { version = msg.version; onEvent(msg); }
      else if (msg.type === "results") onResults(msg);
      else if (msg.type === "deleted") onStatus?.("deleted");
    },
  });
}
