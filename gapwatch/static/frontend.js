// Starts GOV.UK Frontend's and MoJ Frontend's components (static/vendor/, their own compiled
// modules): a module script file, as the strict CSP allows no inline script.
import { initAll as startGovuk } from "./vendor/govuk-frontend.min.js";
import { initAll as startMoj } from "./vendor/moj-frontend.min.js";

// The design systems style their components for script only once told the page runs it.
document.body.classList.add("govuk-frontend-supported");
startGovuk();
startMoj();

// A refused form is answered with the page it came from, at the address it posted to: put the
// page's own address in the history, so that a reload reads the page and never posts again.
if (document.body.dataset.address) {
  history.replaceState(null, "", document.body.dataset.address);
}

// A queue htmx replaced brings new components (a sortable table): start those.
document.addEventListener("htmx:load", function (event) {
  if (event.detail.elt === document.body) {
    return; // the page itself, started above
  }
  startGovuk({ scope: event.detail.elt });
  startMoj(event.detail.elt);
});
