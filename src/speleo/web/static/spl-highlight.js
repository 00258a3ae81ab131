/* SPL syntax highlighting for the search bar: a small tokenizer (written for Speleo) and the
   overlay of a highlighted <pre> under a transparent <textarea>. */
"use strict";
const SplHighlight = (() => {
  const KEYWORDS = new Set(["AND", "OR", "NOT", "by", "BY", "as", "AS", "over", "OVER", "where", "WHERE", "in", "IN", "like", "LIKE"]);
  const CMD_KEYWORDS = new Set(["AND", "OR", "NOT"]);

  /* -> [{type, text}] where type is one of cmd, kw, str, field, op, val, fn, num, pipe, punct, macro, ws, text */
  function tokenize(q) {
    const out = [];
    let i = 0, expectCmd = false, afterOp = false;
    const push = (type, text) => { out.push({ type, text }); };
    while (i < q.length) {
      const rest = q.slice(i);
      let m;
      if ((m = /^\s+/.exec(rest))) { push("ws", m[0]); i += m[0].length; continue; }
      if (rest[0] === '"') {
        let j = 1;
        while (j < rest.length && rest[j] !== '"') j += rest[j] === "\\" ? 2 : 1;
        const text = rest.slice(0, Math.min(j + 1, rest.length));
        push("str", text); i += text.length; afterOp = false; expectCmd = false; continue;
      }
      if (rest[0] === "`") {
        const j = rest.indexOf("`", 1), text = j < 0 ? rest : rest.slice(0, j + 1);
        push("macro", text); i += text.length; expectCmd = false; continue;
      }
      if (rest[0] === "|") { push("pipe", "|"); i += 1; expectCmd = true; afterOp = false; continue; }
      if (rest[0] === "[") { push("punct", "["); i += 1; expectCmd = true; continue; }
      if ((m = /^(!=|==|<=|>=|=|<|>)/.exec(rest))) { push("op", m[0]); i += m[0].length; afterOp = true; continue; }
      if ((m = /^[(),\]+*/%]/.exec(rest)) && !(rest[0] === "*" && afterOp)) {
        push("punct", m[0]); i += 1; afterOp = false; continue;
      }
      if ((m = /^-?\d+(\.\d+)?(?![\w.:*])/.exec(rest))) {
        push("num", m[0]); i += m[0].length; afterOp = false; expectCmd = false; continue;
      }
      m = /^[^\s|()=<>!,"`[\]]+/.exec(rest) || [rest[0]];
      const word = m[0];
      const next = q.slice(i + word.length);
      if (afterOp) push("val", word);
      else if ((expectCmd || (!out.some(t => t.type !== "ws") && word === "search")) && /^[A-Za-z_]\w*$/.test(word)
               && !CMD_KEYWORDS.has(word) && !/^\s*(!=|=|<|>)/.test(next)) push("cmd", word);
      else if (KEYWORDS.has(word)) push("kw", word);
      else if (/^\s*\(/.test(next) && /^[A-Za-z_]\w*$/.test(word)) push("fn", word);
      else if (/^\s*(!=|==|<=|>=|=|<|>)/.test(next) && /^[A-Za-z_][\w.:{}*-]*$/.test(word)) push("field", word);
      else push("text", word);
      i += word.length; afterOp = false; expectCmd = false;
    }
    return out;
  }

  /* err: optional [start, end) character span to mark as the parser's error position */
  function render(pre, q, err) {
    pre.textContent = "";
    let pos = 0;
    for (const t of tokenize(q)) {
      const a = pos, b = pos + t.text.length;
      pos = b;
      const cuts = [a, b];
      if (err) for (const c of [err[0], err[1]]) if (c > a && c < b) cuts.push(c);
      cuts.sort((x, y) => x - y);
      for (let k = 0; k + 1 < cuts.length; k++) {
        const x = cuts[k], y = cuts[k + 1], text = q.slice(x, y);
        const inErr = err && x >= err[0] && y <= err[1];
        if ((t.type === "ws" || t.type === "text") && !inErr) { pre.append(text); continue; }
        const s = document.createElement("span");
        s.className = (t.type === "ws" || t.type === "text" ? "" : "t-" + t.type) + (inErr ? " t-err" : "");
        s.textContent = text;
        pre.append(s);
      }
    }
    if (err && err[0] >= q.length) { // error at the end: mark a blank
      const s = document.createElement("span"); s.className = "t-err"; s.textContent = " "; pre.append(s);
    }
    pre.append("\n"); // keeps the last line's height when the text ends with a newline
  }

  /* wire a textarea over a pre: both in one .spl-editor box */
  function attach(textarea, pre, onEnter) {
    const update = () => { render(pre, textarea.value); pre.scrollTop = textarea.scrollTop; pre.scrollLeft = textarea.scrollLeft; };
    textarea.addEventListener("input", update);
    textarea.addEventListener("scroll", () => { pre.scrollTop = textarea.scrollTop; pre.scrollLeft = textarea.scrollLeft; });
    textarea.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); onEnter(); }
    });
    update();
    return update;
  }
  return { tokenize, render, attach };
})();
