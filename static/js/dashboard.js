// Each chart is a bar chart of {label, value, n} points; clicking a bar opens the inventory
// filtered by that value.
document.addEventListener("DOMContentLoaded", () => {
  for (const canvas of document.querySelectorAll("canvas.chart")) {
    const points = JSON.parse(canvas.dataset.points || "[]");
    const chart = new Chart(canvas, {
      type: "bar",
      data: { labels: points.map((p) => p.label), datasets: [{ data: points.map((p) => p.n), backgroundColor: "#2f6fa3" }] },
      options: {
        animation: false,
        plugins: { legend: { display: false } },
        onClick: (event, elements) => {
          if (!elements.length) return;
          const point = points[elements[0].index];
          window.location = `/inventory/?${canvas.dataset.param}=${encodeURIComponent(point.value)}`;
        },
      },
    });
    canvas.chart = chart;
  }
});
