// gapwatch's only script of its own; pages work without it, under a CSP that allows no eval.
"use strict";

// A queue refreshes itself every minute (hx-trigger="every 60s"), but not while someone is in
// it: typing in its form or reading an opened row. This replaces an hx-trigger filter
// expression, which htmx would have to evaluate as code.
document.addEventListener("htmx:beforeRequest", function (event) {
  var queue = event.detail.elt;
  if (!queue.matches || !queue.matches("[data-refresh='unless-busy']")) {
    return;
  }
  if (queue.contains(document.activeElement) || queue.querySelector("details[open]")) {
    event.preventDefault();
  }
});

// The timed refresh says so, so that it keeps no idle session alive (gapwatch.web.auth).
document.addEventListener("htmx:configRequest", function (event) {
  var elt = event.detail.elt;
  if (elt.matches && elt.matches("[data-refresh='unless-busy']")) {
    event.detail.headers["X-Gapwatch-Poll"] = "1";
  }
});
