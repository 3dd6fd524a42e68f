// Re-render a server-rendered fragment every few seconds: <div data-src="/url/">.
(function () {
  "use strict";
  var el = document.getElementById("live-rows");
  if (!el) return;
  function refresh() {
    fetch(el.dataset.src, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) { el.innerHTML = html; })
      .catch(function () { /* keep the last rows; try again next tick */ });
  }
  setInterval(refresh, 2000);
})();
