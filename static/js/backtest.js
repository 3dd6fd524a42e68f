// A draft's running backtest: poll its status every second, move the bar, reload when done.
(function () {
  "use strict";
  var el = document.getElementById("backtest-progress");
  if (!el) return;
  var bar = el.querySelector("progress");
  var text = el.querySelector(".backtest-status");
  function tick() {
    fetch(el.dataset.src, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (s) {
        bar.value = s.progress;
        text.textContent = s.status + " " + Math.round(s.progress * 100) + "%" + (s.error ? ": " + s.error : "");
        if (s.status === "done" || s.status === "failed") { window.location.reload(); return; }
        setTimeout(tick, 1000);
      })
      .catch(function () { setTimeout(tick, 2000); });
  }
  setTimeout(tick, 500);
})();
