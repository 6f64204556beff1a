/* Draws each dashboard figure with the vendored Chart.js from its JSON block
   (<script type="application/json" id="...">, named by the canvas's data-figure).
   Kept out of the page so the admin can run under a Content-Security-Policy without
   inline scripts. Chart types: bar, line, doughnut, and stacked (a bar with stacked series). */
(function () {
  "use strict";

  var PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];

  function colour(index) {
    return PALETTE[index % PALETTE.length];
  }

  function datasets(config) {
    var doughnut = config.chart === "doughnut";
    return config.series.map(function (series, index) {
      var set = { label: series.name, data: series.values };
      if (doughnut) {
        set.backgroundColor = series.values.map(function (_, point) { return colour(point); });
      } else {
        set.backgroundColor = colour(index);
        set.borderColor = colour(index);
      }
      if (config.chart === "line") {
        set.fill = false;
        set.tension = 0.2;
        set.pointRadius = 2;
      }
      return set;
    });
  }

  function options(config) {
    var result = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: config.series.length > 1 || config.chart === "doughnut" } },
    };
    if (config.chart === "stacked") {
      result.scales = { x: { stacked: true }, y: { stacked: true, beginAtZero: true } };
    } else if (config.chart !== "doughnut") {
      result.scales = { y: { beginAtZero: true } };
    }
    return result;
  }

  function draw(canvas) {
    var block = document.getElementById(canvas.getAttribute("data-figure"));
    if (!block || typeof window.Chart === "undefined") {
      return;
    }
    var config = JSON.parse(block.textContent);
    new window.Chart(canvas, {
      type: config.chart === "stacked" ? "bar" : config.chart,
      data: { labels: config.labels, datasets: datasets(config) },
      options: options(config),
    });
  }

  function start() {
    var canvases = document.querySelectorAll("canvas.bo-chart[data-figure]");
    for (var index = 0; index < canvases.length; index += 1) {
      draw(canvases[index]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
