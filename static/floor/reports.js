// Charts of the report tables, drawn with the vendored Chart.js (static/floor/vendor).
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const placed = "#417690";
  const answered = "#79aec8";
  const talk = "#d4a017";
  const options = { responsive: true, animation: false, maintainAspectRatio: true, plugins: { legend: { position: "bottom" } } };

  function bars(id, labels, sets) {
    const canvas = document.getElementById(id);
    const chart = new Chart(canvas, { type: "bar", data: { labels, datasets: sets }, options });
    canvas.dataset.drawn = String(labels.length);
    return chart;
  }

  bars("chart-day", data.day.map((r) => r.day), [
    { label: "Placed", data: data.day.map((r) => r.placed), backgroundColor: placed },
    { label: "Answered", data: data.day.map((r) => r.answered), backgroundColor: answered },
  ]);
  bars("chart-hour", data.hour.map((r) => `${String(r.hour).padStart(2, "0")}:00`), [
    { label: "Placed", data: data.hour.map((r) => r.placed), backgroundColor: placed },
    { label: "Answered", data: data.hour.map((r) => r.answered), backgroundColor: answered },
  ]);
  bars("chart-agent", data.agent.map((r) => r.agent), [
    { label: "Placed", data: data.agent.map((r) => r.placed), backgroundColor: placed },
    { label: "Answered", data: data.agent.map((r) => r.answered), backgroundColor: answered },
    { label: "Talk (minutes)", data: data.agent.map((r) => Math.round(r.talk_seconds / 6) / 10), backgroundColor: talk },
  ]);
  bars("chart-disposition", data.disposition.map((r) => r.label), [
    { label: "Calls", data: data.disposition.map((r) => r.calls), backgroundColor: placed },
  ]);
})();
