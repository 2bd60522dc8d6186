// mmsim report: draws the data embedded in the page (see crates/report/src/model.rs for its
// shape): the timeline (uPlot), the address space at the chosen stop, the processes and the
// frames they share, the page-table walk of a clicked address, the fault log, mismatches.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("mmsim-data").textContent);
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of kids) e.append(c);
    return e;
  };
  const SVG = "http://www.w3.org/2000/svg";
  const svg = (tag, attrs) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  };
  const hex = (n) => Number(n).toString(16);
  const hex8 = (n) => hex(n).padStart(8, "0");
  const kib = (kb) => kb < 1024 ? kb + " KiB" : kb < 1048576 ? (kb / 1024).toFixed(1) + " MiB"
    : kb < 1073741824 ? (kb / 1048576).toFixed(1) + " GiB" : (kb / 1073741824).toFixed(1) + " TiB";
  const bytes = (b) => b < 1024 ? b + " B" : kib(Math.round(b / 1024));
  const KINDS = ["text", "data", "bss", "heap", "anon", "file", "shared", "stack", "vdso", "guard"];
  const STATES = { zero: "zero page", clean: "resident, clean", dirty: "resident, dirty",
    cow: "copy-on-write, shared", shared: "shared (file or shmem)", swapped: "swapped out" };
  const MARK_COLOURS = { start: "#2a7", fork: "#2a7", exec: "#27a", exit: "#a22", mmap: "#a72", maps: "#888", mismatch: "#d00" };

  let current = 0;
  let walkTarget = null; // {pid, addr}
  const charts = [];

  // ---- header ----
  $("title").textContent = D.title;
  document.title = "mmsim report: " + D.title;
  $("summary").textContent = D.summary;

  // ---- stops ----
  function stopAtOrAfter(x) {
    let lo = 0, hi = D.stops.length - 1;
    if (hi < 0) return 0;
    if (D.stops[hi].x < x) return hi;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (D.stops[mid].x < x) lo = mid + 1; else hi = mid;
    }
    // Of the stops at x, the one after the step.
    while (lo + 1 < D.stops.length && D.stops[lo + 1].x === D.stops[lo].x) lo++;
    return lo;
  }
  function nearestStop(x) {
    const i = stopAtOrAfter(x);
    if (i > 0 && Math.abs(D.stops[i - 1].x - x) < Math.abs(D.stops[i].x - x)) return i - 1;
    return i;
  }

  // ---- timeline ----
  function markerPlugin() {
    return {
      hooks: {
        draw: [(u) => {
          const ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
          ctx.save();
          ctx.lineWidth = 1;
          ctx.globalAlpha = 0.5;
          // One path per kind of marker, one line per pixel column: thousands of markers
          // (a shell loop's forks and exits) stroke as fast as a few.
          const columns = new Map();
          for (const m of D.markers) {
            if (!columns.has(m.kind)) columns.set(m.kind, new Set());
            columns.get(m.kind).add(Math.round(u.valToPos(m.x, "x", true)));
          }
          for (const [kind, xs] of columns) {
            ctx.strokeStyle = MARK_COLOURS[kind] || "#777";
            ctx.beginPath();
            for (const x of xs) { ctx.moveTo(x, top); ctx.lineTo(x, top + h); }
            ctx.stroke();
          }
          const s = D.stops[current];
          if (s) {
            const x = Math.round(u.valToPos(s.x, "x", true));
            ctx.globalAlpha = 1; ctx.strokeStyle = "#000"; ctx.lineWidth = 2 * devicePixelRatio;
            ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + h); ctx.stroke();
          }
          ctx.restore();
        }],
        ready: [(u) => {
          u.over.addEventListener("click", () => {
            if (u.cursor.left == null || u.cursor.left < 0) return;
            setStop(nearestStop(u.posToVal(u.cursor.left, "x")));
          });
        }],
      },
    };
  }
  function buildCharts() {
    const s = D.series;
    if (!s.x.length || typeof uPlot === "undefined") return;
    const width = Math.max(400, $("chart").clientWidth - 10);
    const xs = { label: D.x_label };
    const mem = {
      width, height: 190, title: "memory (KiB, all live processes)",
      scales: { x: { time: false } }, plugins: [markerPlugin()],
      axes: [{ label: D.x_label }, { size: 70, values: (u, v) => v.map((k) => kib(k)) }],
      series: [xs,
        { label: "VmSize", stroke: "#555", value: (u, v) => v == null ? "" : kib(v) },
        { label: "RssAnon", stroke: "#2e8b57", value: (u, v) => v == null ? "" : kib(v) },
        { label: "RssFile", stroke: "#8a4fc9", value: (u, v) => v == null ? "" : kib(v) },
        { label: "RssShmem", stroke: "#e06c9f", value: (u, v) => v == null ? "" : kib(v) }],
    };
    const counts = {
      width, height: 160, title: "VMAs and faults",
      scales: { x: { time: false }, f: {} }, plugins: [markerPlugin()],
      axes: [{ label: D.x_label }, { label: "VMAs", size: 60 }, { side: 1, scale: "f", label: "faults", size: 60, grid: { show: false } }],
      series: [xs,
        { label: "VMAs", stroke: "#27a" },
        { label: "minor faults", stroke: "#e8663d", scale: "f" },
        { label: "major faults", stroke: "#a00", scale: "f" }],
    };
    charts.push(new uPlot(mem, [s.x, s.vm_size, s.rss_anon, s.rss_file, s.rss_shmem], $("chart")));
    charts.push(new uPlot(counts, [s.x, s.vmas, s.minflt, s.majflt], $("chart")));
  }
  // The chart draws every marker; their buttons come a few hundred at a time (a shell
  // loop has thousands, and each button costs the page's opening).
  const MARKER_BUTTONS = 300;
  function buildMarkers() {
    const box = $("markers");
    let shown = 0;
    const more = el("button", { class: "more" });
    const showMore = () => {
      const end = Math.min(D.markers.length, shown + MARKER_BUTTONS);
      for (const m of D.markers.slice(shown, end)) {
        const b = el("button", { class: "marker " + m.kind, "data-kind": m.kind, "data-x": m.x,
          title: D.x_label + " " + m.x, text: m.kind + " · " + m.text + " @" + m.x });
        b.addEventListener("click", () => setStop(m.stop != null ? m.stop : stopAtOrAfter(m.x)));
        more.before(b);
      }
      shown = end;
      if (shown < D.markers.length) more.textContent = "show " + Math.min(MARKER_BUTTONS, D.markers.length - shown) + " more of the " + (D.markers.length - shown) + " left";
      else more.remove();
    };
    more.addEventListener("click", showMore);
    box.append(more);
    showMore();
    if (D.markers_dropped) box.append(el("span", { class: "none", text: "… and " + D.markers_dropped + " more" }));
  }

  // ---- the address space ----
  function legend() {
    const l = $("legend");
    for (const k of KINDS) l.append(el("span", { style: "--c: var(--" + k + ")", text: k }));
    l.append(el("span", { style: "--c: var(--np)", text: "page not present" }));
    for (const [s, t] of Object.entries(STATES)) l.append(el("span", { style: "--c: var(--" + (s === "shared" ? "sharedpg" : s) + ")", text: t }));
    l.append(el("span", { style: "--c: var(--locked)", text: "locked (top edge)" }));
    if (D.source === "trace") $("legend-note").textContent = TRACE_RESIDENCY_NOTE;
  }
  // Why a replay's page strips are mostly "not present": what a trace can and cannot tell.
  const TRACE_RESIDENCY_NOTE = "Pages of a replayed trace: a trace records system calls only. The pages " +
    "the program touched by running (its code as it executed, its data and stack as it loaded and stored, " +
    "the dynamic loader's relocations) leave no line in it, so the model cannot know them and draws them " +
    "not present, although on the recording machine most were resident. What is drawn resident was faulted " +
    "in by something the trace shows: the kernel's own accesses (execve writing the new stack and clearing " +
    "the end of the data segment, a read() or write() copying into or out of a buffer) or a call that " +
    "populates (MAP_POPULATE, mlock, MADV_POPULATE_*). Residency the trace only " +
    "reports (a mincore vector, an smaps read) is checked against the model with --strict, for programs " +
    "that touch their memory through calls only; it is never copied into the drawing, nor guessed.";
  // The live address spaces at a stop, one column each (threads share one).
  function columns(stop) {
    const cols = [];
    for (const p of stop.procs) {
      if (p.space == null) continue;
      const c = cols.find((c) => c.mm === p.mm);
      if (c) c.procs.push(p);
      else {
        const sp = D.spaces[p.space];
        cols.push({ mm: p.mm, space: { vmas: sp.vmas.map((i) => D.vmas[i]), pgd: sp.pgd, tables: sp.tables, status: sp.status }, procs: [p] });
      }
    }
    return cols;
  }
  function procName(p) {
    return p.pid + " " + p.comm + (p.trace_pid != null && p.trace_pid !== p.pid ? " (trace pid " + p.trace_pid + ")" : "");
  }
  function rowHeight(bytes) {
    const pages = Math.max(1, bytes / 4096);
    return Math.round(Math.min(70, Math.max(30, 22 + 3.2 * Math.log2(pages))));
  }
  function drawSpace(stop) {
    const box = $("space");
    box.replaceChildren();
    const cols = columns(stop);
    if (!cols.length) {
      box.style.gridTemplateColumns = "1fr";
      box.append(el("div", { class: "none", text: "no process has an address space at this stop" }));
      $("space-note").textContent = "";
      return;
    }
    // Every VMA boundary of every column: the rows between them; empty stretches collapse.
    const bounds = new Set();
    for (const c of cols) for (const v of c.space.vmas) { bounds.add(v.start); bounds.add(v.end); }
    const pts = [...bounds].sort((a, b) => a - b);
    // A sweep: each column's VMAs are in address order, and so are the rows.
    const next = cols.map(() => 0);
    const covered = (lo, hi) => cols.some((c, ci) => {
      const vs = c.space.vmas;
      while (next[ci] < vs.length && vs[next[ci]].end <= lo) next[ci]++;
      return next[ci] < vs.length && vs[next[ci]].start <= lo && vs[next[ci]].end >= hi;
    });
    const rows = []; // {lo, hi, gap}
    for (let i = 0; i + 1 < pts.length; i++) {
      const lo = pts[i], hi = pts[i + 1];
      rows.push({ lo, hi, gap: !covered(lo, hi) });
    }
    const rowOfStart = new Map(), rowOfEnd = new Map();
    rows.forEach((r, i) => { rowOfStart.set(r.lo, i); rowOfEnd.set(r.hi, i); });
    box.style.gridTemplateColumns = "9.5em repeat(" + cols.length + ", minmax(24em, 1fr))";
    box.style.gridTemplateRows = "auto " + rows.map((r) => r.gap ? "20px" : rowHeight(r.hi - r.lo) + "px").join(" ");
    box.append(el("div", { class: "col-head", style: "grid-row: 1; grid-column: 1", text: "address" }));
    cols.forEach((c, ci) => {
      const names = c.procs.map(procName).join(", ");
      box.append(el("div", { class: "col-head", style: "grid-row: 1; grid-column: " + (ci + 2), "data-pids": c.procs.map((p) => p.pid).join(" "),
        text: names + " — " + c.space.vmas.length + " VMAs, " + statusLine(c.space) }));
    });
    rows.forEach((r, i) => {
      if (r.gap) {
        box.append(el("div", { class: "gap", style: "grid-row: " + (i + 2) + "; grid-column: 1 / span " + (cols.length + 1),
          text: "⋯ " + bytes(r.hi - r.lo) + " unmapped ⋯" }));
      } else {
        box.append(el("div", { class: "addr", style: "grid-row: " + (i + 2) + "; grid-column: 1", text: hex(r.lo) }));
      }
    });
    cols.forEach((c, ci) => {
      for (const v of c.space.vmas) {
        const r0 = rowOfStart.get(v.start), r1 = rowOfEnd.get(v.end);
        box.append(vmaBox(v, c, "grid-row: " + (r0 + 2) + " / " + (r1 + 3) + "; grid-column: " + (ci + 2)));
      }
    });
    $("space-note").textContent = "at " + stopName(stop) + "; empty stretches collapsed; click a VMA or a page for its page-table walk";
  }
  function statusLine(space) {
    const get = (n) => { const s = space.status.find((x) => x[0] === n); return s ? s[1] : 0; };
    return "VmSize " + kib(get("VmSize")) + ", RSS " + kib(get("VmRSS")) + " (anon " + kib(get("RssAnon")) +
      ", file " + kib(get("RssFile")) + ", shmem " + kib(get("RssShmem")) + "), PTE " + kib(get("VmPTE"));
  }
  function mapsLine(v) {
    return hex8(v.start) + "-" + hex8(v.end) + " " + v.perms + " " + hex8(v.offset) + " " + v.dev + " " + v.ino + (v.name ? " " + v.name : "");
  }
  function vmaBox(v, col, style) {
    const pages = (v.end - v.start) / 4096;
    const resident = v.runs.reduce((n, r) => n + (r[2] === "swapped" ? 0 : r[1]), 0);
    const box = el("div", { class: "vma k-" + v.kind, style, "data-start": v.start, "data-end": v.end,
      "data-kind": v.kind, title: mapsLine(v) + "\n" + v.kind + ", " + bytes(v.end - v.start) + ", " + resident + " of " + pages + " pages mapped" });
    box.append(el("div", { class: "lbl", text: hex8(v.start) + "-" + hex8(v.end) + " " + v.perms + " " + hex8(v.offset) + " " +
      v.dev + " " + v.ino + " " + (v.name || "[" + v.kind + "]") + " · " + bytes(v.end - v.start) + (v.locked ? " · locked" : "") }));
    const strip = svg("svg", { class: "strip", viewBox: "0 0 " + pages + " 4", preserveAspectRatio: "none" });
    for (const r of v.runs) {
      const rect = svg("rect", { x: r[0], y: 0, width: r[1], height: 4, class: "s-" + r[2] });
      const t = svg("title", {});
      t.textContent = r[1] + " page(s) at " + hex(v.start + r[0] * 4096) + ": " + STATES[r[2]] +
        (r[4] > 1 ? ", mapped by " + r[4] : "") + (r[3] >= 0 ? ", frame " + hex(r[3]) : "") + (r[5] ? ", locked" : "");
      rect.append(t);
      strip.append(rect);
      if (r[5]) strip.append(svg("rect", { x: r[0], y: 0, width: r[1], height: 1, class: "s-locked" }));
    }
    box.append(strip);
    box.addEventListener("click", (ev) => {
      let addr = v.start;
      const sr = strip.getBoundingClientRect();
      if (ev.clientY >= sr.top - 2 && sr.width > 0) {
        const page = Math.min(pages - 1, Math.max(0, Math.floor((ev.clientX - sr.left) / sr.width * pages)));
        addr = v.start + page * 4096;
      }
      walk(col.procs[0].pid, addr);
    });
    return box;
  }

  // ---- processes ----
  const TREE_SIBLINGS = 30;
  function drawTree(stop) {
    const alive = new Set(stop.procs.map((p) => p.pid));
    const box = $("tree");
    box.replaceChildren();
    const kids = new Map();
    const pids = new Set(D.processes.map((p) => p.pid));
    for (const p of D.processes) {
      const parent = pids.has(p.ppid) && p.ppid !== p.pid ? p.ppid : 0;
      if (!kids.has(parent)) kids.set(parent, []);
      kids.get(parent).push(p);
    }
    const seen = new Set();
    const isAlive = (p) => alive.has(p.pid) && (p.exited == null || p.exited > stop.x);
    // Whether `p` or one of its descendants is alive at this stop.
    const lives = new Map();
    const livesOn = (p) => {
      if (!lives.has(p.pid)) lives.set(p.pid, isAlive(p) || (kids.get(p.pid) || []).some((c) => c !== p && livesOn(c)));
      return lives.get(p.pid);
    };
    const item = (p) => {
      let t = procName(p) + " — from " + D.x_label + " " + p.born;
      if (p.execs.length) t += ", exec at " + p.execs.join(", ");
      if (p.exited != null) t += ", exited at " + p.exited;
      const li = el("li", {}, el("span", { class: "proc " + (isAlive(p) ? "alive" : "dead"), "data-pid": p.pid, text: t }));
      if (kids.has(p.pid)) li.append(list(p.pid));
      return li;
    };
    // A shell loop has thousands of children: beyond the first few, only those alive at
    // this stop are drawn, the others behind a summary that draws them when opened.
    const list = (parent) => {
      const ul = el("ul");
      const folded = [];
      for (const p of kids.get(parent) || []) {
        if (seen.has(p)) continue;
        seen.add(p);
        if (ul.childElementCount < TREE_SIBLINGS || livesOn(p)) ul.append(item(p));
        else folded.push(p);
      }
      if (folded.length) {
        const more = el("details", { class: "folded" }, el("summary", { text: folded.length + " more, not alive at this stop" }));
        more.addEventListener("toggle", () => {
          if (!more.open || more.childElementCount > 1) return;
          const inner = el("ul");
          for (const p of folded) inner.append(item(p));
          more.append(inner);
        });
        ul.append(el("li", {}, more));
      }
      return ul;
    };
    box.append(list(0));
    if (!D.processes.length) box.append(el("div", { class: "none", text: "no process" }));
  }
  function drawSharing(stop) {
    const box = $("sharing");
    box.replaceChildren();
    const prev = current > 0 ? D.stops[current - 1] : null;
    const name = (mm) => stop.procs.filter((p) => p.mm === mm).map((p) => p.pid + " " + p.comm).join(", ");
    if (!stop.sharing.length) {
      box.append(el("div", { class: "none", text: "no frame is mapped by two address spaces" }));
      return;
    }
    const t = el("table", {}, el("tr", {}, el("th", { text: "address space" }), el("th", { text: "and" }),
      el("th", { text: "COW (anonymous)" }), el("th", { text: "file pages" }), el("th", { text: "shared memory" })));
    for (const s of stop.sharing) {
      const before = prev && prev.sharing.find((o) => o.mm_a === s.mm_a && o.mm_b === s.mm_b);
      const cell = (k) => {
        const was = before ? before[k] : null;
        const c = el("td", { class: "num" + (was != null && was !== s[k] ? " changed" : ""), "data-k": k, text: String(s[k]) });
        if (was != null && was !== s[k]) c.title = "was " + was + " at the previous stop";
        return c;
      };
      t.append(el("tr", { class: "share-row" }, el("td", { text: name(s.mm_a) }), el("td", { text: name(s.mm_b) }),
        cell("cow"), cell("file"), cell("shmem")));
    }
    box.append(t);
  }

  // ---- page-table walk ----
  // The levels of the machine's page tables, root first: [name, lowest index bit, index bits,
  // entry bytes] (x86-64: PGD PUD PMD PTE; i386 PAE: PDPT PMD PTE; i386: PGD PTE).
  const WALK = D.walk || { levels: [["PGD", 39, 9, 8], ["PUD", 30, 9, 8], ["PMD", 21, 9, 8], ["PTE", 12, 9, 8]], user_top: 2 ** 47, note: "" };
  function flagText(e, wide) {
    const f = [];
    const b = (n) => (e >> BigInt(n)) & 1n;
    f.push(b(0) ? "P" : "not-present");
    if (b(1)) f.push("RW"); if (b(2)) f.push("US"); if (b(5)) f.push("A"); if (b(6)) f.push("D");
    if (b(8)) f.push("PROTNONE"); if (b(9)) f.push("SPECIAL"); if (wide && b(63)) f.push("NX");
    return f.join(" ");
  }
  function walk(pid, addr) {
    walkTarget = { pid, addr };
    $("walk-pid").value = String(pid);
    $("walk-addr").value = "0x" + hex(addr);
    drawWalk();
  }
  function drawWalk() {
    const box = $("walk");
    box.replaceChildren();
    if (!walkTarget) { box.append(el("div", { class: "none", text: "click a VMA or one of its pages" })); return; }
    const stop = D.stops[current];
    const p = stop && stop.procs.find((q) => q.pid === walkTarget.pid && q.space != null);
    if (!p) { box.append(el("div", { class: "none", text: "process " + walkTarget.pid + " has no address space at this stop" })); return; }
    const sp = D.spaces[p.space];
    const space = { vmas: sp.vmas.map((i) => D.vmas[i]), pgd: sp.pgd, tables: sp.tables };
    const a = BigInt(Math.floor(walkTarget.addr));
    box.append(el("div", { class: "walk-head", text: "process " + procName(p) + ", address 0x" + a.toString(16) + " at " + stopName(stop) }));
    if (a >= BigInt(WALK.user_top)) { box.append(el("div", { class: "stopped", text: "not a user address (at or above TASK_SIZE 0x" + BigInt(WALK.user_top).toString(16) + ")" })); return; }
    const upper = new Map(space.tables.map((t) => [t[0] + ":" + t[1], t[2]]));
    const t = el("table", {}, el("tr", {}, el("th", { text: "level" }), el("th", { text: "index" }),
      el("th", { text: "table frame" }), el("th", { text: "entry" }), el("th", { text: "flags" }), el("th", { text: "points to" })));
    let table = BigInt(space.pgd);
    let stopped = null;
    let leaf = null;
    const n = WALK.levels.length;
    for (let i = 0; i < n; i++) {
      const [name, shift, bits, bytes] = WALK.levels[i];
      const idx = (a >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n);
      const wide = bytes === 8;
      const mask = wide ? (1n << 64n) - 1n : 0xffffffffn;
      let entry;
      if (i < n - 1) {
        const span = 1n << BigInt(shift);
        const text = upper.get((n - 1 - i) + ":" + Number(a - (a % span)));
        entry = text == null ? null : BigInt("0x" + text);
      } else {
        leaf = leafEntry(space, Number(a));
        entry = leaf.entry & mask;
      }
      const row = el("tr", { class: "walk-level", "data-level": name },
        el("td", { text: name }), el("td", { class: "num", text: String(idx) }), el("td", { text: table == null ? "—" : "0x" + table.toString(16) }));
      if (entry == null || entry === 0n) {
        row.append(el("td", { text: "0" }), el("td", { text: "none" }), el("td", { class: "stopped", text: "empty: the walk stops, an access faults" }));
        t.append(row);
        stopped = name;
        break;
      }
      const pfn = (entry & (wide ? 0x000ffffffffff000n : 0xfffff000n)) >> 12n;
      row.append(el("td", { text: entry.toString(16).padStart(bytes * 2, "0") }), el("td", { text: flagText(entry, wide) }),
        el("td", { text: i < n - 1 ? "table at frame 0x" + pfn.toString(16) : (leaf.run ? "frame 0x" + pfn.toString(16) : "—") }));
      t.append(row);
      table = pfn;
    }
    box.append(t);
    if (WALK.note) box.append(el("div", { class: "walk-note", text: WALK.note }));
    const v = space.vmas.find((x) => x.start <= Number(a) && Number(a) < x.end);
    box.append(el("div", { class: "walk-vma", text: v ? "in VMA " + mapsLine(v) + " (" + v.kind + ")" : "in no VMA: an access is SIGSEGV (SEGV_MAPERR)" }));
    if (!stopped && leaf && leaf.run) {
      const r = leaf.run;
      const pfn = (leaf.entry & 0x000ffffffffff000n) >> 12n;
      const phys = (pfn << 12n) | (a & 4095n);
      box.append(el("div", { class: "walk-frame", text: r[2] === "swapped" ? "the entry is a swap entry: the page is swapped out"
        : "frame 0x" + pfn.toString(16) + ", physical address 0x" + phys.toString(16) + ": " + STATES[r[2]] + (r[4] > 1 ? ", mapped by " + r[4] + " page-table entries" : "") }));
    } else if (!stopped) {
      box.append(el("div", { class: "stopped", text: "the PTE is empty: the page is not present (the first access faults it in)" +
        (D.source === "trace" ? "; in a replay, an access the trace cannot show may have faulted it in on the recording machine (see the note above the address space)" : "") }));
    }
  }
  // The leaf entry of `addr`, from the page runs of its VMA.
  function leafEntry(space, addr) {
    const v = space.vmas.find((x) => x.start <= addr && addr < x.end);
    if (!v) return { entry: 0n, run: null };
    const page = Math.floor((addr - v.start) / 4096);
    const r = v.runs.find((x) => x[0] <= page && page < x[0] + x[1]);
    if (!r) return { entry: 0n, run: null };
    let e = BigInt("0x" + r[6]);
    if (r[3] >= 0) e += BigInt(page - r[0]) << 12n;
    return { entry: e, run: r };
  }

  // ---- faults ----
  // A long list of choices is filled when the list is first opened.
  function fillSelect(sel, values, all) {
    sel.replaceChildren(el("option", { value: "", text: all }));
    const fill = () => { for (const v of values) sel.append(el("option", { value: String(v), text: String(v) })); };
    if (values.length <= 300) fill();
    else {
      sel.append(el("option", { value: "", text: "(" + values.length + " to choose from)" }));
      sel.addEventListener("pointerdown", () => { if (sel.options.length === 2) { sel.lastChild.remove(); fill(); } });
      sel.addEventListener("focus", () => { if (sel.options.length === 2) { sel.lastChild.remove(); fill(); } });
    }
  }
  function buildFaultFilters() {
    const uniq = (i) => [...new Set(D.faults.map((f) => f[i]))].sort((a, b) => a < b ? -1 : a > b ? 1 : 0);
    fillSelect($("f-pid"), uniq(1), "all");
    fillSelect($("f-vma"), uniq(6), "all");
    fillSelect($("f-kind"), uniq(4), "all");
    for (const id of ["f-pid", "f-vma", "f-kind", "f-upto"]) $(id).addEventListener("change", drawFaults);
    const kept = D.faults.length, total = D.faults_total;
    $("faults-note").textContent = total === kept ? total + " faults" : "the first " + kept + " of " + total + " faults";
  }
  function drawFaults() {
    const box = $("faults");
    box.replaceChildren();
    const pid = $("f-pid").value, vma = $("f-vma").value, kind = $("f-kind").value;
    const upto = $("f-upto").checked ? D.stops[current].faults_upto : D.faults.length;
    const rows = [];
    for (let i = 0; i < upto; i++) {
      const f = D.faults[i];
      if ((pid && String(f[1]) !== pid) || (vma && f[6] !== vma) || (kind && f[4] !== kind)) continue;
      rows.push(f);
    }
    if (!rows.length) { box.append(el("div", { class: "none", text: "no fault" })); return; }
    const t = el("table", {}, el("tr", {}, el("th", { text: D.x_label }), el("th", { text: "pid" }), el("th", { text: "access" }),
      el("th", { text: "address" }), el("th", { text: "VMA" }), el("th", { text: "what the kernel did" })));
    box.append(t);
    // Rows are drawn a page at a time: a long log's table would slow the page's opening.
    let shown = 0;
    const more = el("button", { class: "more" });
    const showMore = () => {
      const end = Math.min(rows.length, shown + FAULT_ROWS);
      for (const f of rows.slice(shown, end)) {
        const tr = el("tr", { class: "fault", "data-kind": f[4] }, el("td", { class: "num", text: String(f[0]) }), el("td", { text: String(f[1]) }),
          el("td", { text: f[3] ? "write" : "read" }), el("td", { class: "mono", text: "0x" + hex(f[2]) }), el("td", { text: f[6] }),
          el("td", { text: f[5] }));
        tr.addEventListener("click", () => { setStop(stopAtOrAfter(f[0])); walk(f[1], f[2]); });
        t.append(tr);
      }
      shown = end;
      if (shown < rows.length) more.textContent = "show " + Math.min(FAULT_ROWS, rows.length - shown) + " more of the " + (rows.length - shown) + " left";
      else more.remove();
    };
    more.addEventListener("click", showMore);
    box.append(more);
    showMore();
  }
  const FAULT_ROWS = 200;

  // ---- mismatches ----
  function drawMismatches() {
    const box = $("mismatches");
    if (D.source !== "trace") { $("mismatch-section").style.display = "none"; return; }
    if (!D.mismatches.length) { box.append(el("div", { class: "none", text: "none: every check held" })); return; }
    for (const m of D.mismatches) {
      const link = el("a", { class: "mm-line", text: "line " + m.line });
      link.addEventListener("click", () => setStop(m.stop != null ? m.stop : stopAtOrAfter(m.line)));
      const div = el("div", { class: "mismatch", "data-line": m.line }, link, document.createTextNode(": " + m.call + ": expected " + m.expected + ", got " + m.got));
      if (m.text) div.append(el("pre", { text: m.text }));
      if (m.diff) div.append(el("pre", { text: m.diff }));
      box.append(div);
    }
  }

  // ---- the scrubber ----
  function stopName(s) {
    return (s.before ? "before " : "after ") + D.x_label + " " + s.x;
  }
  function setStop(i) {
    if (!D.stops.length) return;
    current = Math.max(0, Math.min(D.stops.length - 1, i));
    const s = D.stops[current];
    $("scrubber").value = String(current);
    $("stop-label").textContent = "stop " + (current + 1) + " of " + D.stops.length + ": " + stopName(s);
    $("stop-text").textContent = s.text;
    drawSpace(s);
    drawTree(s);
    drawSharing(s);
    const sel = $("walk-pid");
    sel.replaceChildren();
    for (const p of s.procs) if (p.space != null) sel.append(el("option", { value: String(p.pid), text: procName(p) }));
    if (walkTarget) sel.value = String(walkTarget.pid);
    drawWalk();
    if ($("f-upto").checked) drawFaults();
    for (const c of charts) c.redraw(false);
    document.body.dataset.stop = String(current);
  }
  function init() {
    legend();
    // First: reading the chart's width forces a layout, cheap while the page is still short.
    buildCharts();
    buildMarkers();
    buildFaultFilters();
    drawFaults();
    drawMismatches();
    const sc = $("scrubber");
    sc.max = String(Math.max(0, D.stops.length - 1));
    sc.addEventListener("input", () => setStop(Number(sc.value)));
    $("prev").addEventListener("click", () => setStop(current - 1));
    $("next").addEventListener("click", () => setStop(current + 1));
    $("walk-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const text = $("walk-addr").value.trim();
      const addr = text.startsWith("0x") ? parseInt(text.slice(2), 16) : parseInt(text, text.match(/[a-f]/i) ? 16 : 10);
      if (!Number.isNaN(addr)) walk(Number($("walk-pid").value), addr);
    });
    if (D.stops.length) setStop(D.initial_stop);
    else $("space").append(el("div", { class: "none", text: "nothing was recorded" }));
    window.mmsimReport = { setStop, walk, stops: D.stops.length, data: D };
    // Ready once the first frame is painted: the animation frame's callback runs before
    // the paint, a task queued from it after.
    requestAnimationFrame(() => setTimeout(() => {
      window.__mmsimReadyMs = performance.now();
      window.__mmsimReady = true;
    }, 0));
  }
  init();
})();
