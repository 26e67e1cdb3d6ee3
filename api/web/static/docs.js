// The API's interactive docs: Swagger UI (served by the app, no CDN) on the app's own schema.
/* global SwaggerUIBundle */
window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
