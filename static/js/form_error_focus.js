// On a page answered with form errors, put the cursor in the first field in error and scroll
// it into view: the error is then where the user is looking, not below the fold. Django marks
// such fields aria-invalid="true"; without one (an error on the whole form), the error note.
(function () {
  "use strict";
  function focusFirstError() {
    var field = document.querySelector('[aria-invalid="true"]');
    if (field) {
      field.focus();
      field.scrollIntoView({ block: "center" });
      return;
    }
    var note = document.querySelector(".errornote");
    if (note) {
      note.setAttribute("tabindex", "-1");
      note.focus();
    }
  }
  // After "load", so after the admin's change_form.js (async), which focuses the first field
  // of an add form and would take the cursor back.
  if (document.readyState === "complete") {
    focusFirstError();
  } else {
    window.addEventListener("load", focusFirstError);
  }
})();
