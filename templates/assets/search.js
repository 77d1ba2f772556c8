/* mcp-catalog site script: search and filters on the index, tool filter, copy buttons.
 * Plain ES5-style script, no modules, workers or network calls: it must run from file:// under a strict CSP.
 * Search data comes from assets/search-index.js (window.MCPCatalogSearch); above ~5,000 servers the
 * entries sit in chunk files (window.MCPCatalogChunks[n]) loaded on the first search.
 * Entry keys: n name, t title, d description, p publisher, c category, g tags, o tool names,
 * r tier, a approval, x transport, k kind, e needs no egress, h pinned, z deprecated, u updated, l page path.
 * Every string from the catalog reaches the page through textContent only, never as HTML. */
(function () {
  "use strict";

  var FACETS = ["c", "r", "a", "x", "k", "g"];
  var FACET_NAMES = { c: "Category", r: "Tier", a: "Approval", x: "Transport", k: "Runs as", g: "Tag" };
  var FLAGS = { e: "Needs no egress", h: "Pinned by digest", z: "Deprecated shown" };
  var ROOT = document.body.getAttribute("data-root") || "";
  /* Fewer cards than the server-rendered pages (which serve readers without JavaScript): drawing
   * cards dominates a keystroke at 10,000 servers; the pager below the list reaches the rest. */
  var RESULTS_PER_PAGE = 60;

  function words(text) {
    return String(text).toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  }

  /* Per field, its lower-cased words joined as " w1 w2 ...": a prefix match of a word is then one
   * native indexOf(" " + term) instead of a loop over tokens (the hot path at 10,000 servers). */
  function prepare(entry) {
    var toolWords = [];
    var tagWords = [];
    entry.o.forEach(function (name) { toolWords = toolWords.concat(words(name)); });
    entry.g.forEach(function (tag) { tagWords = tagWords.concat(words(tag)); });
    entry._name = " " + words(entry.n + " " + entry.t).join(" ") + " ";
    entry._tools = " " + toolWords.join(" ");
    entry._tags = " " + tagWords.join(" ");
    entry._desc = " " + words(entry.d + " " + entry.p).join(" ");
    entry._toolNames = " " + entry.o.join(" ").toLowerCase();
    entry._text = (entry.n + " " + entry.t + " " + entry.o.join(" ") + " " + entry.g.join(" ") + " " + entry.d).toLowerCase();
    return entry;
  }

  /* words, "quoted phrases", -exclusions and tool:name, as the search help describes. */
  function parseQuery(query) {
    var terms = [];
    var pattern = /(-?)(?:(tool):)?(?:"([^"]*)"?|(\S+))/gi;
    var match;
    while ((match = pattern.exec(query)) !== null) {
      var negate = match[1] === "-";
      if (match[3] !== undefined) {
        var phrase = match[3].toLowerCase().trim();
        if (phrase) { terms.push({ phrase: phrase, negate: negate, tool: Boolean(match[2]) }); }
      } else if (match[2]) {
        var name = (match[4] || "").toLowerCase();
        if (name) { terms.push({ toolName: " " + name, negate: negate }); }
      } else {
        words(match[4] || "").forEach(function (word) {
          terms.push({ word: " " + word, whole: " " + word + " ", negate: negate });
        });
      }
    }
    return terms;
  }

  /* Score of one term: name/title > tools > tags > description; 0 when it does not match. */
  function termScore(entry, term) {
    if (term.phrase !== undefined) {
      if (term.tool) { return entry._toolNames.indexOf(" " + term.phrase) >= 0 ? 4 : 0; }
      return entry._text.indexOf(term.phrase) >= 0 ? 3 : 0;
    }
    if (term.toolName !== undefined) { return entry._toolNames.indexOf(term.toolName) >= 0 ? 4 : 0; }
    if (entry._name.indexOf(term.word) >= 0) { return entry._name.indexOf(term.whole) >= 0 ? 10 : 8; }
    if (entry._tools.indexOf(term.word) >= 0) { return 4; }
    if (entry._tags.indexOf(term.word) >= 0) { return 2; }
    return entry._desc.indexOf(term.word) >= 0 ? 1 : 0;
  }

  function queryScore(entry, terms) {
    var total = 0;
    for (var i = 0; i < terms.length; i++) {
      var score = termScore(entry, terms[i]);
      if (terms[i].negate) {
        if (score > 0) { return -1; }
      } else {
        if (score === 0) { return -1; }
        total += score;
      }
    }
    return total;
  }

  /* ---- state <-> URL hash: a search can be shared and survives a reload ---- */
  function readHash() {
    var state = { q: "", sort: "name", page: 1 };
    location.hash.replace(/^#/, "").split("&").forEach(function (pair) {
      if (!pair) { return; }
      var parts = pair.split("=");
      var key, value;
      try {
        key = decodeURIComponent(parts[0]);
        value = decodeURIComponent((parts[1] || "").replace(/\+/g, " "));
      } catch (malformed) {
        return; /* a mangled link: skip that pair, keep the rest */
      }
      if (key === "q" || key === "sort" || FACETS.indexOf(key) >= 0) { state[key] = value; }
      if (Object.prototype.hasOwnProperty.call(FLAGS, key)) { state[key] = value === "1"; }
      if (key === "page") { state.page = Math.max(1, parseInt(value, 10) || 1); }
    });
    return state;
  }

  function writeHash(state) {
    var parts = [];
    if (state.q) { parts.push("q=" + encodeURIComponent(state.q)); }
    FACETS.forEach(function (key) { if (state[key]) { parts.push(key + "=" + encodeURIComponent(state[key])); } });
    Object.keys(FLAGS).forEach(function (key) { if (state[key]) { parts.push(key + "=1"); } });
    if (state.sort && state.sort !== "name") { parts.push("sort=" + state.sort); }
    if (state.page > 1) { parts.push("page=" + state.page); }
    var hash = parts.length ? "#" + parts.join("&") : "";
    if (hash !== location.hash && !(hash === "" && location.hash === "#")) {
      history.replaceState(null, "", hash || location.pathname + location.search);
    }
  }

  /* ---- rendering (DOM nodes and textContent only) ---- */
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  var BADGES = {
    validated: ["Validated", "good"], community: ["Community", "warn"],
    approved: ["Approved", "good"], expired: ["Approval expired", "bad"], rejected: ["Rejected", "bad"],
    "under-review": ["Under review", "warn"], "not-reviewed": ["Not reviewed", "warn"]
  };

  function badge(key, glossary) {
    var spec = BADGES[key];
    var link = el("a", "badge badge-" + spec[1], spec[0]);
    link.href = ROOT + "about/index.html#" + glossary;
    return link;
  }

  function fact(list, label, value, href) {
    var wrap = el("div");
    wrap.appendChild(el("dt", "", label));
    var dd = el("dd");
    if (href) { var a = el("a", "", value); a.href = href; dd.appendChild(a); } else { dd.textContent = value; }
    wrap.appendChild(dd);
    list.appendChild(wrap);
  }

  function card(entry, data) {
    var item = el("li", entry.z ? "card deprecated" : "card");
    item.setAttribute("data-name", entry.n);
    var title = el("h3", "card-title");
    var link = el("a", "", entry.t);
    link.href = ROOT + entry.l;
    title.appendChild(link);
    if (entry.z) { title.appendChild(document.createTextNode(" ")); title.appendChild(el("span", "marker", "Deprecated")); }
    item.appendChild(title);
    item.appendChild(el("p", "card-desc", entry.d));
    var badges = el("p", "card-badges");
    badges.appendChild(badge(entry.r, "glossary-tier"));
    badges.appendChild(document.createTextNode(" "));
    badges.appendChild(badge(entry.a, "glossary-approval"));
    item.appendChild(badges);
    if (entry.nt.length) {  /* the same warnings as the server-rendered cards (derived.notices) */
      var notices = el("p", "card-notices");
      entry.nt.forEach(function (notice, index) {
        if (index) { notices.appendChild(document.createTextNode(" ")); }
        notices.appendChild(el("span", "notice notice-" + notice[0], notice[1]));
      });
      item.appendChild(notices);
    }
    var facts = el("dl", "card-facts");
    if (entry.p) { fact(facts, "Publisher", entry.p); }
    fact(facts, "Category", data.facets.c[entry.c] || entry.c, ROOT + "categories/" + entry.c + "/index.html");
    fact(facts, "Transport", data.facets.x[entry.x] || entry.x);
    fact(facts, "Tools", String(entry.o.length));
    fact(facts, "Updated", entry.u);
    item.appendChild(facts);
    return item;
  }

  function SearchPage(data, entries) {
    this.data = data;
    this.entries = entries.map(prepare);
    this.state = readHash();
    this.input = document.getElementById("q");
    this.list = document.getElementById("results");
    this.status = document.getElementById("status");
    /* Maps keyed by catalog text have no prototype: a server or tag called "constructor" is just a key. */
    this.cards = Object.create(null);
  }

  SearchPage.prototype.syncControls = function () {
    var state = this.state;
    this.input.value = state.q || "";
    FACETS.forEach(function (key) { document.getElementById("f-" + key).value = state[key] || ""; });
    Object.keys(FLAGS).forEach(function (key) { document.getElementById("f-" + key).checked = Boolean(state[key]); });
    document.getElementById("sort").value = state.sort === "updated" ? "updated" : "name";
  };

  /* One pass per entry: an entry failing no facet counts for every facet, one failing exactly one
   * facet counts only for that facet (the counts say what choosing another value would give). */
  SearchPage.prototype.run = function () {
    var state = this.state;
    var terms = parseQuery(state.q || "");
    var matches = [];
    var counts = Object.create(null);
    var active = FACETS.filter(function (key) { return Boolean(state[key]); });
    FACETS.forEach(function (key) { counts[key] = Object.create(null); });
    for (var i = 0; i < this.entries.length; i++) {
      var entry = this.entries[i];
      if ((entry.z && !state.z) || (state.e && !entry.e) || (state.h && !entry.h)) { continue; }
      var score = terms.length ? queryScore(entry, terms) : 0;
      if (score < 0) { continue; }
      var failed = null;
      var failures = 0;
      for (var a = 0; a < active.length && failures < 2; a++) {
        var key = active[a];
        if (key === "g" ? entry.g.indexOf(state.g) < 0 : entry[key] !== state[key]) { failed = key; failures += 1; }
      }
      if (failures > 1) { continue; }
      if (failures === 0) { matches.push({ entry: entry, score: score }); }
      for (var f = 0; f < FACETS.length; f++) {
        var facet = FACETS[f];
        if (failures === 1 && facet !== failed) { continue; }
        var values = facet === "g" ? entry.g : [entry[facet]];
        for (var v = 0; v < values.length; v++) { counts[facet][values[v]] = (counts[facet][values[v]] || 0) + 1; }
      }
    }
    this.sortMatches(matches, terms.length > 0);
    this.render(matches, counts);
  };

  SearchPage.prototype.sortMatches = function (matches, ranked) {
    var byUpdated = this.state.sort === "updated";
    matches.sort(function (a, b) {
      if (byUpdated && a.entry.u !== b.entry.u) { return a.entry.u < b.entry.u ? 1 : -1; }
      if (!byUpdated && ranked && a.score !== b.score) { return b.score - a.score; }
      return a.entry.n < b.entry.n ? -1 : (a.entry.n > b.entry.n ? 1 : 0);
    });
  };

  SearchPage.prototype.card = function (entry) {
    /* Cards are built once per server and reused: typing then only moves existing nodes. */
    if (!this.cards[entry.n]) { this.cards[entry.n] = card(entry, this.data); }
    return this.cards[entry.n];
  };

  SearchPage.prototype.render = function (matches, counts) {
    var size = RESULTS_PER_PAGE;
    var pages = Math.max(1, Math.ceil(matches.length / size));
    var page = Math.min(this.state.page, pages);
    var fragment = document.createDocumentFragment();
    var shown = matches.slice((page - 1) * size, page * size);
    for (var i = 0; i < shown.length; i++) { fragment.appendChild(this.card(shown[i].entry)); }
    this.list.textContent = "";
    this.list.appendChild(fragment);
    this.status.textContent = matches.length === 1 ? "1 server" : matches.length + " servers";
    document.getElementById("no-results").hidden = matches.length > 0;
    this.renderCounts(counts);
    this.renderChips();
    this.renderPages(page, pages);
  };

  SearchPage.prototype.renderCounts = function (counts) {
    var labels = this.data.facets;
    var state = this.state;
    FACETS.forEach(function (key) {
      var select = document.getElementById("f-" + key);
      for (var i = 1; i < select.options.length; i++) {
        var option = select.options[i];
        var count = counts[key][option.value] || 0;
        option.textContent = labels[key][option.value] + " (" + count + ")";
        option.disabled = count === 0 && state[key] !== option.value;
      }
    });
  };

  SearchPage.prototype.renderChips = function () {
    var chips = document.getElementById("chips");
    var self = this;
    chips.textContent = "";
    var add = function (text, clear) {
      var item = el("li");
      var button = el("button", "", text + " \u00d7");
      button.type = "button";
      button.setAttribute("aria-label", "Remove filter " + text);
      button.addEventListener("click", function () { clear(); self.state.page = 1; self.update(); });
      item.appendChild(button);
      chips.appendChild(item);
    };
    FACETS.forEach(function (key) {
      if (self.state[key]) {
        var labels = self.data.facets[key];
        add(FACET_NAMES[key] + ": " + ((Object.prototype.hasOwnProperty.call(labels, self.state[key]) && labels[self.state[key]]) || self.state[key]),
          function () { self.state[key] = ""; });
      }
    });
    Object.keys(FLAGS).forEach(function (key) {
      if (self.state[key]) { add(FLAGS[key], function () { self.state[key] = false; }); }
    });
  };

  SearchPage.prototype.renderPages = function (page, pages) {
    var nav = document.getElementById("result-pages");
    var self = this;
    nav.textContent = "";
    nav.hidden = pages < 2;
    var list = el("ul");
    for (var number = 1; number <= pages; number++) {
      var item = el("li");
      var button = el("button", "", String(number));
      button.type = "button";
      if (number === page) { button.setAttribute("aria-current", "page"); }
      button.addEventListener("click", (function (target) {
        return function () { self.state.page = target; self.update(); window.scrollTo(0, 0); };
      })(number));
      item.appendChild(button);
      list.appendChild(item);
    }
    nav.appendChild(list);
  };

  SearchPage.prototype.update = function () {
    writeHash(this.state);
    this.syncControls();
    this.run();
  };

  SearchPage.prototype.bind = function () {
    var self = this;
    this.input.addEventListener("input", function () { self.state.q = self.input.value; self.state.page = 1; self.update(); });
    FACETS.forEach(function (key) {
      document.getElementById("f-" + key).addEventListener("change", function (event) {
        self.state[key] = event.target.value; self.state.page = 1; self.update();
      });
    });
    Object.keys(FLAGS).forEach(function (key) {
      document.getElementById("f-" + key).addEventListener("change", function (event) {
        self.state[key] = event.target.checked; self.state.page = 1; self.update();
      });
    });
    document.getElementById("sort").addEventListener("change", function (event) {
      self.state.sort = event.target.value; self.update();
    });
    document.getElementById("clear").addEventListener("click", function () {
      self.state = { q: "", sort: self.state.sort, page: 1 }; self.update(); self.input.focus();
    });
    window.addEventListener("hashchange", function () { self.state = readHash(); self.syncControls(); self.run(); });
  };

  /* Chunked data: classic scripts appended one after another (no fetch, so file:// works). */
  function loadChunks(data, done) {
    var entries = [];
    var index = 0;
    var next = function () {
      if (index >= data.chunks.length) { done(entries); return; }
      index += 1;
      var script = document.createElement("script");
      script.src = ROOT + "assets/" + data.chunks[index - 1];
      script.onload = function () { entries = entries.concat(window.MCPCatalogChunks[index]); next(); };
      document.body.appendChild(script);
    };
    next();
  }

  function startSearch() {
    var data = window.MCPCatalogSearch;
    var box = document.getElementById("search");
    if (!data || !box || !document.getElementById("results")) { return; }
    box.hidden = false;
    var serverPages = document.getElementById("index-pages");
    if (serverPages) { serverPages.hidden = true; }
    var begin = function (entries) {
      var page = new SearchPage(data, entries);
      page.bind();
      /* At 10,000 servers the data takes a second to load: what was typed meanwhile is the query. */
      var typed = page.input.value;
      if (typed && typed !== (page.state.q || "")) {
        page.state.q = typed;
        page.state.page = 1;
        page.update();
      } else {
        page.syncControls();
        page.run();
      }
      window.MCPCatalogPage = page;
    };
    if (!data.chunks.length) { begin(data.entries); return; }
    loadChunks(data, begin);
  }

  /* ---- tools page: narrow the table as you type ---- */
  function startToolFilter() {
    var box = document.getElementById("tool-search");
    var table = document.getElementById("tool-table");
    if (!box || !table) { return; }
    box.hidden = false;
    var input = document.getElementById("tool-q");
    var status = document.getElementById("tool-status");
    var rows = Array.prototype.slice.call(table.tBodies[0].rows).map(function (row) {
      return { row: row, text: row.textContent.toLowerCase() };
    });
    var apply = function () {
      var terms = words(input.value);
      var shown = 0;
      rows.forEach(function (item) {
        var visible = terms.every(function (term) { return item.text.indexOf(term) >= 0; });
        item.row.hidden = !visible;
        if (visible) { shown += 1; }
      });
      status.textContent = shown + " of " + rows.length + " tools";
    };
    input.addEventListener("input", apply);
    apply();
  }

  /* ---- copy buttons: clipboard when allowed, else select the text so Ctrl+C works ---- */
  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function startCopyButtons() {
    Array.prototype.forEach.call(document.querySelectorAll("button.copy"), function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        var text = source.textContent;
        selectText(source);
        var done = function () { button.textContent = "Copied"; };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(text).then(done, function () { button.textContent = "Selected: press Ctrl+C"; });
        } else {
          button.textContent = "Selected: press Ctrl+C";
        }
      });
    });
  }

  startSearch();
  startToolFilter();
  startCopyButtons();
})();
