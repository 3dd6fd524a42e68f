// Draw each figure the server built (KPIs, model comparison, threshold trade-off): <div data-figure="id"> + <script id="id" type="application/json">.
(function () {
  "use strict";
  if (!window.Plotly) return;
  document.querySelectorAll("[data-figure]").forEach(function (target) {
    var data = document.getElementById(target.dataset.figure);
    if (!data) return;
    var figure = JSON.parse(JSON.parse(data.textContent));
    window.Plotly.newPlot(target, figure.data, figure.layout, { displayModeBar: false, responsive: true });
    // A page's layout can settle after the figure is drawn (the admin's sidebar, a float
    // cleared): follow the box's own width, not only the window's.
    if (window.ResizeObserver) {
      new ResizeObserver(function () { window.Plotly.Plots.resize(target); }).observe(target);
    }
  });
})();
