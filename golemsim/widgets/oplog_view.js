// The oplog view (golemsim/widgets/oplog_view.py): a timeline or a table of one worker's
// entries, a replay cursor, marks where a crash cut the log (red bar after its last entry), which entries
// a replay took over (amber outline) and the first new entry after it (green bar), and the entry clicked,
// shown whole (the kernel computes it).

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

const MARKS = {
  cut: ["a crash cut the log after this entry", "#dc2626"],
  replayed: ["replayed by a rebuild", "#f59e0b"],
  resumed: ["first new entry after the replay", "#16a34a"],
};

function render({ model, el: root }) {
  root.classList.add("golemsim-oplog");
  const style = el("style");
  style.textContent = `
    .golemsim-oplog { font: 12px/1.4 var(--jp-content-font-family, sans-serif); }
    .golemsim-oplog .head { display: flex; gap: 1em; align-items: baseline; margin-bottom: 4px; }
    .golemsim-oplog .head b { font-size: 13px; }
    .golemsim-oplog .track { position: relative; display: flex; flex-wrap: wrap; gap: 2px; padding: 4px 0; }
    .golemsim-oplog .golemsim-oplog-entry { cursor: pointer; }
    .golemsim-oplog .track .golemsim-oplog-entry { width: 10px; height: 22px; border-radius: 2px; }
    .golemsim-oplog .track .replayed { outline: 2px solid #f59e0b; outline-offset: -2px; }
    .golemsim-oplog .track .cursor { width: 3px; height: 28px; background: #f59e0b; margin-top: -3px; }
    .golemsim-oplog .track .golemsim-oplog-cut { width: 3px; height: 28px; background: #dc2626; margin-top: -3px; }
    .golemsim-oplog .track .golemsim-oplog-resumed { width: 3px; height: 28px; background: #16a34a;
      margin-top: -3px; }
    .golemsim-oplog tr.cut td { border-bottom: 2px solid #dc2626; }
    .golemsim-oplog tr.resumed td { border-top: 2px solid #16a34a; }
    .golemsim-oplog .note { color: #6b7280; }
    .golemsim-oplog .golemsim-oplog-entry.chosen { outline: 2px solid #111; }
    .golemsim-oplog table { border-collapse: collapse; max-height: 260px; }
    .golemsim-oplog td { padding: 1px 6px; border-bottom: 1px solid #eee; white-space: nowrap; }
    .golemsim-oplog .legend span { margin-right: 8px; white-space: nowrap; }
    .golemsim-oplog .golemsim-oplog-detail { margin-top: 4px; font-family: var(--jp-code-font-family, monospace);
      white-space: pre-wrap; min-height: 1.4em; }
    .golemsim-oplog button { font-size: 11px; }
  `;
  const head = el("div", "head");
  const title = el("b");
  const status = el("span", "golemsim-oplog-status");
  const toggle = el("button", "golemsim-oplog-mode");
  head.append(title, status, toggle);
  const body = el("div");
  const legend = el("div", "legend");
  const detail = el("div", "golemsim-oplog-detail");
  root.append(style, head, body, legend, detail);

  toggle.addEventListener("click", () => {
    model.set("mode", model.get("mode") === "timeline" ? "table" : "timeline");
    model.save_changes();
  });

  function choose(index) {
    model.set("selected", index);
    model.save_changes();
  }

  function entryNode(tag, entry, colors) {
    const node = el(tag, "golemsim-oplog-entry");
    node.dataset.index = entry.i;
    const note = model.get("notes")[String(entry.i)];
    node.title = `#${entry.i} ${entry.k} ${entry.d}` + (note ? `\n${note}` : "");
    const marks = entry.m || [];
    node.dataset.marks = marks.join(" ");
    for (const mark of marks) node.classList.add(mark);
    node.addEventListener("click", () => choose(entry.i));
    if (entry.i === model.get("selected")) node.classList.add("chosen");
    node.style.setProperty("--kind", colors[entry.k] || "#94a3b8");
    return node;
  }

  function bar(cls, entry) {
    const node = el("div", cls);
    node.title = model.get("notes")[String(entry.i)] || "";
    return node;
  }

  function draw() {
    const entries = model.get("entries");
    const colors = model.get("colors");
    const cursor = model.get("cursor");
    const total = model.get("total");
    const mode = model.get("mode");
    title.textContent = `Oplog of ${model.get("worker") || "(no worker yet)"}`;
    let text = `${total} entries`;
    if (total > entries.length) text += ` (newest ${entries.length} drawn)`;
    if (cursor) text += ` · replaying ${cursor}/${model.get("replay_end")}`;
    if (model.get("recoveries")) text += ` · recovered ${model.get("recoveries")}x`;
    status.textContent = text;
    toggle.textContent = mode === "timeline" ? "table" : "timeline";
    body.replaceChildren();
    if (mode === "timeline") {
      const track = el("div", "track");
      for (const entry of entries) {
        const node = entryNode("div", entry, colors);
        node.style.background = colors[entry.k] || "#94a3b8";
        if (cursor && entry.i <= cursor) node.classList.add("replayed");
        const marks = entry.m || [];
        if (marks.includes("resumed")) track.append(bar("golemsim-oplog-resumed", entry));
        track.append(node);
        if (cursor && entry.i === cursor) track.append(el("div", "cursor"));
        if (marks.includes("cut")) track.append(bar("golemsim-oplog-cut", entry));
      }
      body.append(track);
    } else {
      const table = el("table");
      for (const entry of entries.slice(-40)) {
        const row = entryNode("tr", entry, colors);
        const kind = el("td");
        const swatch = el("span", null, "\u25A0 ");
        swatch.style.color = colors[entry.k] || "#94a3b8";
        kind.append(swatch, entry.k);
        const note = model.get("notes")[String(entry.i)] || "";
        row.append(el("td", null, String(entry.i)), kind, el("td", null, entry.d), el("td", "note", note));
        if ((cursor && entry.i <= cursor) || (entry.m || []).includes("replayed")) row.style.background = "#fef3c7";
        table.append(row);
      }
      body.append(table);
    }
    const kinds = [...new Set(entries.map((e) => e.k))];
    const item = (text, color, symbol) => {
      const span = el("span");
      const swatch = el("span", null, symbol);
      swatch.style.color = color;
      span.append(swatch, ` ${text}`);
      return span;
    };
    const marked = new Set(entries.flatMap((e) => e.m || []));
    legend.replaceChildren(
      ...kinds.map((k) => item(k, colors[k] || "#94a3b8", "\u25A0")),
      ...Object.entries(MARKS)
        .filter(([mark]) => marked.has(mark))
        .map(([, [text, color]]) => item(text, color, "\u2503")),
    );
    detail.textContent = model.get("detail");
  }

  for (const name of ["entries", "notes", "cursor", "total", "mode", "worker", "selected", "recoveries"]) {
    model.on(`change:${name}`, draw);
  }
  model.on("change:detail", () => {
    detail.textContent = model.get("detail");
  });
  draw();
}

export default { render };
