// The 招商漏斗 page's funnel chart: one band per stage in stage order, its width the number of leads
// that reached the stage; the tooltip adds the intended investment (万元). Data comes from the
// json_script block named by data-funnel. Colours follow the stages' Tabler colours.
(() => {
  const FALLBACK = {
    secondary: "#6c7a91", blue: "#206bc4", cyan: "#17a2b8", purple: "#ae3ec9",
    orange: "#f76707", yellow: "#f59f00", green: "#2fb344", red: "#d63939",
  };

  function colour(name) {
    if (name === "secondary") return FALLBACK.secondary; // the kit's "secondary" is near-black text colour
    const value = getComputedStyle(document.documentElement).getPropertyValue(`--tblr-${name}`).trim();
    return value || FALLBACK[name] || FALLBACK.blue;
  }

  function draw(container) {
    const source = document.getElementById(container.dataset.funnel);
    if (!source || !window.echarts) return;
    const data = JSON.parse(source.textContent);
    const narrow = container.clientWidth < 420;
    // data-fill: the container's own height is kept (the big screen's fixed cells).
    if (!container.dataset.fill) {
      container.style.height = `${Math.max(260, data.names.length * (narrow ? 40 : 48))}px`;
    }
    // A page may ask for a theme (the dark big screen) or SVG (crisp print) on its <html> element.
    const root = document.documentElement.dataset;
    const chart = window.echarts.init(container, root.echartsTheme || null, {
      renderer: root.echartsRenderer || "canvas",
    });
    const max = Math.max(1, ...data.counts);
    chart.setOption({
      animation: false,
      backgroundColor: "transparent",
      tooltip: {
        trigger: "item",
        confine: true,
        formatter: ({ dataIndex }) =>
          `${data.names[dataIndex]}<br>${data.labels.count}：${data.counts[dataIndex]} ${data.labels.leads}` +
          `<br>${data.labels.amount}：${Number(data.amounts[dataIndex]).toLocaleString()} ${data.labels.unit}`,
      },
      series: [
        {
          name: data.labels.count,
          type: "funnel",
          sort: "none",
          min: 0,
          max,
          minSize: "8%",
          left: narrow ? "4%" : "8%",
          width: narrow ? "92%" : "84%",
          top: 8,
          bottom: 8,
          gap: 2,
          label: {
            show: true,
            position: "inside",
            formatter: ({ dataIndex }) => `${data.names[dataIndex]} ${data.counts[dataIndex]}`,
            color: "#fff",
            textBorderColor: "rgba(0,0,0,.35)",
            textBorderWidth: 2,
          },
          data: data.names.map((name, index) => ({
            name,
            value: data.counts[index],
            itemStyle: { color: colour(data.colors[index]) },
          })),
        },
      ],
    });
    window.addEventListener("resize", () => chart.resize());
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-funnel]").forEach(draw);
  });
})();
