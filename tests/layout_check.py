"""What a manager would see as a broken layout, measured in the real browser.

:data:`LAYOUT_PROBLEMS` is a function string for Playwright's
``page.evaluate``: it returns one line per problem on the page as drawn now —
a button, label, table cell, heading or menu entry whose text breaks inside a word
(Korean "삭/제"), a button whose text takes two lines, a select narrower than
its longest option's text, a table cell whose content spills out of it, a
table header not over its column, a page wider than the window.
Hidden elements are skipped.
"""

LAYOUT_PROBLEMS = r"""() => {
  const problems = [];
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden";
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "");
  // The line tops a piece of text is drawn on (one per line it takes).
  const lines = (range) => {
    const tops = [];
    for (const r of range.getClientRects()) {
      if (r.width < 1) continue;
      if (!tops.some((t) => Math.abs(t - r.top) < r.height / 2)) tops.push(r.top);
    }
    return tops.length;
  };
  const words = (el) => {
    const found = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      if (!parent || !shown(parent) || parent.closest("select, textarea, script, style")) continue;
      const re = /[^\s\-\/]+/g;            // a break after a hyphen or a slash is a place to break
      let m;
      while ((m = re.exec(node.data)) !== null) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        found.push([m[0], range]);
      }
    }
    return found;
  };
  // No word broken over two lines.
  for (const el of document.querySelectorAll("button, .button, label, th, td, nav a, .tabs a, legend, h1, h2, h3")) {
    if (!shown(el)) continue;
    for (const [word, range] of words(el)) {
      if (lines(range) > 1) problems.push(name(el) + ": '" + word + "' breaks inside the word");
    }
  }
  // A button's text on one line.
  for (const el of document.querySelectorAll("button, a.button")) {
    if (!shown(el) || !el.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(el);
    if (lines(range) > 1) problems.push(name(el) + ": '" + el.textContent.trim() + "' takes " + lines(range) + " lines");
  }
  // A select shows its longest option whole.
  const canvas = document.createElement("canvas").getContext("2d");
  for (const el of document.querySelectorAll("select")) {
    if (!shown(el)) continue;
    const style = getComputedStyle(el);
    canvas.font = style.font;
    let longest = "", width = 0;
    for (const option of el.options) {
      const w = canvas.measureText(option.text).width;
      if (w > width) { width = w; longest = option.text; }
    }
    const room = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 16;
    if (room + 0.5 < width) problems.push(name(el) + "[name=" + el.name + "]: '" + longest + "' needs " +
      Math.ceil(width) + " px, has " + Math.floor(room));
  }
  // No cell's content spills out of it.
  for (const el of document.querySelectorAll("td, th")) {
    if (!shown(el)) continue;
    if (el.scrollWidth > el.clientWidth + 1) problems.push(name(el) + ": content " + el.scrollWidth +
      " px wide in a cell of " + el.clientWidth + " ('" + el.textContent.trim().slice(0, 30) + "')");
  }
  // A table's headers stand over its columns.
  for (const table of document.querySelectorAll("table")) {
    if (!shown(table) || !table.tHead || !table.tBodies.length) continue;
    const head = table.tHead.rows[0], body = table.tBodies[0].rows[0];
    if (!head || !body || head.cells.length !== body.cells.length) continue;
    for (let i = 0; i < head.cells.length; i++) {
      const h = head.cells[i].getBoundingClientRect(), d = body.cells[i].getBoundingClientRect();
      if (Math.abs(h.left - d.left) > 1 || Math.abs(h.width - d.width) > 1) {
        problems.push(name(table) + ": header '" + head.cells[i].textContent.trim() + "' is not over its column");
        break;
      }
    }
  }
  // The page itself fits the window's width.
  if (document.documentElement.scrollWidth > window.innerWidth + 1)
    problems.push("page: " + document.documentElement.scrollWidth + " px wide in a window of " + window.innerWidth);
  return problems;
}"""
