// EchOfU studio: what every page shares. Talks only to the documented API and its additions.
"use strict";

const Studio = (() => {
  const strings = JSON.parse(document.getElementById("ui-strings").textContent);

  /** A UI string in the page's language; {name} placeholders are filled from params. */
  function t(key, params) {
    let text = strings[key] ?? key;
    for (const [name, value] of Object.entries(params || {})) text = text.split(`{${name}}`).join(String(value));
    return text;
  }

  /** Build DOM without innerHTML, so server text is always shown as text. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (name in node && typeof value !== "string") node[name] = value;
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : document.querySelector('meta[name="csrf-token"]').content;
  }

  class ApiError extends Error {
    constructor(message, status, body) {
      super(message);
      this.status = status;
      this.body = body;
    }
  }

  function toFormData(fields) {
    if (fields instanceof FormData) return fields;
    const form = new FormData();
    for (const [name, value] of Object.entries(fields || {})) {
      if (value !== undefined && value !== null) form.append(name, value);
    }
    return form;
  }

  function checked(status, body) {
    if (status >= 400 || (body && body.status === "error")) {
      // The contract's message is Chinese; localized_message, where the server has one, is in the page's language.
      // A refusal for want of consent is worded for API clients (send consent=true ...): the page asks in its own words.
      const message = (body && body.consent_missing && t(`consent_missing_${body.consent_missing}`))
        || (body && (body.localized_message || body.message)) || t("request_failed", { status });
      throw new ApiError(message, status, body);
    }
    return body;
  }

  /** GET (no fields) or POST (fields as multipart, like the original frontend) -> JSON. */
  async function api(url, fields, options = {}) {
    const init = { headers: { Accept: "application/json" }, credentials: "same-origin", signal: options.signal };
    if (fields !== undefined) {
      init.method = "POST";
      init.body = toFormData(fields);
      init.headers["X-CSRFToken"] = csrfToken();
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError(t("network_error"), 0, null);
    }
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    return checked(response.status, body);
  }

  /** POST a file with an upload progress callback (fetch has none). */
  function upload(url, fields, onProgress) {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open("POST", url);
      request.setRequestHeader("X-CSRFToken", csrfToken());
      request.setRequestHeader("Accept", "application/json");
      request.responseType = "json";
      request.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total, event.loaded, event.total);
      });
      request.addEventListener("load", () => {
        try {
          resolve(checked(request.status, request.response));
        } catch (error) {
          reject(error);
        }
      });
      request.addEventListener("error", () => reject(new ApiError(t("network_error"), 0, null)));
      request.send(toFormData(fields));
    });
  }

  const mediaUrl = (path) => (path ? "/" + String(path).replace(/^\/+/, "") : "");

  /** A length of time in the page's language, in the two largest units that matter (days from 48 hours on). */
  function formatSeconds(seconds) {
    if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
    const total = Math.max(0, Math.round(seconds));
    const minutes = Math.floor(total / 60);
    const hours = Math.floor(minutes / 60);
    if (hours >= 48) return t("duration_days", { d: Math.floor(hours / 24), h: hours % 24 });
    if (hours) return t("duration_hours", { h: hours, m: minutes % 60 });
    return minutes ? t("duration_minutes", { m: minutes, s: total % 60 }) : t("duration_seconds", { s: total });
  }

  function formatBytes(bytes) {
    if (!bytes && bytes !== 0) return "—";
    const units = ["B", "KB", "MB", "GB", "TB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
  }

  const number = (value, digits = 2) => (typeof value === "number" ? value.toFixed(digits) : "—");

  // "YYYY-MM-DD HH:MM:SS" without an offset: how the legacy listings (created_time, created_at)
  // give the server's wall clock, in the zone the page names (body data-time-zone).
  const SERVER_WALL_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/;

  /** How far `zone`'s wall clock is ahead of UTC at the instant `utcMillis`, in ms. */
  function zoneOffset(utcMillis, zone) {
    const parts = {};
    new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric",
    }).formatToParts(new Date(utcMillis)).forEach(({ type, value }) => { parts[type] = Number(value); });
    return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second) - utcMillis;
  }

  /** The instant a server wall-clock string means, or null for any other text. */
  function serverWallTime(value) {
    const match = SERVER_WALL_TIME.exec(value);
    const zone = document.body.dataset.timeZone;
    if (!match || !zone) return null;
    const [year, month, day, hour, minute, second] = match.slice(1).map(Number);
    const wall = Date.UTC(year, month - 1, day, hour, minute, second);
    try {
      // The offset at the wall time read as UTC, then again at the instant that gives: right across DST changes too.
      const first = wall - zoneOffset(wall, zone);
      return new Date(wall - zoneOffset(first, zone));
    } catch (error) {
      return null; // a zone this browser does not know: read it as the browser's own wall clock
    }
  }

  /** A time from the API (ISO with an offset, or the server's wall clock) in the browser's zone and language. */
  function formatTime(value) {
    if (!value) return "";
    const date = serverWallTime(String(value)) || new Date(value);
    return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString(document.documentElement.lang);
  }

  /** A job's log lines, each at its time in the browser's zone, as the lists show times (a line logged
   * before its instant was kept has none of its own: it comes with the server's clock). */
  const logLines = (info) => (info.log_entries || []).map(({ time, text }) =>
    (time ? `[${new Date(time).toLocaleTimeString(document.documentElement.lang, { hourCycle: "h23" })}] ${text}` : text));

  /** Show a message in a page area (role=alert), or clear it. */
  function say(target, message, kind = "error") {
    const node = typeof target === "string" ? document.getElementById(target) : target;
    node.className = message ? `alert ${kind}` : "alert";
    node.textContent = message || "";
  }

  /** A job deleted (in the admin) while it was waited on or cancelled: the contract's 410 任务已被删除, said as a notice, not a failure. */
  const jobDeleted = (error) => error instanceof ApiError && error.status === 410;

  // A form's refusal names the contract's field ("original_audio_path: ..."), which the page shows by its label.
  const NAMED_FIELD = /^([a-z_]+): /;

  function errorText(error) {
    if (jobDeleted(error)) return t("job_deleted");
    const text = error instanceof Error ? error.message : String(error);
    const field = NAMED_FIELD.exec(text);
    const label = field && strings[`field:${field[1]}`];
    return label ? `${label}: ${text.slice(field[0].length)}` : text;
  }

  /** A job the person cancelled from its card (the blocking calls answer it 409 任务已取消). */
  class Cancelled extends Error {
    constructor() {
      super(t("job_cancelled"));
    }
  }

  /** Show why an action did not finish: a job cancelled or deleted by a person as a notice in the page's language, anything
   * else as an error, unless its job's card just above already says why (`shownInCard`): the reason is not said twice. */
  function sayError(target, error) {
    say(target, error?.shownInCard ? "" : errorText(error), error instanceof Cancelled || jobDeleted(error) ? "warn" : "error");
  }

  /** Say in the form's message how a job that did not succeed ended: as sayError says a failure. */
  function sayEnded(target, job) {
    if (job.state === "cancelled") say(target, t("job_cancelled"), "warn");
    else say(target, job.error ? "" : t(`state_${job.state}`), "error");
  }

  /** `error`, marked as one whose reason `job`'s card shows. */
  function shownBy(job, error) {
    error.shownInCard = Boolean(job && job.error && job.state === "failed");
    return error;
  }

  function stateBadge(state) {
    return el("span", { class: `badge state-${state}`, text: t(`state_${state}`) });
  }

  function kindLabel(kind) {
    return t(`kind_${kind}`);
  }

  /** A job's stage in the page's language; stages the pages do not know (e.g. "epoch 3/10") as reported. */
  function stageLabel(stage) {
    return strings[`stage:${stage}`] ?? stage;
  }

  /**
   * When a job should end, as text: a running one's time left, and how long it has run past its
   * estimate (the server then gives no time left until it is half done, rather than guess); a queued
   * one's start and end counted from the jobs ahead of it in its queue, or why the server cannot tell
   * (a job ahead overran its estimate, or has none); and what its estimate rests on: this server's history,
   * a built-in rate, or (learned_from null) the training engine's own figure.
   */
  function timingFacts(info) {
    const known = (seconds) => seconds !== null && seconds !== undefined;
    const facts = [];
    if (info.state === "running" && known(info.eta_seconds)) facts.push(`${t("eta")}: ${formatSeconds(info.eta_seconds)}`);
    if (info.state === "running" && known(info.past_estimate_seconds)) {
      facts.push(t("past_estimate", { time: formatSeconds(info.past_estimate_seconds) }));
    }
    if (info.state === "queued" && known(info.starts_in_seconds)) {
      facts.push(info.starts_in_seconds > 0 ? t("starts_in", { time: formatSeconds(info.starts_in_seconds) }) : t("starts_now"));
      if (known(info.ends_in_seconds)) facts.push(t("ends_in", { time: formatSeconds(info.ends_in_seconds) }));
    }
    if (info.state === "queued" && info.start_unknown_reason) facts.push(t(`start_unknown:${info.start_unknown_reason}`));
    const learnedFrom = info.estimate?.learned_from;
    if (facts.length && known(learnedFrom)) facts.push(learnedFrom ? t("estimate_learned", { n: learnedFrom }) : t("estimate_builtin"));
    else if (facts.length && info.estimate && info.kind === "train") facts.push(t("estimate_engine"));
    return facts;
  }

  /** One job shown live: state, stage, progress bar, ETA (a queued one's expected start and end), queue position, log tail, cancel. */
  class JobView {
    constructor(container, { title = "", cancellable = true } = {}) {
      this.container = container;
      this.title = title;
      this.cancellable = cancellable;
      this.root = el("div", { class: "job", "aria-live": "polite" });
      container.replaceChildren(this.root);
      this.update({ state: "queued", stage: "starting", progress: 0 });
    }

    update(info) {
      this.info = info;
      const percent = Math.round((info.progress || 0) * 100);
      const facts = [
        el("span", { class: "job-stage", text: `${t("stage")}: ${info.stage ? stageLabel(info.stage) : "—"}` }),
        el("span", { class: "job-percent", text: `${percent}%` }),
      ];
      facts.push(...timingFacts(info).map((text) => el("span", { class: "job-eta", text })));
      if (info.queue_position) facts.push(el("span", { class: "job-queue", text: t("queue_position", { n: info.queue_position }) }));
      if (info.elapsed_seconds) facts.push(el("span", { text: `${t("elapsed")}: ${formatSeconds(info.elapsed_seconds)}` }));
      if (info.device) facts.push(el("span", { text: `${t("device")}: ${info.device}` }));
      const active = info.state === "queued" || info.state === "running";
      const children = [
        el("div", { class: "job-head" },
          el("span", {}, stateBadge(info.state || "queued"), " ", el("strong", { text: this.title || kindLabel(info.kind) }),
            info.task_id ? el("span", { class: "muted small", text: ` ${info.task_id}` }) : null),
          this.cancellable && active && info.task_id
            ? el("button", { class: "btn small danger job-cancel", type: "button", text: t("cancel"), onclick: () => this.cancel() })
            : null),
        el("progress", { max: 100, value: percent, "aria-label": `${this.title || kindLabel(info.kind)} ${percent}%` }),
        el("div", { class: "job-facts" }, facts),
      ];
      if (info.error) children.push(el("div", { class: "alert error", role: "alert", text: info.error }));
      const lines = logLines(info);
      if (lines.length) {
        const open = this.root.querySelector("details")?.open ?? info.state === "running";
        children.push(el("details", { open }, el("summary", { text: t("log_tail") }),
          el("pre", { class: "log", tabindex: "0", text: lines.slice(-40).join("\n") })));
      }
      this.root.replaceChildren(...children);
      const log = this.root.querySelector(".log");
      if (log) log.scrollTop = log.scrollHeight;
    }

    async cancel() {
      try {
        const info = await api(`/api/tasks/${encodeURIComponent(this.info.task_id)}/cancel`, {});
        this.update(info);
      } catch (error) {
        this.update({ ...this.info, error: errorText(error) });
      }
    }
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const FINISHED = ["succeeded", "failed", "cancelled"];

  /** Poll /api/tasks/<id> until the job ends; resolves with its last state. */
  async function watchJob(taskId, view, intervalMs = 800) {
    let misses = 0;
    for (;;) {
      let info;
      try {
        info = await api(`/api/tasks/${encodeURIComponent(taskId)}`);
      } catch (error) {
        if (error.status === 404) throw error;
        // The job goes on on the server; the card says the page lost it and is still asking.
        if (view && view.info && ++misses >= 3) view.update({ ...view.info, error: t("connection_lost") });
        await sleep(intervalMs * 2);
        continue;
      }
      misses = 0;
      if (view) view.update(info);
      if (FINISHED.includes(info.state)) return info;
      await sleep(intervalMs);
    }
  }

  async function recentJobIds(kinds) {
    const body = await api(`/api/tasks?kind=${kinds.join(",")}&limit=50`);
    return new Set(body.tasks.map((task) => task.task_id));
  }

  /**
   * Send one of the documented blocking POSTs (/video_generation, /audio_clone, /chat_system)
   * and show its job live while the answer is pending: the job is the newest of its kind that
   * was not there before. A 202 answer (still running past the server's wait) is followed to the end.
   * Resolves with {body, job}: the documented answer, or the finished job's result.
   */
  async function runTracked(url, fields, kinds, view) {
    const known = await recentJobIds(kinds).catch(() => new Set());
    let settled = false;
    let taskId = null;
    const request = api(url, fields).finally(() => { settled = true; });
    const follow = (async () => {
      while (!settled) {
        await sleep(600);
        if (settled) break;
        try {
          if (!taskId) {
            const body = await api(`/api/tasks?kind=${kinds.join(",")}&limit=10`);
            const fresh = body.tasks.find((task) => !known.has(task.task_id));
            if (fresh) taskId = fresh.task_id;
          }
          if (taskId && !settled) view.update(await api(`/api/tasks/${encodeURIComponent(taskId)}`));
        } catch (error) {
          /* the answer itself reports failures */
        }
      }
    })();
    let body;
    try {
      body = await request;
    } catch (error) {
      await follow;
      // The card shows the job as it ended (a failed or cancelled answer names it); a request refused
      // before any job started leaves no card behind.
      const ended = (error.body && error.body.task_id) || taskId;
      const job = ended ? await api(`/api/tasks/${encodeURIComponent(ended)}`).catch(() => null) : null;
      if (job) view.update(job);
      else view.container.replaceChildren();
      // Only the answer's own job says why: one found meanwhile may be another tab's.
      throw job?.state === "cancelled" ? new Cancelled() : shownBy(error.body && error.body.task_id ? job : null, error);
    }
    await follow;
    if (body.status === "processing" && body.task_id) {
      const job = await watchJob(body.task_id, view);
      if (job.state === "cancelled") throw new Cancelled();
      if (job.state !== "succeeded") throw shownBy(job, new ApiError(job.error || t(`state_${job.state}`), 500, job));
      return { body: { status: "success", task_id: job.task_id, ...job.result }, job };
    }
    let job = null;
    if (body.task_id) {
      job = await api(`/api/tasks/${encodeURIComponent(body.task_id)}`).catch(() => null);
      if (job) view.update(job);
    }
    return { body, job };
  }

  /** Record from the microphone; stop() resolves with a 16 kHz mono WAV Blob. */
  class Recorder {
    async start() {
      if (!navigator.mediaDevices || !window.MediaRecorder) throw new Error(t("no_recorder"));
      try {
        this.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch (error) {
        throw new Error(t("no_microphone", { reason: error.message }));
      }
      this.chunks = [];
      this.recorder = new MediaRecorder(this.stream);
      this.recorder.addEventListener("dataavailable", (event) => { if (event.data.size) this.chunks.push(event.data); });
      this.started = performance.now();
      this.recorder.start(250);
    }

    get seconds() {
      return this.started ? (performance.now() - this.started) / 1000 : 0;
    }

    get active() {
      return Boolean(this.recorder && this.recorder.state === "recording");
    }

    /** Stop recording and release the microphone, keeping nothing. */
    async discard() {
      const stopped = new Promise((resolve) => this.recorder.addEventListener("stop", resolve, { once: true }));
      this.recorder.stop();
      await stopped;
      this.stream.getTracks().forEach((track) => track.stop());
      this.started = null;
    }

    async stop() {
      await this.discard();
      return toWav(new Blob(this.chunks, { type: this.recorder.mimeType || "audio/webm" }));
    }
  }

  /** Decode whatever MediaRecorder produced (WebM/Opus in Chromium) into a 16-bit PCM WAV. */
  async function toWav(blob, rate = 16000) {
    const context = new AudioContext();
    let decoded;
    try {
      decoded = await context.decodeAudioData(await blob.arrayBuffer());
    } finally {
      context.close();
    }
    const frames = Math.max(1, Math.ceil(decoded.duration * rate));
    const offline = new OfflineAudioContext(1, frames, rate);
    const source = offline.createBufferSource();
    source.buffer = decoded;
    source.connect(offline.destination);
    source.start();
    const samples = (await offline.startRendering()).getChannelData(0);
    const buffer = new ArrayBuffer(44 + samples.length * 2);
    const view = new DataView(buffer);
    const ascii = (offset, text) => [...text].forEach((char, i) => view.setUint8(offset + i, char.charCodeAt(0)));
    ascii(0, "RIFF");
    view.setUint32(4, 36 + samples.length * 2, true);
    ascii(8, "WAVE");
    ascii(12, "fmt ");
    view.setUint32(16, 16, true);
    view.setUint16(20, 1, true);
    view.setUint16(22, 1, true);
    view.setUint32(24, rate, true);
    view.setUint32(28, rate * 2, true);
    view.setUint16(32, 2, true);
    view.setUint16(34, 16, true);
    ascii(36, "data");
    view.setUint32(40, samples.length * 2, true);
    samples.forEach((sample, i) => view.setInt16(44 + i * 2, Math.max(-1, Math.min(1, sample)) * 0x7fff, true));
    return new Blob([buffer], { type: "audio/wav" });
  }

  /** A record button: toggles recording, shows the elapsed time, hands the WAV to onRecorded. */
  function recordButton(button, status, onRecorded, onError) {
    const recorder = new Recorder();
    let timer = null;
    const idleLabel = button.textContent;
    button.addEventListener("click", async () => {
      if (recorder.active) {
        clearInterval(timer);
        button.disabled = true;
        try {
          const wav = await recorder.stop();
          status.textContent = t("recorded_seconds", { s: (wav.size / 32000).toFixed(1) });
          await onRecorded(wav);
        } catch (error) {
          onError(error);
        } finally {
          button.disabled = false;
          button.classList.remove("recording");
          button.setAttribute("aria-pressed", "false");
          button.textContent = idleLabel;
        }
        return;
      }
      try {
        await recorder.start();
      } catch (error) {
        onError(error);
        return;
      }
      button.classList.add("recording");
      button.setAttribute("aria-pressed", "true");
      button.textContent = t("stop_recording");
      timer = setInterval(() => { status.textContent = t("recording_seconds", { s: recorder.seconds.toFixed(1) }); }, 200);
    });
    return recorder;
  }

  /** Refresh something now and every `ms` while the tab is visible. */
  function every(ms, refresh) {
    const run = async () => {
      if (document.visibilityState === "visible") {
        try {
          await refresh();
        } catch (error) {
          /* the next round tries again; errors are shown by refresh itself */
        }
      }
      setTimeout(run, ms);
    };
    run();
  }

  const measure = document.createElement("canvas").getContext("2d");

  /** Whether `text` fits a closed `select`: its box less its padding and the arrow (about 1.5em). */
  function fitsClosed(select, text) {
    const style = getComputedStyle(select);
    measure.font = style.font;
    const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 1.5 * parseFloat(style.fontSize);
    return measure.measureText(text).width <= room;
  }

  /**
   * The chosen option's whole label on a line under `select` while the closed box cuts it off (a
   * phone's width: a model with its figures, a long file name), for the box cannot wrap. Screen readers
   * read the select's own value: the line is for the eyes only.
   */
  function showChosenInFull(select) {
    let line = select.nextElementSibling;
    if (!line?.classList.contains("chosen-in-full")) {
      line = el("span", { class: "hint chosen-in-full", "aria-hidden": "true" });
      select.after(line);
      resized.observe(select);
    }
    const label = select.selectedOptions[0]?.textContent ?? "";
    line.textContent = label;
    line.hidden = !label || !select.clientWidth || fitsClosed(select, label);  // no width: not shown yet
  }

  // A select is measured again when its width changes: the window's, or its part of the form shown.
  const resized = new ResizeObserver((entries) => entries.forEach((entry) => showChosenInFull(entry.target)));
  const showAllChosenInFull = () => document.querySelectorAll("select").forEach(showChosenInFull);
  document.addEventListener("change", (event) => { if (event.target instanceof HTMLSelectElement) showChosenInFull(event.target); });
  document.fonts.ready.then(showAllChosenInFull);  // widths measured in a fallback font are not the page's
  showAllChosenInFull();

  /** Choose `value` in `select` from a script (which fires no change event). */
  function choose(select, value) {
    select.value = value;
    showChosenInFull(select);
  }

  /**
   * A select marked `data-remember` keeps the visitor's last choice across visits and pages (this browser's
   * storage; the same key on several pages: a voice picked for chat is the one the generate page offers).
   */
  const rememberKey = (select) => `echofu-choice:${select.dataset.remember}`;
  function rememberedChoice(select) {
    if (!select.dataset.remember) return null;
    try { return localStorage.getItem(rememberKey(select)); } catch (error) { return null; /* storage blocked */ }
  }
  document.addEventListener("change", (event) => {
    const select = event.target;
    if (!(select instanceof HTMLSelectElement) || !select.dataset.remember) return;
    try { localStorage.setItem(rememberKey(select), select.value); } catch (error) { /* not kept */ }
  });

  /**
   * `placeholder`: the first option, of value "": its label, or an option like the groups' (one that may be
   * disabled). The choice made before the refill stays chosen, else the remembered one, where it is still offered.
   */
  function fillSelect(select, groups, { placeholder } = {}) {
    const previous = select.value || rememberedChoice(select);
    const optionElement = (option) =>
      el("option", { value: option.value, text: option.label, disabled: option.disabled || false, title: option.title || null });
    const children = [];
    if (placeholder) children.push(optionElement(typeof placeholder === "string" ? { value: "", label: placeholder } : placeholder));
    for (const group of groups) {
      const options = group.options.map(optionElement);
      children.push(group.label ? el("optgroup", { label: group.label }, options) : options);
    }
    select.replaceChildren(...children.flat());
    choose(select, [...select.options].some((option) => option.value === previous && !option.disabled) ? previous : select.value);
  }

  /** An uploaded file as the lists name it: the name it was sent with, and the name its owner knows it by where that differs
   * (a second anna.mp4 is anna_2: both were listed as anna.mp4). */
  function fileLabel(file) {
    const sent = file.original_name || file.filename;
    return file.name && sent.replace(/\.[^.]*$/, "") !== file.name ? `${sent} · ${file.name}` : sent;
  }

  /** What a rendered video is called in the lists: its text, else the audio it said (by the name it was uploaded as), else its own file name. */
  const renderTitle = (entry) => entry.text || entry.audio_name || (entry.audio_path || "").split("/").pop() || entry.video_path.split("/").pop();

  /**
   * The model picked in `select` once `listed` (fillModels' answer for it) has come: an action pressed
   * while the list was still loading said that no model was trained yet. Throws why none can be used:
   * none picked, none trained yet (a first visit), or the list could not be read.
   */
  async function pickedModel(select, listed) {
    const models = await listed;
    const model = models.get(select.value);
    if (!model) {
      const pickable = [...select.options].some((option) => option.value && !option.disabled);
      throw new Error(!models.size ? t("train_first") : pickable ? t("pick_model") : t("no_usable_model"));
    }
    return model;
  }

  /**
   * A model's quality figures in one line. Models with the held-out self-evaluation give its figures
   * (`against_loop`: each next to the plain loop of training frames, as a card shows them; a select's
   * option gives the model's alone); earlier models and other engines give what they stored.
   */
  function modelFigures(metrics, { against_loop = false } = {}) {
    if (!metrics || !Object.keys(metrics).length) return t("no_quality_figures");
    const figure = (key, digits, unit = "") => {
      const value = `${number(metrics[key], digits)}${unit}`;
      return against_loop && typeof metrics[`loop_${key}`] === "number"
        ? t("versus_loop", { value, loop: `${number(metrics[`loop_${key}`], digits)}${unit}` }) : value;
    };
    const parts = [];
    if (metrics.mouth_psnr !== undefined) parts.push(`PSNR ${figure("mouth_psnr", 1, " dB")}`);
    if (metrics.mouth_ssim !== undefined) parts.push(`SSIM ${figure("mouth_ssim", 3)}`);
    if (metrics.lmd !== undefined) parts.push(`LMD ${figure("lmd", 1)}`);
    if (metrics.lip_opening_r !== undefined) parts.push(`${t("lip_opening_r")} ${figure("lip_opening_r", 2)}`);
    if (metrics.mouth_sharpness !== undefined) parts.push(`${t("mouth_detail")} ${figure("mouth_sharpness", 2)}`);
    if (metrics.mouth_shimmer != null) parts.push(`${t("mouth_shimmer")} ${figure("mouth_shimmer", 2)}`);
    // Lip opening against loudness, whose best lag is the speech's own (about 4 frames for real lips too):
    // shown only for models without the comparison with the real frames, which says more.
    if (metrics.lip_opening_r === undefined && metrics.sync_correlation !== undefined) {
      parts.push(`${t("sync")} ${number(metrics.sync_correlation, 2)}`);
      if (metrics.sync_offset_frames !== undefined) parts.push(`${t("offset")} ${metrics.sync_offset_frames} ${t("frames")}`);
    }
    if (against_loop && metrics.audio_delay_frames !== undefined) parts.push(`${t("audio_delay")} ${audioDelay(metrics)}`);
    return parts.join(" · ") || t("no_quality_figures");
  }

  /** The recording's audio delay that training found and corrected, e.g. "+2 frames (by speech content)". */
  function audioDelay(metrics) {
    if (metrics.audio_delay_found === false) return t("audio_delay_not_found");
    const frames = `${metrics.audio_delay_frames >= 0 ? "+" : ""}${metrics.audio_delay_frames}`;
    const shift = t("audio_delay_shift", { frames });
    const basis = metrics.audio_delay_basis;
    return basis ? t("audio_delay_by", { shift, basis: t(`delay_basis:${basis}`) }) : shift;
  }

  /** The consent statement of an upload form (consent=true + the person's name) when ticked. */
  function consentFields(prefix) {
    if (!document.getElementById(`${prefix}-consent`).checked) return {};
    return { consent: "true", consent_name: document.getElementById(`${prefix}-consent-name`).value.trim() };
  }

  /**
   * A select option for something an engine runs (`engine`: {available, reason} from the server):
   * where this machine cannot run it, disabled and marked, with the reason as its tooltip.
   */
  function engineOption(value, label, engine) {
    const usable = !engine || engine.available;
    return { value, label: usable ? label : `${label} (${t("unavailable")})`, disabled: !usable, title: engine?.reason };
  }

  /** Why each engine this machine cannot run is unavailable, as the items of the list `notes`; a speech
   * engine by its label (its name is an id), a chat provider or talking-head type by its name. */
  function showUnavailable(notes, engines) {
    notes.replaceChildren(...engines.filter((engine) => !engine.available).map((engine) =>
      el("li", { class: "engine-note", text: t("engine_unavailable", { type: engine.label || engine.name, reason: engine.reason }) })));
  }

  /**
   * Trained models grouped by type in a select (value: the model path); returns them by path. Models
   * of an engine this machine cannot run (an ER-NeRF model without its checkout), and models this release
   * cannot read (an EchoLite model of an earlier format), are shown disabled with the reason.
   */
  async function fillModels(select) {
    const { models, engines } = await api("/api/available-models");
    const engineOf = new Map(engines.map((engine) => [engine.type, engine]));
    const types = [...new Set(models.map((model) => model.type))];
    fillSelect(select, types.map((type) => ({
      label: type,
      options: models.filter((model) => model.type === type).map((model) =>
        engineOption(model.path, `${model.label} · ${modelFigures(model.metrics)}`,
          model.usable === false ? { available: false, reason: model.unusable_reason } : engineOf.get(type))),
    })), { placeholder: models.length ? null : t("no_models") });
    if (select.selectedOptions[0]?.disabled || !select.value) {
      choose(select, [...select.options].find((option) => !option.disabled)?.value ?? "");
    }
    document.getElementById(`${select.id}-none`).hidden = models.length > 0;
    return new Map(models.map((model) => [model.path, model]));
  }

  /** Speaker profiles in a select; the first option is the engine's own voice. */
  async function fillSpeakers(select) {
    const { audios } = await api("/api/cloned-audios");
    fillSelect(select, [{ options: audios.map((profile) => ({ value: profile.id, label: `${profile.name} (${t("version", { n: profile.version })})` })) }],
      { placeholder: t("default_voice") });
    return audios;
  }

  /** Finished speech syntheses whose speech is still stored (`audio_id`), newest first, from the audio_clone history. */
  async function synthesisedSpeech() {
    const history = await api("/api/history/audio_clone");
    return history.filter((entry) => entry.type === "synthesize" && entry.status === "succeeded" && entry.audio_id && entry.result?.cloned_audio_path);
  }

  /** GPUs this machine has, then the CPU. */
  async function fillDevices(select) {
    const status = await api("/api/status").catch(() => ({ gpus: [] }));
    fillSelect(select, [{ options: [
      ...(status.gpus || []).map((gpu) => ({ value: gpu.name, label: `${gpu.name} ${gpu.model || ""}` })),
      { value: "CPU", label: t("cpu_device") },
    ] }]);
  }

  /** A link that saves `path` as `name` (a rendered video's download_name from the server), else under its stored name. */
  function downloadLink(path, name) {
    return el("a", { class: "btn small", href: mediaUrl(path), download: name || String(path).split("/").pop(), text: t("download") });
  }

  // The theme switch in the header.
  const themeButton = document.getElementById("theme-toggle");
  const applyTheme = (dark) => {
    document.documentElement.setAttribute("data-theme", dark ? "dark" : "light");
    themeButton.setAttribute("aria-pressed", String(dark));
  };
  applyTheme(document.documentElement.getAttribute("data-theme") === "dark");
  themeButton.addEventListener("click", () => {
    const dark = document.documentElement.getAttribute("data-theme") !== "dark";
    applyTheme(dark);
    try { localStorage.setItem("echofu-theme", dark ? "dark" : "light"); } catch (error) { /* not kept */ }
  });

  /**
   * A Delete button for one of the user's rows (`name` as the page shows it): asks `question` first, then
   * POSTs `url`, an API .../delete, and runs `done()` to redraw what listed it. A refusal (409 while a job
   * still uses the row) is said in `messageId`, and the row stays listed.
   */
  function deleteButton(url, name, question, messageId, done) {
    const button = el("button", { type: "button", class: "btn small danger", text: t("delete"), "aria-label": t("delete_named", { name }) });
    button.addEventListener("click", async () => {
      if (!window.confirm(question)) return;
      button.disabled = true;
      try {
        await api(url, {});
        say(messageId, t("deleted", { name }), "ok");
        await done();
      } catch (error) {
        say(messageId, errorText(error));
        button.disabled = false;
      }
    });
    return button;
  }

  return {
    t, el, api, upload, ApiError, mediaUrl, formatSeconds, formatBytes, formatTime, logLines, number, say, errorText, sayError, sayEnded,
    stateBadge, kindLabel, stageLabel, timingFacts, JobView, watchJob, runTracked, Recorder, toWav, recordButton, every, fillSelect,
    modelFigures, pickedModel, renderTitle, downloadLink, sleep, choose, engineOption, showUnavailable, fillModels, fillSpeakers, fillDevices, synthesisedSpeech, consentFields, deleteButton, fileLabel,
  };
})();
