// Starts Swagger UI on this server's own OpenAPI document. A file, not an inline
// script, so the docs page keeps a Content-Security-Policy without 'unsafe-inline'.
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: document.getElementById("swagger-ui").dataset.url,
    dom_id: "#swagger-ui",
    deepLinking: true,
    // no badge fetched from the validator's public service: nothing leaves this server
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
