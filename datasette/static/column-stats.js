/* Column statistics on the table page: value suggestions in the filter form, and a few
 * statistics in each column's actions menu.
 *
 * Both read JSON the server keeps (`/-/suggest.json`, `/-/stats.json` below the table's
 * URL, taken from the filter form's action). Without JavaScript, or when those answer
 * with an error (a view, a table the indexer has not reached), the page is unchanged.
 */
(function () {
  "use strict";

  var form = document.querySelector("form.filters");
  if (!form || !window.fetch) {
    return;
  }
  var tableUrl = form.getAttribute("action").replace(/\/$/, "");
  var DELAY_MS = 150;
  var listCount = 0;

  /* -- value suggestions --------------------------------------------------------------- */

  function columnSelectFor(input) {
    var row = input.closest(".filter-row");
    return row ? row.querySelector("select[name^='_filter_column']") : null;
  }

  function fillList(list, suggestions) {
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    suggestions.forEach(function (item) {
      if (item.value === null || typeof item.value === "object") {
        return;
      }
      var option = document.createElement("option");
      option.value = String(item.value);
      option.label = String(item.value) + " (" + item.count + ")";
      list.appendChild(option);
    });
  }

  function attachSuggestions(input) {
    var select = columnSelectFor(input);
    if (!select) {
      return;
    }
    var list = document.createElement("datalist");
    listCount += 1;
    list.id = "column-suggestions-" + listCount;
    input.parentNode.insertBefore(list, input.nextSibling);
    input.setAttribute("list", list.id);
    input.setAttribute("autocomplete", "off");
    var timer = null;
    var latest = 0;

    function update() {
      var column = select.value;
      if (!column) {
        fillList(list, []);
        return;
      }
      var asked = ++latest;
      var url =
        tableUrl + "/-/suggest.json?column=" + encodeURIComponent(column) +
        "&q=" + encodeURIComponent(input.value.slice(0, 100));
      fetch(url, { credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.json() : { suggestions: [] };
        })
        .then(function (data) {
          if (asked === latest) {
            fillList(list, data.suggestions || []);
            list.setAttribute("data-column", column);
          }
        })
        .catch(function () {});
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(update, DELAY_MS);
    }

    input.addEventListener("input", later);
    input.addEventListener("focus", later);
    select.addEventListener("change", later);
  }

  Array.prototype.forEach.call(form.querySelectorAll("input.filter-value"), attachSuggestions);

  /* -- statistics in the column menu ----------------------------------------------------- */

  var statsPromise = null;

  function tableStats() {
    if (!statsPromise) {
      statsPromise = fetch(tableUrl + "/-/stats.json", { credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .catch(function () {
          return null;
        });
    }
    return statsPromise;
  }

  function shown(value) {
    if (value === null || value === undefined) {
      return "null";
    }
    if (typeof value === "object") {
      return "(binary)";
    }
    var text = String(value);
    return text.length > 40 ? text.slice(0, 40) + "…" : text;
  }

  function addStats(menu) {
    var heading = menu.querySelector(".column-actions-heading");
    if (!heading || !heading.firstChild) {
      return;
    }
    var column = heading.firstChild.textContent;
    tableStats().then(function (stats) {
      if (!stats || stats.state === "off" || !stats.columns || !menu.isConnected) {
        return;
      }
      var entry = null;
      stats.columns.forEach(function (c) {
        if (c.name === column) {
          entry = c;
        }
      });
      if (!entry) {
        return;
      }
      var list = document.createElement("dl");
      list.className = "column-stats";
      list.style.cssText =
        "display: grid; grid-template-columns: auto 1fr; gap: 0 0.6em; margin: 0.4em 0 0; font-size: 0.85em";
      var rows = [
        ["min", shown(entry.min)],
        ["max", shown(entry.max)],
        ["nulls", entry.null_count.toLocaleString()],
        ["distinct", (entry.distinct_exact ? "" : "≥ ") + entry.distinct_count.toLocaleString()],
      ];
      rows.forEach(function (pair) {
        var dt = document.createElement("dt");
        dt.textContent = pair[0];
        var dd = document.createElement("dd");
        dd.textContent = pair[1];
        list.appendChild(dt);
        list.appendChild(dd);
      });
      if (stats.stale) {
        list.title = "The table changed since these were computed; they are being updated.";
      }
      menu.appendChild(list);
    });
  }

  new MutationObserver(function (mutations) {
    mutations.forEach(function (mutation) {
      Array.prototype.forEach.call(mutation.addedNodes, function (node) {
        if (node.nodeType === 1 && node.classList.contains("column-actions-menu")) {
          addStats(node);
        }
      });
    });
  }).observe(document.body, { childList: true });
})();
