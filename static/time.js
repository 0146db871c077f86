// Relative times: every <time datetime="…" data-relative> reads "3 min ago", with the exact time as its
// title (in the reader's time zone); refreshed every 30 s. Content inserted later:
// window.megamsgTimes(element).
(function () {
  'use strict';
  var UNITS = [
    ['year', 365 * 24 * 3600], ['month', 30 * 24 * 3600], ['week', 7 * 24 * 3600],
    ['day', 24 * 3600], ['hour', 3600], ['minute', 60]
  ];
  var format = typeof Intl !== 'undefined' && Intl.RelativeTimeFormat
    ? new Intl.RelativeTimeFormat(undefined, {numeric: 'auto', style: 'short'})
    : null;
  var exactFormat = typeof Intl !== 'undefined'
    ? new Intl.DateTimeFormat(undefined, {dateStyle: 'medium', timeStyle: 'medium'})
    : null;

  function relative(date, now) {
    var seconds = Math.round((date.getTime() - now) / 1000);
    var size = Math.abs(seconds);
    if (size < 45) { return seconds <= 0 ? 'just now' : 'in a few seconds'; }
    for (var i = 0; i < UNITS.length; i++) {
      if (size >= UNITS[i][1] || UNITS[i][0] === 'minute') {
        var count = Math.round(seconds / UNITS[i][1]);
        if (format) { return format.format(count, UNITS[i][0]); }
        var word = Math.abs(count) + ' ' + UNITS[i][0] + (Math.abs(count) === 1 ? '' : 's');
        return count < 0 ? word + ' ago' : 'in ' + word;
      }
    }
    return '';
  }

  function update(element, now) {
    var date = new Date(element.getAttribute('datetime'));
    if (isNaN(date.getTime())) { return; }
    if (!element.hasAttribute('data-exact')) {
      // The server's text is the exact time: keep it as the tooltip, in the reader's own time zone.
      var exact = exactFormat ? exactFormat.format(date) : element.textContent;
      element.setAttribute('data-exact', exact);
      element.title = exact;
    }
    var text = relative(date, now);
    if (element.textContent !== text) { element.textContent = text; }
  }

  function refresh(root) {
    var now = Date.now();
    var scope = root && root.querySelectorAll ? root : document;
    if (scope.matches && scope.matches('time[data-relative]')) { update(scope, now); }
    var elements = scope.querySelectorAll('time[data-relative]');
    for (var i = 0; i < elements.length; i++) { update(elements[i], now); }
  }

  window.megamsgTimes = refresh;
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { refresh(document); });
  } else {
    refresh(document);
  }
  setInterval(function () { refresh(document); }, 30000);
})();
