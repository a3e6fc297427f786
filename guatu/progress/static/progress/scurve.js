// The project page's S-curve: planned versus actual cumulative investment by month (万元).
// Data comes from a json_script block named by the container's data-scurve attribute.
(() => {
  const COLORS = { planned: "#868e96", actual: "#206bc4", now: "#d63939" };

  function draw(container) {
    const source = document.getElementById(container.dataset.scurve);
    if (!source || !window.echarts) return;
    const data = JSON.parse(source.textContent);
    const labels = data.labels;
    const number = (value) =>
      value === null || value === undefined
        ? "—"
        : Number(value).toLocaleString("zh-CN", { minimumFractionDigits: 0, maximumFractionDigits: 2 });
    const series = [];
    if (data.planned.length) {
      series.push({
        name: labels.planned,
        type: "line",
        data: data.planned,
        symbol: "none",
        lineStyle: { type: "dashed", width: 2, color: COLORS.planned },
        itemStyle: { color: COLORS.planned },
      });
    }
    const actual = {
      name: labels.actual,
      type: "line",
      data: data.actual,
      symbolSize: 5,
      lineStyle: { width: 2.5, color: COLORS.actual },
      itemStyle: { color: COLORS.actual },
      areaStyle: { color: COLORS.actual, opacity: 0.08 },
    };
    if (data.months.includes(data.now)) {
      actual.markLine = {
        symbol: "none",
        silent: true,
        label: { formatter: labels.now, color: COLORS.now },
        lineStyle: { color: COLORS.now, type: "dotted" },
        data: [{ xAxis: data.now }],
      };
    }
    series.push(actual);
    const chart = window.echarts.init(container, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 16, top: 28, bottom: 32, containLabel: true },
      legend: { bottom: 0, data: series.map((s) => s.name) },
      tooltip: {
        trigger: "axis",
        confine: true,
        valueFormatter: (value) => `${number(value)} ${labels.unit}`,
      },
      xAxis: { type: "category", data: data.months, boundaryGap: false, axisLabel: { hideOverlap: true } },
      yAxis: {
        type: "value",
        name: labels.unit,
        max: (range) => Math.max(range.max, Number(data.total) || 0),
        axisLabel: { formatter: (value) => number(value) },
      },
      series,
    });
    window.addEventListener("resize", () => chart.resize());
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-scurve]").forEach(draw);
  });
})();
