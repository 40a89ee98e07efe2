/* Charts (Chart.js 4, vendor/chart.umd.min.js) for the forecast and the sales dashboard.
 *
 * A page puts the data in a json_script tag and points a canvas at it:
 *   <canvas data-chart="forecast-chart"></canvas>  {{ data|json_script:"forecast-chart" }}
 * The data: {type: "bar", labels: [...], datasets: [{label, data, kind?: "line"}],
 *            format: "money"|"percent"|"count", currency?, horizontal?}
 * No inline script, no inline style: works under the strict CSP.
 */
(function () {
  "use strict";

  var PALETTE = ["#1f6feb", "#2da44e", "#bf8700", "#8250df", "#6e7781", "#cf222e", "#0a7ea4"];
  // Forecast figures keep their colour whatever the order (a quota is an outlined bar).
  var KEYS = {
    closed_won: "#2da44e", quota: "#57606a", commit: "#1f6feb", best_case: "#bf8700",
    pipeline: "#8250df", weighted: "#0a7ea4"
  };

  function formatter(spec) {
    if (spec.format === "percent") {
      return function (v) { return v == null ? "—" : Number(v).toLocaleString(undefined, {maximumFractionDigits: 1}) + "%"; };
    }
    if (spec.format === "money") {
      return function (v) {
        return v == null ? "—" : Number(v).toLocaleString(undefined, {maximumFractionDigits: 0}) + (spec.currency ? " " + spec.currency : "");
      };
    }
    return function (v) { return v == null ? "—" : Number(v).toLocaleString(); };
  }

  function build(canvas) {
    if (canvas.dataset.chartReady) return;
    var source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof window.Chart === "undefined") return;
    var spec;
    try { spec = JSON.parse(source.textContent); } catch (e) { return; }
    var fmt = formatter(spec);
    var horizontal = !!spec.horizontal;
    var datasets = (spec.datasets || []).map(function (ds, i) {
      var colour = KEYS[ds.key] || PALETTE[i % PALETTE.length];
      var line = ds.kind === "line";
      var outline = ds.key === "quota";
      return {
        type: line ? "line" : "bar",
        label: ds.label,
        data: ds.data,
        backgroundColor: line ? colour : (outline ? colour + "22" : colour + "cc"),
        borderColor: colour,
        borderWidth: line || outline ? 2 : 0,
        pointRadius: line ? 3 : 0,
        spanGaps: true,
        order: line ? 0 : 1,
        maxBarThickness: 48
      };
    });
    var valueAxis = {
      beginAtZero: true,
      max: spec.format === "percent" ? 100 : undefined,
      ticks: { precision: spec.format === "count" ? 0 : undefined, callback: function (v) { return fmt(v); } }
    };
    var categoryAxis = { ticks: { autoSkip: true, maxRotation: 0 } };
    canvas.dataset.chartReady = "1";
    new window.Chart(canvas, {
      type: spec.type || "bar",
      data: { labels: spec.labels || [], datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        indexAxis: horizontal ? "y" : "x",
        scales: horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis },
        plugins: {
          legend: { display: datasets.length > 1, position: "bottom", labels: { boxWidth: 12 } },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var v = horizontal ? ctx.parsed.x : ctx.parsed.y;
                return (ctx.dataset.label ? ctx.dataset.label + ": " : "") + fmt(v);
              }
            }
          }
        }
      }
    });
  }

  function drawAll(root) {
    (root || document).querySelectorAll("canvas[data-chart]").forEach(build);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { drawAll(); });
  } else {
    drawAll();
  }
  document.addEventListener("htmx:afterSettle", function (e) { drawAll(e.target); });
})();
