// Home: machine status, the job queue and recent results, refreshed live.
"use strict";
(() => {
  const { t, el, api, say, errorText, formatBytes, formatSeconds, formatTime, stateBadge, kindLabel, stageLabel, timingFacts, mediaUrl, every, renderTitle, logLines } = Studio;

  function meter(label, percent, detail) {
    const value = Math.round(percent ?? 0);
    return el("div", { class: "meter" },
      el("div", { class: "row" }, el("span", { text: label }), el("span", { class: "muted", text: detail ? `${value}% · ${detail}` : `${value}%` })),
      el("progress", { max: 100, value, "aria-label": `${label} ${value}%` }));
  }

  async function refreshStatus() {
    try {
      const status = await api("/api/status");
      document.getElementById("status-meters").replaceChildren(
        meter(t("cpu"), status.cpu_percent),
        meter(t("memory"), status.memory_percent, `${formatBytes(status.memory_used)} / ${formatBytes(status.memory_total)}`),
        meter(t("disk"), status.disk_percent));
      const gpus = status.gpus.map((gpu) => el("li", {},
        meter(`${gpu.name} ${gpu.model || ""}`, gpu.load,
          `${gpu.memory_used} / ${gpu.memory_total} MB${gpu.temperature !== undefined ? ` · ${gpu.temperature} °C` : ""}`)));
      document.getElementById("status-gpus").replaceChildren(...(gpus.length ? gpus : [el("li", { class: "empty", text: t("no_gpu") })]));
      document.getElementById("status-time").textContent = t("updated", { time: new Date().toLocaleTimeString(document.documentElement.lang) });
      say("status-error", "");
    } catch (error) {
      say("status-error", errorText(error));
    }
  }

  async function cancel(taskId) {
    try {
      await api(`/api/tasks/${encodeURIComponent(taskId)}/cancel`, {});
      say("queue-error", "");
    } catch (error) {
      say("queue-error", errorText(error));
    }
    refreshQueue();
  }

  async function refreshQueue() {
    try {
      const { tasks } = await api("/api/tasks?limit=12");
      const rows = tasks.map((task) => {
        const percent = Math.round(task.progress * 100);
        const active = task.state === "queued" || task.state === "running";
        const facts = [`${t("stage")}: ${task.stage ? stageLabel(task.stage) : "—"}`, `${percent}%`];
        facts.push(...timingFacts(task));
        if (task.queue_position) facts.push(t("queue_position", { n: task.queue_position }));
        return el("li", { class: "queue-item", "data-task": task.task_id },
          el("div", { class: "row", style: "justify-content:space-between" },
            el("span", {}, stateBadge(task.state), " ", el("strong", { text: kindLabel(task.kind) }), el("span", { class: "muted small", text: ` ${task.task_id}` })),
            active ? el("button", { class: "btn small danger", type: "button", text: t("cancel"), "aria-label": `${t("cancel")} ${task.task_id}`, onclick: () => cancel(task.task_id) }) : null),
          active ? el("progress", { max: 100, value: percent, "aria-label": `${task.task_id} ${percent}%` }) : null,
          el("div", { class: "item-meta" }, facts.map((fact) => el("span", { text: fact })), el("span", { text: formatTime(task.created_at) })),
          task.error ? el("div", { class: "small", style: "color:var(--error)", text: task.error })
            : active && task.log_entries.length ? el("div", { class: "small muted", text: logLines(task)[0] }) : null);
      });
      document.getElementById("queue-list").replaceChildren(rows.length ? el("ul", { class: "items" }, rows) : el("p", { class: "empty", text: t("no_jobs") }));
      say("queue-error", "");
    } catch (error) {
      say("queue-error", errorText(error));
    }
  }

  async function refreshResults() {
    try {
      const history = await api("/api/history/video_generation");
      const cards = history.filter((entry) => entry.available !== false).slice(0, 8).map((entry) =>
        el("figure", { class: "thumb", style: "margin:0" },
          el("video", { src: `${mediaUrl(entry.video_path)}#t=0.5`, preload: "metadata", muted: true, controls: true, playsinline: true,
            "aria-label": renderTitle(entry) }),
          el("figcaption", { class: "thumb-body" },
            el("div", { class: "item-title", text: renderTitle(entry) }),
            el("div", { class: "muted", text: `${entry.model_label || entry.model_name} · ${formatSeconds(entry.duration)} · ${formatTime(entry.timestamp)}` }))));
      document.getElementById("recent-results").replaceChildren(...(cards.length ? cards : [el("p", { class: "empty", text: t("no_results") })]));
      say("results-error", "");
    } catch (error) {
      say("results-error", errorText(error));
    }
  }

  // Until a model is trained, the first steps say where to start: video generation and chat need one.
  api("/api/available-models").then(({ models }) => { document.getElementById("first-steps").hidden = models.length > 0; }).catch(() => {});
  every(3000, refreshStatus);
  every(2000, refreshQueue);
  every(15000, refreshResults);
})();
