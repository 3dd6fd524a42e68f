// Draw the SHAP bar chart from the figure the server built (plotly.js is served by us).
(function () {
  "use strict";
  var data = document.getElementById("shap-figure");
  var target = document.getElementById("shap-chart");
  if (!data || !target || !window.Plotly) return;
  var figure = JSON.parse(JSON.parse(data.textContent));
  window.Plotly.newPlot(target, figure.data, figure.layout, { displayModeBar: false, responsive: true });
})();
