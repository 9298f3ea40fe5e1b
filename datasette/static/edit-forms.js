/* Edit and insert forms: on a row page an "Edit this row" form, on a table page an
 * "Insert a row" form, for actors allowed to update or insert rows.
 *
 * `/-/form.json` says whether the actor may, and which control suits each column (chosen
 * on the server from the column statistics). The forms post JSON to the write API
 * (`/-/update`, `/-/insert`) and reload the page on success; errors are shown in place.
 */
(function () {
  "use strict";

  if (!window.fetch) {
    return;
  }
  var isRow = document.body.classList.contains("row");
  var filters = document.querySelector("form.filters");
  var pageUrl = window.location.pathname.replace(/\.html$/, "");
  var tableUrl = isRow ? pageUrl.replace(/\/[^/]+$/, "") : filters && filters.getAttribute("action");
  if (!tableUrl) {
    return;
  }
  var databaseUrl = tableUrl.replace(/\/[^/]+$/, "");

  function getJson(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.json() : null;
    });
  }

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (key) {
      node.setAttribute(key, attributes[key]);
    });
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function foreignKeyBox(field, id) {
    var input = element("input", { type: "text", id: id, autocomplete: "off" });
    var list = element("datalist", { id: id + "-options" });
    input.setAttribute("list", list.id);
    var url =
      databaseUrl + "/" + encodeURIComponent(field.references.table) +
      "/-/suggest.json?column=" + encodeURIComponent(field.references.column) + "&q=";
    input.addEventListener("input", function () {
      getJson(url + encodeURIComponent(input.value.slice(0, 100))).then(function (data) {
        list.textContent = "";
        ((data && data.suggestions) || []).forEach(function (item) {
          list.appendChild(element("option", { value: String(item.value) }));
        });
      });
    });
    return [input, list];
  }

  function control(field, id, value) {
    var nodes;
    if (field.control === "select") {
      var select = element("select", { id: id });
      select.appendChild(element("option", { value: "" }, ""));
      var options = field.options.slice();
      if (value !== null && value !== undefined && options.indexOf(value) === -1) {
        options.push(value);
      }
      options.forEach(function (option) {
        select.appendChild(element("option", { value: String(option) }, String(option)));
      });
      nodes = [select];
    } else if (field.control === "textarea") {
      nodes = [element("textarea", { id: id, rows: "4" })];
    } else if (field.control === "foreign-key") {
      nodes = foreignKeyBox(field, id);
    } else {
      var type = { number: "number", date: "date" }[field.control] || "text";
      nodes = [element("input", type === "number" ? { type: type, id: id, step: "any" } : { type: type, id: id })];
    }
    if (value !== null && value !== undefined) {
      nodes[0].value = typeof value === "object" ? JSON.stringify(value) : String(value);
    }
    nodes[0].setAttribute("data-field", field.name);
    nodes[0].setAttribute("data-control", field.control);
    return nodes;
  }

  function read(field, node) {
    var raw = node.value;
    if (raw === "") {
      return field.not_null ? "" : null;
    }
    if (field.control === "number") {
      return Number(raw);
    }
    return raw;
  }

  function buildForm(info, row) {
    var title = row ? "Edit this row" : "Insert a row";
    var details = element("details", { class: "edit-form" });
    details.appendChild(element("summary", {}, title));
    var form = element("form", { class: "core" });
    var used = [];
    info.fields.forEach(function (field, i) {
      if (row && field.is_pk) {
        return;  // the key identifies the row; the form does not change it
      }
      var id = "edit-field-" + i;
      var wrapper = element("p");
      var label = element("label", { for: id }, field.name);
      label.style.cssText = "display: inline-block; min-width: 8em; margin-right: 0.5em";
      wrapper.appendChild(label);
      var nodes = control(field, id, row ? row[field.name] : null);
      nodes.forEach(function (node) {
        wrapper.appendChild(node);
      });
      form.appendChild(wrapper);
      used.push([field, nodes[0]]);
    });
    var message = element("p", { class: "edit-form-message", role: "status" });
    form.appendChild(element("input", { type: "submit", value: row ? "Save" : "Insert" }));
    form.appendChild(message);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var values = {};
      used.forEach(function (pair) {
        var value = read(pair[0], pair[1]);
        if (!row && value === null && pair[0].is_pk) {
          return;  // let SQLite assign the key
        }
        values[pair[0].name] = value;
      });
      var url = row ? pageUrl + "/-/update" : tableUrl + "/-/insert";
      var body = row ? { update: values } : { row: values };
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      })
        .then(function (response) {
          return response.json().then(function (data) {
            if (response.ok && data.ok) {
              message.textContent = row ? "Saved." : "Inserted.";
              window.location.reload();
            } else {
              message.textContent = (data.errors || [data.error || "Failed"]).join("; ");
            }
          });
        })
        .catch(function () {
          message.textContent = "Could not reach the server.";
        });
    });
    details.appendChild(form);
    return details;
  }

  getJson(tableUrl + "/-/form.json").then(function (info) {
    if (!info || !(isRow ? info.can_update : info.can_insert)) {
      return;
    }
    var place = document.querySelector("h1");
    if (!place) {
      return;
    }
    if (!isRow) {
      place.parentNode.insertBefore(buildForm(info, null), place.nextSibling);
      return;
    }
    getJson(pageUrl + ".json").then(function (data) {
      var row = data && data.rows && data.rows[0];
      if (row) {
        place.parentNode.insertBefore(buildForm(info, row), place.nextSibling);
      }
    });
  });
})();
