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

  // a picture or clip dropped on (or chosen in) the prediction form: shown, then sent (htmx submits on change)
  function preview(form, file) {
    var box = document.getElementById("dropped-preview");
    var url = URL.createObjectURL(file);
    var el = document.createElement(form.dataset.kind === "image" ? "img" : "audio");
    el.src = url;
    if (form.dataset.kind === "image") { el.alt = file.name; el.id = "dropped-image"; } else { el.controls = true; }
    var name = document.createElement("div"); name.className = "muted"; name.textContent = file.name;
    box.replaceChildren(el, name);
  }

  function dropZone(form) {
    var input = document.getElementById("media-file");
    input.addEventListener("change", function () { if (input.files.length) { preview(form, input.files[0]); } });
    ["dragenter", "dragover"].forEach(function (kind) {
      form.addEventListener(kind, function (event) { event.preventDefault(); form.classList.add("over"); });
    });
    form.addEventListener("dragleave", function () { form.classList.remove("over"); });
    form.addEventListener("drop", function (event) {
      event.preventDefault();
      form.classList.remove("over");
      if (!event.dataTransfer || !event.dataTransfer.files.length) { return; }
      var files = new DataTransfer();
      files.items.add(event.dataTransfer.files[0]);
      input.files = files.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var dropForm = document.getElementById("predict-file-form");
    if (dropForm) { dropZone(dropForm); }
    var job = document.getElementById("job");
    if (job) { watchJob(job); }
    var chart = document.getElementById("chart");
    if (chart) { drawChart(chart); }
  });
})();
