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
