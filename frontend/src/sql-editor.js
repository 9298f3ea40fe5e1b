// The SQL editor of the database and query pages: a CodeMirror 6 editor that replaces the
// plain <textarea id="sql-editor"> (which stays in the form, kept in step, so the page
// works the same without JavaScript). It completes table and column names from the schema
// the page embeds as JSON in <script id="sql-schema">, formats SQL on demand and runs the
// query with Ctrl-Enter / Cmd-Enter.

import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { SQLite, sql } from "@codemirror/lang-sql";
import { bracketMatching, indentOnInput, syntaxHighlighting } from "@codemirror/language";
import { EditorState } from "@codemirror/state";
// Stable `tok-*` classes instead of inline colours: app.css colours them, dark mode too.
import { classHighlighter } from "@lezer/highlight";
import {
  EditorView,
  drawSelection,
  highlightActiveLine,
  highlightActiveLineGutter,
  keymap,
  lineNumbers,
  placeholder,
} from "@codemirror/view";
import { formatDialect, sqlite } from "sql-formatter";

function readSchema() {
  const element = document.getElementById("sql-schema");
  if (!element) return {};
  try {
    const schema = JSON.parse(element.textContent);
    return schema && typeof schema === "object" && !Array.isArray(schema) ? schema : {};
  } catch (error) {
    return {};
  }
}

function submitForm(form) {
  if (form.requestSubmit) form.requestSubmit();
  else form.submit();
  return true;
}

export function formatSql(text) {
  return formatDialect(text, { dialect: sqlite, keywordCase: "lower", tabWidth: 2 });
}

function setUpFormatButton(view, textarea) {
  const button = document.getElementById("sql-format");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", () => {
    let formatted;
    try {
      formatted = formatSql(view.state.doc.toString());
    } catch (error) {
      // Text the formatter cannot parse is left exactly as the user wrote it.
      button.setAttribute("title", "Could not format: " + error.message.split("\n")[0]);
      return;
    }
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: formatted } });
    textarea.value = formatted;
    view.focus();
  });
}

function errorPosition() {
  // The query page marks where SQLite reported an error: <p data-error-offset="N">.
  const marker = document.querySelector("[data-error-offset]");
  if (!marker) return null;
  const offset = parseInt(marker.getAttribute("data-error-offset"), 10);
  return Number.isFinite(offset) ? offset : null;
}

export function enhance(textarea) {
  const form = textarea.form;
  const run = () => (form ? submitForm(form) : false);
  const extensions = [
    lineNumbers(),
    highlightActiveLineGutter(),
    history(),
    drawSelection(),
    indentOnInput(),
    syntaxHighlighting(classHighlighter),
    bracketMatching(),
    closeBrackets(),
    autocompletion({ activateOnTyping: true }),
    highlightActiveLine(),
    placeholder("select * from ..."),
    sql({ dialect: SQLite, schema: readSchema(), upperCaseKeywords: false }),
    keymap.of([
      { key: "Mod-Enter", run, preventDefault: true },
      { key: "Shift-Enter", run, preventDefault: true },
      ...closeBracketsKeymap,
      ...defaultKeymap,
      ...historyKeymap,
      ...completionKeymap,
      indentWithTab,
    ]),
    EditorView.lineWrapping,
    // In the editor's own theme: CodeMirror's injected styles come after app.css.
    EditorView.theme({ ".cm-content, .cm-gutter": { minHeight: "8em" } }),
    EditorView.contentAttributes.of({ "data-gramm": "false" }),
    EditorView.updateListener.of((update) => {
      if (update.docChanged) textarea.value = update.state.doc.toString();
    }),
  ];
  const view = new EditorView({
    state: EditorState.create({ doc: textarea.value, extensions }),
  });
  textarea.parentNode.insertBefore(view.dom, textarea);
  textarea.hidden = true;
  textarea.setAttribute("aria-hidden", "true");
  view.dom.classList.add("sql-editor");
  // The editable area takes over the textarea's id and its <label>, so links, scripts
  // and assistive technology that looked for #sql-editor find the editor.
  const label = document.querySelector('label[for="sql-editor"]');
  textarea.id = "sql-editor-source";
  view.contentDOM.id = "sql-editor";
  if (label) {
    if (!label.id) label.id = "sql-editor-label";
    view.contentDOM.setAttribute("aria-labelledby", label.id);
    label.htmlFor = "";
    label.addEventListener("click", () => view.focus());
  } else {
    view.contentDOM.setAttribute("aria-label", "SQL query");
  }
  const offset = errorPosition();
  if (offset !== null && offset <= view.state.doc.length) {
    view.dispatch({ selection: { anchor: offset }, scrollIntoView: true });
  }
  setUpFormatButton(view, textarea);
  window.datasetteSqlEditor = view;
  return view;
}

function start() {
  const textarea = document.getElementById("sql-editor");
  if (textarea && textarea.tagName === "TEXTAREA") enhance(textarea);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
