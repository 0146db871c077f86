/* The instance page: QR code, pair code, simulated scan, linked number (the status chip: instances.js). */
(function () {
  'use strict';
  var box = document.getElementById('session');
  var lastQr = null, expiresAt = 0;
  function text(id, value) { document.getElementById(id).textContent = value; }
  function show(id, visible) { document.getElementById(id).hidden = !visible; }
  function render(s) {
    // The status chip itself is static/instances.js's: its words come from the server.
    text('linked', s.phone_number ? s.phone_number + (s.push_name ? ' · ' + s.push_name : '') : '');
    text('last-error', s.last_error || '');
    show('last-error', !!s.last_error);
    show('qr-block', !!s.qr_svg);
    show('logout-form', s.status === 'connected' || s.status === 'disconnected');
    if (s.qr_svg && s.qr_id !== lastQr) {
      document.getElementById('qr').innerHTML = s.qr_svg;
      lastQr = s.qr_id;
    }
    if (s.expires_in !== null) { expiresAt = Date.now() + s.expires_in * 1000; }
  }
  function poll() {
    if (document.hidden) { setTimeout(poll, 1000); return; }  // no requests from a background tab
    fetch(box.dataset.live, {credentials: 'same-origin'})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) { if (s) { render(s); } })
      .catch(function () {})
      .finally(function () { setTimeout(poll, 1000); });
  }
  setInterval(function () {
    text('countdown', Math.max(0, Math.ceil((expiresAt - Date.now()) / 1000)));
  }, 250);
  function ajax(formId, onOk) {
    var form = document.getElementById(formId);
    if (!form) { return; }
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      show('action-error', false);
      function failed(message) { text('action-error', message); show('action-error', true); }
      show('action-error', false);
      fetch(form.action, {method: 'POST', body: new FormData(form), credentials: 'same-origin'})
        .then(function (r) {
          // An expired session or CSRF token answers HTML, not JSON: say so instead of failing silently.
          return r.json().then(
            function (body) { return {ok: r.ok, body: body}; },
            function () { return {ok: false, body: {message: 'The server refused this (' + r.status + '). Reload the page and try again.'}}; }
          );
        })
        .then(function (res) { if (res.ok) { onOk(res.body); } else { failed(res.body.message); } })
        .catch(function () { failed('Could not reach MegaMsg. Check your connection and try again.'); });
    });
  }
  ajax('pair-form', function (body) { text('pair-code', body.code); });
  ajax('scan-form', function () {});
  poll();
})();
