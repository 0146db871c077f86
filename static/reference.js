// The interactive API reference: Swagger UI (vendored, see static/vendor/README.md) on /api/openapi.json.
(function () {
  'use strict';
  var box = document.getElementById('swagger-ui');
  window.SwaggerUIBundle({
    url: box.dataset.specUrl,
    domNode: box,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    // Nothing may leave this server: no validator badge from validator.swagger.io, no ?url= or
    // ?configUrl= that could point the page at a document on another host.
    validatorUrl: null,
    queryConfigEnabled: false,
    // Credentials typed into "Authorize" stay in memory; persisting would put them in localStorage.
    persistAuthorization: false,
    docExpansion: 'list',
    defaultModelsExpandDepth: 0,
    deepLinking: true,
    displayRequestDuration: true,
    tryItOutEnabled: false
  });
})();
