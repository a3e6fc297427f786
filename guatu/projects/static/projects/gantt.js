// 倒排工期 Gantt chart: one row per approval (a bar from its latest start to its latest finish, the
// actual submit-to-approval span drawn thinner inside it) or milestone (a diamond); today's line;
// late items red, finished items green, overridden milestones orange with their original date hollow.
// Data comes from a json_script block named by the container's data-gantt attribute.
(() => {
  const COLORS = {
    pending: "#206bc4",
    submitted: "#4299e1",
    done: "#2fb344",
    late: "#d63939",
    overridden: "#f76707",
    rejected: "#f59f00",
    undated: "#adb5bd",
  };
  const DAY = 86400000;

  const time = (iso) => (iso ? new Date(`${iso}T00:00:00`).getTime() : null);
  const text = (iso) => iso || "—";
  const escape = (value) =>
    String(value).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

  function tooltip(item, labels) {
    const lines = [`<strong>${escape(item.name)}</strong>`];
    if (item.type === "approval") {
      lines.push(`${labels.latest_start}：${text(item.latest_start)}`);
      lines.push(`${labels.latest_finish}：${text(item.latest_finish)}`);
      if (item.duration) lines.push(`${labels.duration}：${escape(item.duration)}`);
      if (item.actual_start) lines.push(`${labels.actual_start}：${item.actual_start}`);
    } else {
      lines.push(`${labels.milestone_date}：${text(item.latest_finish)}`);
      if (item.overridden) {
        lines.push(`${labels.overridden}（${labels.planned} ${text(item.planned)}）`);
        if (item.override_reason) lines.push(`${labels.reason}：${escape(item.override_reason)}`);
      }
    }
    if (item.actual_finish) lines.push(`${labels.actual_finish}：${item.actual_finish}`);
    lines.push(`${labels.status}：${escape(item.status)}`);
    if (item.late) lines.push(`<span style="color:${COLORS.late}">${labels.late.replace("%(days)s", item.late_days)}</span>`);
    return lines.join("<br>");
  }

  function diamond(x, y, r, style) {
    return {
      type: "polygon",
      shape: { points: [[x, y - r], [x + r, y], [x, y + r], [x - r, y]] },
      style,
    };
  }

  // Before 开工, open on what matters now: the approvals up to 开工 (and today) with a few months
  // beyond; the slider reaches the later milestones. Once started, or when short anyway, show it whole.
  function focus(items, today, min, max) {
    const started = items.find((item) => item.code === "started");
    if (started && started.t.actualFinish !== null) return { start: min, end: max };
    const near = [today];
    items.forEach(({ type, code, t }) => {
      if (type === "approval" || code === "started") near.push(t.finish ?? today, t.actualFinish ?? today);
    });
    const end = Math.max(...near) + 90 * DAY;
    return { start: min, end: end < max && max - min > 540 * DAY ? end : max };
  }

  function draw(container) {
    const source = document.getElementById(container.dataset.gantt);
    if (!source || !window.echarts) return;
    const data = JSON.parse(source.textContent);
    const labels = data.labels;
    const today = time(data.today);
    const items = data.items.map((item) => ({
      ...item,
      t: {
        start: time(item.latest_start),
        finish: time(item.latest_finish),
        actualStart: time(item.actual_start),
        actualFinish: time(item.actual_finish),
        planned: time(item.planned),
      },
    }));
    const all = [today];
    items.forEach(({ t }) => Object.values(t).forEach((v) => v !== null && all.push(v)));
    const pad = Math.max(7 * DAY, (Math.max(...all) - Math.min(...all)) * 0.03);
    const rows = items
      .map((item, index) => [index, item.t.start ?? item.t.finish ?? item.t.actualFinish ?? today])
      .filter(([index]) => {
        const t = items[index].t;
        return t.finish !== null || t.actualFinish !== null;
      });

    function renderItem(params, api) {
      const index = api.value(0);
      const item = items[index];
      const { t } = item;
      const y = api.coord([today, index])[1];
      const band = api.size([0, 1])[1];
      const color = COLORS[item.state] || COLORS.pending;
      const children = [];
      if (item.type === "approval") {
        if (t.start !== null && t.finish !== null) {
          const x0 = api.coord([t.start, index])[0];
          const x1 = api.coord([t.finish + DAY, index])[0];
          children.push({
            type: "rect",
            shape: { x: x0, y: y - band * 0.3, width: Math.max(x1 - x0, 3), height: band * 0.6, r: 3 },
            style: { fill: color, opacity: item.state === "done" ? 0.35 : 0.55, stroke: color, lineWidth: 1 },
          });
        }
        if (t.actualStart !== null) {
          const end = t.actualFinish ?? Math.max(today, t.actualStart);
          const x0 = api.coord([t.actualStart, index])[0];
          const x1 = api.coord([end + DAY, index])[0];
          children.push({
            type: "rect",
            shape: { x: x0, y: y - band * 0.1, width: Math.max(x1 - x0, 3), height: band * 0.2 },
            style: { fill: t.actualFinish !== null ? COLORS.done : color },
          });
        }
      } else {
        const r = Math.min(band * 0.32, 9);
        if (item.overridden && t.planned !== null) {
          const xp = api.coord([t.planned, index])[0];
          const xn = api.coord([t.finish, index])[0];
          children.push({
            type: "line",
            shape: { x1: xp, y1: y, x2: xn, y2: y },
            style: { stroke: COLORS.overridden, lineDash: [4, 3], lineWidth: 1 },
          });
          children.push(diamond(xp, y, r * 0.8, { fill: "#fff", stroke: COLORS.overridden, lineWidth: 1.5 }));
        }
        if (t.finish !== null) {
          const x = api.coord([t.finish, index])[0];
          const stroke = item.overridden ? COLORS.overridden : "#fff";
          children.push(diamond(x, y, r, { fill: color, stroke, lineWidth: item.overridden ? 2 : 1 }));
        }
        if (t.actualFinish !== null) {
          const x = api.coord([t.actualFinish, index])[0];
          children.push({ type: "circle", shape: { cx: x, cy: y, r: r * 0.45 }, style: { fill: COLORS.done, stroke: "#fff" } });
        }
      }
      return { type: "group", children };
    }

    const view = focus(items, today, Math.min(...all) - pad, Math.max(...all) + pad);
    const chart = window.echarts.init(container, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 24, top: 28, bottom: 44, containLabel: true },
      tooltip: {
        trigger: "item",
        confine: true,
        formatter: (params) => tooltip(items[params.value[0]], labels),
      },
      xAxis: {
        type: "time",
        min: Math.min(...all) - pad,
        max: Math.max(...all) + pad,
        axisLabel: { hideOverlap: true },
        splitLine: { show: true, lineStyle: { color: "#eef1f5" } },
      },
      yAxis: {
        type: "category",
        inverse: true,
        data: items.map((item) => item.name),
        axisTick: { show: false },
        axisLabel: {
          formatter: (value, index) => {
            const item = items[index];
            if (item.late) return `{late|${value}}`;
            if (item.overridden) return `{overridden|${value} ✎}`;
            return value;
          },
          rich: {
            late: { color: COLORS.late, fontWeight: "bold" },
            overridden: { color: COLORS.overridden },
          },
        },
      },
      dataZoom: [
        { type: "inside", xAxisIndex: 0, filterMode: "none", startValue: view.start, endValue: view.end },
        {
          type: "slider",
          xAxisIndex: 0,
          filterMode: "none",
          height: 16,
          bottom: 8,
          showDetail: false,
          startValue: view.start,
          endValue: view.end,
        },
      ],
      series: [
        {
          type: "custom",
          renderItem,
          encode: { x: 1, y: 0 },
          data: rows,
          clip: true,
          markLine: {
            silent: true,
            symbol: ["none", "none"],
            lineStyle: { color: COLORS.late, type: "dashed", width: 1.5 },
            label: { formatter: labels.today, position: "start", color: COLORS.late },
            data: [{ xAxis: today }],
          },
        },
      ],
    });
    window.addEventListener("resize", () => chart.resize());
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-gantt]").forEach(draw);
  });
})();
