// Starts Swagger UI on /docs. A file of its own, not an inline script: the application's Content-Security-Policy
// allows scripts from this site only. Requests made with "Try it out" carry the session's CSRF token, as every
// POST must (it is fetched once from /api/session; sign in at /login first).
(function () {
  "use strict";
  var csrfToken = null;

  function withCsrfToken(request) {
    if (request.method === "GET" || request.method === "HEAD") {
      return request;
    }
    var token = csrfToken
      ? Promise.resolve(csrfToken)
      : fetch("/api/session", { credentials: "same-origin" })
          .then(function (response) { return response.json(); })
          .then(function (state) { csrfToken = state.csrf_token; return csrfToken; });
    return token.then(function (value) {
      request.headers["X-CSRF-Token"] = value;
      return request;
    });
  }

  window.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("swagger-ui");
    window.ui = SwaggerUIBundle({
      url: root.getAttribute("data-openapi-url"),
      dom_id: "#swagger-ui",
      layout: "BaseLayout",
      deepLinking: true,
      showExtensions: true,
      showCommonExtensions: true,
      validatorUrl: null,
      requestInterceptor: withCsrfToken,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    });
  });
})();
