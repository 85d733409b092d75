// The review page of `sed review`: renders the events and recordings from the JSON data in the
// page, one page at a time; keeps the reviewer's verdicts in the browser (localStorage) and
// exports them as CSV. No network, no libraries: it runs from file:// as it is.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("review-data").textContent);
  const VERDICT_COLUMNS = data.verdict_columns; // sed.events.VERDICT_COLUMNS
  const VERDICT_TEXT = { correct: "correct", wrong: "wrong", relabelled: "other label" };
  const RECORDINGS_PER_PAGE = 10;
  const storageKey = "sed-review:" + data.id;
  const $ = (id) => document.getElementById(id);

  const recordings = data.recordings;
  const events = data.events.map((event, id) => Object.assign(event, {
    id,
    onset: Number(event.on),
    offset: Number(event.off),
    value: event.score === "" ? NaN : Number(event.score),
    key: eventKey(event.file, event.on, event.off, event.label),
  }));
  const byKey = new Map(events.map((event) => [event.key, event]));
  const verdicts = new Map(); // event key -> {verdict, label}
  const state = {
    label: "", min: 0, max: 1, verdict: "", recording: "", sort: "time",
    pageSize: 25, page: 0, matches: [], selected: null, recordingPage: 0, band: "yamnet",
    storage: true, unsaved: false,
  };

  function eventKey(file, onset, offset, label) {
    return [file, Number(onset).toFixed(3), Number(offset).toFixed(3), label].join("\t");
  }

  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function seconds(value) { return Number(value).toFixed(3) + " s"; }

  function duration(total) {
    const s = Math.round(total);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return h ? `${h} h ${String(m).padStart(2, "0")} min` : m ? `${m} min ${String(r).padStart(2, "0")} s` : `${total.toFixed(1)} s`;
  }

  function clockTime(recording, offsetSeconds) {
    if (!recording.start) return "";
    const time = new Date(new Date(recording.start + "Z").getTime() + offsetSeconds * 1000);
    return time.toISOString().replace("T", " ").slice(0, 19);
  }

  // ---- verdicts: kept in the browser, exported and imported as CSV ----------------------------

  function loadSaved() {
    try {
      const saved = JSON.parse(localStorage.getItem(storageKey) || "{}");
      for (const [key, value] of Object.entries(saved)) {
        if (byKey.has(key) && VERDICT_TEXT[value.verdict]) verdicts.set(key, value);
      }
    } catch (error) {
      state.storage = false;
    }
    return verdicts.size;
  }

  function save() {
    state.unsaved = true;
    if (!state.storage) return;
    try {
      localStorage.setItem(storageKey, JSON.stringify(Object.fromEntries(verdicts)));
    } catch (error) {
      state.storage = false;
    }
  }

  function csvField(value) {
    const text = String(value);
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function verdictsCsv() {
    const lines = [VERDICT_COLUMNS.join(",")];
    for (const event of events) {
      const given = verdicts.get(event.key);
      if (!given) continue;
      lines.push([event.file, event.on, event.off, event.label, event.score, given.verdict,
        given.verdict === "relabelled" ? given.label : ""].map(csvField).join(","));
    }
    return lines.join("\n") + "\n";
  }

  function exportVerdicts() {
    const blob = new Blob([verdictsCsv()], { type: "text/csv" });
    const link = element("a", { href: URL.createObjectURL(blob), download: data.verdict_file });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    state.unsaved = false;
    announce(`${verdicts.size} verdicts exported to ${data.verdict_file}`);
  }

  function parseCsv(text) {
    const rows = [];
    let row = [], field = "", quoted = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
        else if (c === '"') quoted = false;
        else field += c;
      } else if (c === '"') quoted = true;
      else if (c === ",") { row.push(field); field = ""; }
      else if (c === "\n" || c === "\r") {
        if (c === "\r" && text[i + 1] === "\n") i++;
        row.push(field); rows.push(row); row = []; field = "";
      } else field += c;
    }
    if (field !== "" || row.length) { row.push(field); rows.push(row); }
    return rows.filter((cells) => cells.some((cell) => cell.trim() !== ""));
  }

  function importVerdicts(text) {
    const rows = parseCsv(text.replace(/^\ufeff/, ""));
    const header = (rows.shift() || []).map((cell) => cell.trim());
    const column = Object.fromEntries(header.map((name, i) => [name, i]));
    const missing = ["filename", "onset", "offset", "event_label", "verdict"].filter((name) => !(name in column));
    if (missing.length) {
      announce(`Not a verdicts file: no ${missing.join(", ")} column`);
      return;
    }
    let matched = 0, unmatched = 0;
    for (const cells of rows) {
      const key = eventKey(cells[column.filename], cells[column.onset], cells[column.offset], cells[column.event_label]);
      const verdict = (cells[column.verdict] || "").trim();
      const label = "corrected_label" in column ? (cells[column.corrected_label] || "").trim() : "";
      if (byKey.has(key) && VERDICT_TEXT[verdict] && (verdict !== "relabelled" || label)) {
        verdicts.set(key, { verdict, label: verdict === "relabelled" ? label : "" });
        matched++;
      } else unmatched++;
    }
    save();
    renderEvents();
    renderLabelTable();
    announce(`${matched} verdicts imported` + (unmatched ? `, ${unmatched} rows matched no event on this page` : ""));
  }

  function announce(text) {
    const live = $("announce");
    live.textContent = "";
    setTimeout(() => { live.textContent = text; }, 30);
  }

  // ---- summary -------------------------------------------------------------------------------

  function renderSummary() {
    const t = data.totals;
    $("source").textContent = `${data.source} · written ${data.generated.replace("T", " ")} by sed ${data.sed_version}`;
    const totals = [
      ["recordings", t.recordings.toLocaleString("en")],
      ["of audio", duration(t.audio_seconds)],
      ["events", t.events.toLocaleString("en")],
      ["labels", data.labels.length.toLocaleString("en")],
    ];
    if (t.shown !== t.events) totals.push(["events on this page", t.shown.toLocaleString("en")]);
    else $("shown-column").remove();
    if (data.failures.length) totals.push(["recordings failed", String(data.failures.length)]);
    if (t.dated) totals.push(["recordings with a start time", `${t.dated} of ${t.recordings}`]);
    $("totals").replaceChildren(...totals.map(([name, value]) =>
      element("div", {}, element("dt", { text: name }), element("dd", { text: value }))));
    $("settings").replaceChildren(...data.settings.map((line) => element("li", { text: line })));
    if (data.sampling) {
      const n = data.sampling.max_per_label;
      $("sampling").hidden = false;
      $("sampling").textContent = `At most ${n} events per label are on this page: for each label with more, ` +
        `the highest and the lowest scores and a random sample of the rest (seed ${data.sampling.seed}); ` +
        `"why" on each event says which. The counts, histograms and detections above cover every event.`;
    }
    $("summary-line").textContent = totals.slice(0, 4).map(([name, value]) => `${value} ${name}`).join(" · ");
    const [low, high] = data.yamnet_band_hz;
    $("band").options[0].textContent = `${low}–${high} Hz: what YAMNet hears`;
    if (data.failures.length) {
      const details = $("failures");
      details.hidden = false;
      details.querySelector("summary").textContent =
        `${data.failures.length} recordings of the batch could not be processed`;
      details.querySelector("ul").replaceChildren(...data.failures.map(([path, error]) =>
        element("li", { text: `${path}: ${error}` })));
    }
    const labelSelect = $("filter-label");
    for (const label of data.labels) {
      labelSelect.append(element("option", { value: label.label, text: `${label.label} (${label.shown})` }));
      $("label-names").append(element("option", { value: label.label }));
    }
    $("recording-names").append(...recordings.map((r) => element("option", { value: r.name })));
    renderLabelTable();
  }

  function renderLabelTable() {
    const tally = new Map(data.labels.map((l) => [l.label, { correct: 0, wrong: 0, relabelled: 0 }]));
    for (const event of events) {
      const given = verdicts.get(event.key);
      if (given && tally.has(event.label)) tally.get(event.label)[given.verdict]++;
    }
    const sampled = data.totals.shown !== data.totals.events;
    const rows = data.labels.map((label) => {
      const counts = tally.get(label.label);
      const reviewed = counts.correct + counts.wrong + counts.relabelled;
      return element("tr", {},
        element("th", { scope: "row", text: label.label }),
        element("td", { text: String(label.events) }),
        sampled ? element("td", { text: String(label.shown) }) : null,
        element("td", { text: String(reviewed) }),
        element("td", { text: String(counts.correct) }),
        element("td", { text: String(counts.wrong) }),
        element("td", { text: String(counts.relabelled) }),
        element("td", { text: reviewed ? (counts.correct / reviewed).toFixed(2) : "" }));
    });
    $("label-table").tBodies[0].replaceChildren(...rows);
    $("progress").textContent = `${verdicts.size} of ${events.length} events reviewed`;
  }

  // ---- events --------------------------------------------------------------------------------

  function matching() {
    const text = state.recording.trim();
    const exact = recordings.some((r) => r.name === text);
    const found = events.filter((event) => {
      if (state.label && event.label !== state.label) return false;
      if (state.min > 0 || state.max < 1) {
        if (!(event.value >= state.min && event.value <= state.max)) return false;
      }
      const given = verdicts.get(event.key);
      if (state.verdict === "none" ? given : state.verdict && (!given || given.verdict !== state.verdict)) return false;
      if (text) {
        const name = recordings[event.r].name;
        if (exact ? name !== text : !name.includes(text)) return false;
      }
      return true;
    });
    const byTime = (a, b) => a.r - b.r || a.onset - b.onset || a.offset - b.offset || a.id - b.id;
    const scoreOf = (event, missing) => (Number.isNaN(event.value) ? missing : event.value);
    if (state.sort === "score-desc") found.sort((a, b) => scoreOf(b, -1) - scoreOf(a, -1) || byTime(a, b));
    else if (state.sort === "score-asc") found.sort((a, b) => scoreOf(a, 2) - scoreOf(b, 2) || byTime(a, b));
    else found.sort(byTime);
    return found;
  }

  function pageCount() { return Math.max(1, Math.ceil(state.matches.length / state.pageSize)); }

  function pageEvents() {
    const start = state.page * state.pageSize;
    return state.matches.slice(start, start + state.pageSize);
  }

  function renderEvents() {
    state.matches = matching();
    state.page = Math.min(state.page, pageCount() - 1);
    const shown = pageEvents();
    $("events").replaceChildren(...shown.map(eventCard));
    const n = state.matches.length;
    $("match-status").textContent = n === events.length
      ? `${n} events, page ${state.page + 1} of ${pageCount()}`
      : `${n} of ${events.length} events match, page ${state.page + 1} of ${pageCount()}`;
    renderPagers("events", state.page, pageCount(), (page) => { state.page = page; renderEvents(); });
    if (!shown.some((event) => event.id === state.selected)) state.selected = null;
    highlight();
  }

  function eventCard(event) {
    const recording = recordings[event.r];
    const given = verdicts.get(event.key);
    const [clipStart, clipEnd] = event.clip;
    const span = clipEnd - clipStart;
    const left = Math.max(0, (event.onset - clipStart) / span) * 100;
    const right = Math.min(1, (Math.min(event.offset, clipEnd) - clipStart) / span) * 100;
    const where = `${recording.name} · ${Number(event.on).toFixed(3)}–${Number(event.off).toFixed(3)} s`;
    const clock = clockTime(recording, event.onset);
    const description = `${event.label}, ${where}` + (event.score !== "" ? `, score ${event.score}` : "");
    const verdictText = given ? (given.verdict === "relabelled" ? `other label: ${given.label}` : VERDICT_TEXT[given.verdict]) : "not reviewed";
    const cut = event.offset > clipEnd + 1e-6 ? ` (clip holds the first ${(clipEnd - event.onset).toFixed(1)} s)` : "";
    const card = element("li", {
      class: "event" + (event.id === state.selected ? " selected" : ""),
      id: "event-" + event.id, tabindex: "-1", "data-id": event.id, "data-label": event.label,
      "aria-label": `${description}; ${verdictText}`,
      onclick: (e) => { if (!e.target.closest("button, input, audio, a")) select(event.id, false); },
      onfocusin: () => { if (state.selected !== event.id) { state.selected = event.id; highlight(); } },
    },
    element("div", { class: "head" },
      element("span", { class: "label", text: event.label }),
      event.score !== "" ? element("span", { class: "score", text: `score ${event.score}` }) : null,
      event.why !== "all" ? element("span", { class: "why", text: `why: ${event.why}` }) : null,
      element("span", { class: "verdict" + (given ? " " + given.verdict : ""), text: verdictText })),
    element("div", { class: "where", text: where + (clock ? ` · ${clock}` : "") + cut }),
    spectrogramView(event, where, left, right),
    element("div", { class: "axis", "aria-hidden": "true" },
      element("span", { text: "Hz ↑" }),
      element("span", { text: seconds(clipStart) }),
      element("span", { text: "time →" }),
      element("span", { class: "end", text: seconds(clipEnd) })),
    element("audio", { controls: true, preload: "none", src: event.audio, "aria-label": `Clip of ${description}` }),
    element("div", { class: "actions", role: "group", "aria-label": "Verdict" },
      verdictButton(event, "correct", "Correct", "c", given),
      verdictButton(event, "wrong", "Wrong", "w", given),
      verdictButton(event, "relabelled", "Other label…", "l", given),
      element("button", { type: "button", onclick: () => { select(event.id, false); mark(null); } }, "Clear ", element("kbd", { text: "u" }))),
    relabelForm(event, given));
    return card;
  }

  // ---- clip spectrograms: the frequencies shown, and their axis --------------------------------

  function shownBand(event) {
    // The chosen band, inside what the recording holds (0 Hz to its Nyquist frequency).
    const [low, high] = state.band === "yamnet" ? data.yamnet_band_hz : [0, event.nyquist];
    const top = Math.min(high, event.nyquist);
    return [Math.min(low, top / 2), top];
  }

  function hzText(hz) { return hz < 1000 ? String(Math.round(hz)) : `${+(hz / 1000).toFixed(2)}k`; }

  function frequencyTicks(low, high) {
    // The band's ends and round steps between them (1, 2, 2.5 or 5 times a power of ten, four
    // or five of them), none closer than a sixth of the axis to another.
    const raw = (high - low) / 4;
    const power = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw);
    const ticks = [low, high];
    for (let hz = Math.ceil(low / step) * step; hz < high; hz += step) {
      if (ticks.every((t) => Math.abs(t - hz) >= (high - low) / 6)) ticks.push(hz);
    }
    return ticks.sort((a, b) => a - b);
  }

  function spectrogramView(event, where, left, right) {
    const [low, high] = shownBand(event);
    const [imageLow, imageHigh] = event.hz;
    const span = high - low;
    // The image holds 0 Hz to the Nyquist frequency; the box shows low to high of it.
    const image = element("img", {
      src: event.image, loading: "lazy", width: 480, height: 160,
      alt: `Spectrogram of ${event.label} at ${where}, with a second before and after, ${Math.round(low)} to ${Math.round(high)} Hz`,
      style: `height:${((imageHigh - imageLow) / span) * 100}%;bottom:${((imageLow - low) / span) * 100}%`,
    });
    const axis = element("div", { class: "frequency-axis", "aria-hidden": "true" },
      ...frequencyTicks(low, high).map((hz) => element("span", {
        class: "tick", text: hzText(hz), style: `bottom:${((hz - low) / span) * 100}%`,
      })));
    return element("div", { class: "spectrogram-row" }, axis,
      element("div", { class: "spectrogram" }, image,
        element("div", { class: "span", style: `left:${left}%;width:${Math.max(0.5, right - left)}%` })));
  }

  function verdictButton(event, verdict, text, key, given) {
    return element("button", {
      type: "button", "aria-pressed": String(!!given && given.verdict === verdict),
      onclick: () => {
        select(event.id, false);
        if (verdict === "relabelled") openRelabel(); else mark(verdict);
      },
    }, text + " ", element("kbd", { text: key }));
  }

  function relabelForm(event, given) {
    const inputId = "relabel-" + event.id;
    const input = element("input", {
      id: inputId, list: "label-names", autocomplete: "off",
      value: given && given.verdict === "relabelled" ? given.label : "",
      onkeydown: (e) => {
        if (e.key === "Enter") { e.preventDefault(); saveRelabel(event, input.value); }
        if (e.key === "Escape") { e.preventDefault(); closeRelabel(event); }
      },
    });
    return element("div", { class: "relabel", hidden: true },
      element("label", { for: inputId, text: "Correct label" }), input,
      element("button", { type: "button", onclick: () => saveRelabel(event, input.value) }, "Save"),
      element("button", { type: "button", onclick: () => closeRelabel(event) }, "Cancel"));
  }

  function cardOf(id) { return $("event-" + id); }

  function highlight() {
    for (const card of $("events").children) card.classList.toggle("selected", Number(card.dataset.id) === state.selected);
  }

  function select(id, focus = true) {
    if (id !== state.selected) {
      for (const audio of document.querySelectorAll("#events audio")) audio.pause();
    }
    state.selected = id;
    highlight();
    const card = cardOf(id);
    if (card && focus) {
      card.focus({ preventScroll: true });
      card.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    const shown = pageEvents();
    if (!shown.length) return;
    let index = shown.findIndex((event) => event.id === state.selected);
    index = index < 0 ? (step > 0 ? 0 : shown.length - 1) : index + step;
    if (index >= shown.length && state.page < pageCount() - 1) {
      state.page++; renderEvents(); select(pageEvents()[0].id);
    } else if (index < 0 && state.page > 0) {
      state.page--; renderEvents(); const now = pageEvents(); select(now[now.length - 1].id);
    } else {
      select(shown[Math.max(0, Math.min(shown.length - 1, index))].id);
    }
  }

  function selectedEvent() { return state.selected === null ? null : events[state.selected]; }

  function mark(verdict, label = "") {
    const event = selectedEvent();
    if (!event) { announce("Select an event first (j or k)"); return; }
    if (verdict === "relabelled" && !label) { announce("Type the event's label first"); return; }
    if (verdict === "relabelled" && label === event.label) verdict = "correct";
    if (verdict) verdicts.set(event.key, { verdict, label: verdict === "relabelled" ? label : "" });
    else verdicts.delete(event.key);
    save();
    const card = cardOf(event.id);
    if (card) card.replaceWith(eventCard(event));
    renderLabelTable();
    announce(verdict ? `${event.label} at ${event.on} s: ${verdict === "relabelled" ? "other label " + label : VERDICT_TEXT[verdict]}` : "verdict cleared");
    if (verdict && $("advance").checked) move(1); else select(event.id);
  }

  function openRelabel() {
    const event = selectedEvent();
    if (!event) { announce("Select an event first (j or k)"); return; }
    const form = cardOf(event.id).querySelector(".relabel");
    form.hidden = false;
    form.querySelector("input").focus();
  }

  function closeRelabel(event) {
    const card = cardOf(event.id);
    card.querySelector(".relabel").hidden = true;
    select(event.id);
  }

  function saveRelabel(event, value) {
    select(event.id, false);
    mark("relabelled", value.trim());
  }

  function togglePlay() {
    const event = selectedEvent();
    if (!event) { announce("Select an event first (j or k)"); return; }
    const audio = cardOf(event.id).querySelector("audio");
    for (const other of document.querySelectorAll("audio")) if (other !== audio) other.pause();
    if (audio.paused) audio.play(); else audio.pause();
  }

  // ---- pagers and recordings -----------------------------------------------------------------

  function renderPagers(target, page, count, go) {
    for (const nav of document.querySelectorAll(`.pager[data-for="${target}"]`)) {
      const inputId = `${target}-page-${nav.getAttribute("aria-label").replace(/\W+/g, "-")}`;
      const input = element("input", {
        id: inputId, type: "number", min: 1, max: count, value: page + 1, style: "width:5em",
        onchange: () => go(Math.max(0, Math.min(count - 1, Number(input.value) - 1 || 0))),
      });
      nav.replaceChildren(
        element("button", { type: "button", disabled: page === 0, onclick: () => go(page - 1) }, "‹ Previous"),
        element("label", { for: inputId, text: "Page" }), input,
        element("span", { text: `of ${count}` }),
        element("button", { type: "button", disabled: page >= count - 1, onclick: () => go(page + 1) }, "Next ›"));
    }
  }

  function renderRecordings() {
    const count = Math.max(1, Math.ceil(recordings.length / RECORDINGS_PER_PAGE));
    const first = state.recordingPage * RECORDINGS_PER_PAGE;
    const items = recordings.slice(first, first + RECORDINGS_PER_PAGE).map((recording, k) => {
      const index = first + k;
      const shownHere = events.filter((event) => event.r === index).length;
      const meta = [duration(recording.duration), `${recording.events} events`];
      if (shownHere !== recording.events) meta.push(`${shownHere} on this page`);
      if (recording.references !== null) meta.push(`${recording.references} reference events`);
      if (recording.start) meta.push(`starts ${recording.start.replace("T", " ")}`);
      const image = element("img", {
        src: recording.image, loading: "lazy",
        alt: `Overview of ${recording.name}: log-mel spectrogram above its event roll`,
        onclick: (e) => {
          const box = e.currentTarget.getBoundingClientRect();
          const fraction = (e.clientX - box.left) / box.width;
          const [left, right] = recording.plot;
          reviewNear(index, ((fraction - left) / (right - left)) * recording.duration);
        },
      });
      return element("li", { class: "recording" },
        element("h3", { text: recording.name }),
        element("p", { class: "meta", text: meta.join(" · ") }),
        element("div", { class: "overview" }, image),
        element("button", { type: "button", disabled: !shownHere, onclick: () => reviewNear(index, 0) },
          `Review its ${shownHere} events`));
    });
    $("recordings").replaceChildren(...items);
    renderPagers("recordings", state.recordingPage, count, (page) => { state.recordingPage = page; renderRecordings(); });
  }

  function reviewNear(index, time) {
    const mine = events.filter((event) => event.r === index);
    if (!mine.length) return;
    const distance = (event) => (time < event.onset ? event.onset - time : time > event.offset ? time - event.offset : 0);
    const nearest = mine.reduce((best, event) => (distance(event) < distance(best) ? event : best));
    Object.assign(state, { label: "", min: 0, max: 1, verdict: "", recording: recordings[index].name, sort: "time" });
    syncControls();
    state.matches = matching();
    state.page = Math.floor(state.matches.indexOf(nearest) / state.pageSize);
    renderEvents();
    select(nearest.id);
  }

  // ---- controls and keys ---------------------------------------------------------------------

  function syncControls() {
    $("filter-label").value = state.label;
    $("filter-min").value = state.min;
    $("filter-max").value = state.max;
    $("filter-verdict").value = state.verdict;
    $("filter-recording").value = state.recording;
    $("sort").value = state.sort;
  }

  function readControls() {
    const bounded = (value, fallback) => (value === "" || Number.isNaN(Number(value)) ? fallback : Math.min(1, Math.max(0, Number(value))));
    state.label = $("filter-label").value;
    state.min = bounded($("filter-min").value, 0);
    state.max = bounded($("filter-max").value, 1);
    state.verdict = $("filter-verdict").value;
    state.recording = $("filter-recording").value;
    state.sort = $("sort").value;
    state.pageSize = Number($("page-size").value);
    state.band = $("band").value;
    state.page = 0;
    renderEvents();
  }

  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey || $("help").open) return;
    const target = e.target;
    if (target.matches("input, select, textarea")) return;
    const onControl = target.matches("button, audio, summary, a, label");
    const actions = {
      j: () => move(1), k: () => move(-1),
      ArrowDown: onControl ? null : () => move(1), ArrowUp: onControl ? null : () => move(-1),
      p: togglePlay, " ": onControl ? null : togglePlay,
      c: () => mark("correct"), w: () => mark("wrong"), l: openRelabel, u: () => mark(null),
      "]": () => { if (state.page < pageCount() - 1) { state.page++; renderEvents(); move(1); } },
      "[": () => { if (state.page > 0) { state.page--; renderEvents(); move(1); } },
      e: exportVerdicts,
      "?": () => $("help").showModal(),
    };
    const action = actions[e.key];
    if (action) { e.preventDefault(); action(); }
  }

  function start() {
    renderSummary();
    const restored = loadSaved();
    $("filters").addEventListener("submit", (e) => e.preventDefault());
    for (const id of ["filter-label", "filter-verdict", "sort", "page-size", "band"]) $(id).addEventListener("change", readControls);
    for (const id of ["filter-min", "filter-max", "filter-recording"]) $(id).addEventListener("input", readControls);
    $("filters").addEventListener("reset", () => setTimeout(readControls, 0));
    $("export").addEventListener("click", exportVerdicts);
    $("import").addEventListener("change", (e) => {
      const file = e.target.files[0];
      if (!file) return;
      file.text().then(importVerdicts);
      e.target.value = "";
    });
    $("show-help").addEventListener("click", () => $("help").showModal());
    document.addEventListener("keydown", onKey);
    window.addEventListener("beforeunload", (e) => {
      if (state.unsaved && !state.storage) { e.preventDefault(); e.returnValue = ""; }
    });
    renderEvents();
    renderLabelTable();
    renderRecordings();
    if (restored) announce(`${restored} verdicts restored from this browser`);
    document.body.dataset.ready = "true";
  }

  start();
})();
