// The API sandbox (/sandbox): builds a POST /api/whatsapp/messages/send from the form, sends it
// with fetch, and shows the answer and the same request as a curl command.
(function () {
  'use strict';

  var form = document.getElementById('sandbox');
  var STORAGE_KEY = 'megamsg-sandbox';  // sessionStorage only: never localStorage, never a cookie
  var TOKEN_VARIABLE = 'MEGAMSG_TOKEN';
  var BIG_BODY = 2000;  // characters of JSON above which curl reads the body from a file
  var STATUS_TEXT = {
    200: 'OK', 202: 'Accepted', 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found',
    405: 'Method Not Allowed', 409: 'Conflict', 413: 'Content Too Large', 422: 'Unprocessable Content',
    429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
    504: 'Gateway Timeout'
  };
  var bodyUrl = null;

  function el(id) { return document.getElementById(id); }
  function value(id) { return el(id).value.trim(); }

  // --- which fields show --------------------------------------------------------------------

  function mediaSource() {
    return form.querySelector('input[name=media-source]:checked').value;
  }

  function showFields() {
    var type = el('type').value;
    form.querySelectorAll('[data-types]').forEach(function (box) {
      box.hidden = box.dataset.types.split(' ').indexOf(type) === -1;
    });
    var source = mediaSource();
    form.querySelectorAll('[data-source]').forEach(function (box) {
      box.hidden = box.dataset.source !== source;
    });
  }

  // --- the token stays in this tab ----------------------------------------------------------

  function remember() {
    if (el('remember').checked) {
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify({token: el('token').value}));
    } else {
      sessionStorage.removeItem(STORAGE_KEY);
    }
  }

  function restore() {
    var saved = null;
    try { saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || 'null'); } catch (ignored) { saved = null; }
    if (saved && saved.token) {
      el('token').value = saved.token;
      el('remember').checked = true;
    }
  }

  // --- building the request -----------------------------------------------------------------

  function readFileAsBase64(file) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () {
        var url = String(reader.result);
        resolve(url.slice(url.indexOf(',') + 1));  // plain base64, without the data:…;base64, prefix
      };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsDataURL(file);
    });
  }

  function media() {
    var source = mediaSource();
    if (source === 'url') { return Promise.resolve(value('media-url')); }
    if (source === 'base64') { return Promise.resolve(value('media-base64')); }
    var file = el('media-file').files[0];
    return file ? readFileAsBase64(file) : Promise.resolve('');
  }

  // Empty fields are left out, so the server's own 422 names what is missing.
  function buildBody(mediaValue) {
    var type = el('type').value;
    var body = {};
    function put(key, fieldValue) { if (fieldValue !== '') { body[key] = fieldValue; } }
    put('phone_number', value('phone_number'));
    body.type = type;
    if (type === 'text') {
      put('text', el('text').value);
    } else {
      put('media', mediaValue);
      if (type !== 'audio') { put('caption', el('caption').value); }
      if (type === 'audio' && el('ptt').checked) { body.ptt = true; }
      if (type === 'document') {
        put('mime_type', value('mime_type'));
        put('file_name', value('file_name'));
      }
    }
    if (el('async').checked) { body.async = true; }
    return body;
  }

  function buildHeaders() {
    var headers = {'Content-Type': 'application/json', 'Accept': 'application/json'};
    if (value('token')) { headers.Authorization = 'Bearer ' + value('token'); }
    if (value('instance-id')) { headers['X-Instance-Id'] = value('instance-id'); }
    if (value('idempotency-key')) { headers['Idempotency-Key'] = value('idempotency-key'); }
    return headers;
  }

  // --- the curl command ---------------------------------------------------------------------

  function shellQuote(text) { return "'" + text.replace(/'/g, "'\\''") + "'"; }

  // The token is never written into the command, only a variable that holds it: the command is
  // shown on screen (screen shares, screenshots) and ends up in shell history and chat messages
  // once copied, none of which should hold a live credential.
  function curlCommand(url, headers, json) {
    var lines = ['curl -X POST ' + shellQuote(url)];
    if (headers.Authorization) { lines.push('-H "Authorization: Bearer $' + TOKEN_VARIABLE + '"'); }
    ['X-Instance-Id', 'Content-Type', 'Idempotency-Key'].forEach(function (name) {
      if (headers[name]) { lines.push('-H ' + shellQuote(name + ': ' + headers[name])); }
    });
    lines.push(json.length > BIG_BODY ? '--data @request.json' : '-d ' + shellQuote(json));
    return lines.join(' \\\n  ');
  }

  function showCurl(url, headers, json) {
    el('curl').textContent = curlCommand(url, headers, json);
    if (bodyUrl) { URL.revokeObjectURL(bodyUrl); bodyUrl = null; }
    var big = json.length > BIG_BODY;
    if (big) {
      bodyUrl = URL.createObjectURL(new Blob([json], {type: 'application/json'}));
      el('body-download').href = bodyUrl;
    }
    el('body-file-hint').hidden = !big;
    el('copy-state').textContent = '';
    el('curl-block').hidden = false;
  }

  // --- showing the answer -------------------------------------------------------------------

  function showStatus(text, kind) {
    var status = el('result-status');
    status.textContent = text;
    status.className = kind ? 'http-' + kind : '';
  }

  function showError(message) {
    el('result-error').textContent = message;
    el('result-error').hidden = !message;
  }

  function showNote(message) {
    el('result-note').textContent = message;
    el('result-note').hidden = !message;
  }

  function showBody(text) {
    el('result-body').textContent = text;
    el('result-body').hidden = text === '';
  }

  function startResult() {
    el('result').hidden = false;
    showStatus('Sending request…', '');
    el('result-time').textContent = '';
    showError('');
    showNote('');
    showBody('');
    el('curl-block').hidden = true;
    el('result').scrollIntoView({block: 'nearest'});
  }

  function showAnswer(response, text, elapsed) {
    var label = response.status + ' ' + (STATUS_TEXT[response.status] || response.statusText || '');
    showStatus('HTTP ' + label.trim(), response.ok ? 'ok' : 'error');
    el('result-time').textContent = 'in ' + Math.round(elapsed) + ' ms';
    var type = response.headers.get('Content-Type') || 'no content type';
    var parsed;
    try {
      parsed = JSON.parse(text);
    } catch (ignored) {
      showError('The answer is not JSON (' + type + '). MegaMsg always answers JSON here, so something ' +
        'between your browser and MegaMsg answered instead, such as a proxy or a login page. Its first ' +
        'characters are below.');
      showBody(text.slice(0, 2000) || '(empty body)');
      return;
    }
    if (response.headers.get('Idempotent-Replayed') === 'true') {
      showNote('Replayed: this is the stored answer to an earlier request with the same Idempotency-Key; ' +
        'nothing new was sent.');
    }
    var retry = response.headers.get('Retry-After');
    showError(response.status === 429 && retry ? 'Rate limited: try again in ' + retry + ' s.' : '');
    showBody(JSON.stringify(parsed, null, 2));
  }

  function showNetworkFailure(elapsed) {
    showStatus('No answer', 'error');
    el('result-time').textContent = 'after ' + Math.round(elapsed) + ' ms';
    showError('The request did not complete: MegaMsg could not be reached, or the connection broke. ' +
      'Check that the server is running and that you can still open this page. If the request did ' +
      'reach it, the message may have been sent anyway: look at the instance\'s message log before ' +
      'sending again, or send with an Idempotency-Key so that a retry cannot send twice.');
  }

  // --- sending ------------------------------------------------------------------------------

  function send(event) {
    event.preventDefault();
    var button = el('send');
    button.disabled = true;
    startResult();
    var url = new URL(form.dataset.endpoint, window.location.href).href;
    var headers = buildHeaders();
    var json = '';
    var started = 0;
    media()
      .catch(function (error) {
        throw {local: 'Could not read the file: ' + (error && error.message ? error.message : error) + '.'};
      })
      .then(function (mediaValue) {
        json = JSON.stringify(buildBody(mediaValue));
        showCurl(url, headers, json);
        try {
          new Headers(headers);
        } catch (ignored) {
          throw {local: 'The token, instance id or Idempotency-Key has characters that cannot go in an ' +
            'HTTP header. Paste them again, without quotes or line breaks.'};
        }
        started = performance.now();
        // credentials: 'omit': the API authenticates by its two headers only, so the dashboard's
        // cookie is not sent along and the request is exactly the one curl would make.
        return fetch(url, {method: 'POST', headers: headers, body: json, credentials: 'omit', cache: 'no-store'})
          .then(function (response) {
            return response.text().then(function (text) {
              showAnswer(response, text, performance.now() - started);
            });
          }, function () {
            showNetworkFailure(performance.now() - started);
          });
      })
      .catch(function (error) {
        showStatus('Not sent', 'error');
        showError(error && error.local ? error.local : 'Something went wrong in this page: ' + error);
      })
      .then(function () { button.disabled = false; });
  }

  // --- small helpers ------------------------------------------------------------------------

  function newKey() {
    if (window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    // randomUUID needs a secure context (https or localhost); getRandomValues does not.
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  function copyCurl() {
    var text = el('curl').textContent;
    function selectIt() {
      var range = document.createRange();
      range.selectNodeContents(el('curl'));
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      el('copy-state').textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
    }
    if (!navigator.clipboard) { selectIt(); return; }
    navigator.clipboard.writeText(text).then(function () {
      el('copy-state').textContent = 'Copied.';
    }, selectIt);
  }

  function fillFromFile() {
    var file = el('media-file').files[0];
    if (!file || el('type').value !== 'document') { return; }
    if (!value('file_name')) { el('file_name').value = file.name; }
    if (!value('mime_type') && file.type) { el('mime_type').value = file.type; }
  }

  // --- wiring -------------------------------------------------------------------------------

  el('type').addEventListener('change', function () { showFields(); fillFromFile(); });
  form.querySelectorAll('input[name=media-source]').forEach(function (radio) {
    radio.addEventListener('change', showFields);
  });
  el('media-file').addEventListener('change', fillFromFile);
  el('token').addEventListener('input', remember);
  el('remember').addEventListener('change', remember);
  el('token-toggle').addEventListener('click', function () {
    var shown = el('token').type === 'password';
    el('token').type = shown ? 'text' : 'password';
    this.textContent = shown ? 'Hide' : 'Show';
    this.setAttribute('aria-pressed', String(shown));
  });
  el('new-key').addEventListener('click', function () { el('idempotency-key').value = newKey(); });
  el('copy-curl').addEventListener('click', copyCurl);
  var picker = el('instance-picker');
  if (picker) {
    picker.addEventListener('change', function () {
      if (picker.value) { el('instance-id').value = picker.value; }
    });
  }
  form.addEventListener('submit', send);
  restore();
  showFields();
})();
