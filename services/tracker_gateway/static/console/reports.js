// The Reports page: the range and filters are the URL's query (bookmarkable); each report comes from
// /api/reports/<name> with them, is shown as a table (the same cells as its CSV download) and, where a picture
// helps, a chart (Chart.js, window.Chart from the vendored UMD bundle) readable without colour: every series has
// its own pattern or dash and the legend and captions name them.
import { $, el } from "../common/dom.js";
import { formatDate } from "../common/time.js";
import { accessToken, api } from "./session.js";
import { hideBanner, label, showBanner, toast } from "./ui.js";

const form = $("report-filters");
const alertBox = $("reports-alert");
const FILTERS = ["from", "to", "priority", "category", "channel", "assigned_to"];
const charts = {};
const INK = { blue: "#1d4ed8", green: "#047857", amber: "#b45309", red: "#b91c1c", dark: "#111827" };

// -- the query --

function query() {
  const params = new URLSearchParams();
  const here = new URLSearchParams(location.search);
  for (const name of FILTERS) if (here.get(name)) params.set(name, here.get(name));
  return params;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = form.elements[name].value;
    if (value) params.set(name, value);
  }
  location.assign(`${location.pathname}${params.size ? `?${params}` : ""}`);
});

// -- formatting --

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}

const percent = (value) => (value === null || value === undefined ? "—" : `${value} %`);
const CHANNELS = { chat: "Chat", email: "E-mail", web: "Web form", agent: "Agent", api: "API" };

function groupName(by, key) {
  if (key === "all") return "All tickets";
  if (key === null) return by === "agent" ? "Unassigned" : "—";
  return by === "channel" ? CHANNELS[key] || key : by === "agent" ? key : label(key);
}

// -- tables: one row per report row, cells in the report's column order (as its CSV) --

function fillTable(table, headers, rows, cells) {
  table.tHead.replaceChildren(el("tr", {}, headers.map((text, i) => el("th", { scope: "col", class: i ? "num" : null }, text))));
  table.tBodies[0].replaceChildren(...rows.map((row) => {
    const values = cells(row);
    return el("tr", { class: row.key === "all" || row.priority === "all" ? "total" : null },
      values.map((value, i) => (i ? el("td", { class: "num" }, value) : el("th", { scope: "row" }, value))));
  }));
  if (!rows.length) table.tBodies[0].replaceChildren(el("tr", {}, el("td", { colspan: headers.length, class: "empty" }, "No tickets in this range.")));
}

// -- charts --

// A fill that says which series it is without colour: solid, diagonal stripes or dots.
function pattern(colour, kind) {
  if (kind === "solid") return colour;
  const tile = document.createElement("canvas");
  tile.width = tile.height = 8;
  const ctx = tile.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, 8, 8);
  ctx.strokeStyle = ctx.fillStyle = colour;
  if (kind === "stripes") {
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(0, 8); ctx.lineTo(8, 0); ctx.moveTo(-2, 2); ctx.lineTo(2, -2); ctx.moveTo(6, 10); ctx.lineTo(10, 6);
    ctx.stroke();
  } else {
    ctx.beginPath(); ctx.arc(4, 4, 1.8, 0, Math.PI * 2); ctx.fill();
  }
  return ctx.createPattern(tile, "repeat");
}

// Each bar's value written above it: the figure is read, not guessed from a colour or a height.
const barLabels = {
  id: "barLabels",
  afterDatasetsDraw(chart, _args, options) {
    if (!options.show) return;
    const { ctx } = chart;
    ctx.save();
    ctx.font = "600 12px system-ui, sans-serif";
    ctx.fillStyle = INK.dark;
    ctx.textAlign = "center";
    chart.data.datasets.forEach((dataset, i) => {
      if (dataset.type === "line") return;
      chart.getDatasetMeta(i).data.forEach((bar, j) => {
        const value = dataset.data[j];
        if (value === null || value === undefined) return;
        ctx.fillText(options.format ? options.format(value) : String(value), bar.x, bar.y - 4);
      });
    });
    ctx.restore();
  },
};

function draw(id, { type, data, options = {} }) {
  if (!window.Chart) return; // the tables carry every figure; the charts are a picture of them
  charts[id]?.destroy();
  const { plugins = {}, ...rest } = options;
  charts[id] = new window.Chart($(id), {
    type, data, plugins: [barLabels],
    options: {
      animation: false, responsive: true, maintainAspectRatio: false, ...rest,
      plugins: { legend: { labels: { color: INK.dark, boxWidth: 28 } }, barLabels: { show: false }, ...plugins },
    },
  });
}

// -- the reports --

function volume(report) {
  const t = report.totals;
  $("volume-summary").textContent = `${t.created} created, ${t.resolved} resolved; backlog ${t.backlog_start} at the start, ${t.backlog_end} at the end.`;
  fillTable($("volume-table"), ["Day", "Created", "Resolved", "Backlog"], report.rows,
    (row) => [formatDate(`${row.date}T12:00:00Z`), row.created, row.resolved, row.backlog]);
  draw("volume-chart", {
    type: "bar",
    data: {
      labels: report.rows.map((row) => row.date.slice(5)),
      datasets: [
        { label: "Created (solid)", data: report.rows.map((row) => row.created), backgroundColor: pattern(INK.blue, "solid"),
          borderColor: INK.blue, borderWidth: 1, order: 2 },
        { label: "Resolved (striped)", data: report.rows.map((row) => row.resolved), backgroundColor: pattern(INK.green, "stripes"),
          borderColor: INK.green, borderWidth: 1, order: 2 },
        { type: "line", label: "Backlog (dashed, squares)", data: report.rows.map((row) => row.backlog), borderColor: INK.dark,
          backgroundColor: "#ffffff", pointBackgroundColor: INK.dark, borderDash: [6, 4], pointStyle: "rect", pointRadius: 3,
          borderWidth: 2, order: 1 },
      ],
    },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "tickets" } } } },
  });
}

