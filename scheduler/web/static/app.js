// newswatch workbench: progressive enhancement only; every page works without this file.
// A filter <select data-autosubmit> sends its form when changed.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) { select.form.submit(); }
    });
  });
  // Ask before muting: a muted story sends nothing more.
  document.querySelectorAll("button.mute").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm("Mute this story? It will send no further alerts or updates.")) {
        event.preventDefault();
      }
    });
  });
});
