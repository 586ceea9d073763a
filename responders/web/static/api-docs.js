// Starts Swagger UI on /api/docs (responders/web/api_docs.py). A file, not inline script:
// the desk's Content-Security-Policy allows scripts from the desk itself only.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    // The validator badge would ask validator.swagger.io: nothing leaves the desk.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
