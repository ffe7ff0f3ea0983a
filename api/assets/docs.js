// Starts Swagger UI on /docs (api/routes/docs.py). A file rather than an inline script: the
// page's Content-Security-Policy allows script from this origin only. Loaded with `defer`
// after the bundle, so SwaggerUIBundle is defined and the page is parsed.
"use strict";

(function () {
  var root = document.getElementById("swagger-ui");
  root.classList.add("started");
  window.ui = SwaggerUIBundle({
    url: root.dataset.spec,
    domNode: root,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    docExpansion: "list",
    filter: true,
    // Open schemas deep enough to see a request's fields and a problem's codes at once.
    defaultModelsExpandDepth: 1,
    defaultModelExpandDepth: 3,
    displayRequestDuration: true,
    showExtensions: true,
    showCommonExtensions: true,
    // The key pasted into Authorize lives in this tab only, never in storage.
    persistAuthorization: false,
    // Never send the contract to a third-party validator.
    validatorUrl: null,
  });
})();
