// Draw the SHAP bar chart from the figure the server built (plotly.js is served by us).
(function () {
  "use strict";
  var data = document.getElementById("shap-figure");
  var target = document.getElementById("shap-chart");
  if (!data || !target || !window.Plotly) return;
  var figure = JSON.parse(JSON.parse(data.textContent));
  window.Plotly.newPlot(target, figure.data, figure.layout, { displayModeBar: false, responsive: true });
})();

// Who else is looking at this case (a heartbeat every 30 s keeps us on the list), and, for the
// analyst holding it, a lease renewed every 5 minutes while the page is open.
(function () {
  "use strict";
  var el = document.getElementById("presence");
  if (!el) return;
  var me = el.dataset.me;
  var scheme = location.protocol === "https:" ? "wss://" : "ws://";
  var socket = new WebSocket(scheme + location.host + "/ws/cases/" + el.dataset.case + "/");
  socket.onmessage = function (event) {
    var others = JSON.parse(event.data).viewers.filter(function (name) { return name !== me; });
    el.textContent = others.length ? "Also viewing: " + others.join(", ") : "";
  };
  setInterval(function () {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "heartbeat" }));
  }, 30000);
  if (el.dataset.renew) {
    var token = document.querySelector("input[name=csrfmiddlewaretoken]");
    setInterval(function () {
      fetch(el.dataset.renew, {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRFToken": token ? token.value : "" },
      });
    }, 300000);
  }
})();

// Deciding by keyboard: f / l / i choose the verdict, n gives it and opens the next case,
// c claims an open case. Not while typing in a field (Escape leaves it). A form that came
// back with an error is scrolled to and its first wrong field focused.
(function () {
  "use strict";
  var form = document.getElementById("verdict-form");
  var choice = document.getElementById("id_verdict");
  var verdicts = { f: "fraud", l: "legit", i: "inconclusive" };

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function flash(el) {
    el.classList.add("flash");
    setTimeout(function () { el.classList.remove("flash"); }, 600);
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "Escape" && typing(event.target)) { event.target.blur(); return; }
    if (typing(event.target)) return;
    var key = event.key.toLowerCase();
    if (form && choice && verdicts[key]) {
      event.preventDefault();
      choice.value = verdicts[key];
      choice.dispatchEvent(new Event("change", { bubbles: true }));
      flash(choice);
    } else if (form && key === "n") {
      event.preventDefault();
      form.requestSubmit(document.getElementById("verdict-next"));
    } else if (key === "c" && document.getElementById("claim-form")) {
      event.preventDefault();
      document.getElementById("claim-form").requestSubmit();
    }
  });

  var error = document.querySelector(".has-error, .form-error");
  if (error) {
    var details = error.closest("details");
    if (details) details.open = true;
    error.scrollIntoView({ block: "center" });
    var field = error.querySelector("select, textarea, input:not([type=hidden])");
    if (field) field.focus();
  }
})();
