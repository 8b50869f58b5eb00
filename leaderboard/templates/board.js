// rmeval leaderboard: a sortable, filterable table and the charts (Plotly). No other library.
// Data reach this script only through <script type="application/json"> blocks.
const readJson = (id) => JSON.parse(document.getElementById(id).textContent);

function sortKey(row, i, numeric) {
  const cell = row.cells[i];
  const raw = cell.dataset.order !== undefined ? cell.dataset.order : cell.textContent;
  return numeric ? parseFloat(raw) : raw.toLowerCase();
}

function initTable() {
  const table = document.getElementById("board");
  if (!table) return;
  const cfg = readJson("board-config");
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  rows.forEach((row, i) => { row.dataset.index = String(i); });
  const heads = Array.from(table.querySelectorAll("thead tr.columns th"));
  const groups = Array.from(table.querySelectorAll("thead tr.groups th"));
  let current = null;
  const sortBy = (i) => {
    const first = heads[i].dataset.desc === "true" ? "descending" : "ascending";
    const flip = { ascending: "descending", descending: "ascending" };
    const dir = current === i ? flip[heads[i].getAttribute("aria-sort")] : first;
    const numeric = cfg.numeric.includes(i);
    const sign = dir === "ascending" ? 1 : -1;
    rows.sort((a, b) => {
      const x = sortKey(a, i, numeric), y = sortKey(b, i, numeric);
      if (x < y) return -sign;
      if (x > y) return sign;
      return Number(a.dataset.index) - Number(b.dataset.index);
    });
    rows.forEach((row) => body.appendChild(row));
    heads.forEach((th) => th.setAttribute("aria-sort", "none"));
    heads[i].setAttribute("aria-sort", dir);
    current = i;
  };
  heads.forEach((th, i) => {
    th.addEventListener("click", () => sortBy(i));
    th.addEventListener("keydown", (e) => { if (e.key === "Enter") sortBy(i); });
  });
  const text = document.getElementById("filter-text");
  const type = document.getElementById("filter-type");
  const count = document.getElementById("board-count");
  const filter = () => {
    const needle = text.value.trim().toLowerCase();
    let shown = 0;
    rows.forEach((row) => {
      const ok = (!type.value || row.dataset.type === type.value) &&
        (!needle || row.dataset.search.toLowerCase().includes(needle));
      row.hidden = !ok;
      shown += ok ? 1 : 0;
    });
    count.textContent = shown === rows.length ? `${rows.length} models` : `${shown} of ${rows.length} models`;
  };
  text.addEventListener("input", filter);
  type.addEventListener("change", filter);
  const spans = () => groups.forEach((g) => {
    const n = heads.filter((h) => h.dataset.group === g.dataset.group && !h.hidden).length;
    g.hidden = n === 0;
    if (n) g.colSpan = n;
  });
  document.querySelectorAll("button[data-columns]").forEach((button) => {
    button.addEventListener("click", () => {
      const show = button.getAttribute("aria-pressed") !== "true";
      table.querySelectorAll("." + button.dataset.columns).forEach((el) => { el.hidden = !show; });
      button.setAttribute("aria-pressed", String(show));
      spans();
    });
  });
  spans();
}

function initCharts() {
  if (!window.Plotly) return;
  const narrow = window.matchMedia("(max-width: 600px)").matches;
  document.querySelectorAll("[data-figure]").forEach((div) => {
    const fig = readJson(div.dataset.figure);
    if (narrow) {  // a phone: the cell texts carry the values, so the colour bars go
      fig.data.forEach((trace) => { if (trace.type === "heatmap") trace.showscale = false; });
      fig.layout.font = { size: 10 };
    }
    window.Plotly.newPlot(div, fig.data, fig.layout, fig.config);
  });
}

initTable();
initCharts();
document.documentElement.dataset.ready = "true";
