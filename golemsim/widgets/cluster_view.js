// The cluster view (golemsim/widgets/cluster_view.py): nodes, shards and workers as an SVG graph
// laid out by networkx in the kernel, the faults as they happen, and what was clicked, described
// by the kernel.

const SVG = "http://www.w3.org/2000/svg";
const SIZE = 440;

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  return node;
}

function render({ model, el: root }) {
  root.classList.add("golemsim-cluster");
  const style = document.createElement("style");
  style.textContent = `
    .golemsim-cluster { font: 12px/1.4 var(--jp-content-font-family, sans-serif); display: flex; gap: 16px;
      flex-wrap: wrap; }
    .golemsim-cluster svg { background: var(--jp-layout-color1, #fff); border: 1px solid #e5e7eb; }
    .golemsim-cluster .golemsim-node, .golemsim-cluster .golemsim-shard, .golemsim-cluster .golemsim-worker {
      cursor: pointer; }
    .golemsim-cluster .side { min-width: 220px; max-width: 420px; }
    .golemsim-cluster .fault.active { color: #b91c1c; font-weight: bold; }
    .golemsim-cluster .fault { color: #6b7280; }
    .golemsim-cluster .golemsim-cluster-detail { margin-top: 8px; font-family: var(--jp-code-font-family, monospace);
      white-space: pre-wrap; min-height: 1.4em; }
  `;
  const picture = svg("svg", { width: SIZE, height: SIZE, viewBox: `0 0 ${SIZE} ${SIZE}` });
  const side = document.createElement("div");
  side.className = "side";
  const clock = document.createElement("div");
  const legend = document.createElement("div");
  const faults = document.createElement("div");
  const detail = document.createElement("div");
  detail.className = "golemsim-cluster-detail";
  side.append(clock, legend, faults, detail);
  root.append(style, picture, side);

  const at = (id) => {
    const p = model.get("positions")[id] || [0, 0];
    return [SIZE / 2 + p[0] * (SIZE / 2 - 24), SIZE / 2 + p[1] * (SIZE / 2 - 24)];
  };
  const choose = (id) => {
    model.set("selected", id);
    model.save_changes();
  };
  const titled = (node, text) => {
    const title = svg("title");
    title.textContent = text;
    node.append(title);
    return node;
  };

  function draw() {
    picture.replaceChildren();
    const owners = model.get("owners");
    const selected = model.get("selected");
    const workerColors = model.get("worker_colors");
    const nodeColors = model.get("node_colors");
    const meanings = model.get("worker_statuses");
    for (const worker of model.get("workers")) {
      const [x1, y1] = at(`shard-${worker.shard}`);
      const [x2, y2] = at(worker.name);
      picture.append(svg("line", { x1, y1, x2, y2, stroke: "#e5e7eb" }));
    }
    owners.forEach((owner, shard) => {
      if (!owner) return;
      const [x1, y1] = at(owner);
      const [x2, y2] = at(`shard-${shard}`);
      picture.append(svg("line", { x1, y1, x2, y2, stroke: "#94a3b8" }));
    });
    for (const worker of model.get("workers")) {
      const [cx, cy] = at(worker.name);
      const dot = svg("circle", { cx, cy, r: worker.name === selected ? 7 : 5,
        fill: workerColors[worker.status] || "#94a3b8", class: "golemsim-worker" });
      dot.dataset.status = worker.status;
      dot.dataset.name = worker.name;
      dot.addEventListener("click", () => choose(worker.name));
      picture.append(titled(dot, `${worker.name}: ${worker.status}, ${meanings[worker.status] || ""}`));
    }
    owners.forEach((owner, shard) => {
      const [x, y] = at(`shard-${shard}`);
      const box = svg("rect", { x: x - 6, y: y - 6, width: 12, height: 12, rx: 2,
        fill: owner ? "#e0e7ff" : "#fee2e2", stroke: "#6366f1", class: "golemsim-shard" });
      box.dataset.name = `shard-${shard}`;
      box.addEventListener("click", () => choose(`shard-${shard}`));
      picture.append(titled(box, `shard ${shard} on ${owner || "nobody"}`));
    });
    for (const node of model.get("nodes")) {
      const [cx, cy] = at(node.name);
      const group = svg("g", { class: "golemsim-node" });
      group.dataset.name = node.name;
      group.append(svg("circle", { cx, cy, r: 22, fill: nodeColors[node.state] || "#9ca3af",
        stroke: node.name === selected ? "#111" : "#fff", "stroke-width": 3 }));
      const label = svg("text", { x: cx, y: cy + 4, "text-anchor": "middle", fill: "#fff", "font-size": 10 });
      label.textContent = node.name;
      group.append(label);
      group.addEventListener("click", () => choose(node.name));
      picture.append(titled(group, `${node.name}: ${node.state}`));
    }
    const hidden = model.get("hidden_workers");
    clock.textContent = `t = ${model.get("time").toFixed(2)} s` + (hidden ? ` · ${hidden} more workers not drawn` : "");
    const key = (title, colors, about) => {
      const line = document.createElement("div");
      line.append(title);
      for (const [name, color] of Object.entries(colors)) {
        const item = document.createElement("span");
        item.className = "golemsim-legend-item";
        item.style.marginLeft = "8px";
        item.title = about[name] || name;
        const swatch = document.createElement("span");
        swatch.style.color = color;
        swatch.textContent = "\u25CF";
        item.append(swatch, ` ${name}`);
        line.append(item);
      }
      return line;
    };
    legend.replaceChildren(key("nodes:", nodeColors, {}), key("workers:", workerColors, meanings));
    faults.replaceChildren(
      ...model.get("faults").map((fault) => {
        const line = document.createElement("div");
        line.className = fault.active ? "fault active" : "fault";
        line.textContent = `${fault.active ? "\u26A1" : "\u2713"} ${fault.what}`;
        return line;
      }),
    );
    detail.textContent = model.get("detail");
  }

  for (const name of ["nodes", "owners", "workers", "positions", "faults", "time", "selected", "hidden_workers",
    "worker_colors"]) {
    model.on(`change:${name}`, draw);
  }
  model.on("change:detail", () => {
    detail.textContent = model.get("detail");
  });
  draw();
}

export default { render };
