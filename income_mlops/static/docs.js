// Swagger UI on the API's own /openapi.json; "Authorize" (present when a token is required) sends the bearer header.
"use strict";
window.addEventListener("load", function () {
  var el = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({url: el.dataset.url, dom_id: "#swagger-ui", deepLinking: true,
                               presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout", persistAuthorization: false});
});
