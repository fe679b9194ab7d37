// Training: upload with progress, the input check, engine/device/epoch choice, live training, models.
"use strict";
(() => {
  const { t, el, api, upload, say, sayEnded, errorText, formatSeconds, formatBytes, formatTime, mediaUrl, JobView, watchJob, fillSelect, modelFigures, number,
    deleteButton } = Studio;
  const $ = (id) => document.getElementById(id);
  let videos = [];

  function checkView(video) {
    if (!video) return el("p", { class: "empty", text: t("no_videos") });
    if (video.consent_revoked) return el("div", { class: "alert error", text: t("consent_revoked") });
    const probe = video.probe || {};
    if (video.probe_status === "pending") return el("div", { class: "alert warn", text: t("check_pending") });
    if (video.probe_status === "failed") return el("div", { class: "alert error", text: t("check_failed", { error: video.probe_error }) });
    const errors = probe.errors || [];
    const warnings = probe.warnings || [];
    const face = probe.one_face_share;
    return el("div", { class: "check" },
      el("div", { class: `alert ${errors.length ? "error" : "ok"}`, text: errors.length ? `${t("check_bad")} ${errors.join("; ")}` : t("check_ok") }),
      el("dl", { class: "facts" },
        el("dt", { text: t("duration") }), el("dd", { class: "check-duration", text: formatSeconds(probe.duration ?? video.duration) }),
        el("dt", { text: t("fps") }), el("dd", { class: "check-fps", text: number(probe.fps ?? video.fps, 2) }),
        el("dt", { text: t("resolution") }), el("dd", { class: "check-resolution", text: `${probe.width ?? video.width} × ${probe.height ?? video.height}` }),
        el("dt", { text: t("face_share") }), el("dd", { class: "check-face", text: face === undefined ? "—" : `${Math.round(face * 100)}%` }),
        el("dt", { text: t("audio") }), el("dd", { class: "check-audio", text: (probe.has_audio ?? video.has_audio) ? t("yes") : t("no") }),
        el("dt", { text: t("warnings") }), el("dd", { class: "check-warnings", text: warnings.length ? warnings.join("; ") : t("none") })));
  }

  let recheck = null;

  function showCheck() {
    const video = videos.find((item) => item.relative_path === $("train-video").value);
    const name = video && (video.original_name || video.filename);
    $("video-check").replaceChildren(checkView(video), video ? deleteButton(`/api/training-videos/${video.id}/delete`, name,
      t("confirm_delete_video", { name }), "video-message", () => Promise.all([refreshVideos(), refreshModels()])) : "");
    // A probe still running (e.g. after a reload): look again until it has answered.
    clearTimeout(recheck);
    if (video && video.probe_status === "pending") recheck = setTimeout(() => refreshVideos().catch(() => {}), 2000);
  }

  async function refreshVideos(select) {
    ({ files: videos } = await api("/api/training-videos"));
    const label = (video) => {
      const state = video.consent_revoked || video.probe_status === "failed" ? "✗" : video.probe_status === "ok" ? (video.probe?.usable ? "✓" : "✗") : "…";
      return `${state} ${Studio.fileLabel(video)} (${formatSeconds(video.duration)}, ${video.width}×${video.height})`;
    };
    fillSelect($("train-video"), [{ options: videos.map((video) => ({ value: video.relative_path, label: label(video) })) }], { placeholder: t("pick_video") });
    if (select) Studio.choose($("train-video"), select);
    else if (!$("train-video").value && videos.length) Studio.choose($("train-video"), videos[0].relative_path);
    showCheck();
  }

  async function refreshEngines() {
    const { engines } = await api("/api/available-models");
    fillSelect($("train-model"), [{ options: engines.map((engine) => Studio.engineOption(engine.type, engine.type, engine)) }]);
    Studio.showUnavailable($("engine-notes"), engines.map((engine) => ({ ...engine, name: engine.type })));
    await Studio.fillDevices($("train-device"));
  }

  async function modelCard(model) {
    const item = el("li", { class: "model-item", "data-model": model.path },
      el("div", { class: "item-title", text: model.label }),
      el("div", { class: "item-meta" }, el("span", { text: formatTime(model.created_time) }), el("span", { text: `${model.size_mb} MB` })),
      el("div", { class: "model-figures", text: modelFigures(model.metrics, { against_loop: true }) }),
      // A model that beats the loop says so here; one that does not says it among its warnings.
      model.metrics?.beats_loop ? el("div", { class: "small model-verdict", text: model.metrics.verdict }) : null,
      (model.warnings || []).length ? el("div", { class: "small", style: "color:var(--warn)", text: `${t("warnings")}: ${model.warnings.join("; ")}` }) : null,
      model.usable === false ? el("div", { class: "small", style: "color:var(--warn)", text: model.unusable_reason }) : null,
      deleteButton(`/api/available-models/${model.id}/delete`, model.label, t("confirm_delete_model", { name: model.label }), "train-message", refreshModels));
    try {
      const { model_details: details } = await api(`/api/model-details/${encodeURIComponent(model.type)}/${encodeURIComponent(model.name)}`);
      const preview = details.files.find((file) => /\.(mp4|webm)$/i.test(file.filename));
      if (preview) {
        item.append(el("details", {}, el("summary", { text: t("preview") }),
          el("video", { controls: true, preload: "none", src: mediaUrl(preview.relative_path), "aria-label": `${t("preview")} ${model.label}` })));
      }
    } catch (error) {
      /* the card still shows the summary */
    }
    return item;
  }

  async function refreshModels() {
    const { models } = await api("/api/available-models");
    const cards = await Promise.all(models.map(modelCard));
    $("model-list").replaceChildren(...(cards.length ? cards : [el("li", { class: "empty", text: t("no_models") })]));
  }

  $("train-video").addEventListener("change", showCheck);

  $("video-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = $("video-file").files[0];
    if (!file) return say("video-message", t("choose_file"));
    const button = $("video-upload");
    button.disabled = true;
    say("video-message", "");
    $("probe-job").replaceChildren();  // the previous upload's check, which would sit above this one's refusal
    $("video-progress-wrap").hidden = false;
    const bar = $("video-progress");
    try {
      const body = await upload("/api/upload-training-video", { video: file, ...Studio.consentFields("video") }, (fraction, loaded, total) => {
        bar.value = Math.round(fraction * 100);
        $("video-progress-text").textContent = `${bar.value}% · ${formatBytes(loaded)} / ${formatBytes(total)}`;
      });
      bar.value = 100;
      $("video-progress-text").textContent = t("uploaded", { name: body.original_name });
      await refreshVideos(body.relative_path);
      if (body.probe_task_id) {
        say("video-message", t("probe_running"), "ok");
        const job = await watchJob(body.probe_task_id, new JobView($("probe-job"), { title: t("kind_probe") }), 500);
        if (job.state === "succeeded") say("video-message", "");
        else sayEnded("video-message", job);
      }
      await refreshVideos(body.relative_path);
      $("video-file").value = "";
    } catch (error) {
      say("video-message", errorText(error));
    } finally {
      button.disabled = false;
    }
  });

  /** `warning`: the server's note on the request (custom_params names the model type ignores), said until the training ends. */
  async function followTraining(taskId, warning = "") {
    const job = await watchJob(taskId, new JobView($("train-job"), { title: t("kind_train") }));
    if (job.state === "succeeded") {
      say("train-message", [t("training_done", { model: job.result.model_label || job.result.model_path }), warning].join(" ").trim(), warning ? "warn" : "ok");
      await refreshModels();
    } else {
      sayEnded("train-message", job);
    }
  }

  /** Runs `work` with Start training off: a training shown here (started here, or found running) is one at a time. */
  async function withStartOff(work) {
    const button = $("train-start");
    button.disabled = true;
    try {
      await work();
    } finally {
      button.disabled = false;
    }
  }

  $("train-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!$("train-video").value) return say("train-message", t("pick_video"));
    withStartOff(async () => {
      say("train-message", "");
      try {
        const body = await api("/model_training", {
          model_choice: $("train-model").value, ref_video: $("train-video").value, gpu_choice: $("train-device").value,
          epoch: $("train-epochs").value, custom_params: $("train-params").value.trim(),
        });
        const warning = body.localized_warning || body.warning || "";
        say("train-message", [t("training_started", { id: body.task_id }), warning].join(" ").trim(), warning ? "warn" : "ok");
        await followTraining(body.task_id, warning);
      } catch (error) {
        say("train-message", errorText(error));
      }
    });
  });

  // A training started earlier (another visit, another tab) is shown live too, with the video it trains on
  // chosen (not the newest upload) and its check under it.
  api("/api/tasks?kind=train&active=1&limit=1").then(({ tasks }) => {
    if (!tasks.length || $("train-job").childElementCount) return;
    withStartOff(async () => {
      await refreshVideos(tasks[0].params.ref_video).catch(() => {});
      await followTraining(tasks[0].task_id).catch(() => {});
    });
  }).catch(() => {});

  const show = (id) => (error) => say(id, errorText(error));
  refreshVideos().catch(show("video-message"));
  refreshEngines().catch(show("train-message"));
  refreshModels().catch(show("train-message"));
})();
