// Swagger UI for /api/v1/docs; the spec URL comes from the page (no inline script).
"use strict";
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: document.body.dataset.spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
  });
});
