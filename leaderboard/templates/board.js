// rmeval leaderboard: the table (DataTables) and the charts (Plotly).
// Data reach this script only through <script type="application/json"> blocks.
const readJson = (id) => JSON.parse(document.getElementById(id).textContent);

function initTable() {
  const el = document.getElementById("board");
  const lib = window.rmevalDataTables;
  if (!el || !lib) return;
  const $ = lib.jQuery;
  const cfg = readJson("board-config");
  const dt = $(el).DataTable({
    paging: false,
    autoWidth: false,
    order: cfg.order,
    columnDefs: cfg.columnDefs.concat([
      { targets: cfg.numeric, type: "num" },
      { targets: cfg.hidden, visible: false },
    ]),
    layout: { topStart: null, topEnd: null, bottomStart: "info", bottomEnd: null },
  });
  const typeSelect = document.getElementById("filter-type");
  $.fn.dataTable.ext.search.push((settings, data, index) => {
    if (settings.nTable !== el || !typeSelect.value) return true;
    return dt.row(index).node().dataset.type === typeSelect.value;
  });
  typeSelect.addEventListener("change", () => dt.draw());
  const text = document.getElementById("filter-text");
  text.addEventListener("input", () => dt.search(text.value).draw());
  document.querySelectorAll("button[data-columns]").forEach((button) => {
    button.addEventListener("click", () => {
      const show = button.getAttribute("aria-pressed") !== "true";
      dt.columns("." + button.dataset.columns).visible(show);
      button.setAttribute("aria-pressed", String(show));
    });
  });
  window.rmevalBoard = dt;
}

function initCharts() {
  if (!window.Plotly) return;
  document.querySelectorAll("[data-figure]").forEach((div) => {
    const fig = readJson(div.dataset.figure);
    window.Plotly.newPlot(div, fig.data, fig.layout, fig.config);
  });
}

initTable();
initCharts();
document.documentElement.dataset.ready = "true";
