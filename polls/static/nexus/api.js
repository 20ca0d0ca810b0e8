// The REST API from the pages: same-origin fetch, session + CSRF, the
// contract's error body turned into a sentence for people.
import { format, gettext } from "./i18n.js";

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function api(method, url, body, { headers: extra = {} } = {}) {
  const headers = { Accept: "application/json", ...extra };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  const response = await fetch(url, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  return { ok: response.ok, status: response.status, data, retryAfter: response.headers.get("Retry-After") };
}

// A fresh anonymous voter id; the answer also resets the nexus_voter cookie
// (for a browser still holding one the server no longer accepts).
export function voterRenew() {
  return api("POST", "/api/voters/");
}

const PLAIN = {
  already_voted: gettext("You have already voted in this poll."),
  poll_closed: gettext("This poll is closed, so votes are no longer taken."),
  not_authenticated: gettext("This poll is for signed-in users. Please sign in to vote."),
  not_found: gettext("There is no poll with this code."),
  results_hidden: gettext("Results are not shown yet."),
  passcode_required: gettext("This poll needs a passcode. Type the passcode the organiser gave you."),
  wrong_passcode: gettext("That passcode is not right. Check it and try again."),
  not_invited: gettext("This invitation is not valid for this poll. Ask the organiser for your personal link."),
  address_limit: gettext("This poll has taken as many votes from your network as it allows."),
  invalid_voter_id: gettext("This browser's voter id is out of date. Reload the page and try again."),
  forbidden: gettext("You are not allowed to do this in this poll."),
  invalid_choice: gettext("That choice is not part of this poll any more. Reload the page and pick again."),
  challenge_required: gettext("Your browser could not finish this poll's check. Reload the page and try again."),
  challenge_failed: gettext("Your browser could not finish this poll's check. Reload the page and try again."),
  insecure_context: gettext("This poll asks each browser for a moment of work before it votes, which needs a secure (https) address. Ask the organiser for the https link."),
};

export function plainError({ status, data, retryAfter }) {
  const code = data?.code;
  if (code === "throttled" || (status === 429 && !PLAIN[code])) {
    return retryAfter
      ? format(gettext("Too many tries. Please wait %(seconds)s seconds and try again."), { seconds: retryAfter })
      : gettext("Too many tries. Please wait a few seconds and try again.");
  }
  if (PLAIN[code]) return PLAIN[code];
  if (data && data.detail) return data.detail;
  return gettext("Something went wrong. Please try again.");
}

// A refused form's field messages, or its plain error.
export function fieldErrors(answer) {
  const fields = answer.data?.fields;
  return fields ? Object.values(fields).join(" ") : plainError(answer);
}
