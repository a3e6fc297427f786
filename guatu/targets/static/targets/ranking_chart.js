// The 擂台 page's horizontal bar chart of scores, rank 1 on top: the leader (擂主) in gold, the
// bottom three (后三位) in red. Data comes from the json_script block named by data-ranking.
(() => {
  const COLORS = { leader: "#f59f00", bottom: "#d63939", other: "#206bc4" };
  const ROW_HEIGHT = 28;

  function draw(container) {
    const source = document.getElementById(container.dataset.ranking);
    if (!source || !window.echarts) return;
    const data = JSON.parse(source.textContent);
    if (!data.names.length) return;
    if (!container.dataset.fill) {
      container.style.height = `${Math.max(160, data.names.length * ROW_HEIGHT + 40)}px`;
    }
    const color = (index) =>
      data.leader[index] ? COLORS.leader : data.bottom[index] ? COLORS.bottom : COLORS.other;
    // A page may ask for a theme (the dark big screen) or SVG (crisp print) on its <html> element.
    const root = document.documentElement.dataset;
    const chart = window.echarts.init(container, root.echartsTheme || null, {
      renderer: root.echartsRenderer || "canvas",
    });
    chart.setOption({
      animation: false,
      backgroundColor: "transparent",
      grid: { left: 8, right: 48, top: 8, bottom: 24, containLabel: true },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        confine: true,
        valueFormatter: (value) => Number(value).toFixed(2),
      },
      xAxis: { type: "value", name: data.labels.score, nameLocation: "end", nameGap: 8 },
      yAxis: {
        type: "category",
        inverse: true,
        data: data.names,
        axisLabel: { width: 96, overflow: "truncate" },
      },
      series: [
        {
          name: data.labels.score,
          type: "bar",
          barMaxWidth: 18,
          data: data.scores.map((value, index) => ({
            value: Number(value),
            itemStyle: { color: color(index) },
          })),
          label: { show: true, position: "right", formatter: ({ value }) => value.toFixed(2) },
        },
      ],
    });
    window.addEventListener("resize", () => chart.resize());
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-ranking]").forEach(draw);
  });
})();
