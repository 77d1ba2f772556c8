/* mcp-catalog site script: search and filters on the index, tool and review tables, copy buttons.
 * Plain ES5-style script, no modules, workers or network calls: it must run from file:// under a strict CSP.
 * Search data comes from assets/search-index.js (window.MCPCatalogSearch); above ~5,000 servers the
 * entries sit in chunk files (window.MCPCatalogChunks[n]) loaded on the first search.
 * Entry keys: n name, t title, d description, p publisher, c category, g tags, o tool names, od the names
 * tool overrides deploy them under (only when one renames a tool; searched as tool names),
 * b [tools, read-only, destructive, open-world] counts, r tier, a approval, ae approval explanation,
 * v approval expiry (ISO date or ""), x transport, k kind, w egress kind, y egress hosts, s secret names,
 * h pinned, z deprecated, nt notice kinds (derived.notices), u updated, l page path, f its card's skeleton.
 * What the script draws (a search's cards, the tools search's rows, the reviewer's rows across pages) are
 * clones of skeletons: the partial (_card.html, _tool_rows.html, _review_row.html, overrides included)
 * rendered by the build with every text a slot ⟦name⟧ and the root ⟦root⟧, one per variant (the item's
 * state), each data file holding the skeletons its items use (render/site/drawn.py). The slots are
 * filled with textContent and setAttribute only: source text never becomes markup. */
