// trainlab UI: live progress of a training job (server-sent events) and the leaderboard chart (Plotly).
(function () {
  "use strict";
  function text(id, value) { var el = document.getElementById(id); if (el) { el.textContent = value; } }

  function row(trial) {
    var tr = document.createElement("tr");
    var name = document.createElement("td"); name.textContent = trial.name;
    var score = document.createElement("td"); score.className = "num";
    score.textContent = trial.ok ? trial.score.toFixed(4) : "failed: " + (trial.error || "");
    tr.appendChild(name); tr.appendChild(score);
    return tr;
  }

  function showJob(state) {
    var status = document.getElementById("status");
    status.textContent = state.status; status.className = "status " + state.status;
    text("stage", state.stage);
    text("finished", String(state.trials.length));
    text("best", state.best ? state.best.name + " (" + (state.ranking_metric || "score") + " " +
                               state.best.score.toFixed(4) + ")" : "—");
    text("left", Math.round(state.time_left_s) + " s");
    document.getElementById("bar").value = Math.min(state.elapsed_s, state.time_limit);
    var body = document.getElementById("trials");
    body.replaceChildren.apply(body, state.trials.map(row));
    if (state.status === "failed") {
      text("error-text", state.error || "unknown error");
      document.getElementById("failure").hidden = false;
    }
    if (state.status === "done" && state.run) {
      var link = document.getElementById("open-run");
      link.href = "/ui/runs/" + encodeURIComponent(state.run);
      document.getElementById("result").hidden = false;
    }
  }

  function watchJob(section) {
    if (!window.EventSource || section.dataset.status === "done" || section.dataset.status === "failed") { return; }
    var source = new EventSource("/ui/jobs/" + encodeURIComponent(section.dataset.job) + "/events");
    source.onmessage = function (event) { showJob(JSON.parse(event.data)); };
    source.addEventListener("end", function () { source.close(); });
  }

  function drawChart(el) {
    var points = JSON.parse(el.dataset.points || "[]");
    if (!window.Plotly || points.length === 0) { el.hidden = true; return; }
    el.style.height = Math.min(360, 90 + 34 * points.length) + "px";
    var data = [{ type: "bar", orientation: "h", x: points.map(function (p) { return p.score; }),
                  y: points.map(function (p) { return p.model; }), marker: { color: "#2563eb" } }];
    var layout = { margin: { l: 140, r: 20, t: 10, b: 40 }, yaxis: { autorange: "reversed" },
                   xaxis: { title: { text: "validation " + el.dataset.metric } } };
    window.Plotly.newPlot(el, data, layout, { displayModeBar: false, responsive: true });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var job = document.getElementById("job");
    if (job) { watchJob(job); }
    var chart = document.getElementById("chart");
    if (chart) { drawChart(chart); }
  });
})();
