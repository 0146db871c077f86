// The API guide's code tabs (kept in step across the page) and copy buttons. No dependencies.
(function () {
  "use strict";

  function activate(tabs, tab) {
    tabs.querySelectorAll('[role="tab"]').forEach(function (other) {
      var selected = other === tab;
      other.setAttribute("aria-selected", selected ? "true" : "false");
      other.tabIndex = selected ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
    });
  }

  // A reader who picks PHP once wants PHP in every example on the page.
  function selectLanguage(language) {
    document.querySelectorAll("[data-tabs]").forEach(function (tabs) {
      var tab = tabs.querySelector('[role="tab"][data-lang="' + language + '"]');
      if (tab) {
        activate(tabs, tab);
      }
    });
  }

  function codeFor(button) {
    var box = button.closest("[data-tabs], .codebox");
    var scope = box.matches("[data-tabs]") ? box.querySelector('[role="tabpanel"]:not([hidden])') : box;
    return scope.querySelector("pre code");
  }

  function announce(button, label) {
    button.textContent = label;
    clearTimeout(button.resetTimer);
    button.resetTimer = setTimeout(function () {
      button.textContent = "Copy";
    }, 2500);
  }

  // Without the Clipboard API (plain http on another host than localhost): select the code so
  // that the reader's own Ctrl+C copies it, and try the old copy command too.
  function selectForCopy(button, code) {
    var range = document.createRange();
    range.selectNodeContents(code);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    var keys = /Mac|iPhone|iPad/.test(navigator.platform) ? "\u2318C" : "Ctrl+C";
    announce(button, copied ? "Copied" : "Selected: press " + keys);
  }

  function copy(button) {
    var code = codeFor(button);
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(code.textContent).then(
        function () {
          announce(button, "Copied");
        },
        function () {
          selectForCopy(button, code);
        }
      );
    } else {
      selectForCopy(button, code);
    }
  }

  document.addEventListener("click", function (event) {
    var tab = event.target.closest('[data-tabs] [role="tab"]');
    if (tab) {
      selectLanguage(tab.dataset.lang);
      return;
    }
    var button = event.target.closest("[data-copy]");
    if (button) {
      copy(button);
    }
  });

  document.addEventListener("keydown", function (event) {
    var tab = event.target.closest('[data-tabs] [role="tab"]');
    if (!tab || (event.key !== "ArrowRight" && event.key !== "ArrowLeft")) {
      return;
    }
    var all = Array.prototype.slice.call(tab.parentNode.querySelectorAll('[role="tab"]'));
    var next = all[(all.indexOf(tab) + (event.key === "ArrowRight" ? 1 : all.length - 1)) % all.length];
    selectLanguage(next.dataset.lang);
    next.focus();
    event.preventDefault();
  });
})();
