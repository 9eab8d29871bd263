// The failing-resources trend of an insight: a small line chart of the daily counts in #trend-data.
document.addEventListener("DOMContentLoaded", () => {
  const canvas = document.getElementById("trend");
  const data = document.getElementById("trend-data");
  if (!canvas || !data) return;
  const days = JSON.parse(data.textContent);
  canvas.chart = new Chart(canvas, {
    type: "line",
    data: {
      labels: days.map((d) => d.date),
      datasets: [
        { label: "failing", data: days.map((d) => d.failed), borderColor: "#b3261e", backgroundColor: "#b3261e", tension: 0.2 },
        { label: "exempted", data: days.map((d) => d.exempted), borderColor: "#a15c00", backgroundColor: "#a15c00", tension: 0.2 },
      ],
    },
    options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
});