(function () {
  "use strict";

  var FACETS = ["c", "r", "a", "x", "k", "g"];
  var FACET_NAMES = { c: "Category", r: "Tier", a: "Approval", x: "Transport", k: "Runs as", g: "Tag" };
  var FLAG_KEYS = ["n", "e", "d", "s", "h", "z"];
  var ROOT = document.body.getAttribute("data-root") || "";
  var SLOT = /\u27e6([a-z_.]+)\u27e7/g;
  var DAY = 86400000;

  function words(text) {
    return String(text).toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  }

  function daysBetween(from, to) {
    return Math.round((Date.parse(to) - Date.parse(from)) / DAY);
  }

  /* Per field, its lower-cased words joined as " w1 w2 ...": a prefix match of a word is then one
   * native indexOf(" " + term) instead of a loop over tokens (the hot path at 10,000 servers). */
  function prepare(entry, data) {
    var toolWords = [];
    var tagWords = [];
    var b = entry.b;
    var toolNames = entry.o.concat(entry.od || []);
    toolNames.forEach(function (name) { toolWords = toolWords.concat(words(name)); });
    entry.g.forEach(function (tag) { tagWords = tagWords.concat(words(tag)); });
    var behaviour = (b[1] ? " read-only" : "") + (b[2] ? " destructive" : "") + (b[3] ? " open-world" : "");
    entry._name = " " + words(entry.n + " " + entry.t).join(" ") + " ";
    entry._tools = " " + toolWords.join(" ");
    entry._tags = " " + tagWords.join(" ");
    entry._desc = " " + words(entry.d + " " + entry.p + behaviour + " " + entry.y.join(" ") + " " + entry.s.join(" ")).join(" ");
    entry._toolNames = " " + toolNames.join(" ").toLowerCase();
    entry._hosts = " " + entry.y.join(" ").toLowerCase();
    entry._wildcards = entry.y.filter(function (host) { return host.charAt(0) === "."; }).map(function (host) { return host.toLowerCase(); });
    entry._secrets = " " + entry.s.join(" ").toLowerCase();
    entry._text = (entry.n + " " + entry.t + " " + toolNames.join(" ") + " " + entry.g.join(" ") + " " + entry.d).toLowerCase();
    entry._left = entry.v && entry.a === "approved" ? daysBetween(data.asOf, entry.v) : -1;
    /* The checkbox filters, as site_pages.FLAGS defines them. */
    entry.n_ = entry.w === "hosts" || entry.w === "any" || entry.w === "remote";
    entry.e_ = entry.w === "none";
    entry.d_ = b[2] > 0;
    entry.s_ = entry._left >= 0 && entry._left <= data.soonDays;
    entry.h_ = entry.h;
    entry.z_ = entry.z;
    return entry;
  }

  /* is:<behaviour or state>: what each word asks of an entry. */
  var IS = {
    "read-only": function (e) { return e.b[0] > 0 && e.b[1] === e.b[0]; },
    destructive: function (e) { return e.b[2] > 0; },
    "open-world": function (e) { return e.b[3] > 0; },
    pinned: function (e) { return e.h; },
    remote: function (e) { return e.k === "remote"; },
    container: function (e) { return e.k === "container"; },
    deprecated: function (e) { return e.z; },
    validated: function (e) { return e.r === "validated"; },
    community: function (e) { return e.r === "community"; }
  };

  /* Whether a declared host with a leading dot admits `host`: ".github.com" admits github.com and
   * every subdomain (models.HOST, as ToolHive's egress proxy reads it), so api.github.com. */
  function admits(wildcard, host) {
    return host === wildcard.slice(1) || (host.length > wildcard.length && host.slice(-wildcard.length) === wildcard);
  }

  /* A key:value term as a predicate, or null when the key is not a search key (then it is words). */
  function factTerm(key, value) {
    if (key === "is" && Object.prototype.hasOwnProperty.call(IS, value)) { return IS[value]; }
    if (key === "egress") {
      if (value === "none" || value === "any") { return function (e) { return e.w === value; }; }
      return function (e) {
        return e._hosts.indexOf(value) >= 0 || e._wildcards.some(function (wildcard) { return admits(wildcard, value); });
      };
    }
    if (key === "approval") { return function (e) { return e.a.indexOf(value) === 0; }; }
    if (key === "secret") { return function (e) { return e._secrets.indexOf(" " + value) >= 0; }; }
    var within = key === "expires" && /^<(\d+)d?$/.exec(value);
    if (within) {
      var days = parseInt(within[1], 10);
      return function (e) { return e._left >= 0 && e._left <= days; };
    }
    return null;
  }

  /* words, "quoted phrases", -exclusions, tool:name and the fact terms, as the search help describes. */
  function parseQuery(query) {
    var terms = [];
    var pattern = /(-?)(?:([a-z]+):)?(?:"([^"]*)"?|(\S+))/gi;
    var match;
    while ((match = pattern.exec(query)) !== null) {
      /* A key with no value yet ("tool:" while typing) narrows nothing: it is not the word "tool". */
      if (match[4] !== undefined && /^[a-z]+:$/i.test(match[4])) { continue; }
      var negate = match[1] === "-";
      var key = (match[2] || "").toLowerCase();
      var value = (match[3] !== undefined ? match[3] : match[4] || "").toLowerCase().trim();
      if (key === "tool") {
        if (value) { terms.push({ toolName: " " + value, negate: negate, tool: true }); }
        continue;
      }
      var test = key && value ? factTerm(key, value) : null;
      if (test) { terms.push({ test: test, negate: negate }); continue; }
      var text = (key ? key + ":" : "") + value;
      if (match[3] !== undefined) {
        if (value) { terms.push({ phrase: value, negate: negate }); }
      } else {
        words(text).forEach(function (word) {
          terms.push({ word: " " + word, whole: " " + word + " ", negate: negate });
        });
      }
    }
    return terms;
  }

  /* Score of one term: name/title > tools > tags > description; 0 when it does not match. */
  function termScore(entry, term) {
    if (term.test) { return term.test(entry) ? 1 : 0; }
    if (term.tool) { return entry._toolNames.indexOf(term.toolName) >= 0 ? 4 : 0; }
    if (term.phrase !== undefined) { return entry._text.indexOf(term.phrase) >= 0 ? 3 : 0; }
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

  /* is:deprecated asks for deprecated servers: they are then shown without the checkbox. */
  function asksDeprecated(query) {
    return /(^|\s)is:deprecated(\s|$)/i.test(query || "");
  }

  /* ---- state <-> URL hash: a search can be shared and survives a reload ---- */

  /* The server-rendered page this is (page/N/index.html is N): with no search, filter or other
   * order in the hash, the results open at that page, as the server-rendered list shows it. */
  var SERVER_PAGE = (function () {
    var current = document.querySelector("#index-pages [aria-current=page]");
    return current ? Math.max(1, parseInt(current.textContent, 10) || 1) : 1;
  }());

  /* Whether the state asks for anything but the catalog in name order (then page 1 is its start). */
  function narrowed(state) {
    return Boolean(state.q) || (state.sort || "name") !== "name" ||
      FACETS.some(function (key) { return state[key]; }) || FLAG_KEYS.some(function (key) { return state[key]; });
  }

  function defaultPage(state) {
    return narrowed(state) ? 1 : SERVER_PAGE;
  }

  function readHash() {
    var state = { q: "", sort: "name", page: 0 };
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
      if (key === "q" || FACETS.indexOf(key) >= 0) { state[key] = value; }
      /* Only the orders the select offers: writeHash writes the value as it is. */
      if (key === "sort") { state.sort = value === "updated" ? "updated" : "name"; }
      if (FLAG_KEYS.indexOf(key) >= 0) { state[key] = value === "1"; }
      if (key === "page") { state.page = Math.max(1, parseInt(value, 10) || 1); }
    });
    if (!state.page) { state.page = defaultPage(state); }
    return state;
  }

  /* A change the user made is a step Back undoes (pushState); typing is one step per pause, not
   * per keystroke: the first keystroke after TYPING_PAUSE_MS pushes, the rest replace. */
  var TYPING_PAUSE_MS = 1000;

  function writeHash(state, push) {
    var parts = [];
    if (state.q) { parts.push("q=" + encodeURIComponent(state.q)); }
    FACETS.forEach(function (key) { if (state[key]) { parts.push(key + "=" + encodeURIComponent(state[key])); } });
    FLAG_KEYS.forEach(function (key) { if (state[key]) { parts.push(key + "=1"); } });
    if (state.sort && state.sort !== "name") { parts.push("sort=" + state.sort); }
    if (state.page !== defaultPage(state)) { parts.push("page=" + state.page); }
    var hash = parts.length ? "#" + parts.join("&") : "";
    if (hash !== location.hash && !(hash === "" && location.hash === "#")) {
      history[push ? "pushState" : "replaceState"](null, "", hash || location.pathname + location.search);
    }
  }

  /* ---- rendering (DOM nodes and textContent only) ---- */
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  /* The texts a card's skeleton holds slots for, of one entry (site_views.CARD_TEXTS). */
  function cardValues(entry, data) {
    var tier = data.badges.r[entry.r];
    var approval = data.badges.a[entry.a];
    return {
      name: entry.n, title: entry.t, description: entry.d, publisher: entry.p || "", page: entry.l,
      category: data.facets.c[entry.c] || entry.c, category_page: "categories/" + entry.c + "/index.html",
      "tier.label": tier[0], "tier.explanation": tier[2], "approval.label": approval[0], "approval.explanation": entry.ae,
      expires: entry.v, transport: data.facets.x[entry.x] || entry.x, tools: String(entry.o.length),
      tools_label: entry.o.length === 1 ? "1 tool" : entry.o.length + " tools", updated: entry.u, root: ROOT
    };
  }

  function fillSlots(text, values) {
    return text.replace(SLOT, function (slot, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : slot;
    });
  }

  /* Each skeleton parsed once (by its text: data files repeat the few there are). */
  var parsedSkeletons = Object.create(null);

  /* The elements of a skeleton (see the head of this file) with every slot filled by `values`, as
   * text nodes' text and attribute values, never as markup. */
  function draw(skeleton, values) {
    if (!parsedSkeletons[skeleton]) {
      var parsed = document.createElement("template");
      parsed.innerHTML = skeleton;  /* the build's rendering of a template: no source text in it */
      parsedSkeletons[skeleton] = parsed.content;
    }
    var copy = parsedSkeletons[skeleton].cloneNode(true);
    var walker = document.createTreeWalker(copy, 5 /* elements and text */);
    for (var current = walker.nextNode(); current; current = walker.nextNode()) {
      if (current.nodeType === 3) {
        if (current.nodeValue.indexOf("\u27e6") >= 0) { current.nodeValue = fillSlots(current.nodeValue, values); }
        continue;
      }
      for (var i = 0; i < current.attributes.length; i++) {
        var attribute = current.attributes[i];
        if (attribute.value.indexOf("\u27e6") >= 0) { current.setAttribute(attribute.name, fillSlots(attribute.value, values)); }
      }
    }
    return Array.prototype.slice.call(copy.children);
  }

  /* The page numbers a pager shows: the first, the last and two either side of `page`, with a
   * gap (0) where numbers are left out; the same window as templates/_pagination.html. */
  function pageWindow(page, pages) {
    var shown = [];
    for (var number = 1; number <= pages; number++) {
      if (number === 1 || number === pages || Math.abs(number - page) <= 2) { shown.push(number); }
      else if (number === page - 3 || number === page + 3) { shown.push(0); }
    }
    return shown;
  }

  function SearchPage(data, entries) {
    this.data = data;
    this.entries = entries.map(function (entry) { return prepare(entry, data); });
    this.state = readHash();
    this.input = document.getElementById("q");
    this.list = document.getElementById("results");
    this.status = document.getElementById("status");
    this.size = data.pageSize;
    this.typing = null;
    this.drawn = location.hash;
    /* Maps keyed by catalog text have no prototype: a server or tag called "constructor" is just a key. */
    this.cards = Object.create(null);
    /* The server-rendered cards are what draw would make (the build checks it): keep them, so the
     * first results draw moves nothing it does not have to. */
    var cards = this.cards;
    Array.prototype.forEach.call(this.list.children, function (item) {
      var name = item.getAttribute("data-name");
      if (name !== null) { cards[name] = item; }
    });
    this.flagLabels = Object.create(null);
    var labels = this.flagLabels;
    FLAG_KEYS.forEach(function (key) {
      labels[key] = document.querySelector("label[for='f-" + key + "']").firstChild.nodeValue.trim();
    });
  }

  SearchPage.prototype.syncControls = function () {
    var state = this.state;
    this.input.value = state.q || "";
    FACETS.forEach(function (key) { document.getElementById("f-" + key).value = state[key] || ""; });
    FLAG_KEYS.forEach(function (key) { document.getElementById("f-" + key).checked = Boolean(state[key]); });
    document.getElementById("sort").value = state.sort === "updated" ? "updated" : "name";
  };

  /* The filters in force, each a [facet key, test]: an entry failing none is a match. Deprecated
   * servers stay out unless asked for ("z" is then a condition that hides them). */
  SearchPage.prototype.conditions = function () {
    var state = this.state;
    var list = [];
    FACETS.forEach(function (key) {
      var wanted = state[key];
      if (!wanted) { return; }
      list.push([key, key === "g" ? function (e) { return e.g.indexOf(wanted) >= 0; } : function (e) { return e[key] === wanted; }]);
    });
    ["n", "e", "d", "s", "h"].forEach(function (key) {
      if (state[key]) { list.push([key, function (e) { return e[key + "_"]; }]); }
    });
    if (!state.z && !asksDeprecated(state.q)) { list.push(["z", function (e) { return !e.z; }]); }
    return list;
  };

  /* One pass per entry: an entry failing no condition counts for every facet, one failing exactly
   * one counts only for that facet (the counts say what choosing another value would give).
   * One failing only the deprecated condition is a match the default view hides: the status says so. */
  SearchPage.prototype.run = function () {
    var terms = parseQuery(this.state.q || "");
    var conditions = this.conditions();
    var matches = [];
    var hiddenDeprecated = 0;
    var counts = Object.create(null);
    FACETS.concat(FLAG_KEYS).forEach(function (key) { counts[key] = Object.create(null); });
    for (var i = 0; i < this.entries.length; i++) {
      var entry = this.entries[i];
      var score = terms.length ? queryScore(entry, terms) : 0;
      if (score < 0) { continue; }
      var failed = null;
      var failures = 0;
      for (var c = 0; c < conditions.length && failures < 2; c++) {
        if (!conditions[c][1](entry)) { failed = conditions[c][0]; failures += 1; }
      }
      if (failures > 1) { continue; }
      if (failures === 0) { matches.push({ entry: entry, score: score }); }
      if (failures === 1 && failed === "z") { hiddenDeprecated += 1; }
      for (var f = 0; f < FACETS.length; f++) {
        var facet = FACETS[f];
        if (failures === 1 && facet !== failed) { continue; }
        var values = facet === "g" ? entry.g : [entry[facet]];
        for (var v = 0; v < values.length; v++) { counts[facet][values[v]] = (counts[facet][values[v]] || 0) + 1; }
      }
      for (var k = 0; k < FLAG_KEYS.length; k++) {
        var flag = FLAG_KEYS[k];
        if ((failures === 0 || failed === flag) && entry[flag + "_"]) { counts[flag].yes = (counts[flag].yes || 0) + 1; }
      }
    }
    this.sortMatches(matches, terms.length > 0);
    this.render(matches, counts, hiddenDeprecated);
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
    if (!this.cards[entry.n]) { this.cards[entry.n] = draw(entry._card, cardValues(entry, this.data))[0]; }
    return this.cards[entry.n];
  };

  /* What the status line says: the servers listed and, when the search leaves out deprecated
   * servers that would match, how many, so that it adds up with the catalog's total. */
  function statusText(shown, hiddenDeprecated) {
    var text = shown === 1 ? "1 server" : shown + " servers";
    return hiddenDeprecated ? text + " shown (" + hiddenDeprecated + " deprecated hidden)" : text;
  }

  SearchPage.prototype.render = function (matches, counts, hiddenDeprecated) {
    var size = this.size;
    var pages = Math.max(1, Math.ceil(matches.length / size));
    var page = Math.min(this.state.page, pages);
    var shown = matches.slice((page - 1) * size, page * size).map(function (match) { return this.card(match.entry); }, this);
    this.showCards(shown);
    this.status.textContent = statusText(matches.length, hiddenDeprecated);
    document.getElementById("show-results").textContent = "Show " + (matches.length === 1 ? "1 server" : matches.length + " servers");
    document.getElementById("no-results").hidden = matches.length > 0;
    this.renderCounts(counts);
    this.renderChips();
    this.renderPages(page, pages);
  };

  /* The list becomes `cards`; when they are the cards already there, in order, only the rest goes
   * (the common first draw: the server-rendered list minus the deprecated servers at its end). */
  SearchPage.prototype.showCards = function (cards) {
    var list = this.list;
    var current = list.children;
    var kept = cards.length <= current.length && cards.every(function (card, i) { return current[i] === card; });
    if (kept) {
      while (current.length > cards.length) { list.removeChild(current[current.length - 1]); }
      return;
    }
    var fragment = document.createDocumentFragment();
    cards.forEach(function (card) {
      fragment.appendChild(card);
      fragment.appendChild(document.createTextNode("\n"));
    });
    list.textContent = "";
    list.appendChild(fragment);
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
    FLAG_KEYS.forEach(function (key) {
      document.getElementById("n-" + key).textContent = String(counts[key].yes || 0);
    });
  };

  SearchPage.prototype.renderChips = function () {
    var chips = document.getElementById("chips");
    var self = this;
    chips.textContent = "";
    var add = function (text, clear) {
      var item = el("li");
      var button = el("button", "", text + " \u00d7");
      var position = chips.children.length;
      button.type = "button";
      button.setAttribute("aria-label", "Remove " + text);
      button.addEventListener("click", function () {
        clear(); self.state.page = 1; self.update(true);
        /* The chips are drawn again: focus goes to the one that took this one's place, else the
         * last, else the search box, never to the page's start. */
        var left = chips.querySelectorAll("button");
        (left.length ? left[Math.min(position, left.length - 1)] : self.input).focus();
      });
      item.appendChild(button);
      chips.appendChild(item);
    };
    if (self.state.q) { add("Search: " + self.state.q, function () { self.state.q = ""; }); }
    FACETS.forEach(function (key) {
      if (self.state[key]) {
        var labels = self.data.facets[key];
        add(FACET_NAMES[key] + ": " + ((Object.prototype.hasOwnProperty.call(labels, self.state[key]) && labels[self.state[key]]) || self.state[key]),
          function () { self.state[key] = ""; });
      }
    });
    FLAG_KEYS.forEach(function (key) {
      if (self.state[key]) { add(self.flagLabels[key], function () { self.state[key] = false; }); }
    });
  };

  SearchPage.prototype.renderPages = function (page, pages) {
    var nav = document.getElementById("result-pages");
    var self = this;
    nav.textContent = "";
    nav.hidden = pages < 2;
    var list = el("ul");
    var add = function (label, target, rel) {
      var item = el("li");
      if (target === 0) {
        item.appendChild(el("span", "gap", "\u2026"));
      } else if (target === page && !rel) {
        var current = el("span", "", label);
        current.setAttribute("aria-current", "page");
        item.appendChild(current);
      } else {
        var button = el("button", "", label);
        button.type = "button";
        if (rel) { button.setAttribute("data-rel", rel); }
        button.addEventListener("click", function () {
          self.state.page = target; self.update(true); window.scrollTo(0, 0);
          /* The pager is drawn again: focus goes to the results' heading, where reading starts. */
          document.getElementById("results-title").focus({ preventScroll: true });
        });
        item.appendChild(button);
      }
      list.appendChild(item);
    };
    if (page > 1) { add("Previous", page - 1, "prev"); }
    pageWindow(page, pages).forEach(function (number) { add(String(number), number); });
    if (page < pages) { add("Next", page + 1, "next"); }
    nav.appendChild(list);
  };

  /* `push`: the change is a step of its own in the history (a filter, an order, a page); false
   * only while a typing run goes on, whose first keystroke pushed (see typed). */
  SearchPage.prototype.update = function (push) {
    if (push) { this.endTyping(); }
    writeHash(this.state, push);
    this.drawn = location.hash;
    this.syncControls();
    this.run();
  };

  SearchPage.prototype.endTyping = function () {
    clearTimeout(this.typing);
    this.typing = null;
  };

  /* What the box holds is the query: a run of typing is one history entry, pushed by its first
   * keystroke and replaced by the others until the typing pauses. */
  SearchPage.prototype.typed = function () {
    var self = this;
    var first = this.typing === null;
    clearTimeout(this.typing);
    this.typing = setTimeout(function () { self.typing = null; }, TYPING_PAUSE_MS);
    this.state.q = this.input.value;
    this.state.page = 1;
    writeHash(this.state, first);
    this.drawn = location.hash;
    this.run();
  };

  /* A hash without "=" is a place on the page ("Skip to content" goes to #main), not a search:
   * following it keeps the search drawn, and Back from it finds that search still drawn. */
  function isSearchHash(hash) {
    return hash.length <= 1 || hash.indexOf("=") >= 0;
  }

  /* Back, Forward or an edited hash: the search the address now holds. Going Back between two of
   * our entries fires both popstate and hashchange: the second finds the search already drawn. */
  SearchPage.prototype.restore = function () {
    if (location.hash === this.drawn || !isSearchHash(location.hash)) { return; }
    this.endTyping();
    this.drawn = location.hash;
    this.state = readHash();
    this.syncControls();
    this.run();
  };

  SearchPage.prototype.bind = function () {
    var self = this;
    this.input.addEventListener("input", function () { self.typed(); });
    FACETS.forEach(function (key) {
      document.getElementById("f-" + key).addEventListener("change", function (event) {
        self.state[key] = event.target.value; self.state.page = 1; self.update(true);
      });
    });
    FLAG_KEYS.forEach(function (key) {
      document.getElementById("f-" + key).addEventListener("change", function (event) {
        self.state[key] = event.target.checked; self.state.page = 1; self.update(true);
      });
    });
    document.getElementById("sort").addEventListener("change", function (event) {
      self.state.sort = event.target.value; self.update(true);
    });
    document.getElementById("clear").addEventListener("click", function () {
      self.state = { q: "", sort: self.state.sort, page: 1 }; self.update(true); self.input.focus();
    });
    window.addEventListener("popstate", function () { self.restore(); });
    window.addEventListener("hashchange", function () { self.restore(); });
  };

  /* Data files: classic scripts appended one after another (no fetch, so file:// works). `read(n)`
   * takes what the n-th (from 1) left in its global; `done` gets them all, `failed` the file's name. */
  function loadScripts(names, read, done, failed) {
    var loaded = [];
    var index = 0;
    var next = function () {
      if (index >= names.length) { done(loaded); return; }
      index += 1;
      var script = document.createElement("script");
      script.src = ROOT + "assets/" + names[index - 1];
      script.onload = function () { loaded.push(read(index)); next(); };
      script.onerror = function () { failed(names[index - 1]); };
      document.body.appendChild(script);
    };
    next();
  }

  /* A file's entries, each with its card's skeleton (_card: "f" is its number among the file's). */
  function withCards(part) {
    part.entries.forEach(function (entry) { entry._card = part.cards[entry.f]; });
    return part.entries;
  }

  /* The search entries of every server: in search-index.js itself, or in its chunks. */
  function loadEntries(data, done, failed) {
    if (!data.chunks.length) { done(withCards(data)); return; }
    loadScripts(data.chunks, function (n) { return window.MCPCatalogChunks[n]; }, function (chunks) {
      done([].concat.apply([], chunks.map(withCards)));
    }, failed);
  }

  /* Phones: the filters are a panel behind a button, above the results; wide screens show them beside
   * the results. The panel ends in "Show N servers", which closes it and moves focus to the results,
   * so that nobody has to scroll past every filter to see what they chose. Escape closes it as it
   * would a dialog, and focus goes back to the button: the control it was on goes with the panel. */
  function startFiltersToggle() {
    var toggle = document.getElementById("filters-toggle");
    var panel = document.getElementById("facets");
    var show = document.getElementById("show-results");
    var isOpen = function () { return toggle.getAttribute("aria-expanded") === "true"; };
    var setOpen = function (open) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      panel.classList.toggle("open", open);
    };
    toggle.addEventListener("click", function () { setOpen(!isOpen()); });
    show.hidden = false;
    show.addEventListener("click", function () {
      setOpen(false);
      document.getElementById("results-title").focus();
    });
    document.addEventListener("keydown", function (event) {
      /* Only the panel's own Escape: the search box clears itself on Escape. (On wide screens the
       * filters are a column whatever the state, and the button is not shown.) */
      var focused = document.activeElement;
      var inPanel = focused === toggle || focused === document.body || panel.contains(focused);
      if (event.key !== "Escape" || !isOpen() || !inPanel) { return; }
      setOpen(false);
      toggle.focus();
    });
  }

  function startSearch() {
    var data = window.MCPCatalogSearch;
    var box = document.getElementById("search");
    if (!data || !box || !document.getElementById("results")) { return; }
    startFiltersToggle();
    var serverPages = document.getElementById("index-pages");
    var begin = function (entries) {
      if (serverPages) { serverPages.hidden = true; }
      var page = new SearchPage(data, entries);
      page.bind();
      /* At 10,000 servers the data takes a second to load: what was typed meanwhile is the query. */
      var typed = page.input.value;
      if (typed && typed !== (page.state.q || "")) {
        page.syncControls();
        page.input.value = typed;
        page.typed();
      } else {
        page.syncControls();
        page.run();
      }
      window.MCPCatalogPage = page;
    };
    /* A chunk that cannot be loaded leaves the server-rendered list and says why search is off. */
    var failed = function (name) {
      var message = document.getElementById("load-error");
      message.textContent = "Search is unavailable: the search data (" + name + ") could not be loaded. " +
        "The list below and the category, tag and tier pages still work; reload the page to try again.";
      message.hidden = false;
      document.getElementById("q").disabled = true;
      document.getElementById("status").textContent = "Search unavailable";
    };
    loadEntries(data, begin, failed);
  }

  /* ---- tools page: find a tool on any page of the table ---- */

  /* Rows the tools page shows for a search of the whole catalog at most: drawing 1,000 new rows
   * took about 100 ms a keystroke at 10,000 servers, 200 about a fifth of that. */
  var TOOL_RESULTS = 200;

  /* Every tool of the catalog, in the table's order, from the index's search data (server name,
   * title, page, tool names) and the tools files (each server's rows' skeleton, then each tool's
   * description and behaviour). */
  function catalogTools(entries, files) {
    var tools = [];
    var at = 0;
    files.forEach(function (file) {
      file.e.forEach(function (flat) {
        var entry = entries[at];
        var marker = entry.a === "rejected" ? "Rejected" : (entry.z ? "Deprecated" : "");
        var skeleton = file.s[flat[0]];
        at += 1;
        entry.o.forEach(function (name, i) {
          var description = flat[1 + 2 * i];
          var behaviour = file.b[flat[2 + 2 * i]];
          tools.push({
            entry: entry, name: name, description: description, behaviour: behaviour, skeleton: skeleton, rows: null,
            text: (name + " " + entry.n + " " + entry.t + " " + marker + " " + description + " " + behaviour).toLowerCase()
          });
        });
      });
    });
    return tools;
  }

  /* A tool's rows as _tool_rows.html draws it (its skeleton filled; search.TOOL_ROWS names the slots). */
  function toolRows(tool) {
    return draw(tool.skeleton, {
      "server.name": tool.entry.n, "server.title": tool.entry.t, "tool.name": tool.name,
      "tool.description": tool.description, behaviour: tool.behaviour, root: ROOT
    });
  }

  /* Typing filters this page's rows at once; the first search also loads every tool (the search
   * data and the tools files, as scripts), and from then on the table lists the matches of every
   * page, with links to their servers, and the pager goes while a search is on. Each word must
   * occur in the tool's name, its server's name or title, description or behaviour, as on the
   * page's own rows. */
  function startToolSearch() {
    var box = document.getElementById("tool-search");
    var table = document.getElementById("tool-table");
    if (!box || !table) { return; }
    var input = document.getElementById("tool-q");
    var status = document.getElementById("tool-status");
    var body = table.tBodies[0];
    var pager = document.getElementById("tools-pages");
    /* A row's words, and its server's name (data-server: the name is in no text of the row). */
    var own = Array.prototype.slice.call(body.rows).map(function (row) {
      return { row: row, text: ((row.getAttribute("data-server") || "") + " " + row.textContent).toLowerCase() };
    });
    var everyTool = null;
    var loading = "";  /* "", "loading", "failed: FILE" */
    var matching = function (terms) {
      return function (item) { return terms.every(function (term) { return item.text.indexOf(term) >= 0; }); };
    };
    var showRows = function (rows) {
      if (rows.length === body.rows.length && rows.every(function (row, i) { return body.rows[i] === row; })) { return; }
      var fragment = document.createDocumentFragment();
      rows.forEach(function (row) { fragment.appendChild(row); });
      body.textContent = "";
      body.appendChild(fragment);
    };
    var thisPage = function (terms) {
      var test = matching(terms);
      var shown = 0;
      showRows(own.map(function (item) { return item.row; }));
      own.forEach(function (item) {
        item.row.hidden = !test(item);
        if (!item.row.hidden) { shown += 1; }
      });
      if (pager) { pager.hidden = false; }
      return shown + " of " + own.length + " tools";
    };
    var everyPage = function (terms) {
      var matches = everyTool.filter(matching(terms));
      showRows([].concat.apply([], matches.slice(0, TOOL_RESULTS).map(function (tool) {
        if (!tool.rows) { tool.rows = toolRows(tool); }
        return tool.rows;
      })));
      if (pager) { pager.hidden = true; }
      var text = matches.length + " of " + everyTool.length + " tools";
      return matches.length > TOOL_RESULTS ? text + ", the first " + TOOL_RESULTS + " shown: add a word to narrow them" : text;
    };
    var apply = function () {
      var terms = words(input.value);
      if (!terms.length || !everyTool) {
        var text = thisPage(terms);
        if (terms.length && loading === "loading") { text += " on this page; loading every page\u2026"; }
        if (terms.length && loading.indexOf("failed") === 0) {
          text += " on this page: the tools of the other pages (" + loading.slice(8) + ") could not be loaded";
        }
        status.textContent = text;
        return;
      }
      status.textContent = everyPage(terms);
    };
    var load = function () {
      loading = "loading";
      var fail = function (name) { loading = "failed: " + name; apply(); };
      loadScripts(["search-index.js"], function () { return window.MCPCatalogSearch; }, function (header) {
        var data = header[0];
        loadEntries(data, function (entries) {
          loadScripts(data.tools, function (n) { return window.MCPCatalogTools[n]; }, function (files) {
            everyTool = catalogTools(entries, files);
            loading = "";
            apply();
          }, fail);
        }, fail);
      }, fail);
    };
    var search = function () {
      /* One page (no pager) holds every tool already: nothing to load. */
      if (pager && !everyTool && !loading && words(input.value).length) { load(); }
      apply();
    };
    /* The words searched are in the address (#q=...), as on the index, so that a search can be
     * shared and outlives a reload; typing replaces the entry (one search, one step Back). A hash
     * without "=" is a place on the page (the skip link's #main), not a search. */
    var searched = function () {
      var found = /^#(?:.*&)?q=([^&]*)/.exec(location.hash);
      try {
        return found ? decodeURIComponent(found[1].replace(/\+/g, " ")) : "";
      } catch (malformed) {
        return "";
      }
    };
    input.addEventListener("input", function () {
      var hash = input.value ? "#q=" + encodeURIComponent(input.value) : "";
      if (hash !== location.hash && !(hash === "" && location.hash === "#")) {
        history.replaceState(null, "", hash || location.pathname + location.search);
      }
      search();
    });
    window.addEventListener("hashchange", function () {
      if (!isSearchHash(location.hash) || searched() === input.value) { return; }
      input.value = searched();
      search();
    });
    if (searched()) { input.value = searched(); }
    search();
  }

  /* ---- reviewer's table: sort by any column, filter by words and by the risk checkboxes ---- */
  var REVIEW_RISKS = ["egress", "destructive", "unapproved", "unpinned"];
  /* Rows drawn from every page's data at most: drawing 10,000 rows would cost what paging saved. */
  var REVIEW_ROWS_SHOWN = 250;

  /* One row of assets/reviews-index.js as _review_row.html draws it: its skeleton (d[3], a number
   * into the file's) filled (review.REVIEW_TEXTS names the slots). */
  function reviewRows(d, skeletons) {
    return draw(skeletons[d[3]], {
      name: d[0], title: d[1], reviewer: d[8], decided: d[7], expires: d[9], expires_in: d[10], egress_words: d[12],
      secrets_words: d[13], secrets_count: String(d[14]), destructive_tools: String(d[15]),
      open_world_tools: String(d[16]), tools: String(d[17]), root: ROOT
    });
  }

  /* A data row's sort key of `column`: what the key of the drawn cell would be (its data-sort, else its words). */
  function reviewKey(d, column) {
    var keys = [d[1] + (d[2] ? " Deprecated" : "") + d[0], d[4], d[6] + d[7], d[8] || "\u2014", d[9] || "9999", d[12],
      String(d[14]), String(d[15]), String(d[16]), d[18]];
    return keys[column].toLowerCase();
  }

  function compareKeys(x, y) {
    return /^-?\d+$/.test(x) && /^-?\d+$/.test(y) ? parseInt(x, 10) - parseInt(y, 10) : (x < y ? -1 : (x > y ? 1 : 0));
  }

  /* A table of more than one page (a pager under it) sorts and filters every page's rows: the first
   * sort or filter loads assets/reviews-index.js, then draws the first REVIEW_ROWS_SHOWN matches in
   * place of the page's rows and hides the pager; clearing the filters with no order chosen brings
   * the page back. A table of one page sorts and filters its own rows. */
  function startReviewTable() {
    var table = document.getElementById("review-table");
    var box = document.getElementById("review-filter");
    if (!table || !box) { return; }
    var body = table.tBodies[0];
    var pager = document.getElementById("reviews-pages");
    var key = function (row, column) {
      var cell = row.cells[column];
      var value = cell.getAttribute("data-sort");
      return value === null ? cell.textContent.trim().toLowerCase() : value;
    };
    var pageRows = Array.prototype.slice.call(body.rows).map(function (row, position) {
      var risks = REVIEW_RISKS.map(function (risk) { return row.getAttribute("data-" + risk) === "1" ? "1" : "0"; }).join("");
      return { row: row, text: row.textContent.toLowerCase(), position: position, risks: risks };
    });
    var total = parseInt(table.getAttribute("data-total"), 10) || pageRows.length; /* an override may leave it out */
    var every = null;
    var loading = false;
    var failed = false;
    var order = null;
    var drawn = false; /* every page's rows are in the table in place of this page's */
    var input = document.getElementById("review-q");
    var checks = Array.prototype.slice.call(box.querySelectorAll("input[type=checkbox]"));
    var status = document.getElementById("review-status");
    var matches = function (items) {
      var terms = words(input.value);
      var wanted = checks.filter(function (check) { return check.checked; }).map(function (check) {
        return REVIEW_RISKS.indexOf(check.getAttribute("data-risk"));
      });
      return items.filter(function (item) {
        return terms.every(function (term) { return item.text.indexOf(term) >= 0; }) &&
          wanted.every(function (risk) { return item.risks.charAt(risk) === "1"; });
      });
    };
    var sorted = function (items) {
      if (!order) { return items; }
      var column = order.column;
      var sign = order.ascending ? 1 : -1;
      return items.slice().sort(function (a, b) {
        if (!a.keys) { a.keys = []; }
        if (!b.keys) { b.keys = []; }
        if (a.keys[column] === undefined) { a.keys[column] = a.data ? reviewKey(a.data, column) : key(a.row, column); }
        if (b.keys[column] === undefined) { b.keys[column] = b.data ? reviewKey(b.data, column) : key(b.row, column); }
        return sign * compareKeys(a.keys[column], b.keys[column]) || a.position - b.position;
      });
    };
    var skeletons = null;
    var show = function (items) {
      var fragment = document.createDocumentFragment();
      items.forEach(function (item) {
        if (!item.rows) { item.rows = item.row ? [item.row] : reviewRows(item.data, skeletons); }
        item.rows.forEach(function (row) { fragment.appendChild(row); });
      });
      body.textContent = "";
      body.appendChild(fragment);
    };
    var load = function () {
      loading = true;
      loadScripts(["reviews-index.js"], function () { return window.MCPCatalogReviews; }, function (files) {
        skeletons = files[0].s;
        every = files[0].rows.map(function (d, position) {
          var text = [d[1], d[2] ? "deprecated" : "", d[0], d[4], d[6], d[7], d[8] || "\u2014", d[9] || "none", d[10], d[12],
            d[13] || "none", d[15] + " of " + d[17], d[16] + " of " + d[17], d[18]].join(" ").toLowerCase();
          return { data: d, text: text, position: position, risks: d[19] };
        });
        apply();
      }, function (name) { failed = name; apply(); });
    };
    var apply = function () {
      var everyPage = pager && !failed && (order || words(input.value).length || checks.some(function (check) { return check.checked; }));
      if (everyPage && every) {
        var found = sorted(matches(every));
        show(found.slice(0, REVIEW_ROWS_SHOWN));
        drawn = true;
        pager.hidden = true;
        status.textContent = found.length + " of " + total + " servers" +
          (found.length > REVIEW_ROWS_SHOWN ? " (the first " + REVIEW_ROWS_SHOWN + " shown: narrow the filter)" : "");
        return;
      }
      if (everyPage && !loading) { load(); }
      var shown = 0;
      pageRows.forEach(function (item) { item.shown = false; });
      matches(pageRows).forEach(function (item) { item.shown = true; shown += 1; });
      if (drawn || (order && !everyPage)) { show(sorted(pageRows)); }
      if (pager) { pager.hidden = false; }
      drawn = false;
      pageRows.forEach(function (item) { item.row.hidden = !item.shown; });
      status.textContent = shown + " of " + total + " servers" +
        (failed ? " on this page (" + failed + " could not be loaded)" : (everyPage ? " on this page; loading every page\u2019s rows\u2026" : ""));
    };
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, column) {
      header.querySelector("button").addEventListener("click", function () {
        var ascending = header.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) { cell.removeAttribute("aria-sort"); });
        header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        order = { column: column, ascending: ascending };
        apply();
      });
    });
    input.addEventListener("input", apply);
    checks.forEach(function (check) { check.addEventListener("change", apply); });
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

  /* The button says what happened for a few seconds, then offers to copy again. */
  var COPY_FEEDBACK_MS = 2000;

  function startCopyButtons() {
    Array.prototype.forEach.call(document.querySelectorAll("button.copy"), function (button) {
      var label = button.textContent;
      var timer = null;
      var say = function (text) {
        button.textContent = text;
        clearTimeout(timer);
        timer = setTimeout(function () { button.textContent = label; }, COPY_FEEDBACK_MS);
      };
      button.hidden = false;
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        var text = source.textContent;
        selectText(source);
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(text).then(function () { say("Copied"); }, function () { say("Selected: press Ctrl+C"); });
        } else {
          say("Selected: press Ctrl+C");
        }
      });
    });
  }

  startSearch();
  startToolSearch();
  startReviewTable();
  startCopyButtons();
})();
