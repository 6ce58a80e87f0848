// outturn's page script (a module, so it runs after the page has loaded): mark JavaScript as available for the
// NHS.UK styles, start the NHS.UK components, and send the session's CSRF token with every htmx request.
import { initAll } from "/static/vendor/nhsuk/nhsuk-frontend.min.js";
import { enhanceTables } from "/static/outturn/tables.js";

document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
initAll();
enhanceTables();
document.body.addEventListener("htmx:afterSettle", (event) => enhanceTables(event.target));

document.body.addEventListener("htmx:configRequest", (event) => {
  const token = document.querySelector('meta[name="csrf-token"]');
  if (token) {
    event.detail.headers["X-CSRF-Token"] = token.content;
  }
});
