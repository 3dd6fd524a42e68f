// The queue updates itself: the server says "case N changed" over a WebSocket and this page
// fetches that case's row (204: it left the queue) and puts it in place by priority.
(function () {
  "use strict";
  var rows = document.getElementById("case-rows");
  if (!rows) return;
  var status = document.getElementById("live-status");
  var empty = document.getElementById("empty");
  var rowUrl = function (id) { return rows.dataset.rowUrl.replace("/0/", "/" + id + "/"); };

  function place(row) {
    var priority = Number(row.dataset.priority);
    var after = null;
    Array.prototype.forEach.call(rows.children, function (other) {
      if (Number(other.dataset.priority) >= priority && other !== row) after = other;
    });
    if (after) after.after(row); else rows.prepend(row);
  }

  // Only the newest fetch for a case is applied: answers can arrive out of order.
  var latest = {};

  function refresh(caseId) {
    var token = (latest[caseId] || 0) + 1;
    latest[caseId] = token;
    fetch(rowUrl(caseId), { credentials: "same-origin" }).then(function (response) {
      if (latest[caseId] !== token) return null;
      var existing = document.getElementById("case-" + caseId);
      if (response.status === 204) {
        if (existing) existing.remove();
        return null;
      }
      return response.text().then(function (html) {
        if (latest[caseId] !== token) return;
        var template = document.createElement("template");
        template.innerHTML = html.trim();
        var row = template.content.firstElementChild;
        if (existing) existing.replaceWith(row); else place(row);
      });
    }).finally(function () { empty.hidden = rows.children.length > 0; });
  }

  var delay = 500;
  var wasLive = false;
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/ws/queues/");
    socket.onopen = function () {
      // Back after a drop: changes sent meanwhile were missed, so draw the queue afresh.
      if (wasLive) { location.reload(); return; }
      wasLive = true; delay = 500; status.textContent = "live"; status.dataset.state = "live";
    };
    socket.onmessage = function (event) { refresh(JSON.parse(event.data).case_id); };
    socket.onclose = function () {
      status.textContent = "reconnecting…"; status.dataset.state = "down";
      setTimeout(connect, delay); delay = Math.min(delay * 2, 10000);
    };
  }
  connect();
})();
