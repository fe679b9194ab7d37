// Video generation: model + speech (library, upload, recording, text) -> live render -> player, history.
"use strict";
(() => {
  const { t, el, api, upload, say, errorText, sayError, formatSeconds, formatTime, mediaUrl, JobView, watchJob, runTracked, recordButton, fillSelect, downloadLink, pickedModel, renderTitle,
    deleteButton } = Studio;
  const $ = (id) => document.getElementById(id);
  let recorded = null;
  // What was already uploaded for the chosen file or recording: a retry or another render reuses it
  // instead of storing the same speech again.
  const uploaded = new WeakMap();

  const source = () => document.querySelector('input[name="source"]:checked').value;

  function showSource() {
    document.querySelectorAll("[data-source]").forEach((part) => { part.hidden = !part.dataset.source.split(" ").includes(source()); });
  }

  async function refreshAudio() {
    const [{ files }, spoken] = await Promise.all([api("/api/reference-audios"), Studio.synthesisedSpeech()]);
    fillSelect($("gen-audio"), [
      { label: t("reference_group"), options: files.map((file) => ({ value: file.relative_path, label: `${Studio.fileLabel(file)} (${formatSeconds(file.duration)})` })) },
      { label: t("synthesised_group"), options: spoken.slice(0, 20).map((entry) => ({ value: entry.result.cloned_audio_path, label: (entry.params.text || "").slice(0, 40) || entry.result.cloned_audio_path })) },
    ].filter((group) => group.options.length), { placeholder: t("pick_audio") });
    if (!$("gen-audio").value && files.length) Studio.choose($("gen-audio"), files[0].relative_path);
  }

  async function refreshHistory() {
    const history = await api("/api/history/video_generation");
    $("gen-history").replaceChildren(...(history.length ? history.slice(0, 20).map((entry) => el("li", { class: "history-item" },
      el("div", { class: "item-title", text: renderTitle(entry) }),
      el("div", { class: "item-meta" }, el("span", { text: entry.model_label || entry.model_name }),
        el("span", { text: formatSeconds(entry.duration) }), el("span", { text: `${entry.width}×${entry.height}` }),
        el("span", { text: `${entry.size_mb} MB` }), el("span", { text: formatTime(entry.timestamp) })),
      entry.available === false ? null : el("details", {}, el("summary", { text: t("play"), "aria-label": `${t("play")}: ${renderTitle(entry)}` }),
        el("video", { controls: true, preload: "none", src: mediaUrl(entry.video_path), "aria-label": renderTitle(entry) }),
        el("div", { class: "row", style: "margin-top:.4rem" }, downloadLink(entry.video_path, entry.download_name))),
      deleteButton(`/api/generated-videos/${entry.video_id}/delete`, renderTitle(entry), t("confirm_delete_render", { name: renderTitle(entry) }),
        "gen-message", refreshHistory),
    )) : [el("li", { class: "empty", text: t("no_history") })]));
  }

  /** The ref_audio / target_text fields for the chosen speech source (uploads happen first). */
  async function speechFields() {
    const kind = source();
    if (kind === "catalog") {
      if (!$("gen-audio").value) throw new Error(t("pick_audio"));
      return { ref_audio: $("gen-audio").value };
    }
    if (kind === "text") {
      const text = $("gen-text").value.trim();
      if (!text) throw new Error(t("enter_text"));
      return { target_text: text, speaker_id: $("gen-speaker").value, pitch: $("gen-pitch").value,
               room_tone: $("gen-room").checked && !$("gen-room").disabled ? "true" : "false" };
    }
    const chosen = kind === "upload" ? $("gen-upload").files[0] : recorded;
    if (!chosen) throw new Error(t(kind === "upload" ? "choose_file" : "record_first"));
    if (uploaded.has(chosen)) return { ref_audio: uploaded.get(chosen) };
    const file = kind === "upload" ? chosen : new File([chosen], `recording_${Date.now()}.wav`, { type: "audio/wav" });
    const bar = $("gen-upload-progress");
    bar.hidden = kind !== "upload";
    try {
      const body = await upload("/api/upload-reference-audio", { audio: file, ...Studio.consentFields("gen") }, (fraction) => { bar.value = Math.round(fraction * 100); });
      uploaded.set(chosen, body.relative_path);
      refreshAudio().catch(() => {});
      return { ref_audio: body.relative_path };
    } finally {
      bar.hidden = true;
    }
  }

  function showResult(videoPath, job) {
    // The whole job, as waited for: a text's speech is made before the render, whose own time is timings.total.
    const elapsed = job?.elapsed_seconds ?? job?.result?.timings?.total;
    // Named as its download saves it (person, version, time), not by its stored file name.
    const name = job?.result?.download_name || videoPath.split("/").pop();
    $("gen-result").replaceChildren(
      el("video", { id: "gen-video", controls: true, preload: "auto", src: mediaUrl(videoPath), playsinline: true, "aria-label": t("video_ready") }),
      el("div", { class: "row", style: "margin-top:.5rem" }, downloadLink(videoPath, name),
        el("span", { class: "muted small gen-result-name", text: name }),
        typeof elapsed === "number" ? el("span", { class: "muted small", text: `${t("elapsed")}: ${formatSeconds(elapsed)}` }) : null));
  }

  $("generate-form").addEventListener("change", (event) => {
    if (event.target.name === "source") showSource();
  });
  $("gen-pitch").addEventListener("input", () => { $("gen-pitch-value").textContent = $("gen-pitch").value; });

  recordButton($("gen-record"), $("gen-record-status"), (wav) => {
    recorded = wav;
    const preview = $("gen-record-preview");
    preview.src = URL.createObjectURL(wav);
    preview.hidden = false;
  }, (error) => say("gen-message", errorText(error)));

  $("generate-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = $("gen-run");
    button.disabled = true;
    say("gen-message", "");
    try {
      const model = await pickedModel($("gen-model"), modelList);
      const speech = await speechFields();
      const view = new JobView($("gen-job"), { title: t("kind_render") });
      const { body, job } = await runTracked("/video_generation", {
        model_name: model.type, model_param: model.path, gpu_choice: $("gen-device").value, ...speech,
      }, ["render"], view);
      say("gen-message", t("video_ready"), "ok");
      showResult(body.video_path, job);
      refreshHistory().catch(() => {});
    } catch (error) {
      sayError("gen-message", error);
    } finally {
      button.disabled = false;
    }
  });

  // A render started earlier (before a reload or the language switch, in another tab) is shown live
  // too, and its video once it is done, unless a render started here has taken the card since.
  api("/api/tasks?kind=render&active=1&limit=1").then(async ({ tasks }) => {
    if (!tasks.length || $("gen-job").childElementCount) return;
    const view = new JobView($("gen-job"), { title: t("kind_render") });
    const job = await watchJob(tasks[0].task_id, view);
    if (job.state === "succeeded" && view.root.isConnected) {
      showResult(job.result.video_path, job);
      await refreshHistory();
    }
  }).catch(() => {});

  /** Text is spoken by the server's voice engine (ECHOFU_TTS_ENGINE): where it cannot run, the text choice is off, and says why. */
  async function refreshTextEngine() {
    const { speech_engines: engines } = await api("/api/engines");
    const voice = engines.find((engine) => engine.default);
    const text = document.querySelector('input[name="source"][value="text"]');
    text.disabled = !voice.available;
    $("gen-text-state").textContent = voice.available ? "" : `(${t("unavailable")})`;
    $("gen-text-choice").title = voice.available ? "" : voice.reason;
    $("gen-text-notes").replaceChildren(...(voice.available ? [] :
      [el("li", { class: "engine-note", text: t("text_engine_unavailable", { type: voice.label, reason: voice.reason }) })]));
    if (text.checked && text.disabled) {
      document.querySelector('input[name="source"][value="catalog"]').checked = true;
      showSource();
    }
  }

  const show = (error) => say("gen-message", errorText(error));
  refreshTextEngine().catch(show);
  const modelList = Studio.fillModels($("gen-model"));
  modelList.catch(show);
  // The room tone is the chosen voice's recording's: none for the default voice.
  const roomNeedsVoice = () => { $("gen-room").disabled = !$("gen-speaker").value; };
  $("gen-speaker").addEventListener("change", roomNeedsVoice);
  Studio.fillSpeakers($("gen-speaker")).then(roomNeedsVoice).catch(show);
  Studio.fillDevices($("gen-device")).catch(show);
  refreshAudio().catch(show);
  refreshHistory().catch(show);
  showSource();
})();