function responseTimes(report) {
  const by = report.by;
  fillTable($(`times-${by}`), [label(by === "agent" ? "agent" : by), "Tickets", "Answered", "First response median", "First response p90",
    "Resolved", "Resolution median", "Resolution p90"], report.rows,
  (row) => [groupName(by, row.key), row.tickets, row.responded, duration(row.first_response_median_s), duration(row.first_response_p90_s),
    row.resolved, duration(row.resolution_median_s), duration(row.resolution_p90_s)]);
}

function sla(report) {
  fillTable($("sla-table"), ["Priority", "Tickets", "First response met", "breached", "attainment", "Resolution met", "breached",
    "attainment"], report.rows,
  (row) => [row.priority === "all" ? "All priorities" : label(row.priority), row.tickets, row.first_response_met, row.first_response_breached,
    percent(row.first_response_attainment), row.resolution_met, row.resolution_breached, percent(row.resolution_attainment)]);
  draw("sla-chart", {
    type: "bar",
    data: {
      labels: report.rows.map((row) => (row.priority === "all" ? "All" : label(row.priority))),
      datasets: [
        { label: "First response (solid)", data: report.rows.map((row) => row.first_response_attainment), backgroundColor: pattern(INK.blue, "solid"),
          borderColor: INK.blue, borderWidth: 1 },
        { label: "Resolution (striped)", data: report.rows.map((row) => row.resolution_attainment), backgroundColor: pattern(INK.amber, "stripes"),
          borderColor: INK.amber, borderWidth: 1 },
      ],
    },
    options: { plugins: { barLabels: { show: true, format: (value) => `${Math.round(value)}%` } },
               scales: { y: { beginAtZero: true, max: 110, ticks: { callback: (value) => (value <= 100 ? `${value}%` : "") } } } },
  });
}

function satisfaction(report) {
  $("csat-score").textContent = report.rated
    ? `Score: ${report.score} % good, of ${report.rated} rated ticket${report.rated === 1 ? "" : "s"}.`
    : "No ratings were given in this range.";
  fillTable($("csat-table"), ["Rating", "Tickets", "Share"], report.rows, (row) => [label(row.rating), row.count, percent(row.percent)]);
  const fills = { good: pattern(INK.green, "solid"), okay: pattern(INK.amber, "stripes"), bad: pattern(INK.red, "dots") };
  draw("csat-chart", {
    type: "bar",
    data: {
      labels: report.rows.map((row) => `${label(row.rating)} (${{ good: "solid", okay: "striped", bad: "dotted" }[row.rating]})`),
      datasets: [{ label: "Ratings", data: report.rows.map((row) => row.count), backgroundColor: report.rows.map((row) => fills[row.rating]),
                   borderColor: INK.dark, borderWidth: 1 }],
    },
    options: { plugins: { legend: { display: false }, barLabels: { show: true } },
               scales: { y: { beginAtZero: true, grace: "15%", ticks: { precision: 0 } } } },
  });
}

async function load(name, section, show, extra = {}) {
  const params = query();
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  try {
    show(await api(`/api/reports/${name}?${params}`));
    return true;
  } catch (error) {
    const fields = Object.entries(error.fieldErrors || {}).map(([field, reasons]) => `${field}: ${reasons.join(" ")}`);
    showBanner(alertBox, fields.length ? `The range or a filter is not valid. ${fields.join("; ")}` : `${label(name)}: ${error.message}`);
    for (const [field] of Object.entries(error.fieldErrors || {})) form.elements[field]?.setAttribute("aria-invalid", "true");
    return false;
  } finally {
    if (section) $(section).setAttribute("aria-busy", "false");
  }
}

async function loadAll() {
  hideBanner(alertBox);
  const first = await load("volume", "volume", (report) => {
    volume(report);
    // The range the server used (its defaults when the URL gives none) fills the date inputs.
    form.elements.from.value = report.from;
    form.elements.to.value = report.to;
    $("reports-range-text").textContent = `${formatDate(`${report.from}T12:00:00Z`)} – ${formatDate(`${report.to}T12:00:00Z`)} (UTC days)`;
  });
  if (!first) return;
  await Promise.all([
    ...["priority", "category", "channel", "agent"].map((by) => load("response-times", null, responseTimes, { by })),
    load("sla", "sla", sla),
    load("satisfaction", "satisfaction", satisfaction),
  ]);
  $("response-times").setAttribute("aria-busy", "false");
  document.body.dataset.reportsLoaded = "true";
}

// -- CSV: the API answers it; the page saves it under the name the server gives --

async function download(button) {
  const params = query();
  if (button.dataset.by) params.set("by", button.dataset.by);
  button.disabled = true;
  try {
    const response = await fetch(`/api/reports/${button.dataset.report}.csv?${params}`, {
      cache: "no-store", headers: { Authorization: `Bearer ${await accessToken()}` } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "")?.[1] || "report.csv";
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (error) {
    toast(`The CSV could not be downloaded (${error.message}).`, "error");
  } finally {
    button.disabled = false;
  }
}

for (const button of document.querySelectorAll(".btn-csv")) button.addEventListener("click", () => download(button));

loadAll();
