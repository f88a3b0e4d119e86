// Swagger UI over the API's schema. A file, not an inline script: the Content Security Policy allows no inline code.
window.addEventListener("DOMContentLoaded", function () {
  window.ui = window.SwaggerUIBundle({
    url: "/api/schema/",
    dom_id: "#swagger-ui",
    deepLinking: true,
    withCredentials: true,
  });
});
