// The fleet page: asks for an API key (kept in sessionStorage; "#key=..." in the address for a kiosk
// or a TV), fetches /api/v1/fleet and shows every machine by state and OEE by site, line and machine.
// ISA-101: grey while normal, colour only for what is abnormal. English and Brazilian Portuguese.
"use strict";

(function () {
  const WORDS = {
    en: {
      title: "LineSight Fleet",
      period_shift: "Current shift",
      period_today: "Today",
      period_week: "This week",
      forget_key: "Change key",
      login_title: "Enter your API key",
      login_help: "The key is kept in this browser tab only, until it is closed.",
      login_button: "Show the fleet",
      refused: "The API key was refused. Enter a valid key.",
      unreachable: "The fleet API cannot be reached ({0}). Retrying…",
      loading: "Loading…",
      updated: "Updated {0}",
      machines: "machines",
      no_machines: "No machines have reported yet.",
      total: "All sites",
      site: "Site",
      line: "Line",
      machine: "Machine",
      state: "State",
      since: "For",
      oee: "OEE",
      availability: "Availability",
      performance: "Performance",
      quality: "Quality",
      good: "Good parts",
      edge_offline: "edge offline",
      no_line: "(no line)",
      running: "Running",
      idle: "Idle",
      stopped: "Stopped",
      setup: "Setup",
      planned_stop: "Planned stop",
      unknown: "No data",
    },
    "pt-BR": {
      title: "LineSight Frota",
      period_shift: "Turno atual",
      period_today: "Hoje",
      period_week: "Esta semana",
      forget_key: "Trocar chave",
      login_title: "Informe sua chave de API",
      login_help: "A chave fica guardada só nesta aba do navegador, até ela ser fechada.",
      login_button: "Mostrar a frota",
      refused: "A chave de API foi recusada. Informe uma chave válida.",
      unreachable: "A API da frota não responde ({0}). Tentando de novo…",
      loading: "Carregando…",
      updated: "Atualizado às {0}",
      machines: "máquinas",
      no_machines: "Nenhuma máquina enviou dados ainda.",
      total: "Todas as plantas",
      site: "Planta",
      line: "Linha",
      machine: "Máquina",
      state: "Estado",
      since: "Há",
      oee: "OEE",
      availability: "Disponibilidade",
      performance: "Desempenho",
      quality: "Qualidade",
      good: "Peças boas",
      edge_offline: "borda desconectada",
      no_line: "(sem linha)",
      running: "Produzindo",
      idle: "Ociosa",
      stopped: "Parada",
      setup: "Preparação",
      planned_stop: "Parada planejada",
      unknown: "Sem dados",
    },
  };
  const STATES = ["running", "idle", "stopped", "setup", "planned_stop", "unknown"];
  const KEY_STORE = "linesight.fleet.key";
  const LANG_STORE = "linesight.fleet.lang";
  const REFRESH_MS = 30000;

  let language = "en";
  let period = "shift";
  let last = null; // the latest fleet answer, re-rendered on a language or period switch
  let timer = null;

  function $(id) { return document.getElementById(id); }

  function word(name, ...args) {
    let text = (WORDS[language] && WORDS[language][name]) || WORDS.en[name] || name;
    args.forEach((arg, i) => { text = text.replace("{" + i + "}", String(arg)); });
    return text;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // ------------------------------------------------------------------ settings from the address

  function fromAddress() {
    const wanted = new URLSearchParams(location.hash.replace(/^#/, ""));
    const query = new URLSearchParams(location.search);
    const key = wanted.get("key");
    if (key) sessionStorage.setItem(KEY_STORE, key);
    const lang = wanted.get("lang") || query.get("lang");
    if (lang) localStorage.setItem(LANG_STORE, normalLanguage(lang));
    const chosen = wanted.get("period") || query.get("period");
    if (chosen && ["shift", "today", "week"].includes(chosen)) period = chosen;
    if (key) {
      // The key leaves the address bar (and the history) once it is stored.
      wanted.delete("key");
      const rest = wanted.toString();
      history.replaceState(null, "", location.pathname + location.search + (rest ? "#" + rest : ""));
    }
  }

  function normalLanguage(text) {
    return /^pt/i.test(text) ? "pt-BR" : "en";
  }

  function chooseLanguage() {
    language = localStorage.getItem(LANG_STORE) || normalLanguage(navigator.language || "en");
    document.documentElement.lang = language;
    document.querySelectorAll("[data-i18n]").forEach((node) => {
      node.textContent = word(node.getAttribute("data-i18n"));
    });
    document.title = word("title");
    $("language").textContent = language === "pt-BR" ? "EN" : "PT";
    document.querySelectorAll("[data-period]").forEach((button) => {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-period") === period));
    });
  }

  // ------------------------------------------------------------------ formatting

  function percent(value) {
    if (value === null || value === undefined) return "—";
    return new Intl.NumberFormat(language, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 })
      .format(value);
  }

  function count(value) {
    return value === null || value === undefined ? "—" : new Intl.NumberFormat(language).format(value);
  }

  function age(iso) {
    if (!iso) return "";
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (seconds < 60) return seconds + " s";
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min";
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return hours + " h " + String(minutes % 60).padStart(2, "0") + " min";
    return Math.floor(hours / 24) + " d " + (hours % 24) + " h";
  }

  // ------------------------------------------------------------------ rendering

  function oeeCells(row, oee) {
    const result = oee ? oee[period] : null;
    for (const name of ["oee", "availability", "performance", "quality"]) {
      const cell = el("td", "num" + (name === "oee" ? " oee" : ""), percent(result ? result[name] : null));
      row.appendChild(cell);
    }
    row.appendChild(el("td", "num", count(result ? result.good : null)));
  }

  function header(table) {
    const head = el("tr");
    for (const name of ["machine", "state", "since", "oee", "availability", "performance", "quality", "good"]) {
      head.appendChild(el("th", ["machine", "state", "since"].includes(name) ? "" : "num", word(name)));
    }
    const thead = el("thead");
    thead.appendChild(head);
    table.appendChild(thead);
  }

  function render(fleet) {
    last = fleet;
    $("tenant").textContent = (fleet.tenant_name || fleet.tenant) + " · " + fleet.machines.length + " " + word("machines");
    $("updated").textContent = word("updated", new Date(fleet.generated_at).toLocaleTimeString(language));

    const states = $("states");
    states.replaceChildren();
    for (const state of STATES) {
      const chip = el("div", "chip state-" + state + (fleet.states[state] ? "" : " zero"));
      chip.setAttribute("data-state", state);
      chip.appendChild(el("span", "count", count(fleet.states[state] || 0)));
      chip.appendChild(el("span", "label", word(state)));
      states.appendChild(chip);
    }

    const total = $("total");
    total.replaceChildren();
    total.appendChild(summary(word("total"), fleet.oee));

    const sites = $("sites");
    sites.replaceChildren();
    if (!fleet.machines.length) sites.appendChild(el("p", "muted", word("no_machines")));
    for (const site of fleet.sites) {
      const section = el("section", "site");
      section.setAttribute("data-site", site.id);
      section.appendChild(summary(site.name, site.oee, "h2"));
      for (const line of site.lines) {
        const block = el("div", "line");
        block.appendChild(summary(line.id || word("no_line"), line.oee, "h3"));
        const table = el("table");
        header(table);
        const body = el("tbody");
        for (const machine of fleet.machines) {
          if (machine.site !== site.id || machine.line !== line.id) continue;
          body.appendChild(machineRow(machine));
        }
        table.appendChild(body);
        block.appendChild(table);
        section.appendChild(block);
      }
      sites.appendChild(section);
    }
    $("fleet").hidden = false;
  }

  function summary(title, oee, tag) {
    const box = el("div", "summary");
    box.appendChild(el(tag || "h2", "", title));
    const result = oee ? oee[period] : null;
    const figures = el("div", "figures");
    for (const name of ["oee", "availability", "performance", "quality"]) {
      const figure = el("span", "figure");
      figure.appendChild(el("span", "label", word(name)));
      figure.appendChild(el("span", "value", percent(result ? result[name] : null)));
      figures.appendChild(figure);
    }
    box.appendChild(figures);
    return box;
  }

  function machineRow(machine) {
    const row = el("tr", "machine state-" + machine.state);
    row.setAttribute("data-machine", machine.edge + "/" + machine.machine);
    const name = el("td", "name");
    name.appendChild(el("span", "", machine.name));
    name.appendChild(el("span", "muted id", machine.machine));
    row.appendChild(name);
    const state = el("td", "state");
    state.appendChild(el("span", "badge state-" + machine.state, word(machine.state)));
    if (!machine.edge_online) state.appendChild(el("span", "muted", " · " + word("edge_offline")));
    row.appendChild(state);
    row.appendChild(el("td", "muted", age(machine.since)));
    oeeCells(row, machine.oee);
    return row;
  }

  // ------------------------------------------------------------------ talking to the API

  function showMessage(text, kind) {
    const box = $("message");
    box.textContent = text || "";
    box.className = "message" + (kind ? " " + kind : "");
    box.hidden = !text;
  }

  function askForKey(refused) {
    $("login").hidden = false;
    $("fleet").hidden = true;
    showMessage(refused ? word("refused") : "", refused ? "alarm" : "");
    $("key").focus();
  }

  async function load() {
    const key = sessionStorage.getItem(KEY_STORE);
    if (!key) { askForKey(false); return; }
    $("login").hidden = true;
    let response;
    try {
      response = await fetch("api/v1/fleet", { headers: { "X-API-Key": key }, cache: "no-store" });
    } catch (error) {
      showMessage(word("unreachable", error.message || error), "warning");
      schedule();
      return;
    }
    if (response.status === 401) {
      sessionStorage.removeItem(KEY_STORE);
      askForKey(true);
      return;
    }
    if (!response.ok) {
      showMessage(word("unreachable", "HTTP " + response.status), "warning");
      schedule();
      return;
    }
    showMessage("");
    render(await response.json());
    schedule();
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(load, REFRESH_MS);
  }

  // ------------------------------------------------------------------ wiring

  document.addEventListener("DOMContentLoaded", () => {
    fromAddress();
    chooseLanguage();
    $("login-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const key = $("key").value.trim();
      if (!key) return;
      sessionStorage.setItem(KEY_STORE, key);
      $("key").value = "";
      load();
    });
    $("forget").addEventListener("click", () => {
      sessionStorage.removeItem(KEY_STORE);
      clearTimeout(timer);
      askForKey(false);
    });
    $("language").addEventListener("click", () => {
      localStorage.setItem(LANG_STORE, language === "pt-BR" ? "en" : "pt-BR");
      chooseLanguage();
      if (last) render(last);
    });
    document.querySelectorAll("[data-period]").forEach((button) => {
      button.addEventListener("click", () => {
        period = button.getAttribute("data-period");
        chooseLanguage();
        if (last) render(last);
      });
    });
    load();
  });
})();
