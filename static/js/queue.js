// The queue updates itself: the server says "case N changed" over a WebSocket and this page
// fetches that case's row with the page's own filters (204: it left the queue, or no longer
// passes them) and puts it in place. A row that arrives or changes is marked for a while.
(function () {
  "use strict";
  var rows = document.getElementById("case-rows");
  if (!rows) return;
  var status = document.getElementById("live-status");
  var empty = document.getElementById("empty");
  var byPriority = rows.dataset.sort === "priority";
  var firstPage = rows.dataset.page === "1";
  var rowUrl = function (id) {
    return rows.dataset.rowUrl.replace("/0/", "/" + id + "/") + location.search;
  };
  var FRESH_MS = 8000;

  function place(row) {
    if (!byPriority) { rows.prepend(row); return; }
    var priority = Number(row.dataset.priority);
    var after = null;
    Array.prototype.forEach.call(rows.children, function (other) {
      if (Number(other.dataset.priority) >= priority && other !== row) after = other;
    });
    if (after) after.after(row); else rows.prepend(row);
  }

  function markFresh(row, kind) {
    row.classList.add("row-fresh");
    row.dataset.fresh = kind;  // "new" or "changed"
    setTimeout(function () { row.classList.remove("row-fresh"); delete row.dataset.fresh; }, FRESH_MS);
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
        if (existing) {
          var box = existing.querySelector("input[name=cases]");
          var ticked = row.querySelector("input[name=cases]");
          if (box && ticked) ticked.checked = box.checked;  // keep the lead's selection
          existing.replaceWith(row);
          markFresh(row, "changed");
        } else if (firstPage) {
          place(row);  // a new case is shown on the first page only: later pages keep still
          markFresh(row, "new");
        }
        selectionChanged();
      });
    }).finally(function () { empty.hidden = rows.children.length > 0; });
  }

  // Select-all for the bulk verdict: the header box ticks every case on this page.
  var all = document.getElementById("select-all");
  var count = document.getElementById("bulk-count");
  function boxes() { return rows.querySelectorAll("input[name=cases]"); }
  function selectionChanged() {
    if (!all) return;
    var list = boxes(), ticked = 0;
    list.forEach(function (box) { if (box.checked) ticked += 1; });
    all.checked = list.length > 0 && ticked === list.length;
    all.indeterminate = ticked > 0 && ticked < list.length;
    if (count) count.textContent = ticked ? ticked + " selected" : "";
  }
  if (all) {
    all.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = all.checked; });
      selectionChanged();
    });
    rows.addEventListener("change", selectionChanged);
    selectionChanged();
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
