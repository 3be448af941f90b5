// The editor pane of `archdsl serve`: CodeMirror 6 with .arch highlighting,
// each statement's output shape at the end of its line, errors underlined and
// spelt out under their line, and the table and diagrams of the last analysis.
// Bundled by web/build.mjs into archdsl/serve/static/editor.js (committed), so
// the page needs nothing from the network.
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  bracketMatching, HighlightStyle, indentOnInput, indentUnit, StreamLanguage, syntaxHighlighting,
} from "@codemirror/language";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import { EditorState, StateEffect, StateField } from "@codemirror/state";
import {
  Decoration, drawSelection, EditorView, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers,
  WidgetType,
} from "@codemirror/view";
import { tags as t } from "@lezer/highlight";

const $ = (id) => document.getElementById(id);
const config = JSON.parse($("archdsl-config").textContent);
const KINDS = new Set(config.kinds);
const KEYWORDS = new Set(["repeat", "branch", "residual", "shortcut", "always", "optional", "if", "else", "from",
  "use", "train", "defaults", "layout", "input"]);
const WORDS = new Set(["true", "false", "same", "valid", "half"]);

// -- highlighting: the same classes as the TextMate grammar and the Pygments lexer --------------
const arch = StreamLanguage.define({
  name: "arch",
  startState: () => ({ after: null }),
  token(stream, state) {
    if (stream.eatSpace()) return null;
    if (stream.match(/#.*/)) return "comment";
    if (stream.match(/"[^"]*"?/)) return "string";
    if (stream.match(/@[A-Za-z_][A-Za-z0-9_]*/) || stream.match("@")) return "variableName.special";
    if (stream.match(/[0-9]+(?:x[0-9]+)+(?![A-Za-z0-9_])/)) return "number";
    if (stream.match(/(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[0-9]+(?:[eE][-+]?[0-9]+)?/)) return "number";
    const word = stream.match(/[A-Za-z_][A-Za-z0-9_]*/);
    if (word) {
      const w = word[0];
      const previous = state.after;
      state.after = w;
      if (previous === "network" || previous === "block") return "typeName";
      if (w === "network" || w === "block") return "definitionKeyword";
      if (KEYWORDS.has(w)) return "keyword";
      if (w === "and" || w === "or" || w === "not") return "operatorKeyword";
      if (WORDS.has(w)) return "atom";
      if (stream.peek() === "(") return "variableName.function";
      if (stream.match(/^\s*:(?!=)/, false)) return "labelName";
      if (stream.match(/^\s*=(?!=)/, false)) return "propertyName";
      if (KINDS.has(w)) return "keyword.layer";
      return "variableName";
    }
    state.after = null;
    if (stream.match(/==|!=|<=|>=|\/\/|[-+*/%<>=]/)) return "operator";
    stream.next();
    return "punctuation";
  },
  tokenTable: { "keyword.layer": t.standard(t.variableName), "variableName.special": t.special(t.variableName) },
  languageData: { commentTokens: { line: "#" } },
});

const style = HighlightStyle.define([
  { tag: t.comment, color: "#6a737d", fontStyle: "italic" },
  { tag: [t.keyword, t.definitionKeyword, t.operatorKeyword], color: "#8f3f9c", fontWeight: "600" },
  { tag: t.typeName, color: "#005cc5", fontWeight: "600" },
  { tag: t.function(t.variableName), color: "#005cc5" },
  { tag: t.standard(t.variableName), color: "#b35900", fontWeight: "600" },
  { tag: t.special(t.variableName), color: "#22863a", fontWeight: "600" },
  { tag: t.labelName, color: "#22863a" },
  { tag: t.propertyName, color: "#6f42c1" },
  { tag: [t.number, t.atom], color: "#0b7285" },
  { tag: t.string, color: "#032f62" },
  { tag: t.operator, color: "#d73a49" },
]);

// -- shapes at line ends and errors under their line ---------------------------------------------
class HintWidget extends WidgetType {
  constructor(label, tooltip, stale) { super(); this.label = label; this.tooltip = tooltip; this.stale = stale; }
  eq(other) { return other.label === this.label && other.stale === this.stale; }
  toDOM() {
    const span = document.createElement("span");
    span.className = "cm-arch-hint" + (this.stale ? " cm-arch-stale" : "");
    span.textContent = this.label;
    span.title = this.tooltip;
    return span;
  }
  ignoreEvent() { return false; }
}

class ProblemWidget extends WidgetType {
  constructor(severity, message) { super(); this.severity = severity; this.message = message; }
  eq(other) { return other.message === this.message && other.severity === this.severity; }
  toDOM() {
    const div = document.createElement("div");
    div.className = `cm-arch-problem cm-arch-${this.severity}`;
    div.textContent = this.message;
    return div;
  }
}

const setMarks = StateEffect.define();
const marks = StateField.define({
  create: () => Decoration.none,
  update(value, tr) {
    value = value.map(tr.changes);
    for (const e of tr.effects) if (e.is(setMarks)) value = e.value;
    return value;
  },
  provide: (field) => EditorView.decorations.from(field),
});

function offset(doc, line, character) {
  const l = doc.line(Math.min(Math.max(line + 1, 1), doc.lines));
  return Math.min(l.from + character, l.to);
}

function decorations(doc, result) {
  const ranges = [];
  for (const h of result.hints) {
    const at = offset(doc, h.line, h.character);
    ranges.push(Decoration.widget({ widget: new HintWidget(h.label, h.tooltip, result.stale), side: 1 }).range(at));
  }
  const shown = new Set();
  for (const p of result.problems) {
    if (shown.has(p.line)) continue;
    shown.add(p.line);
    const end = doc.line(Math.min(p.line + 1, doc.lines)).to;
    ranges.push(Decoration.widget({ widget: new ProblemWidget(p.severity, p.message), block: true, side: 2 })
      .range(end));
  }
  return Decoration.set(ranges, true);
}

// -- talking to the server ------------------------------------------------------------------------
const headers = { "Content-Type": "application/json", "X-Archdsl-Token": config.token };
let sent = 0;
let shown = 0;
let timer = null;
let view = null;

async function post(path, body) {
  const response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

async function analyse() {
  const id = ++sent;
  const text = view.state.doc.toString();
  let result;
  try {
    result = await post("/analyse", { text });
  } catch (err) {
    $("status").textContent = String(err);
    return;
  }
  if (id < shown) return;  // a newer answer is already on screen
  shown = id;
  if (view.state.doc.toString() !== text) return;  // typed since: the next answer will do
  show(result);
}

function show(result) {
  const doc = view.state.doc;
  const diagnostics = result.problems.map((p) => ({
    from: offset(doc, p.line, p.character),
    to: Math.max(offset(doc, p.end_line, p.end_character), offset(doc, p.line, p.character) + 1),
    severity: p.severity === "error" ? "error" : "warning",
    message: p.message,
  })).map((d) => ({ ...d, to: Math.min(d.to, doc.length) }));
  view.dispatch(setDiagnostics(view.state, diagnostics));
  view.dispatch({ effects: setMarks.of(decorations(doc, result)) });
  const errors = result.problems.filter((p) => p.severity === "error").length;
  const warnings = result.problems.length - errors;
  document.body.classList.toggle("has-errors", errors > 0);
  $("status").textContent = errors ? `${errors} error${errors > 1 ? "s" : ""}` + (result.stale
    ? " \u00b7 shapes from the last analysis without errors" : "")
    : warnings ? `${warnings} warning${warnings > 1 ? "s" : ""}` : "no problems";
  $("status").className = errors ? "error" : warnings ? "warning" : "ok";
  if (result.summary !== null) $("summary").textContent = result.summary;
  if (result.table !== null) $("table").innerHTML = result.table;
  if (result.volume !== null) $("volume").innerHTML = result.volume;
  for (const id of ["table", "volume", "graph"]) $(id).classList.toggle("stale", result.table === null);
  if (result.ok) graph(result.version);
}

async function graph(version) {
  try {
    const result = await post("/graph", { version });
    if (result.version !== version) return;
    $("graph").innerHTML = result.svg || `<p class="note">${result.note}</p>`;
  } catch (err) {
    $("graph").textContent = String(err);
  }
}

async function save() {
  try {
    await post("/save", { text: view.state.doc.toString() });
    $("saved").textContent = "saved";
  } catch (err) {
    $("saved").textContent = String(err);
  }
  return true;
}

function changed(update) {
  if (!update.docChanged) return;
  $("saved").textContent = "modified";
  clearTimeout(timer);
  timer = setTimeout(analyse, config.debounce_ms);
}

view = new EditorView({
  parent: $("editor"),
  state: EditorState.create({
    doc: $("archdsl-source").textContent,
    extensions: [
      lineNumbers(), highlightActiveLineGutter(), history(), drawSelection(), indentOnInput(), bracketMatching(),
      highlightActiveLine(), lintGutter(), arch, syntaxHighlighting(style), marks, indentUnit.of("  "),
      EditorView.lineWrapping,
      keymap.of([{ key: "Mod-s", run: save, preventDefault: true }, indentWithTab, ...defaultKeymap,
        ...historyKeymap]),
      EditorView.updateListener.of(changed),
    ],
  }),
});
window.archdslEditor = view;  // for tests and the browser console
analyse();
