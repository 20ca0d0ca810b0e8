// The REST API from the pages: same-origin fetch, session + CSRF, the
// contract's error body turned into a sentence for people.
function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function api(method, url, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  const response = await fetch(url, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  return { ok: response.ok, status: response.status, data, retryAfter: response.headers.get("Retry-After") };
}

const PLAIN = {
  already_voted: "You have already voted in this poll.",
  poll_closed: "This poll is closed, so votes are no longer taken.",
  not_authenticated: "Please sign in to vote in this poll.",
  not_found: "There is no poll with this code.",
  results_hidden: "Results are not shown yet.",
};

export function plainError({ status, data, retryAfter }) {
  if (status === 429) return `Too many tries. Please wait ${retryAfter || "a few"} seconds and try again.`;
  if (data && PLAIN[data.code]) return PLAIN[data.code];
  if (data && data.detail) return data.detail;
  return "Something went wrong. Please try again.";
}
