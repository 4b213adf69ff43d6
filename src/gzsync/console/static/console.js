// gzsync console: confirmations and the live progress of a run. Pages work without it.
"use strict";
document.addEventListener("submit", function (ev) {
  var msg = ev.target.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) ev.preventDefault();
});
(function follow() {
  var el = document.getElementById("run-status");
  if (!el || el.getAttribute("data-status") !== "running") return;
  var run = el.getAttribute("data-run");
  var bars = document.getElementById("progress-bars");
  function draw(progress) {
    var html = "";
    Object.keys(progress).forEach(function () {
      html += '<div class="bar"><span></span><progress></progress><span></span></div>';
    });
    bars.innerHTML = html;
    var rows = bars.querySelectorAll(".bar"), i = 0;
    Object.keys(progress).forEach(function (s) {
      var p = progress[s], row = rows[i++], spans = row.querySelectorAll("span");
      spans[0].textContent = s;
      row.querySelector("progress").max = p.total || 1;
      row.querySelector("progress").value = p.done;
      spans[1].textContent = p.done + " / " + p.total;
    });
  }
  function tick() {
    fetch("/sync?run=" + encodeURIComponent(run), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (!data.run) return setTimeout(tick, 2000);
        if (data.run.status !== "running") { window.location.reload(); return; }
        draw(data.run.progress || {});
        setTimeout(tick, 1000);
      })
      .catch(function () { setTimeout(tick, 3000); });
  }
  tick();
})();
