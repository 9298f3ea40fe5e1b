/* Table page enhancements: a small actions menu on each column header.
 *
 * Everything here is optional: sorting, faceting and column selection all work through
 * plain links and the filter form when JavaScript is off. The menu only builds URLs from
 * the current location:
 *   - sort ascending / descending (`_sort` / `_sort_desc`, dropping `_next`)
 *   - facet by this column (`_facet`; only when DATASETTE_ALLOW_FACET is true)
 *   - hide this column (`_nocol`, or removing it from `_col`)
 *   - show all columns (drops `_col` and `_nocol`)
 * and shows the column's type. Keyboard: Enter or Space on the header's button opens the menu
 * with focus on its first action; arrow keys, Home and End move between actions; Escape (or
 * Tab away) closes it and focus returns to the button.
 */
(function () {
  "use strict";

  var table = document.querySelector("table.rows-and-columns");
  if (!table || !window.URLSearchParams) {
    return;
  }

  var openMenu = null;

  function currentParams() {
    return new URLSearchParams(window.location.search);
  }

  function urlWith(params) {
    var query = params.toString();
    return window.location.pathname + (query ? "?" + query : "");
  }

  function sortUrl(column, descending) {
    var params = currentParams();
    params.delete("_sort");
    params.delete("_sort_desc");
    params.delete("_next");
    params.set(descending ? "_sort_desc" : "_sort", column);
    return urlWith(params);
  }

  function facetUrl(column) {
    var params = currentParams();
    params.delete("_next");
    params.append("_facet", column);
    return urlWith(params);
  }

  function hideColumnUrl(column) {
    var params = currentParams();
    params.delete("_next");
    var selected = params.getAll("_col");
    if (selected.length) {
      params.delete("_col");
      var kept = selected.filter(function (name) {
        return name !== column;
      });
      kept.forEach(function (name) {
        params.append("_col", name);
      });
      if (!kept.length) {
        // `_col` naming nothing else would mean every column again.
        params.append("_nocol", column);
      }
    } else {
      params.append("_nocol", column);
    }
    return urlWith(params);
  }

  function showAllColumnsUrl() {
    var params = currentParams();
    params.delete("_col");
    params.delete("_nocol");
    params.delete("_next");
    return urlWith(params);
  }

  function closeMenu() {
    if (openMenu) {
      openMenu.menu.remove();
      openMenu.button.setAttribute("aria-expanded", "false");
      openMenu = null;
    }
  }

  function addItem(list, label, href) {
    var li = document.createElement("li");
    var a = document.createElement("a");
    a.href = href;
    a.textContent = label;
    a.setAttribute("rel", "nofollow");
    li.appendChild(a);
    list.appendChild(li);
  }

  // Arrow keys, Home and End move between the menu's actions (a WAI-ARIA menu pattern).
  function onMenuKeydown(ev) {
    if (!openMenu) {
      return;
    }
    var items = Array.prototype.slice.call(openMenu.menu.querySelectorAll("a[href]"));
    var index = items.indexOf(document.activeElement);
    var next = null;
    if (ev.key === "ArrowDown") {
      next = items[(index + 1) % items.length];
    } else if (ev.key === "ArrowUp") {
      next = items[(index - 1 + items.length) % items.length];
    } else if (ev.key === "Home") {
      next = items[0];
    } else if (ev.key === "End") {
      next = items[items.length - 1];
    } else if (ev.key === "Tab") {
      // Leaving the menu closes it; focus goes on from the button, as without the menu.
      var button = openMenu.button;
      closeMenu();
      button.focus();
      return;
    }
    if (next) {
      ev.preventDefault();
      next.focus();
    }
  }

  function buildMenu(th) {
    var column = th.getAttribute("data-column");
    var type = th.getAttribute("data-column-type");
    var isPk = th.getAttribute("data-is-pk") === "1";
    var notNull = th.getAttribute("data-column-not-null") === "1";
    var sortable = !!th.querySelector("a");
    var params = currentParams();

    var menu = document.createElement("div");
    menu.className = "column-actions-menu";
    menu.setAttribute("role", "menu");
    menu.setAttribute("aria-label", "Column " + column);
    menu.addEventListener("keydown", onMenuKeydown);

    var heading = document.createElement("p");
    heading.className = "column-actions-heading";
    heading.textContent = column;
    if (type) {
      var typeNote = document.createElement("span");
      typeNote.className = "column-actions-type";
      typeNote.textContent = " " + type + (notNull ? ", not null" : "") + (isPk ? ", primary key" : "");
      heading.appendChild(typeNote);
    }
    menu.appendChild(heading);

    var list = document.createElement("ul");
    if (sortable) {
      if (params.get("_sort") !== column) {
        addItem(list, "Sort ascending", sortUrl(column, false));
      }
      if (params.get("_sort_desc") !== column) {
        addItem(list, "Sort descending", sortUrl(column, true));
      }
    }
    var alreadyFaceted = params.getAll("_facet").indexOf(column) !== -1;
    if (window.DATASETTE_ALLOW_FACET && !alreadyFaceted && column !== "rowid") {
      addItem(list, "Facet by this", facetUrl(column));
    }
    if (!isPk && column !== "rowid") {
      addItem(list, "Hide this column", hideColumnUrl(column));
    }
    if (params.has("_col") || params.has("_nocol")) {
      addItem(list, "Show all columns", showAllColumnsUrl());
    }
    if (!list.children.length) {
      var none = document.createElement("li");
      none.className = "column-actions-none";
      none.textContent = "No actions";
      list.appendChild(none);
    }
    menu.appendChild(list);
    return menu;
  }

  function toggleMenu(th, button) {
    if (openMenu && openMenu.button === button) {
      closeMenu();
      return;
    }
    closeMenu();
    var menu = buildMenu(th);
    document.body.appendChild(menu);
    var rect = button.getBoundingClientRect();
    var left = rect.left + window.scrollX;
    var maxLeft = window.scrollX + document.documentElement.clientWidth - menu.offsetWidth - 8;
    menu.style.left = Math.max(window.scrollX + 4, Math.min(left, maxLeft)) + "px";
    menu.style.top = rect.bottom + window.scrollY + 4 + "px";
    button.setAttribute("aria-expanded", "true");
    openMenu = { menu: menu, button: button };
    var first = menu.querySelector("a");
    if (first) {
      first.focus();
    }
  }

  Array.prototype.forEach.call(
    table.querySelectorAll("thead th[data-column]"),
    function (th) {
      var column = th.getAttribute("data-column");
      // The extra "Link" column of compound-key and rowid tables is not a real column.
      if (column === "Link" && th.getAttribute("data-column-type") === "" && !th.querySelector("a")) {
        return;
      }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "column-actions-button";
      button.setAttribute("aria-haspopup", "true");
      button.setAttribute("aria-expanded", "false");
      button.setAttribute("aria-label", "Actions for column " + column);
      button.title = "Column actions";
      button.textContent = "\u25BE";
      button.addEventListener("click", function (ev) {
        ev.stopPropagation();
        toggleMenu(th, button);
      });
      th.appendChild(button);
    }
  );

  document.addEventListener("click", function (ev) {
    if (openMenu && !openMenu.menu.contains(ev.target)) {
      closeMenu();
    }
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && openMenu) {
      var button = openMenu.button;
      closeMenu();
      button.focus();
    }
  });
  window.addEventListener("resize", closeMenu);
})();
