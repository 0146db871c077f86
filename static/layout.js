// Boxes that scroll sideways (.table-wrap, and tables not yet wrapped) take keyboard focus while they
// overflow, so that they can be scrolled with the arrow keys too; checked again when the page changes.
(function () {
  'use strict';
  var SELECTOR = '.table-wrap, .table-scroll, table.list, pre';
  var pending = false;

  function check() {
    pending = false;
    var boxes = document.querySelectorAll(SELECTOR);
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      var overflows = box.scrollWidth > box.clientWidth + 1 && getComputedStyle(box).overflowX !== 'visible';
      if (overflows && !box.hasAttribute('tabindex')) {
        box.setAttribute('tabindex', '0');
        box.setAttribute('data-scroll-focus', '');
      } else if (!overflows && box.hasAttribute('data-scroll-focus')) {
        box.removeAttribute('tabindex');
        box.removeAttribute('data-scroll-focus');
      }
    }
  }

  function later() {
    if (!pending) { pending = true; window.requestAnimationFrame(check); }
  }

  function start() {
    check();
    window.addEventListener('resize', later);
    // Tabs and <details> show hidden boxes by flipping attributes, rows arrive as new nodes.
    new MutationObserver(later).observe(document.body, {
      childList: true, subtree: true, attributes: true, attributeFilter: ['hidden', 'open', 'class']
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
