// Draws each dashboard chart from its JSON (see insightcloud/web/dashboard.py):
// {type, labels, series: [{name, values, link?}], links: [url per label] | null, max?, unit?, colors?, horizontal?}.
// Clicking a point opens the list behind it: the point's link, or for a line chart the series' link.
document.addEventListener("DOMContentLoaded", () => {
  const palette = ["#2f6fa3", "#1e7b34", "#d97706", "#7c3aed", "#b3261e", "#0e7490", "#a16207", "#be185d", "#4b5563"];
  for (const canvas of document.querySelectorAll("canvas.chart")) {
    const spec = JSON.parse(document.getElementById(canvas.dataset.source).textContent);
    const round = spec.type === "doughnut";
    const datasets = spec.series.map((series, index) => ({
      label: series.name,
      data: series.values,
      backgroundColor: spec.colors || (round ? palette : palette[index % palette.length]),
      borderColor: spec.type === "line" ? palette[index % palette.length] : undefined,
      spanGaps: true,
    }));
    const linkOf = (element) =>
      spec.links ? spec.links[element.index] : spec.series[element.datasetIndex].link;
    // Values: 0–max (scores), or whole numbers from 0 (counts). Labels: long names cut to fit.
    const scale = spec.max ? { min: 0, max: spec.max } : { beginAtZero: true, ticks: { precision: 0 } };
    const labelAxis = {
      ticks: {
        callback(value) {
          const label = String(this.getLabelForValue(value));
          return label.length > 28 ? `${label.slice(0, 27)}…` : label;
        },
      },
    };
    canvas.chart = new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        indexAxis: spec.horizontal ? "y" : "x",
        scales: round ? {} : { [spec.horizontal ? "x" : "y"]: scale, [spec.horizontal ? "y" : "x"]: labelAxis },
        plugins: { legend: { display: round || spec.type === "line", position: "bottom" } },
        onHover: (event, elements) => {
          event.native.target.style.cursor = elements.length && linkOf(elements[0]) ? "pointer" : "default";
        },
        onClick: (event, elements) => {
          const href = elements.length && linkOf(elements[0]);
          if (href) window.location = href;
        },
      },
    });
  }
});
