// Long tables made easier to read, on top of the server's table (which works as it is without JavaScript):
// every table marked data-enhance gets sortable column headings and, from FILTER_FROM rows, a filter box, and past
// PAGE_SIZE rows, pages.
// A row with a row heading (<th scope="row">, a total) stays at the foot, out of sorting, filtering and paging.
// Money is sorted by its value: "£1,235k", "(£2k)" (negative), "£13.2m", "12.5%", "–" (none, sorted last).

const PAGE_SIZE = 50;
const FILTER_FROM = 3; // a table of this many rows or more gets the filter box
const SCALES = { k: 1e3, m: 1e6, bn: 1e9 };

export function sortValue(text) {
  const trimmed = text.trim();
  const match = trimmed.match(/^(\()?-?£?(-?[\d,]*\.?\d+)(k|m|bn)?(%)?\)?$/);
  if (!match) {
    return trimmed === "" || trimmed === "–" || trimmed === "—" ? null : trimmed.toLowerCase();
  }
  const number = parseFloat(match[2].replace(/,/g, "")) * (SCALES[match[3]] || 1);
  return match[1] || trimmed.startsWith("-") ? -Math.abs(number) : number;
}

function compare(a, b) {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), "en-GB", { numeric: true });
}

function enhance(table, index) {
  const body = table.tBodies[0];
  const headings = table.tHead ? Array.from(table.tHead.rows[0].cells) : [];
  if (!body || headings.length === 0) return;
  const pinned = Array.from(body.rows).filter((row) => row.querySelector('th[scope="row"]'));
  const rows = Array.from(body.rows).filter((row) => !pinned.includes(row));
  const state = { column: -1, descending: false, filter: "", page: 0 };

  const tools = document.createElement("div");
  tools.className = "app-table-tools";
  const label = document.createElement("label");
  label.className = "nhsuk-label app-table-tools__label";
  label.htmlFor = `table-filter-${index}`;
  label.textContent = "Filter rows";
  const input = document.createElement("input");
  input.className = "nhsuk-input nhsuk-input--width-20";
  input.type = "search";
  input.id = `table-filter-${index}`;
  const status = document.createElement("span");
  status.className = "nhsuk-body-s app-table-tools__status";
  status.setAttribute("aria-live", "polite");
  tools.append(label, input, status);
  const box = table.closest(".app-table-scroll") || table;
  if (rows.length >= FILTER_FROM) box.before(tools);
  const pager = document.createElement("nav");
  pager.className = "app-table-pager";
  pager.setAttribute("aria-label", "Pages of this table");
  box.after(pager);

  function shown() {
    const needle = state.filter.toLowerCase();
    const kept = needle ? rows.filter((row) => row.textContent.toLowerCase().includes(needle)) : rows.slice();
    if (state.column >= 0) {
      const value = (row) => sortValue(row.cells[state.column] ? row.cells[state.column].textContent : "");
      kept.sort((a, b) => {
        const order = compare(value(a), value(b));
        return state.descending && value(a) !== null && value(b) !== null ? -order : order;
      });
    }
    return kept;
  }

  function button(text, page) {
    const link = document.createElement("button");
    link.type = "button";
    link.className = "app-table-pager__button";
    link.textContent = text;
    link.addEventListener("click", () => {
      state.page = page;
      draw();
    });
    return link;
  }

  function draw() {
    const kept = shown();
    const pages = Math.max(1, Math.ceil(kept.length / PAGE_SIZE));
    state.page = Math.min(state.page, pages - 1);
    const start = state.page * PAGE_SIZE;
    const visible = new Set(kept.slice(start, start + PAGE_SIZE));
    for (const row of rows) row.hidden = !visible.has(row);
    body.append(...kept, ...rows.filter((row) => !kept.includes(row)), ...pinned);
    const end = Math.min(start + PAGE_SIZE, kept.length);
    status.textContent = kept.length === 0 ? "No rows match." :
      `Rows ${start + 1} to ${end} of ${kept.length}${kept.length < rows.length ? ` (of ${rows.length})` : ""}`;
    pager.replaceChildren();
    if (pages > 1) {
      if (state.page > 0) pager.append(button("Previous", state.page - 1));
      const where = document.createElement("span");
      where.className = "nhsuk-body-s";
      where.textContent = ` Page ${state.page + 1} of ${pages} `;
      pager.append(where);
      if (state.page < pages - 1) pager.append(button("Next", state.page + 1));
    }
  }

  headings.forEach((heading, column) => {
    if (heading.querySelector("a, button") || heading.textContent.trim() === "") return;
    const sorter = document.createElement("button");
    sorter.type = "button";
    sorter.className = "app-sort";
    sorter.append(...heading.childNodes);
    heading.append(sorter);
    sorter.addEventListener("click", () => {
      state.descending = state.column === column ? !state.descending : false;
      state.column = column;
      headings.forEach((other) => other.removeAttribute("aria-sort"));
      heading.setAttribute("aria-sort", state.descending ? "descending" : "ascending");
      state.page = 0;
      draw();
    });
  });
  input.addEventListener("input", () => {
    state.filter = input.value.trim();
    state.page = 0;
    draw();
  });
  draw();
}

export function enhanceTables(root = document) {
  root.querySelectorAll("table[data-enhance]:not([data-enhanced])").forEach((table, index) => {
    table.dataset.enhanced = "true";
    enhance(table, `${Date.now().toString(36)}-${index}`);
  });
}
