/* Copy buttons: <button type="button" data-copy="ID"> copies the text of the element with that id.
   Where the browser has no clipboard for scripts (plain http:// by IP or host name is not a secure
   context, so navigator.clipboard is undefined) or refuses, the text is selected instead and a hint
   next to the button says to press Ctrl+C. Other scripts may call window.megamsgCopy(element, button). */
(function () {
  'use strict';

  var HINT = 'Selected: press Ctrl+C (⌘C) to copy.';
  var SHOW_COPIED_MS = 2000;

  function selectContents(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  // The hint goes right after its button.
  function addHint(button) {
    var hint = document.createElement('span');
    hint.className = 'copy-hint';
    hint.setAttribute('role', 'status');
    button.insertAdjacentElement('afterend', hint);
    return hint;
  }

  // Only the latest copy's hint is true: the selection moved away from the others.
  function clearHints() {
    document.querySelectorAll('.copy-hint').forEach(function (hint) { hint.remove(); });
  }

  function copied(button) {
    clearHints();
    if (!button.dataset.label) { button.dataset.label = button.textContent; }
    button.textContent = 'Copied';
    setTimeout(function () { button.textContent = button.dataset.label; }, SHOW_COPIED_MS);
  }

  function byHand(element, button) {
    clearHints();
    selectContents(element);
    addHint(button).textContent = HINT;
  }

  function copy(element, button) {
    var text = element.textContent;
    if (!navigator.clipboard || !navigator.clipboard.writeText) {
      byHand(element, button);
      return;
    }
    navigator.clipboard.writeText(text).then(function () { copied(button); }, function () { byHand(element, button); });
  }

  window.megamsgCopy = copy;

  document.addEventListener('click', function (event) {
    var button = event.target.closest('[data-copy]');
    if (!button) { return; }
    var element = document.getElementById(button.dataset.copy);
    if (element) { copy(element, button); }
  });
})();
