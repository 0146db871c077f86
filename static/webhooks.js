/* Webhook pages: events still pending or being delivered update in place until they are final. */
(function () {
  'use strict';

  var FAST = 1500;  // ms between polls right after a change
  var SLOW = 10000;  // at most this long between polls (a retry may wait a minute for its turn)

  var GONE = 'gone';  // logged out (sent to the login page) or no such event any more: stop

  // Poll check() until it reports nothing left to watch; slow down while nothing changes.
  function poll(check) {
    var delay = FAST;
    function tick() {
      if (document.hidden) { setTimeout(tick, delay); return; }
      check().then(function (result) {
        if (!result.watching) { return; }
        delay = result.changed ? FAST : Math.min(delay * 1.5, SLOW);
        setTimeout(tick, delay);
      }, function (error) {
        // A network or server hiccup: try again later; a reload explains a lasting problem.
        if (error.message !== GONE) { delay = SLOW; setTimeout(tick, delay); }
      });
    }
    setTimeout(tick, FAST);
  }

  function getJson(url) {
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (answer) {
        if (answer.redirected || answer.status === 404) { throw new Error(GONE); }
        if (!answer.ok) { throw new Error('HTTP ' + answer.status); }
        return answer.json();
      });
  }

  function showStatus(chip, event) {
    chip.textContent = event.status;
    chip.className = 'status wh-' + event.status;
    chip.title = event.last_error || '';
  }

  function code(value) { return value === null || value === undefined ? '—' : String(value); }

  // --- the deliveries list on the settings page ------------------------------------------------

  function watchList(table) {
    function rows() { return table.querySelectorAll('tr[data-live]'); }
    if (!rows().length) { return; }
    poll(function () {
      var query = Array.prototype.map.call(rows(), function (row) {
        return 'id=' + encodeURIComponent(row.dataset.event);
      }).join('&');
      return getJson(table.dataset.statusUrl + '?' + query).then(function (answer) {
        var changed = false;
        answer.events.forEach(function (event) {
          var row = table.querySelector('tr[data-event="' + event.id + '"]');
          if (!row) { return; }
          var cell = function (name) { return row.querySelector('[data-field=' + name + ']'); };
          if (cell('status').textContent !== event.status || cell('attempts').textContent !== String(event.attempts)) {
            changed = true;
          }
          showStatus(cell('status'), event);
          cell('attempts').textContent = String(event.attempts);
          cell('last_status_code').textContent = code(event.last_status_code);
          if (event.final) { delete row.dataset.live; }
        });
        return { watching: rows().length > 0, changed: changed };
      });
    });
  }

  // --- one event's page ------------------------------------------------------------------------

  function attemptRow(attempt) {
    var row = document.createElement('tr');
    [String(attempt.attempt), attempt.at, code(attempt.status_code), attempt.duration_ms + ' ms', attempt.error || '']
      .forEach(function (text) {
        var cell = document.createElement('td');
        cell.textContent = text;
        row.appendChild(cell);
      });
    var response = document.createElement('td');
    if (attempt.response_excerpt) {
      var pre = document.createElement('pre');
      pre.textContent = attempt.response_excerpt;
      response.appendChild(pre);
    }
    row.appendChild(response);
    return row;
  }

  function watchEvent(card) {
    if (!('live' in card.dataset)) { return; }
    var seen = '';
    poll(function () {
      return getJson(card.dataset.statusUrl).then(function (event) {
        var now = JSON.stringify(event);
        var changed = now !== seen;
        seen = now;
        showStatus(document.getElementById('event-status'), event);
        document.getElementById('event-attempts').textContent = String(event.attempts);
        document.getElementById('event-updated').textContent = event.updated_at;
        var error = document.getElementById('event-error');
        error.textContent = '· ' + (event.last_error || '');
        error.hidden = !event.last_error;
        var body = document.querySelector('#attempts tbody');
        body.replaceChildren.apply(body, event.attempts_list.map(attemptRow));
        document.getElementById('attempts-box').hidden = event.attempts_list.length === 0;
        document.getElementById('no-attempts').hidden = event.attempts_list.length > 0;
        return { watching: !event.final, changed: changed };
      });
    });
  }

  var list = document.getElementById('deliveries');
  if (list) { watchList(list); }
  var card = document.getElementById('event');
  if (card) { watchEvent(card); }
})();
