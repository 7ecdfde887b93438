// Charts of the workspace, drawn by uPlot (vendored under /ui/vendor, MIT licence): time series with the
// detector's expected band and the alerts marked as vertical lines. Labels are set as text only.
"use strict";
const VigieCharts = (() => {
  const COLORS = ["#1f5fa8", "#b3261e", "#1e7d3a", "#7b3fa0", "#9a5b00", "#0f7c8c", "#5b6475", "#c2185b"];
  const SEVERITY_COLOR = { critical: "#b3261e", warning: "#d98200", info: "#1f5fa8" };
  const NAMES = {
    MMMM: ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"],
    MMM: ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."],
    WWWW: ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
    WWW: ["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."],
  };
  const tzDate = ts => uPlot.tzDate(new Date(ts * 1e3), "Europe/Paris");
  const fmtDate = tpl => uPlot.fmtDate(tpl, NAMES);
  const seconds = iso => Date.parse(iso) / 1000;
  const hourFmt = new Intl.DateTimeFormat("fr-FR", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Paris" });
  const dayFmt = new Intl.DateTimeFormat("fr-FR", { day: "2-digit", month: "2-digit", timeZone: "Europe/Paris" });
  // Axis ticks in 24-hour French time, the day under midnight (or alone on long ranges).
  function timeTicks(u, splits, axisIdx, foundSpace, foundIncr) {
    return splits.map(ts => {
      const d = new Date(ts * 1000);
      if (foundIncr >= 86400) return dayFmt.format(d);
      const h = hourFmt.format(d);
      return h === "00:00" ? dayFmt.format(d) : h;
    });
  }

  function marks(alerts) {
    return {
      hooks: {
        draw: [u => {
          const { ctx, bbox } = u;
          ctx.save();
          for (const alert of alerts) {
            const x = u.valToPos(seconds(alert.at), "x", true);
            if (x < bbox.left || x > bbox.left + bbox.width) continue;
            ctx.strokeStyle = SEVERITY_COLOR[alert.severity] || "#5b6475";
            ctx.lineWidth = alert.severity === "critical" ? 2 : 1;
            ctx.setLineDash(alert.severity === "critical" ? [] : [4, 3]);
            ctx.beginPath(); ctx.moveTo(x, bbox.top); ctx.lineTo(x, bbox.top + bbox.height); ctx.stroke();
          }
          ctx.restore();
        }],
      },
    };
  }

  function sizeOf(container, height) {
    return { width: Math.max(280, container.clientWidth || 600), height };
  }

  const instances = new Map();
  function mount(container, opts, data) {
    const previous = instances.get(container);
    if (previous) previous.destroy();
    container.replaceChildren();
    const chart = new uPlot(opts, data, container);
    instances.set(container, chart);
    return chart;
  }
  window.addEventListener("resize", () => {
    for (const [container, chart] of instances) chart.setSize(sizeOf(container, chart.height));
  });

  // volume: {times, series: [{key, label, values, expected, low, high}]}; alerts: [{at, severity}].
  function volume(container, volumeData, alerts, height) {
    const xs = volumeData.times.map(seconds);
    const series = [{}];
    const data = [xs];
    const bands = [];
    volumeData.series.forEach((s, i) => {
      const color = COLORS[i % COLORS.length];
      series.push({ label: Vigie.clean(s.label || s.key), stroke: color, width: 2, points: { show: false } });
      data.push(s.values);
      const hi = series.length, lo = series.length + 1;
      series.push({ label: "attendu (haut) — " + Vigie.clean(s.label || s.key), stroke: "transparent", points: { show: false }, show: true });
      series.push({ label: "attendu (bas) — " + Vigie.clean(s.label || s.key), stroke: "transparent", points: { show: false }, show: true });
      data.push(s.high, s.low);
      bands.push({ series: [hi, lo], fill: i === 0 ? "rgba(91,100,117,0.22)" : "rgba(91,100,117,0.10)" });
    });
    const opts = {
      ...sizeOf(container, height || 300), tzDate, fmtDate, series, bands, data: undefined,
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(5, max * 1.08)] } },
      axes: [{ values: timeTicks }, { label: "mentions / " + volumeData.step_minutes + " min", size: 60 }],
      legend: { show: false }, plugins: [marks(alerts || [])],
      cursor: { drag: { x: true, y: false } },
    };
    delete opts.data;
    return mount(container, opts, data);
  }

  // shares: {times, negative, hostile} (0..1 or null).
  function shares(container, sharesData, height) {
    const xs = sharesData.times.map(seconds);
    const pct = values => values.map(v => (v === null || v === undefined ? null : Math.round(v * 1000) / 10));
    const opts = {
      ...sizeOf(container, height || 220), tzDate, fmtDate,
      series: [{}, { label: "négatives (%)", stroke: "#b3261e", width: 2, spanGaps: true, points: { show: false } },
               { label: "hostiles ou abusives (%)", stroke: "#7b3fa0", width: 2, spanGaps: true, points: { show: false } }],
      scales: { x: { time: true }, y: { range: [0, 100] } },
      axes: [{ values: timeTicks }, { label: "%", size: 45 }],
    };
    return mount(container, opts, [xs, pct(sharesData.negative), pct(sharesData.hostile)]);
  }

  return { volume, shares, COLORS };
})();
