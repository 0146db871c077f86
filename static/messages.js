/* Messages page: new messages matching the filters appear at the top, and status chips follow
   sent → delivered → read, without reloading. Only on the newest page (the table has data-live-url). */
(function () {
  'use strict';

  var INTERVAL = 2500;  // ms between polls while the tab is visible
  var SLOW = 15000;  // after a network or server hiccup
  var MAX_WATCHED = 100;  // the server reports the status of at most this many rows

  var table = document.getElementById('messages');
  var body = table && table.tBodies[0];

  // A thumbnail that cannot be drawn (file gone, unreadable image) says so instead of a broken icon.
  function watchThumbnails(root) {
    Array.prototype.forEach.call(root.querySelectorAll('img.thumb'), function (img) {
      img.addEventListener('error', function () {
        var note = document.createElement('span');
        note.className = 'muted';
        note.textContent = 'No preview';
        img.parentNode.replaceWith(note);
      }, { once: true });
    });
  }
  watchThumbnails(document);

  if (!table || !table.dataset.liveUrl) { return; }

  var latest = Number(table.dataset.latest || 0);
  var timer = null;
  var stopped = false;

  function fromHtml(html) {
    var holder = document.createElement('template');
    holder.innerHTML = html.trim();
    return holder.content.firstElementChild;
  }

  function relativeTimes(element) {
    if (window.megamsgTimes) { window.megamsgTimes(element); }
  }

  function query() {
    var rows = body.querySelectorAll('tr[data-message]');
    var parts = ['after=' + latest];
    for (var i = 0; i < rows.length && i < MAX_WATCHED; i++) {
      parts.push('id=' + encodeURIComponent(rows[i].dataset.message) + '&v=' + encodeURIComponent(rows[i].dataset.version));
    }
    var url = table.dataset.liveUrl;
    return url + (url.indexOf('?') === -1 ? '?' : '&') + parts.join('&');
  }

  function findRow(id) {
    return body.querySelector('tr[data-message="' + CSS.escape(id) + '"]');
  }

  function show(row) {
    relativeTimes(row);
    watchThumbnails(row);
  }

  function addRows(rows) {
    // Oldest first from the server: each goes on top, so the newest ends up first.
    rows.forEach(function (item) {
      latest = Math.max(latest, item.seq);
      if (findRow(item.id)) { return; }
      var row = fromHtml(item.html);
      row.classList.add('fresh');
      body.insertBefore(row, body.firstElementChild);
      show(row);
    });
    if (rows.length) {
      document.getElementById('messages-box').hidden = false;
      var empty = document.getElementById('empty');
      if (empty) { empty.hidden = true; }
    }
  }

  // A row whose status changed (sent → delivered → read) or whose media arrived, rendered again.
  function replaceRows(rows) {
    rows.forEach(function (item) {
      var old = findRow(item.id);
      if (!old) { return; }
      var row = fromHtml(item.html);
      old.replaceWith(row);
      show(row);
    });
  }

  function schedule(delay) {
    clearTimeout(timer);
    if (!stopped) { timer = setTimeout(tick, delay); }
  }

  function tick() {
    if (document.hidden) { return; }  // visibilitychange starts it again
    fetch(query(), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (answer) {
        // Logged out (sent to the login page) or the instance is gone: stop; a reload explains.
        if (answer.redirected || answer.status === 404 || answer.status === 400) { stopped = true; return null; }
        if (!answer.ok) { throw new Error('HTTP ' + answer.status); }
        return answer.json();
      })
      .then(function (answer) {
        if (!answer) { return; }
        addRows(answer.rows);
        replaceRows(answer.changed);
        schedule(INTERVAL);
      }, function () { schedule(SLOW); });
  }

  document.addEventListener('visibilitychange', function () {
    if (document.hidden) { clearTimeout(timer); } else { schedule(0); }
  });
  schedule(INTERVAL);
})();
