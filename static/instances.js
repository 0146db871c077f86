/* Instances overview and the instance page's status: status words, errors and counts update in place. */
(function () {
  'use strict';

  var EVERY = 3000;  // ms between polls
  var QUIET = 15000;  // after a failed poll: the server may be restarting, do not hammer it
  var GONE = 'gone';  // logged out (sent to the login page) or the instance is gone: stop polling

  function getJson(url) {
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (answer) {
        if (answer.redirected || answer.status === 404) { throw new Error(GONE); }
        if (!answer.ok) { throw new Error('HTTP ' + answer.status); }
        return answer.json();
      });
  }

  // Call apply(answer) every few seconds; paused while the tab is hidden, quieter while failing.
  function poll(url, apply, onTrouble) {
    var timer = null, busy = false, failures = 0, stopped = false;
    function schedule(delay) {
      if (!stopped && !busy && timer === null && !document.hidden) { timer = setTimeout(tick, delay); }
    }
    function tick() {
      timer = null;
      if (document.hidden || busy || stopped) { return; }
      busy = true;
      getJson(url).then(function (answer) {
        busy = false;
        failures = 0;
        onTrouble(false);
        apply(answer);
        schedule(EVERY);
      }, function (error) {
        busy = false;
        if (error.message === GONE) { stopped = true; return; }
        failures += 1;
        if (failures > 1) { onTrouble(true); }  // one miss is a blip: say nothing
        schedule(QUIET);
      });
    }
    document.addEventListener('visibilitychange', function () {
      if (document.hidden) {
        if (timer !== null) { clearTimeout(timer); timer = null; }
      } else {
        tick();  // back on the tab: fresh at once
      }
    });
    schedule(EVERY);
  }

  function setChip(chip, item) {
    chip.textContent = item.words;
    chip.className = 'chip chip-' + item.chip;
    chip.dataset.status = item.status;
  }

  function setLinked(cell, item) {
    cell.replaceChildren();
    if (!item.phone_number) {
      var none = document.createElement('span');
      none.className = 'muted';
      none.textContent = '—';
      cell.appendChild(none);
      return;
    }
    cell.appendChild(document.createTextNode(item.phone_number));
    if (item.push_name) {
      var name = document.createElement('div');
      name.className = 'muted small';
      name.textContent = item.push_name;
      cell.appendChild(name);
    }
  }

  function setError(element, text) {
    element.textContent = text;
    element.hidden = !text;
  }

  function noteTrouble(note) {
    return function (trouble) {
      if (!note) { return; }
      note.textContent = trouble ? 'Live updates paused: MegaMsg is not answering. Retrying…' : '';
      note.hidden = !trouble;
    };
  }

  // --- the instances list --------------------------------------------------------------------------

  function watchList(table) {
    poll(table.dataset.liveUrl, function (answer) {
      answer.instances.forEach(function (item) {
        var row = table.querySelector('tr[data-instance="' + item.id + '"]');
        if (!row) { return; }  // created elsewhere after this page loaded: a reload shows it
        var field = function (name) { return row.querySelector('[data-field=' + name + ']'); };
        setChip(field('status'), item);
        setLinked(field('linked'), item);
        setError(field('last_error'), item.last_error);
        field('reconnect').hidden = !item.can_reconnect;
        field('sent').textContent = String(item.sent);
        field('received').textContent = String(item.received);
      });
    }, noteTrouble(document.getElementById('live-note')));
  }

  // --- one instance's page: the status chip and its "Reconnect now" ----------------------------------

  function watchInstance(box) {
    poll(box.dataset.statusUrl, function (answer) {
      var item = answer.instances[0];
      if (!item) { return; }
      setChip(document.getElementById('status'), item);
      document.getElementById('reconnect-form').hidden = !item.can_reconnect;
    }, noteTrouble(document.getElementById('live-note')));
  }

  var table = document.getElementById('instances');
  if (table) { watchList(table); }
  var box = document.getElementById('session');
  if (box && box.dataset.statusUrl) { watchInstance(box); }
})();
